"""Thin wrappers over allure-pytest so flows can report without caring whether it is active."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

from stm32_hil.parts import Part
from stm32_hil.report.tables import option_table

try:
    import allure

    _HAVE_ALLURE = True
except ImportError:  # pragma: no cover - allure-pytest is a declared dependency
    _HAVE_ALLURE = False


@contextlib.contextmanager
def step(title: str) -> Iterator[None]:
    """An Allure step (a plain context when Allure is not collecting)."""
    if _HAVE_ALLURE:
        with allure.step(title):
            yield
    else:
        yield


def attach_text(name: str, text: str) -> None:
    if _HAVE_ALLURE:
        allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)


def attach_option_bytes(
    name: str, part: Part, values: Mapping[str, int], before: Mapping[str, int] | None = None
) -> None:
    attach_text(name, option_table(part, values, before))
