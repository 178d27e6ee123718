"""Typed errors of the labgrid backend: each says it is the lab, not the product, that failed."""

from __future__ import annotations

from stm32_hil.errors import TargetError


class LabgridError(TargetError):
    """The coordinator could not be reached or refused a request (bad place, no labgrid)."""


class PlaceUnavailableError(LabgridError):
    """A place this session needs is not usable: gone, its exporter offline, taken from us,
    or not granted within the wait budget. An infrastructure error, never a product failure."""
