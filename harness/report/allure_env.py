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
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

SIMULATOR_GAP = "simulator gap"

# Patterns searched in a result's message (and trace): plain regular expressions that mean the
# same in Python, Java (Allure 2) and JavaScript (Allure 3), so no inline flags.
GAP_PATTERN = "[Ss]imulator gap"
INFRASTRUCTURE_PATTERN = (
    "cannot open board|BoardBusyError|is busy|ProbeError|TransferError|SerialException|"
    "could not open port|ConnectionRefusedError|ConnectionResetError|BrokenPipeError|"
    "No connected debug probes|InventoryError|PlaceUnavailableError|LabgridError"
)
BAD = ["failed", "broken"]


@dataclass(frozen=True)
class Category:
    name: str
    description: str
    pattern: str | None  # searched in message or trace; None: every remaining failure


# The first category that matches wins (Allure 2 and 3 alike), so the order matters: a
# simulator gap wins over everything, infrastructure over the remaining failures.
CATEGORIES = (
    Category(
        "Simulator gaps",
        "the simulator does not model what the code used; silicon may differ",
        GAP_PATTERN,
    ),
    Category(
        "Infrastructure errors",
        "the bench failed (board busy or unreachable, probe, serial link, labgrid place gone)",
        INFRASTRUCTURE_PATTERN,
    ),
    Category(
        "Product defects", "a check on the part, its flash, bootloader or loader failed", None
    ),
)


def classify(message: str, trace: str = "") -> str:
    """The category a failed or broken result falls in (what both Allure versions compute)."""
    for cat in CATEGORIES:
        if cat.pattern is None or re.search(cat.pattern, message) or re.search(cat.pattern, trace):
            return cat.name
    raise AssertionError("the last category matches everything")


def allure2_categories() -> list[dict[str, object]]:
    """categories.json of the results directory (Allure 2: Java full-match regexes)."""
    out: list[dict[str, object]] = []
    for cat in CATEGORIES:
        base: dict[str, object] = {"name": cat.name, "matchedStatuses": BAD}
        if cat.pattern is None:
            out.append(base)
            continue
        full = f"(?s).*(?:{cat.pattern}).*"
        out.append({**base, "messageRegex": full})
        out.append({**base, "traceRegex": full})
    return out


def allure3_config() -> dict[str, object]:
    """The Allure 3 configuration `hil report` passes (categories live in the config there)."""
    rules = []
    for cat in CATEGORIES:
        if cat.pattern is None:
            matchers: list[dict[str, object]] = [{"statuses": BAD}]
        else:
            matchers = [
                {"statuses": BAD, "message": cat.pattern},
                {"statuses": BAD, "trace": cat.pattern},
            ]
        rules.append({"name": cat.name, "matchers": matchers})
    return {"name": "stm32-hil", "categories": {"rules": rules}}


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
    path.write_text(json.dumps(allure2_categories(), indent=2) + "\n", encoding="utf-8")
    return path


def write_allure3_config(path: str | Path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(allure3_config(), indent=2) + "\n", encoding="utf-8")
    return out


def write_run_context(results_dir: str | Path, boards: Iterable[str], backend: str) -> None:
    """environment.properties and categories.json in `results_dir`."""
    write_environment(results_dir, environment(boards, backend))
    write_categories(results_dir)
