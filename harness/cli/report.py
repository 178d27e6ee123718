"""`hil report`: the static HTML report from Allure results, with the Allure 3 npm package.

Allure 3 is a Node.js program (`allure` on npm), not a Python one, so the command looks for it
where a team is likely to have it and says exactly how to get it when it is missing, rather
than failing with "command not found".
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import click

from stm32_hil.report.allure_env import write_allure3_config

ALLURE_NPM_VERSION = "3.18.0"  # the version ci/package.json pins
GENERATE_TIMEOUT_S = 600
HOW_TO_GET = f"""\
The HTML report needs the Allure 3 npm package, which runs on Node.js (18 or newer):
  1. install Node.js and npm: `sudo apt-get install nodejs npm` (Debian/Ubuntu) or https://nodejs.org
  2. either let `hil report` fetch Allure with npx (needs network access to the npm registry), or
     install it once into your project: `npm install --save-dev allure@{ALLURE_NPM_VERSION}`
  3. or point HIL_ALLURE at an `allure` executable (Allure 3).
The raw results stay usable without it (any Allure 3 `allure generate` or `allure open`)."""


class AllureNotFound(click.ClickException):
    exit_code = 2


def _local_installs(start: Path) -> list[Path]:
    """node_modules/.bin/allure in `start` and its parents, then the repository's ci/."""
    found = [d / "node_modules" / ".bin" / "allure" for d in (start, *start.parents)]
    repo_ci = Path(__file__).resolve().parents[2] / "ci" / "node_modules" / ".bin" / "allure"
    return [*found, repo_ci]


def find_allure(cwd: Path) -> list[str]:
    """The command line that runs Allure 3's CLI, or AllureNotFound saying how to get it.

    Order: $HIL_ALLURE; a project-local npm install (node_modules/.bin above the current
    directory, or this repository's ci/node_modules); npx fetching the pinned version.
    """
    env = os.environ.get("HIL_ALLURE")
    if env:
        exe = shutil.which(env) or (env if Path(env).is_file() else None)
        if exe is None:
            raise AllureNotFound(f"HIL_ALLURE={env} is not an executable\n{HOW_TO_GET}")
        return [exe]
    node = shutil.which("node")
    for candidate in _local_installs(cwd):
        if candidate.is_file() and node is not None:
            return [str(candidate)]
    npx = shutil.which("npx")
    if node is not None and npx is not None:
        return [npx, "--yes", f"allure@{ALLURE_NPM_VERSION}"]
    missing = "Node.js is" if node is None else "npx is"
    raise AllureNotFound(f"{missing} not installed.\n{HOW_TO_GET}")


def generate(results: Path, output: Path, cwd: Path) -> Path:
    """Build the report of `results` into `output`; returns its index.html."""
    if not results.is_dir() or not any(results.glob("*-result.json")):
        raise click.ClickException(
            f"{results} holds no Allure results: run `hil run` (or pytest --alluredir) first"
        )
    allure = find_allure(cwd)
    with tempfile.TemporaryDirectory(prefix="hil-report-") as tmp:
        # Allure 3 takes categories from its configuration, not from categories.json.
        config = write_allure3_config(Path(tmp) / "allurerc.json")
        cmd = [*allure, "generate", str(results), "--output", str(output), "--config", str(config)]
        try:
            done = subprocess.run(
                cmd,
                cwd=cwd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=GENERATE_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise click.ClickException(
                f"allure generate did not finish within {GENERATE_TIMEOUT_S} s"
            ) from None
    index = output / "index.html"
    if done.returncode != 0 or not index.is_file():
        tail = "\n".join(done.stdout.splitlines()[-15:])
        raise click.ClickException(
            f"allure generate failed (exit {done.returncode}): {' '.join(cmd)}\n{tail}"
        )
    return index


@click.command()
@click.argument("results", default="allure-results", type=click.Path(file_okay=False))
@click.option(
    "-o", "--output", default="allure-report", show_default=True, type=click.Path(file_okay=False)
)
def report(results: str, output: str) -> None:
    """Build the static HTML report (Allure 3) from RESULTS (default ./allure-results).

    \b
    Uses $HIL_ALLURE, a project-local `npm install allure`, or `npx allure`; without
    Node.js it says how to get it. View the report with `npx allure open allure-report`
    or any static web server.
    """
    cwd = Path.cwd()
    index = generate((cwd / results).resolve(), (cwd / output).resolve(), cwd)
    click.echo(f"report: {os.path.relpath(index, cwd)}")
