"""What a run writes next to its Allure results: the environment and the failure categories.

A report read days later must say what ran (product, pyOCD and Unicorn versions, boards,
backend) and must separate three different kinds of red: a defect in the firmware or part
under test, a simulator gap (the verdict says "simulator gap": the simulator could not know,
the result on silicon may differ), and an infrastructure error (a board that could not be
opened, a busy lock, a probe or serial link that failed) that says nothing about the product.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path

SIMULATOR_GAP = "simulator gap"

# Exceptions and messages that come from the test bench, not from the part under test.
INFRASTRUCTURE_PATTERN = (
    r"(?s).*(cannot open board|BoardBusyError|board .* is busy|ProbeError|TransferError|"
    r"SerialException|could not open port|ConnectionRefusedError|ConnectionResetError|"
    r"BrokenPipeError|no probe|InventoryError|UsageError).*"
)

# Allure applies the first category whose statuses and pattern match, so the order matters:
# a simulator gap wins over everything, infrastructure over the remaining failures.
CATEGORIES: list[dict[str, object]] = [
    {
        "name": "Simulator gaps",
        "description": "the simulator does not model what the code used; silicon may differ",
        "matchedStatuses": ["failed", "broken"],
        "messageRegex": rf"(?is).*{SIMULATOR_GAP}.*",
    },
    {
        "name": "Infrastructure errors",
        "description": "the bench failed (board busy or unreachable, probe, serial link)",
        "matchedStatuses": ["broken", "failed"],
        "messageRegex": INFRASTRUCTURE_PATTERN,
    },
    {
        "name": "Infrastructure errors",
        "matchedStatuses": ["broken", "failed"],
        "traceRegex": INFRASTRUCTURE_PATTERN,
    },
    {
        "name": "Product defects",
        "description": "a check on the part, its flash, bootloader or loader failed",
        "matchedStatuses": ["failed", "broken"],
    },
]


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment(boards: Iterable[str], backend: str) -> dict[str, str]:
    """The key/value pairs of environment.properties."""
    return {
        "stm32-hil": _version("stm32-hil"),
        "pyocd": _version("pyocd"),
        "unicorn": _version("unicorn"),
        "pytest": _version("pytest"),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "backend": backend,
        "boards": ", ".join(boards) or "none",
    }


def _escape(text: str) -> str:
    """A .properties value: backslashes, newlines and leading spaces escaped."""
    out = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    return "\\" + out if out.startswith(" ") else out


def write_environment(results_dir: str | Path, values: Mapping[str, str]) -> Path:
    path = Path(results_dir) / "environment.properties"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{key.replace(' ', '_')}={_escape(str(value))}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_categories(results_dir: str | Path) -> Path:
    path = Path(results_dir) / "categories.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(CATEGORIES, indent=2) + "\n", encoding="utf-8")
    return path


def write_run_context(results_dir: str | Path, boards: Iterable[str], backend: str) -> None:
    """environment.properties and categories.json in `results_dir`."""
    write_environment(results_dir, environment(boards, backend))
    write_categories(results_dir)
