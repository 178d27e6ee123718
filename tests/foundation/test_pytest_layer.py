"""The pytest layer: board selection, markers, capability skips, xdist."""

import pytest

TEST_FILE = """
import pytest
from stm32_hil.target import Target

def test_board_fixture(target: Target):
    assert target.identity().pid == target.part.pid
    print("BOARD", target.name)

@pytest.mark.family("h7")
def test_only_h7(target):
    assert target.part.family == "h7"

@pytest.mark.needs("fault_injection")
def test_needs(target):
    assert target.sim is not None

@pytest.mark.family("g0", "h7")
@pytest.mark.family("h7")
def test_markers_narrow_together(target):
    assert target.part.family == "h7"
"""


INVENTORY = """
[boards.nucleo-g071rb]
part = "STM32G071RB"
[boards.nucleo-g0b1re]
part = "STM32G0B1RE"
[boards.nucleo-h743zi]
part = "STM32H743ZI"
[boards.stm32h750b-dk]
part = "STM32H750XB"
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_boards=TEST_FILE)
    inventory = pytester.path / "boards.toml"
    inventory.write_text(INVENTORY)
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-v", "--inventory", str(inventory), *args
    )


def test_default_selection_is_every_sim_board(pytester: pytest.Pytester) -> None:
    result = _run(pytester)
    result.assert_outcomes(passed=4 + 2 + 4 + 2)
    for name in ("nucleo-g071rb", "nucleo-g0b1re", "nucleo-h743zi", "stm32h750b-dk"):
        result.stdout.fnmatch_lines([f"*test_board_fixture?{name}? PASSED*"])


def test_board_option_narrows_and_family_marker_skips(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "--board", "nucleo-g071rb")
    result.assert_outcomes(passed=2, skipped=2)


def test_unknown_board_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "--board", "nucleo-zz")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown board 'nucleo-zz'*", "*known boards: nucleo-g071rb*"])


def test_runs_under_xdist(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "-n", "2")
    result.assert_outcomes(passed=12)


def test_allure_results_carry_board_labels(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "--board", "nucleo-h743zi", "--alluredir", "allure")
    result.assert_outcomes(passed=4)
    import json

    labels = [
        {(lbl["name"], lbl["value"]) for lbl in json.loads(p.read_text())["labels"]}
        for p in (pytester.path / "allure").glob("*-result.json")
    ]
    assert labels and all(("board", "nucleo-h743zi") in s for s in labels)
    assert all(("part", "STM32H743ZI") in s and ("backend", "sim") in s for s in labels)
