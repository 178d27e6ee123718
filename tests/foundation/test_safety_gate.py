"""Destructive writes on a real (pyOCD-backend) board need the operator's opt-in, in the Target.

The board is the simulator behind the simulated SWD probe (`sim:<board>`): pyOCD and the
PyOCDTarget treat it exactly as bench hardware, and the simulated silicon shows whether a
refused write really left flash and option bytes alone.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from stm32_hil.errors import SafetyError
from stm32_hil.flows.internal_flash import internal_flash
from stm32_hil.hw.pyocd_target import PyOCDTarget
from stm32_hil.inventory import BoardSpec, Inventory, PinSpec
from stm32_hil.sim import live as registry
from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.target import SimTarget
from stm32_hil.target.safety import Safety, classify_write

BOARD = "nucleo-g071rb"
DATA = random.Random(29).randbytes(256)


def pyocd_spec() -> BoardSpec:
    part = Inventory.load().get(BOARD).part
    return BoardSpec(
        name="bench-g071", part=part, backend="pyocd", probe=f"sim:{BOARD}",
        target_type="cortex_m", pins=PinSpec(nrst="probe"),
    )  # fmt: skip


@pytest.fixture
def board(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimBoard]:
    monkeypatch.setenv("HIL_LOCK_DIR", str(tmp_path / "locks"))
    registry.unregister(BOARD)
    b = registry.board_for(Inventory.load().get(BOARD))
    yield b
    registry.unregister(BOARD)


def open_real(safety: Safety | None = None) -> PyOCDTarget:
    return PyOCDTarget(pyocd_spec(), safety=safety)


def test_raw_flash_program_is_refused_without_the_opt_in(board: SimBoard) -> None:
    base = board.part.flash.base + 0x800
    before = bytes(board.flash.array.data[0x800:0x900])
    with open_real() as t:
        with pytest.raises(SafetyError, match="--allow-destructive") as err:
            t.write_memory(base, DATA)
        assert "writing into flash" in str(err.value)
        assert "@pytest.mark.destructive" in (err.value.hint or "")
        with pytest.raises(SafetyError, match="--allow-destructive"):
            t.write32(base, 0x12345678)
        with pytest.raises(SafetyError, match="--allow-destructive"):
            t.write8(base + 3, 0)
        ram = board.part.ram[0].base + 0x1000
        t.write_memory(ram, DATA)  # RAM stays writable
        assert t.read_memory(ram, len(DATA)) == DATA
    assert bytes(board.flash.array.data[0x800:0x900]) == before


@pytest.mark.parametrize(
    "flow",
    [
        lambda t, a: internal_flash(t).program(a, DATA),
        lambda t, a: internal_flash(t).erase(a, 0x800),
        lambda t, a: internal_flash(t).mass_erase(),
    ],
    ids=["program", "erase", "mass_erase"],
)
def test_internal_flash_flows_are_refused_without_the_opt_in(board: SimBoard, flow: object) -> None:
    board.flash.array.data[0x800:0x900] = DATA
    refused = pytest.raises(SafetyError, match=r"unlocking the flash controller \(FLASH_KEYR\)")
    with open_real() as t, refused:
        flow(t, board.part.flash.base + 0x800)  # type: ignore[operator]
    assert bytes(board.flash.array.data[0x800:0x900]) == DATA


def test_opt_in_lets_the_flow_program_and_erase(board: SimBoard) -> None:
    base = board.part.flash.base + 0x800
    with open_real(Safety(destructive=True)) as t:
        internal_flash(t).erase(base, 0x800)
        internal_flash(t).program(base, DATA)
        assert t.read_memory(base, len(DATA)) == DATA
    assert bytes(board.flash.array.data[0x800:0x900]) == DATA


def test_rdp_level2_needs_the_second_opt_in(board: SimBoard) -> None:
    reg = board.part.option_register("OPTR")
    rdp = reg.field("RDP")
    with open_real(Safety(destructive=True)) as t:
        flash = internal_flash(t)
        current = flash.read_options()["OPTR"]
        with pytest.raises(SafetyError, match="--allow-irreversible") as err:
            flash.write_options({"OPTR": rdp.put(current, 0xCC)})
        assert "RDP level 2" in str(err.value)
        assert board.flash.rdp_level() == 0
        flash.write_options({"OPTR": rdp.put(current, 0xAA)})  # level 0 again: allowed
    assert board.flash.rdp_level() == 0


def test_simulated_boards_are_exempt() -> None:
    board = SimBoard.from_inventory(BOARD)
    t = SimTarget(board.spec, board=board)
    base = board.part.flash.base + 0x800
    internal_flash(t).program(base, DATA)
    assert t.read_memory(base, len(DATA)) == DATA


@pytest.mark.parametrize(
    ("part", "offset_of", "value", "expected"),
    [
        ("STM32H743ZI", "OPTSR_PRG", 0xCC << 8, ("setting RDP level 2", True)),
        ("STM32H743ZI", "BANK[1].KEYR", 0x45670123, ("unlocking the flash controller", False)),
        ("STM32F429ZI", "OPTCR", 0xCC << 8, ("setting RDP level 2", True)),
        ("STM32L476RG", "PDKEYR", 0x04152637, None),
        ("STM32L476RG", "ACR", 0x600, None),
    ],
)
def test_destructive_writes_are_found_from_the_part_data(
    part: str, offset_of: str, value: int, expected: tuple[str, bool] | None
) -> None:
    from stm32_hil.parts import get_part

    p = get_part(part)
    assert p.chip is not None
    block = p.chip.block("FLASH")
    layout = block.layout()
    assert layout is not None
    reg = layout.named(offset_of)
    assert reg is not None
    hit = classify_write(p, block.base + reg.offset, value.to_bytes(4, "little"))
    if expected is None:
        assert hit is None
    else:
        assert hit is not None and hit.what.startswith(expected[0])
        assert hit.irreversible is expected[1]
    otp = classify_write(p, p.otp.base, b"\0" * 4) if p.otp is not None else None
    assert otp is None or otp.irreversible


PLUGIN_TESTS = """
import pytest
from stm32_hil.flows.internal_flash import internal_flash

