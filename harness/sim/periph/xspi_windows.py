"""Where each QUADSPI/OCTOSPI instance's memory-mapped window sits: the part's family data."""

from __future__ import annotations

from typing import Any

from stm32_hil.errors import ConfigError


def window_base(part: Any, block_name: str) -> int:
    """The memory-mapped window of a QUADSPI/OCTOSPI instance, from the part's family data
    (`xspi_windows` in the parts catalogue): the reference manual's memory map."""
    from stm32_hil.parts.catalogue import family_facts

    family = part.chip.family if getattr(part, "chip", None) is not None else ""
    windows = family_facts(family).get("xspi_windows", {})
    if block_name not in windows:
        raise ConfigError(
            f"{part.name}: no memory-mapped window known for {block_name}",
            hint=f"add {block_name} to xspi_windows of [families.{family}] in the parts "
            "catalogue (harness/parts/catalogue.toml)",
        )
    return int(windows[block_name])
