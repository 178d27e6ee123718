"""Inventory validation: each bad value of a board entry is refused at its own line, with a hint.

Every case puts the mistake well below the board's header, so a report at the header line (or
line 1) fails the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stm32_hil.errors import InventoryError
from stm32_hil.inventory import Inventory
from stm32_hil.inventory_schema import InventoryProblems

HEAD = """\
# a bench inventory
[boards.good]
part = "STM32G071RB"

[boards.bench]
part = "STM32H743ZI"
backend = "pyocd"
probe = "sim:nucleo-h743zi"
description = "the board under test"
"""


def load(tmp_path: Path, text: str) -> Inventory:
    p = tmp_path / "boards.toml"
    p.write_text(text)
    return Inventory.load(p)


# (case id, lines appended after HEAD (the bad one last), message, hint)
CASES = [
    ("boot0", 'pins = { boot0 = "banana", nrst = "probe" }', "boot0 = 'banana' is not valid",
     "'dtr'"),
    ("baud", 'uart = { peripheral = "USART1", baud = "fast" }',
     "uart.baud must be an integer, not the string 'fast'", "uart.baud = 115200"),
    ("usart99", 'uart = { peripheral = "USART99" }',
     "STM32H743ZI has no U(S)ART 'USART99'", "USART1"),
    ("bus-fmc9", 'external_flash = [{ chip = "W25Q128", bus = "FMC9" }]',
     "STM32H743ZI has no memory bus 'FMC9'", "QUADSPI"),
    ("unknown-chip", 'external_flash = [{ chip = "W25Q999", bus = "QUADSPI" }]',
     "'W25Q999' is not in the NOR flash catalogue", "W25Q128"),
    ("bank", 'external_flash = [{ chip = "W25Q128", bus = "QUADSPI", bank = "one" }]',
     "external_flash[0].bank must be an integer, not the string 'one'", "bank = 115200"),
    ("bank-3", 'external_flash = [{ chip = "W25Q128", bus = "QUADSPI", bank = 3 }]',
     "external_flash[0].bank = 3 is not valid", "one of: 1, 2"),
    ("connect-mode", 'connect_mode = "yolo"', "connect_mode = 'yolo' is not valid",
     "'under-reset'"),
    ("extra", "extra = 5", "extra must be a table, not the number 5", "{ key = value }"),
    ("unknown-key", 'conect_mode = "halt"', "unknown key 'conect_mode'",
     "did you mean 'connect_mode'?"),
    ("unknown-nested-key", 'uart = { peripheral = "USART1", bauds = 9600 }',
     "unknown key 'uart.bauds'", "did you mean 'baud'?"),
    ("cs-pin", 'external_flash = [{ chip = "W25Q128", bus = "QUADSPI", cs_pin = "PZ99" }]',
     "package has no pin 'PZ99'", "PB2"),
    ("flash-pins", 'external_flash = [{ chip = "W25Q128", bus = "QUADSPI", '
     'pins = { CLK = "PB2", NCS = "PQ6" } }]', "package has no pin 'PQ6'", "PB2"),
    ("flash-signal", 'external_flash = [{ chip = "W25Q128", bus = "QUADSPI", '
     'pins = { CLCK = "PB2" } }]', "names no signal 'CLCK'", "did you mean 'CLK'?"),
    ("pool-mixed-parts", 'pool = "h7-bench"\n\n[boards.other]\npart = "STM32G071RB"\n'
     'pool = "h7-bench"', "boards of a pool must be identical", "its own pool name"),
    ("table-form", '\n[boards.bench.uart]\nperipheral = "USART1"\nport = "/dev/ttyUSB0"\n'
     "baud = true", "uart.baud must be an integer, not the boolean true", "uart.baud"),
    ("array-of-tables", '\n[[boards.bench.external_flash]]\nchip = "W25Q128"\nbus = "QUADSPI"\n'
     '\n[[boards.bench.external_flash]]\nchip = "W25Q128"\nbus = "SPI9"',
     "external_flash[1].bus = 'SPI9'", "SPI1"),
]  # fmt: skip


@pytest.mark.parametrize(("extra", "message", "hint"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_each_bad_value_names_its_line_and_a_hint(
    tmp_path: Path, extra: str, message: str, hint: str
) -> None:
    text = HEAD + extra + "\n"
    bad_line = text.count("\n")  # the bad value is the last line
    with pytest.raises(InventoryProblems) as err:
        load(tmp_path, text)
    assert len(err.value.problems) == 1, str(err.value)
    problem = err.value.problems[0]
    assert problem.line == bad_line, str(err.value)
    assert message in problem.message
    assert hint in problem.hint
    assert str(err.value).startswith(f"{tmp_path / 'boards.toml'}:{bad_line}: ")
    assert isinstance(err.value, InventoryError)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        '[boards.a]\npart = "STM32G071RB"\npins = { boot0 = "banana" }\n'  # line 3
        '\n[boards.b]\npart = "STM32H743ZI"\n'
        'uart = { baud = "fast" }\n'  # line 7
        "extra = 5\n"  # line 8
        'external_flash = [\n  { chip = "W25Q128", bus = "QUADSPI" },\n'
        '  { chip = "NOPE", bus = "FMC9", bank = "one" },\n]\n'  # line 11
    )
    with pytest.raises(InventoryProblems) as err:
        load(tmp_path, text)
    got = [(p.line, p.message.split(" ")[0]) for p in err.value.problems]
    assert got == [
        (3, "pins.boot0"),
        (7, "uart.baud"),
        (8, "extra"),
        (11, "external_flash[1].chip"),
        (11, "external_flash[1].bus"),
        (11, "external_flash[1].bank"),
    ]
    assert "6 problems in board inventory" in str(err.value)


def test_missing_part_points_at_the_board_header(tmp_path: Path) -> None:
    with pytest.raises(InventoryProblems) as err:
        load(tmp_path, '[boards.a]\npart = "STM32G071RB"\n\n\n[boards.b]\nbackend = "sim"\n')
    assert err.value.problems[0].line == 5
    assert "has no 'part'" in str(err.value)


def test_unknown_top_level_table_is_flagged(tmp_path: Path) -> None:
    with pytest.raises(InventoryProblems, match="did you mean 'boards'"):
        load(tmp_path, '[boards.a]\npart = "STM32G071RB"\n\n[board.b]\npart = "STM32G071RB"\n')


def test_full_entry_is_accepted_with_pool_and_pins(tmp_path: Path) -> None:
    inv = load(
        tmp_path,
        HEAD
        + 'pool = "h7-bench"\nconnect_mode = "under-reset"\n'
        + 'uart = { peripheral = "USART1", port = "/dev/ttyUSB0", baud = 57600 }\n'
        + 'pins = { boot0 = "dtr", nrst = "probe", boot0_inverted = true }\n'
        + "extra = { shelf = 3 }\n"
        + 'external_flash = [{ chip = "w25q128", bus = "QUADSPI", bank = 2, cs_pin = "PG6", '
        + 'pins = { CLK = "PB2", NCS = "PG6", IO0 = "PF8" } }]\n',
    )
    spec = inv.get("bench")
    assert spec.pool == "h7-bench"
    assert spec.uart.baud == 57600
    assert spec.pins.boot0_inverted is True
    assert spec.external_flash[0].bank == 2
    assert spec.external_flash[0].pins == {"CLK": "PB2", "NCS": "PG6", "IO0": "PF8"}
    assert spec.extra == {"shelf": 3}
    assert spec.source.endswith(":5")


def test_shipped_inventory_passes_the_schema() -> None:
    inv = Inventory.load()
    assert inv.boards and all(spec.source for spec in inv.boards.values())
