"""Package layout: the repository's folders install under import names unique to the product.

`harness/` installs as `stm32_hil`, `fixtures/` (the pytest plugin) as `stm32_hil_pytest` and
`suites/` (the regression suites `hil run` executes) as `stm32_hil_suites`, so installing the
product never shadows, or is shadowed by, PyPI packages called `fixtures` or `harness`.
Everything else is declared in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup

FOLDERS = {"stm32_hil": "harness", "stm32_hil_pytest": "fixtures", "stm32_hil_suites": "suites"}
HERE = Path(__file__).resolve().parent


def _packages() -> tuple[list[str], dict[str, str]]:
    packages: list[str] = []
    package_dir: dict[str, str] = {}
    for name, folder in FOLDERS.items():
        root = HERE / folder
        for init in sorted(root.rglob("__init__.py")):
            rel = init.parent.relative_to(root)
            dotted = ".".join((name, *rel.parts))
            packages.append(dotted)
            package_dir[dotted] = str(Path(folder, *rel.parts))
    return packages, package_dir


# The test firmware images the suites load (firmware/<part>/*.bin, built and checked in the
# repository) ship inside the suites package, so an installed `hil run` finds them; the
# file patterns are in pyproject.toml's package-data.
SUITES_FIRMWARE = "stm32_hil_suites.firmware"

PACKAGES, PACKAGE_DIR = _packages()
setup(
    packages=[*PACKAGES, SUITES_FIRMWARE],
    package_dir={**PACKAGE_DIR, SUITES_FIRMWARE: "firmware"},
)
