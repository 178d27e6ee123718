"""The Target interface: what suites and flows may ask of a board, simulated or real."""

from stm32_hil.target.base import (
    Capability,
    HaltReason,
    Identity,
    Pin,
    ResetKind,
    Target,
)
from stm32_hil.target.safety import Safety

__all__ = ["Capability", "HaltReason", "Identity", "Pin", "ResetKind", "Safety", "Target"]
