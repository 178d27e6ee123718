"""`hil run`: the product's suites plus your own tests against the selected boards.

It runs from any directory and from a regular install: the suites are the installed package
`stm32_hil_suites`, every path given is taken relative to the current directory, results go to
`allure-results/` there, and the pytest settings the suites need are passed on the command line
(outside this repository there is no pyproject.toml to carry them).
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import Any

import click
import pytest
from rich.markup import escape
from rich.table import Table

from stm32_hil.cli.console import make_console

SUITES_PACKAGE = "stm32_hil_suites"
# What the suites need whatever the user's configuration: importlib mode (suite modules share
# names like test_recovery.py with user tests), and no cache written into the user's tree.
# `hil` itself has imported the product's modules before pytest starts, so pytest's notice
# that it cannot assert-rewrite them (they hold no tests) is noise here.
PYTEST_BASE = [
    "-p",
    "no:cacheprovider",
    "--import-mode=importlib",
    "-W",
    "ignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning",
]
# pytest configuration files in the order pytest itself looks for them in a directory.
CONFIG_FILES = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")
CONFIG_SECTIONS = {
    "pyproject.toml": "[tool.pytest.ini_options]",
    "tox.ini": "[pytest]",
    "setup.cfg": "[tool:pytest]",
}

EPILOG = """\b
Examples (paths are relative to the current directory):
  hil run                                  product suites, every simulated board
  hil run tests/                           ... plus your own tests
  hil run --no-suites tests/test_app.py    only your tests
  hil run --inventory bench.toml --backend pyocd --allow-destructive tests/
  hil run --board nucleo-h743zi -k recovery -n 0
  hil run --stldr build/my_loader.stldr    validate your external loader too

