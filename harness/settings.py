"""Settings read from the environment, checked where they are read."""

from __future__ import annotations

import math
import os

from stm32_hil.errors import HarnessError


def env_seconds(
    name: str, default: float, error: type[HarnessError], *, zero_ok: bool, example: str
) -> float:
    """`$name` as seconds, or `default` when unset or empty.

    A value that is not a number (or is negative, or zero unless `zero_ok`) raises `error`,
    naming the variable and an example, rather than waiting forever or not at all.
    """
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value >= (0.0 if zero_ok else math.ulp(0.0)):  # NaN fails too
        kind = "a number of seconds" if zero_ok else "a positive number of seconds"
        raise error(f"{name}={text!r} is not {kind}", hint=f"e.g. {name}={example}")
    return value


__all__ = ["env_seconds"]
