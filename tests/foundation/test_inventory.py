"""Inventory errors name the file and the line; good entries parse into BoardSpec."""

from pathlib import Path

import pytest

from stm32_hil.errors import InventoryError, UnknownBoardError
from stm32_hil.inventory import Inventory

SHIPPED = ["nucleo-g071rb", "nucleo-g0b1re", "nucleo-h743zi", "stm32h750b-dk"]


def test_shipped_inventory_has_the_four_sim_boards() -> None:
    inv = Inventory.load()
    for name in SHIPPED:
        spec = inv.get(name)
        assert spec.backend == "sim"
        assert spec.source.endswith(f"boards.toml:{spec.source.rsplit(':', 1)[1]}")


def test_unknown_board_names_known_ones() -> None:
    with pytest.raises(UnknownBoardError) as err:
        Inventory.load().get("nucleo-f999")
    assert "nucleo-g071rb" in str(err.value)


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "boards.toml"
    p.write_text(text)
    return p


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    p = _write(tmp_path, '[boards.a]\npart = "STM32G071RB"\nbackend = sim\n')
    with pytest.raises(InventoryError) as err:
        Inventory.load(p)
    assert f"{p}:3" in str(err.value)


def test_unknown_part_names_line_of_the_board(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        '[boards.ok]\npart = "STM32G071RB"\n\n[boards.bad]\npart = "STM32X000"\n',
    )
    with pytest.raises(InventoryError) as err:
        Inventory.load(p)
    assert f"{p}:5:" in str(err.value) and "STM32X000" in str(err.value)


def test_unknown_key_and_backend_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="unknown key"):
        Inventory.load(_write(tmp_path, '[boards.a]\npart = "STM32G071RB"\nprot = 1\n'))
    with pytest.raises(InventoryError, match="backend = 'jtag' is not valid"):
        Inventory.load(_write(tmp_path, '[boards.a]\npart = "STM32G071RB"\nbackend = "jtag"\n'))


def test_real_board_needs_a_probe(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="names no probe"):
        Inventory.load(_write(tmp_path, '[boards.a]\npart = "STM32H743ZI"\nbackend = "pyocd"\n'))


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="cannot read board inventory"):
        Inventory.load(tmp_path / "nope.toml")


def test_custom_board_with_external_flash(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        '[boards.mine]\npart = "STM32H750XB"\n'
        'external_flash = [{ chip = "MT25TL01G", bus = "QUADSPI", chips = 2 }]\n',
    )
    spec = Inventory.load(p).get("mine")
    assert spec.external_flash[0].chip == "MT25TL01G"
    assert spec.external_flash[0].chips == 2
