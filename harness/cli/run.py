"""`hil run`: the regression suites against the selected boards, with a summary table."""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import Any

import click
import pytest
from rich.table import Table

from stm32_hil.cli.console import make_console

REPO = Path(__file__).resolve().parents[2]
SUITES = Path(str(resources.files("stm32_hil_suites")))


class _Collector:
    """Collects per-test outcomes (works on the xdist controller, which sees every report)."""

    def __init__(self) -> None:
        self.outcomes: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.failures: list[tuple[str, str]] = []

    def pytest_runtest_logreport(self, report: Any) -> None:
        nodeid: str = report.nodeid
        suite = nodeid.split("/")[1] if nodeid.startswith("suites/") else nodeid.split("::")[0]
        props = dict(getattr(report, "user_properties", []) or [])
        board = str(props.get("board", "-"))
        key = (suite, board)
        if report.when == "call":
            self.outcomes[key][report.outcome] += 1
            if report.failed:
                self.failures.append(
                    (
                        nodeid,
                        str(report.longreprtext).splitlines()[-1:][0]
                        if report.longreprtext
                        else "",
                    )
                )
        elif report.when == "setup" and report.outcome != "passed":
            self.outcomes[key][report.outcome if report.outcome == "skipped" else "error"] += 1
            if report.failed:
                self.failures.append((nodeid, "setup failed"))


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--board", "boards", multiple=True, help="board name (repeatable)")
@click.option("--backend", type=click.Choice(["sim", "pyocd", "all"]), default="sim")
@click.option("--inventory", type=click.Path(), default=None)
@click.option("--alluredir", default="allure-results", show_default=True)
@click.option("-n", "workers", default="auto", show_default=True, help="pytest-xdist workers")
@click.option("--stldr", "stldr", multiple=True, type=click.Path(), help="extra loader to validate")
@click.option("--allow-destructive", is_flag=True)
@click.option("--allow-irreversible", is_flag=True)
@click.option("-k", "keyword", default=None, help="pytest -k expression")
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def run(
    boards: tuple[str, ...],
    backend: str,
    inventory: str | None,
    alluredir: str,
    workers: str,
    stldr: tuple[str, ...],
    allow_destructive: bool,
    allow_irreversible: bool,
    keyword: str | None,
    pytest_args: tuple[str, ...],
) -> None:
    """Run the regression suites (default: every simulated board) and write Allure results."""
    args = [str(SUITES), "-q", f"--alluredir={alluredir}", "--clean-alluredir"]
    args += ["--backend", backend]
    args += ["--rootdir", str(REPO), "-c", str(REPO / "pyproject.toml")]
    if workers not in ("0", "1"):
        args += ["-n", workers]
    for b in boards:
        args += ["--board", b]
    if inventory:
        args += ["--inventory", inventory]
    for path in stldr:
        args += ["--stldr", path]
    if allow_destructive:
        args.append("--allow-destructive")
    if allow_irreversible:
        args.append("--allow-irreversible")
    if keyword:
        args += ["-k", keyword]
    args += list(pytest_args)
    collector = _Collector()
    os.chdir(REPO)
    code = pytest.main(args, plugins=[collector])
    _summary(collector, alluredir)
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        click.secho("no tests were collected: check --board/--backend and -k", fg="red", err=True)
        sys.exit(2)
    sys.exit(int(code))


def _summary(collector: _Collector, alluredir: str) -> None:
    console = make_console()
    table = Table(title="regression summary")
    for col in ("suite", "board", "passed", "failed", "error", "skipped"):
        table.add_column(col, justify="right" if col not in ("suite", "board") else "left")
    for (suite, board), counts in sorted(collector.outcomes.items()):
        failed = counts.get("failed", 0) + counts.get("error", 0)
        style = "red" if failed else "green"
        table.add_row(
            suite,
            board,
            str(counts.get("passed", 0)),
            f"[{style}]{counts.get('failed', 0)}[/]",
            str(counts.get("error", 0)),
            str(counts.get("skipped", 0)),
        )
    console.print(table)
    for nodeid, why in collector.failures[:20]:
        console.print(f"[red]FAILED[/] {nodeid}: {why}")
    console.print(f"Allure results in [bold]{alluredir}/[/] (view: allure serve {alluredir})")