\b
Boards come from --inventory FILE, else $HIL_INVENTORY, else the example inventory shipped
with the package (simulated boards). Results: ./allure-results (see `hil report`).
Exit status: 0 all passed, 1 a test failed, 2 no tests ran or bad usage.
"""


def suites_dir() -> Path:
    """Where the installed suites live (site-packages, or the editable link tree)."""
    return Path(str(resources.files(SUITES_PACKAGE)))


def suite_of(nodeid: str) -> str:
    """Summary row name: the test file, relative to the suites package for the product's.

    The same suite file gets the same name whether the suites run from site-packages, from the
    editable link tree or from the repository's `suites/` folder.
    """
    path = nodeid.split("::", 1)[0]
    parts = Path(path).parts
    if SUITES_PACKAGE in parts:
        return "/".join(parts[parts.index(SUITES_PACKAGE) + 1 :])
    if len(parts) > 1 and parts[0] == "suites":
        return "/".join(parts[1:])
    return path


def user_config(cwd: Path) -> Path | None:
    """The pytest configuration of the project in `cwd`, if it has one.

    pytest looks for it above the common ancestor of the paths it is given; with the suites
    in site-packages that ancestor is `/`, so it is named explicitly.
    """
    for name in CONFIG_FILES:
        path = cwd / name
        if not path.is_file():
            continue
        section = CONFIG_SECTIONS.get(name)
        if section is None:
            return path
        try:
            if section in path.read_text(encoding="utf-8", errors="replace"):
                return path
        except OSError:
            continue
    return None


def _resolve_paths(args: tuple[str, ...], cwd: Path) -> tuple[list[str], list[str]]:
    """(test paths made absolute, other pytest arguments) from the pass-through arguments."""
    paths: list[str] = []
    rest: list[str] = []
    for arg in args:
        head, sep, tail = arg.partition("::")
        if not arg.startswith("-") and (cwd / head).exists():
            paths.append(str((cwd / head).resolve()) + sep + tail)
        else:
            rest.append(arg)
    return paths, rest


class _Collector:
    """Collects per-test outcomes (works on the xdist controller, which sees every report)."""

    def __init__(self) -> None:
        self.outcomes: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.failures: list[tuple[str, str]] = []

    def pytest_runtest_logreport(self, report: Any) -> None:
        nodeid: str = report.nodeid
        props = dict(getattr(report, "user_properties", []) or [])
        key = (suite_of(nodeid), str(props.get("board", "-")))
        if report.when == "call":
            self.outcomes[key][report.outcome] += 1
            if report.failed:
                lines = str(report.longreprtext).splitlines()
                self.failures.append((nodeid, lines[-1] if lines else ""))
        elif report.when == "setup" and report.outcome != "passed":
            self.outcomes[key][report.outcome if report.outcome == "skipped" else "error"] += 1
            if report.failed:
                self.failures.append((nodeid, "setup failed"))


@click.command(
    context_settings={"ignore_unknown_options": True, "help_option_names": ["-h", "--help"]},
    epilog=EPILOG,
)
@click.option("--board", "boards", multiple=True, help="board (or pool) name, repeatable")
@click.option(
    "--backend",
    type=click.Choice(["sim", "pyocd", "labgrid", "all"]),
    default="sim",
    show_default=True,
    help="which boards the default selection takes",
)
@click.option(
    "--inventory",
    type=click.Path(dir_okay=False),
    default=None,
    help="your board inventory TOML (default: $HIL_INVENTORY, else the shipped example)",
)
@click.option("--alluredir", default="allure-results", show_default=True)
@click.option("-n", "workers", default="auto", show_default=True, help="pytest-xdist workers")
@click.option("--stldr", "stldr", multiple=True, type=click.Path(), help="extra loader to validate")
@click.option(
    "--suites/--no-suites",
    default=True,
    show_default=True,
    help="run the product's suites along with your tests",
)
@click.option("--allow-destructive", is_flag=True, help="allow erase/program on real boards")
@click.option("--allow-irreversible", is_flag=True, help="also allow RDP level 2 (permanent)")
@click.option("-k", "keyword", default=None, help="pytest -k expression")
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def run(
    boards: tuple[str, ...],
    backend: str,
    inventory: str | None,
    alluredir: str,
    workers: str,
    stldr: tuple[str, ...],
    suites: bool,
    allow_destructive: bool,
    allow_irreversible: bool,
    keyword: str | None,
    pytest_args: tuple[str, ...],
) -> None:
    """Run the product's suites and your tests (PYTEST_ARGS: test paths, pytest options)."""
    cwd = Path.cwd()
    paths, rest = _resolve_paths(pytest_args, cwd)
    if suites:
        paths.insert(0, str(suites_dir()))
    if not paths:
        click.secho("nothing to run: --no-suites and no test paths given", fg="red", err=True)
        sys.exit(2)
    results = (cwd / alluredir).resolve()
    args = [*paths, *PYTEST_BASE, "-q", f"--alluredir={results}", "--clean-alluredir"]
    args += ["--rootdir", str(cwd)]
    config = user_config(cwd)
    if config is not None:
        args += ["-c", str(config)]
    args += ["--backend", backend]
    if workers not in ("0", "1"):
        args += ["-n", workers]
    for b in boards:
        args += ["--board", b]
    if inventory:
        args += ["--inventory", str((cwd / inventory).resolve())]
    for path in stldr:
        args += ["--stldr", str((cwd / path).resolve())]
    if allow_destructive:
        args.append("--allow-destructive")
    if allow_irreversible:
        args.append("--allow-irreversible")
    if keyword:
        args += ["-k", keyword]
    args += rest
    collector = _Collector()
    code = pytest.main(args, plugins=[collector])
    if collector.outcomes:
        _summary(collector, os.path.relpath(results, cwd))
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        click.secho("no tests were collected: check --board/--backend and -k", fg="red", err=True)
        sys.exit(2)
    if code == pytest.ExitCode.OK and not collector.outcomes:
        sys.exit(2)
    sys.exit(int(code))


def _summary(collector: _Collector, alluredir: str) -> None:
    console = make_console()
    table = Table(title="regression summary")
    for col in ("suite", "board", "passed", "failed", "error", "skipped"):
        if col in ("suite", "board"):  # copied into commands: whole, on one line
            table.add_column(col, no_wrap=True)
        else:
            table.add_column(col, justify="right")
    for (suite, board), counts in sorted(collector.outcomes.items()):
        failed = counts.get("failed", 0) + counts.get("error", 0)
        style = "red" if failed else "green"
        table.add_row(
            escape(suite),
            escape(board),
            str(counts.get("passed", 0)),
            f"[{style}]{counts.get('failed', 0)}[/]",
            str(counts.get("error", 0)),
            str(counts.get("skipped", 0)),
        )
    console.print(table)
    for nodeid, why in collector.failures[:20]:
        console.print(f"[red]FAILED[/] {escape(nodeid)}: {escape(why)}", soft_wrap=True)
    console.print(f"Allure results in [bold]{alluredir}/[/] (HTML report: hil report)")
