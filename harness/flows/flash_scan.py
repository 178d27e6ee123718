"""Read the whole main flash by debugger and sort every page/sector into what a person must know.

After a reset or power loss in the middle of programming, some flash words hold a bad ECC and
any read of them fails ("Read Memory Error"). Which page/sector that is decides what to erase,
so the scan reads in page-aligned chunks no larger than a page: a failed chunk names exactly
one page. On the simulator the failure is an `EccError` with the word's address; through pyOCD
it is a `BusFault` at the chunk, which is attributed the same way.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from stm32_hil.errors import BusFault, EccError, ProtectionError
from stm32_hil.target.base import Target

MAX_CHUNK = 0x4000  # bytes per debug read: a few hundred reads for a 2 MiB H7


@dataclass
class FlashScan:
    """Pages/sectors by global index, each list sorted."""

    ecc: dict[int, int] = field(default_factory=dict)  # page -> first failing address
    protected: list[int] = field(default_factory=list)  # reads refused (RDP, PCROP)
    programmed: list[int] = field(default_factory=list)  # readable, not erased
    skipped: list[int] = field(default_factory=list)

    @property
    def blank(self) -> bool:
        return not (self.ecc or self.protected or self.programmed)

    def summary(self) -> str:
        parts = []
        if self.ecc:
            parts.append(
                "ECC errors in page(s) "
                + ", ".join(f"{p} (0x{a:08X})" for p, a in sorted(self.ecc.items()))
            )
        if self.protected:
            parts.append(f"read refused in page(s) {_ranges(self.protected)}")
        if self.programmed:
            parts.append(f"programmed page(s) {_ranges(self.programmed)}")
        if self.skipped:
            parts.append(f"not scanned: {_ranges(self.skipped)}")
        return "; ".join(parts) or "all pages erased and readable"


def _ranges(pages: list[int]) -> str:
    out: list[str] = []
    start = prev = None
    for p in sorted(pages):
        if start is None:
            start = prev = p
        elif prev is not None and p == prev + 1:
            prev = p
        else:
            out.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = prev = p
    if start is not None:
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
    return ", ".join(out)


def scan_flash(target: Target, *, skip_pages: Collection[int] = ()) -> FlashScan:
    """Read every page of main flash once; a failure moves the scan on to the next page."""
    geo = target.part.flash
    chunk = min(geo.page_size, MAX_CHUNK)
    erased = bytes([geo.erase_value]) * chunk
    result = FlashScan()
    for page in range(geo.page_count):
        if page in skip_pages:
            result.skipped.append(page)
            continue
        base = geo.base + page * geo.page_size
        for address in range(base, base + geo.page_size, chunk):
            try:
                data = target.read_memory(address, chunk)
            except EccError as exc:
                result.ecc[page] = exc.address
                break
            except ProtectionError:
                result.protected.append(page)
                break
            except BusFault as exc:
                result.ecc[page] = exc.address
                break
            if data != erased:
                if page not in result.programmed:
                    result.programmed.append(page)
    return result


def pages_overlapping(target: Target, areas: Collection[tuple[int, int]]) -> set[int]:
    """Global page indices touching any [start, end) address range."""
    geo = target.part.flash
    pages: set[int] = set()
    for start, end in areas:
        if end <= start:
            continue
        pages.update(range(geo.page_of(start), geo.page_of(end - 1) + 1))
    return pages
