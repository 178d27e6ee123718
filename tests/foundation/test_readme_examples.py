"""The README's examples pass as written: its code blocks are read from README.md and run.

- every Python block that defines tests runs as a conftest-free test file, on every board of
  the default selection (each must pass there, none may be skipped);
- every other Python block runs as a script from the repository root; a fragment that uses the
  `target` fixture runs as the body of a test on every default board;
- the read-only `hil` commands of the shell blocks run and must exit 0.
So an example that drifts from the product breaks this test, not a reader's first hour.
"""

from __future__ import annotations

import builtins
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stm32_hil.inventory import Inventory

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
FIXTURE_NAMES = {"target", "sim_board", "board_spec"}
# `hil` commands that only read: they run as written. Others (run, recover, serve, ...) change
# boards or take minutes and are covered by their own tests.
READ_ONLY = (
    "hil boards",
    "hil parts ",
    "hil loader info ",
    "hil options show ",
    "hil an3155 info ",
)
TIMEOUT_S = 600


def _blocks(language: str) -> list[tuple[int, str]]:
    """(line number, body) of every fenced block in `language`."""
    text = README.read_text()
    out = []
    for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M):
        if m.group(1) == language:
            out.append((text.count("\n", 0, m.start()) + 1, m.group(2)))
    return out


def _free_names(code: str) -> set[str]:
    """Names a block reads but neither assigns, imports nor gets from builtins."""
    import ast

    tree = ast.parse(code)
    bound: set[str] = set(dir(builtins))
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store) else used).add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return used - bound


def _default_boards() -> list[str]:
    return Inventory.load(None).names("sim")


def _pytest(tmp: Path, files: dict[str, str]) -> subprocess.CompletedProcess[str]:
    for name, body in files.items():
        (tmp / name).write_text(body)
    cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *files]
    return subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=TIMEOUT_S)


def _passed(output: str) -> int:
    m = re.search(r"(\d+) passed", output)
    return int(m.group(1)) if m else 0


TEST_BLOCKS = [(line, body) for line, body in _blocks("python") if "def test_" in body]
OTHER_BLOCKS = [(line, body) for line, body in _blocks("python") if "def test_" not in body]


def test_the_readme_has_an_example_test() -> None:
    assert TEST_BLOCKS, "README.md lost its example test (a python block defining test_...)"


@pytest.mark.parametrize(("line", "body"), TEST_BLOCKS, ids=[f"README:{n}" for n, _ in TEST_BLOCKS])
def test_example_test_passes_on_every_default_board(line: int, body: str, tmp_path: Path) -> None:
    tests = len(re.findall(r"^def test_", body, re.M))
    done = _pytest(tmp_path, {f"test_readme_{line}.py": body})
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"README.md:{line} fails as written:\n{out}"
    assert _passed(out) == tests * len(_default_boards()), out
    assert "skipped" not in out, out


@pytest.mark.parametrize(
    ("line", "body"), OTHER_BLOCKS, ids=[f"README:{n}" for n, _ in OTHER_BLOCKS]
)
def test_example_code_runs_as_written(line: int, body: str, tmp_path: Path) -> None:
    free = _free_names(body)
    assert free <= FIXTURE_NAMES, f"README.md:{line} uses names it never defines: {sorted(free)}"
    if free:
        args = ", ".join(sorted(free))
        wrapped = f"def test_readme_{line}({args}):\n" + textwrap.indent(body, "    ")
        done = _pytest(tmp_path, {f"test_readme_{line}.py": wrapped})
        out = done.stdout + done.stderr
        assert done.returncode == 0, f"README.md:{line} fails on a default board:\n{out}"
        assert _passed(out) == len(_default_boards()), out
        return
    script = tmp_path / f"readme_{line}.py"
    script.write_text(body)
    done = subprocess.run(
        [sys.executable, str(script)], cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    assert done.returncode == 0, f"README.md:{line} fails as written:\n{done.stdout}{done.stderr}"


def _commands() -> list[tuple[int, str]]:
    out = []
    for line, body in _blocks("sh"):
        for i, cmd in enumerate(body.replace("\\\n", " ").splitlines()):
            if cmd.startswith(READ_ONLY):
                out.append((line + 1 + i, cmd))
    return out


COMMANDS = _commands()


def test_the_readme_shows_hil_commands() -> None:
    assert any(c.startswith("hil boards") for _, c in COMMANDS), COMMANDS


@pytest.mark.parametrize(("line", "command"), COMMANDS, ids=[f"README:{n}" for n, _ in COMMANDS])
def test_read_only_command_runs_as_written(line: int, command: str) -> None:
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 0, f"README.md:{line}: {command}\n{done.stdout}{done.stderr}"
    assert done.stdout.strip(), f"README.md:{line}: {command} printed nothing"
