"""Why a .stldr file was refused: one type per cause, so tests and flows can tell them apart."""

from __future__ import annotations

from stm32_hil.errors import LoaderError


class NotElfError(LoaderError):
    """The file does not start with the ELF magic: a wrong path, a .hex or a .bin."""


class TruncatedElfError(LoaderError):
    """A header, table or segment points beyond the end of the file."""


class WrongArchitectureError(LoaderError):
    """An ELF, but not a 32-bit little-endian ARM one: built for another target."""


class MissingSymbolError(LoaderError):
    """A symbol every loader must export (Init, StorageInfo) is absent."""


class LayoutError(LoaderError):
    """The loaded image cannot be placed: it collides with the return trap or leaves RAM."""


class Finding(Exception):
    """A validation check failed: the message says what, in plain words, with the address."""


class NotApplicable(Exception):
    """The check cannot judge this loader or board (an optional function is absent, the
    state it needs is not observable): reported as not run, never as a pass."""
