"""External-loader validation, one test per check, parametrized by loader and board.

Without options the suite validates the repository's own loaders on their boards of the
example inventory and on any selected board of the same part and external memory (a real board
on a probe: `--backend pyocd` or `--board NAME`); each `--stldr PATH` adds a loader, validated
on every `--board` given (or, without --board, on every selected board of any backend whose RAM
holds the image and whose external flash has the loader's device size). Nothing here asks
whether a board is simulated: checks a probe cannot judge say "not applicable" and pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stm32_hil.errors import HarnessError
from stm32_hil.inventory import DEFAULT_INVENTORY, BoardSpec, Inventory
from stm32_hil.parts import get_part
from stm32_hil.stldr import check_fits, load
from stm32_hil.stldr.validate import CHECKS, validate
from stm32_hil.target.factory import open_target
from stm32_hil.target.safety import Safety
from stm32_hil_pytest.plugin import prepare_board

LOADERS = Path(__file__).resolve().parents[2] / "loaders" / "good"
# Our own loaders and the board of the example inventory each is built for (its pins).
OWN = {"h743_w25q128.stldr": "nucleo-h743zi", "h750_mt25tl01g.stldr": "stm32h750b-dk"}


def _device_size(spec: BoardSpec) -> int | None:
    """Bytes of the board's external flash, from the NOR catalogue; None for a chip it lacks."""
    from stm32_hil.sim.memories.nor.chips import chip_spec

    try:
        return sum(chip_spec(e.chip).size * e.chips for e in spec.external_flash)
    except HarnessError:
        return None


def _selected(config: pytest.Config, inventory: Inventory) -> list[BoardSpec]:
    """The run's boards as the plugin selects them: --board, else every board of --backend."""
    names: list[str] = config.getoption("--board")
    if names:
        return inventory.select(names)
    backend = config.getoption("--backend")
    return [inventory.get(n) for n in inventory.names(None if backend == "all" else backend)]


def _like(spec: BoardSpec, reference: BoardSpec) -> bool:
    """Same part and same external memory on the same bus: an own loader works on it too."""
    return (
        spec.part.upper() == reference.part.upper()
        and spec.external_flash == reference.external_flash
    )


def _own_pairs(boards: list[BoardSpec]) -> list[tuple[str, str]]:
    """Each own loader on every selected board that is, or is built like, its example board
    (a real board on a probe whose inventory entry has that part and memory included)."""
    example = Inventory.load(DEFAULT_INVENTORY)
    pairs = []
    for name, home in OWN.items():
        reference = example.get(home)
        pairs += [
            (str(LOADERS / name), b.name) for b in boards if b.name == home or _like(b, reference)
        ]
    return pairs


def _pairs(config: pytest.Config) -> list[tuple[str, str]]:
    inventory = Inventory.load(config.getoption("--inventory"))
    paths: list[str] = config.getoption("--stldr")
    explicit: list[str] = config.getoption("--board")
    boards = _selected(config, inventory)
    if not paths:
        return _own_pairs(boards)
    pairs = []
    for path in paths:
        if explicit:
            pairs += [(path, b.name) for b in boards]
            continue
        try:
            stldr = load(path)
        except HarnessError:
            pairs.append((path, "no-board"))
            continue
        for spec in boards:
            try:
                check_fits(stldr, get_part(spec.part))
            except HarnessError:
                continue
            if spec.external_flash and _device_size(spec) == stldr.storage_info.size:
                pairs.append((path, spec.name))
    return pairs


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "loader_case" in metafunc.fixturenames:
        pairs = _pairs(metafunc.config)
        metafunc.parametrize("loader_case", pairs, ids=[f"{Path(p).stem}@{b}" for p, b in pairs])


@pytest.mark.destructive  # erases and rewrites the board's external flash
@pytest.mark.parametrize("check", [c for c in CHECKS if c != "ram_fit"])
def test_loader_check(
    loader_case: tuple[str, str],
    check: str,
    pytestconfig: pytest.Config,
    request: pytest.FixtureRequest,
) -> None:
    path, board = loader_case
    inventory = Inventory.load(pytestconfig.getoption("--inventory"))
    try:
        stldr = load(path)
        spec = inventory.get(board)
    except HarnessError as exc:
        pytest.fail(f"no verdict possible: {exc}", pytrace=False)
    prepare_board(request, spec)
    target = open_target(spec, safety=Safety.for_test(request.config, request.node))
    try:
        only = ("init", check) if check not in ("metadata", "init", "timing") else (check,)
        results = {r.check: r for r in validate(target, stldr, only=only)}
    finally:
        target.close()
    fit = results["ram_fit"]
    assert fit.passed, f"ram_fit: {fit.detail}"
    res = results[check]
    assert res.passed is not False, f"{check} at {board}: {res.detail}"
    assert res.verdict not in ("no verdict", "internal error"), f"{check} at {board}: {res.detail}"
    if res.verdict == "not applicable":  # to this loader, or to what this board lets us see
        pytest.skip(f"{check} at {board}: {res.detail}")
