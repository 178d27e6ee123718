"""Inventory entries for labgrid places are checked at load like any other board."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stm32_hil.errors import InventoryError
from stm32_hil.inventory import Inventory


def _load(tmp_path: Path, text: str) -> Inventory:
    path = tmp_path / "boards.toml"
    path.write_text(text)
    return Inventory.load(path)


def test_a_labgrid_board_carries_its_place_and_coordinator(tmp_path: Path) -> None:
    spec = _load(
        tmp_path,
        '[boards.bench3]\npart = "STM32H743ZI"\nbackend = "labgrid"\nplace = "bench3-h743"\n'
        'coordinator = "lab:20408"\npins = { boot0 = "dtr", nrst = "rts" }\n',
    ).get("bench3")
    assert (spec.backend, spec.place, spec.coordinator) == ("labgrid", "bench3-h743", "lab:20408")


@pytest.mark.parametrize(
    ("entry", "line", "says"),
    [
        ('backend = "labgrid"\n', 1, "uses backend 'labgrid' but names no place"),
        ('backend = "labgrid"\npalce = "x"\n', 4, "did you mean 'place'?"),
        ('backend = "sim"\nplace = "x"\n', 4, "'place' is only for backend 'labgrid'"),
        ('backend = "labgird"\nplace = "x"\n', 3, "did you mean 'labgrid'?"),
    ],
)
def test_labgrid_mistakes_are_named_at_their_line(
    tmp_path: Path, entry: str, line: int, says: str
) -> None:
    with pytest.raises(InventoryError) as err:
        _load(tmp_path, f'[boards.b]\npart = "STM32G071RB"\n{entry}')
    assert f"boards.toml:{line}:" in str(err.value)
    assert says in str(err.value)


def test_an_unreachable_coordinator_is_a_typed_error(tmp_path: Path) -> None:
    if os.environ.get("CI") != "true":  # in CI labgrid is installed: never skipped there
        pytest.importorskip("labgrid")
    from stm32_hil.labgrid import LabgridError
    from stm32_hil.target.factory import open_target

    from .conftest import free_port

    spec = _load(
        tmp_path,
        f'[boards.b]\npart = "STM32G071RB"\nbackend = "labgrid"\nplace = "p"\n'
        f'coordinator = "127.0.0.1:{free_port()}"\n',
    ).get("b")
    with pytest.raises(
        LabgridError, match=r"cannot reach the labgrid coordinator at 127\.0\.0\.1:"
    ):
        open_target(spec)