def _program(target):
    base = target.part.flash.base + 0x800
    internal_flash(target).erase(base, 0x800)
    internal_flash(target).program(base, bytes(range(64)))
    assert target.read_memory(base, 64) == bytes(range(64))

def test_unmarked(target):
    _program(target)

@pytest.mark.destructive
def test_marked(target):
    _program(target)
"""


@pytest.mark.parametrize(
    ("options", "outcome"),
    [
        ([], {"test_unmarked": "FAILED", "test_marked": "SKIPPED"}),
        (["--allow-destructive"], {"test_unmarked": "FAILED", "test_marked": "PASSED"}),
    ],
    ids=["no-opt-in", "opt-in"],
)
def test_pytest_needs_the_option_and_the_marker(
    tmp_path: Path, options: list[str], outcome: dict[str, str]
) -> None:
    inventory = tmp_path / "boards.toml"
    inventory.write_text(
        textwrap.dedent(f"""\
            [boards.bench-g071]
            part = "STM32G071RB"
            backend = "pyocd"
            probe = "sim:{BOARD}"
            target_type = "cortex_m"
            pins = {{ nrst = "probe" }}
            """)
    )
    (tmp_path / "test_user.py").write_text(PLUGIN_TESTS)
    env = {**os.environ, "HIL_LOCK_DIR": str(tmp_path / "locks")}
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider", "-rA",
         "--inventory", str(inventory), "--backend", "pyocd", *options, "test_user.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    for name, state in outcome.items():
        if state == "SKIPPED":  # -rA lists skips by line, with the reason
            assert "SKIPPED [1] test_user.py:14: bench-g071: destructive test" in r.stdout
        else:
            assert f"{state} test_user.py::{name}[bench-g071]" in r.stdout, r.stdout[-3000:]
    if outcome["test_unmarked"] == "FAILED":
        assert "SafetyError" in r.stdout and "--allow-destructive" in r.stdout


def test_external_loader_writes_need_the_opt_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stm32_hil.stldr import load
    from stm32_hil.stldr.runner import LoaderRunner

    loader = Path(__file__).resolve().parents[2] / "loaders" / "good" / "h743_w25q128.stldr"
    monkeypatch.setenv("HIL_LOCK_DIR", str(tmp_path / "locks"))
    registry.unregister("nucleo-h743zi")
    board = registry.board_for(Inventory.load().get("nucleo-h743zi"))
    spec = BoardSpec(
        name="bench-h743", part=board.part.name, backend="pyocd", probe="sim:nucleo-h743zi",
        target_type="stm32h743xx", pins=PinSpec(nrst="probe"),
    )  # fmt: skip
    try:
        with PyOCDTarget(spec) as t:
            runner = LoaderRunner(t, load(loader))
            with pytest.raises(SafetyError, match="external flash SectorErase") as err:
                runner.sector_erase(0x90000000, 0x90000000)
            assert "--allow-destructive" in str(err.value)
            with pytest.raises(SafetyError, match="external flash Write"):
                runner.write(0x90000011, b"external loader")
            assert board.external.read(0x11, 15) == b"\xff" * 15
            t.allow(Safety(destructive=True))
            runner.write(0x90000011, b"external loader")
        assert board.external.read(0x11, 15) == b"external loader"
    finally:
        registry.unregister("nucleo-h743zi")
