"""Allure output: labels on every result, environment, categories, and the HTML report."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from stm32_hil.cli.report import AllureNotFound, find_allure
from stm32_hil.report.allure_env import allure2_categories, classify

BOARDS = ("nucleo-g071rb", "stm32f769i-disco")
PARTS = {"nucleo-g071rb": "STM32G071RB", "stm32f769i-disco": "STM32F769NI"}

USER_TESTS = """
import pytest
from stm32_hil.errors import TargetError


def test_pass(target):
    assert target.part.flash.base == 0x08000000


def test_fail(target):
    assert target.read32(target.part.flash.base) == 0, "erased flash reads as zero"


@pytest.mark.hardware_only
def test_skipped_by_marker(target):
    pass


@pytest.mark.parts("STM32F103C8")
def test_no_board_fits(target):
    pass


@pytest.fixture
def broken(target):
    raise TargetError("cannot open board: probe gone")


def test_setup_error(broken):
    pass


def test_gap(target):
    raise AssertionError("simulator gap: the loader waits on QUADSPI1.SR, which is not modelled")


def test_without_board():
    pass
"""

EXPECTED_CATEGORY = {
    "test_fail": "Product defects",
    "test_setup_error": "Infrastructure errors",
    "test_gap": "Simulator gaps",
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pytest run, as a user runs it, over passing, failing, skipped and broken tests."""
    work = tmp_path_factory.mktemp("allure-user")
    (work / "test_user.py").write_text(USER_TESTS)
    out = work / "allure-results"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"]
    cmd += [f"--alluredir={out}", *(a for b in BOARDS for a in ("--board", b))]
    done = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr  # test_fail and test_gap fail
    return out


def _results(out: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in sorted(out.glob("*-result.json"))]


def _labels(result: dict[str, object]) -> dict[str, list[str]]:
    labels: dict[str, list[str]] = {}
    for label in result["labels"]:  # type: ignore[attr-defined]
        labels.setdefault(label["name"], []).append(label["value"])
    return labels


def test_every_result_carries_board_part_and_backend_once(results: Path) -> None:
    found = _results(results)
    statuses = {r["status"] for r in found}
    assert {"passed", "failed", "broken", "skipped"} <= statuses
    names = set()
    for r in found:
        labels = _labels(r)
        name = str(r["name"])
        names.add(name.split("[")[0])
        assert len(labels.get("board", [])) == 1, (name, labels)
        assert len(labels.get("part", [])) == 1, (name, labels)
        assert labels.get("backend") == ["sim"], (name, labels)
        board = labels["board"][0]
        if "[" in name and "no-board" not in name:
            assert name.endswith(f"[{board}]"), (name, board)
            assert labels["part"] == [PARTS[board]]
        else:
            assert labels["board"] == ["none"] and labels["part"] == ["none"], name
    assert {"test_skipped_by_marker", "test_setup_error", "test_no_board_fits"} <= names


def test_environment_names_versions_boards_and_backend(results: Path) -> None:
    text = (results / "environment.properties").read_text()
    env = dict(line.split("=", 1) for line in text.splitlines() if line)
    assert env["stm32-hil"] == metadata.version("stm32-hil")
    assert env["pyocd"] == metadata.version("pyocd")
    assert env["unicorn"] == metadata.version("unicorn")
    assert env["backend"] == "sim"
    assert env["boards"].split(", ") == list(BOARDS)


def test_categories_separate_defects_gaps_and_infrastructure(results: Path) -> None:
    written = json.loads((results / "categories.json").read_text())
    assert written == allure2_categories()
    seen = {}
    for r in _results(results):
        if r["status"] not in ("failed", "broken"):
            continue
        details = r.get("statusDetails") or {}
        message = str(details.get("message", ""))  # type: ignore[union-attr]
        trace = str(details.get("trace", ""))  # type: ignore[union-attr]
        mine = classify(message, trace)
        # Allure 2 semantics on the written file: first entry whose status and regex match.
        java = next(
            c["name"]
            for c in written
            if r["status"] in c["matchedStatuses"]
            and re.fullmatch(c.get("messageRegex", "(?s).*"), message)
            and re.fullmatch(c.get("traceRegex", "(?s).*"), trace)
        )
        assert mine == java, (r["name"], mine, java)
        seen[str(r["name"]).split("[")[0]] = mine
    assert seen == EXPECTED_CATEGORY


def _allure_or_fail() -> None:
    try:
        find_allure(Path.cwd())
    except AllureNotFound as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must provide Allure 3 (ci/setup.sh installs it): {exc.message}")
        pytest.skip("Allure 3 (npm) not installed; ci/setup.sh installs it")


@pytest.mark.slow
def test_hil_report_builds_an_html_report_with_every_label(results: Path, tmp_path: Path) -> None:
    _allure_or_fail()
    hil = shutil.which("hil")
    cmd = [hil] if hil else [sys.executable, "-m", "stm32_hil.cli.main"]
    done = subprocess.run(
        [*cmd, "report", str(results), "-o", "html"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "report: html/index.html" in done.stdout
    index = tmp_path / "html" / "index.html"
    assert "<html" in index.read_text().lower()
    shown = [json.loads(p.read_text()) for p in (tmp_path / "html/data/test-results").glob("*")]
    assert len(shown) == len(_results(results))
    for r in shown:
        labels = _labels(r)
        assert all(len(labels.get(k, [])) == 1 for k in ("board", "part", "backend")), r["name"]
    categories = json.loads((tmp_path / "html/widgets/categories.json").read_text())
    counts = {
        n["name"]: n["statistic"]["total"]
        for n in categories["nodes"].values()
        if n["type"] == "category"
    }
    assert counts == {name: len(BOARDS) for name in EXPECTED_CATEGORY.values()}


def test_hil_report_without_node_says_how_to_get_allure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HIL_ALLURE", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no node, no npx
    with pytest.raises(AllureNotFound) as err:
        find_allure(tmp_path)
    assert "npm install" in err.value.message and "nodejs" in err.value.message


def test_hil_report_without_results_says_run_first(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from stm32_hil.cli.report import report

    with CliRunner().isolated_filesystem(temp_dir=tmp_path):
        res = CliRunner().invoke(report, [])
    assert res.exit_code != 0 and "hil run" in res.output
