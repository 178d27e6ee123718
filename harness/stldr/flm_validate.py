"""Validation of a Keil .FLM flash algorithm: the .stldr checks where they apply, in FLM terms.

The checks keep their names, so the two builds of one loader (.stldr and .FLM) can be compared
check by check. What differs is the calling convention (FlmRunner), the read-back (the
memory-mapped window after Init/UnInit, else the algorithm's Verify, as Keil MDK verifies) and
the result conventions (0 = success; Verify returns adr + sz). Checks about functions an FLM
does not have (CheckSum, Read before Init) are listed as not applicable rather than passed.
`blank_check` is the FLM's own.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from stm32_hil.errors import HarnessError, LoaderError
from stm32_hil.parts import MemoryRegion
from stm32_hil.stldr.checks import check_fits
from stm32_hil.stldr.controller import read_state
from stm32_hil.stldr.errors import Finding, NotApplicable
from stm32_hil.stldr.flm import SRAM_REGION, Flm, default_ram, place, pyocd_load_address
from stm32_hil.stldr.flm_runner import MIN_TWO_BUF_STACK, FlmRunner, Operation
from stm32_hil.stldr.runner import CallResult, HostReadError, LoaderCallError, LoaderRunner
from stm32_hil.stldr.timing import judge
from stm32_hil.stldr.validate import SEED, CheckResult, Validator, _size_text, pattern

NOT_APPLICABLE = {
    "checksum": "a flash algorithm has no CheckSum function; pyOCD and Keil MDK compare "
    "content by reading it back or through Verify",
    "read_before_init": "pyOCD and Keil MDK call Init(adr, clk, fnc) before every operation and "
    "a flash algorithm has no Read, so nothing of it runs before Init",
}
FLM_ONLY = ("blank_check",)
# The .stldr function names the shared checks use, and the FLM function each one is.
WORDS = (
    (re.compile(r"\bSectorErase\b"), "EraseSector"),
    (re.compile(r"\bMassErase\b"), "EraseChip"),
    (re.compile(r"\bWrite\("), "ProgramPage("),
)
ORDER_SPAN = 0x300


def flm_checks(checks: tuple[str, ...]) -> tuple[str, ...]:
    """The .stldr check list with the FLM's own checks after the erase checks."""
    out = list(checks)
    at = out.index("mass_erase") + 1 if "mass_erase" in out else len(out)
    return (*out[:at], *FLM_ONLY, *out[at:])


def in_flm_words(text: str) -> str:
    for pattern_, word in WORDS:
        text = pattern_.sub(word, text)
    return text


def as_role(call: CallResult) -> CallResult:
    """An FLM call as the .stldr call of the same work, for the timing judge (success = 1)."""
    ok = 1 if call.r0 == 0 else 0
    if call.name == "EraseSector" and call.args:
        return replace(call, name="SectorErase", r0=ok, args=(call.args[0], call.args[0]))
    if call.name == "ProgramPage" and len(call.args) >= 2:
        return replace(call, name="Write", r0=ok, args=call.args[:2])
    if call.name == "EraseChip":
        return replace(call, name="MassErase", r0=ok)
    return call


class FlmValidator(Validator):
    """A Validator whose loader is an FLM (placed as pyOCD places it on the target's part)."""

    checks = flm_checks(Validator.checks)

    def __post_init__(self) -> None:
        self.placement_error: LoaderError | None = None
        flm = self.flm
        if not flm.placed:
            try:
                self.stldr = place(flm, self.target.part)
            except LoaderError as exc:
                self.placement_error = exc
        super().__post_init__()

    @property
    def flm(self) -> Flm:
        assert isinstance(self.stldr, Flm)
        return self.stldr

    @property
    def fr(self) -> FlmRunner:
        runner = self.r
        assert isinstance(runner, FlmRunner)
        return runner

    def _new_runner(self, **kwargs: Any) -> LoaderRunner:
        kwargs.setdefault("reinit", self.reinit)
        kwargs.pop("max_buffer", None)  # the host reads the window: no RAM buffer size applies
        return FlmRunner(
            self.target,
            self.stldr,
            wall_limit=self.wall_limit,
            datasheet=self.sheet.times if self.sheet is not None else None,
            **kwargs,
        )

    def run(self, only: tuple[str, ...] | None = None) -> list[CheckResult]:
        results = super().run(only)
        for res in results:
            if res.check in NOT_APPLICABLE:
                res.passed, res.verdict = None, "not applicable"
                res.detail = "not applicable to .FLM: " + NOT_APPLICABLE[res.check]
            else:
                res.detail = in_flm_words(res.detail)
        return results

    # -- checks on the file and its placement ---------------------------------------------------
    def check_metadata(self) -> str:
        dev, info = self.flm.device, self.info
        problems = list(self.stldr.warnings)
        if dev.size == 0:
            problems.append("szDev is 0")
        if problems:
            raise Finding("; ".join(problems))
        sectors = ", ".join(f"{s.count} x 0x{s.size:X}" for s in info.sectors)
        return (
            f"{dev.name}: {dev.type_name} (a .stldr says {info.type_name}), "
            f"0x{dev.start:08X} + 0x{dev.size:X}, page {dev.page_size}, erased 0x{dev.empty:02X}, "
            f"sectors {sectors}; toProg {dev.prog_timeout_ms} ms, toErase "
            f"{dev.erase_timeout_ms} ms; FlashDevice version 0x{dev.version:04X}"
        )

    def check_ram_fit(self) -> str:
        if self.placement_error is not None:
            err = self.placement_error
            raise Finding(err.message + (f" ({err.hint})" if err.hint else ""))
        try:
            region = check_fits(self.stldr, self.target.part)
        except LoaderError as exc:
            raise Finding(exc.message + (f" ({exc.hint})" if exc.hint else "")) from None
        self.runner = self._new_runner()
        r = self.fr
        buffers = ", ".join(f"0x{b:08X}" for b in r.buffers)
        return (
            f"algorithm [0x{self.flm.code_start:08X}, 0x{self.stldr.image_end:08X}) behind its "
            f"BKPT header at 0x{self.flm.load_address:08X}, at the top of {region.name} as pyOCD "
            f"places it; page buffer(s) {buffers} of 0x{r.page:X}; stack top "
            f"0x{r.stack_top:08X}; R9 (static base) 0x{self.stldr.r9 or 0:08X}"
        )

    def check_device_fit(self) -> str:
        """Besides the .stldr's device fit: an erase unit smaller than a program page cannot be
        (a damaged table), and erasing the device sector by sector through it never ends."""
        detail = super().check_device_fit()
        page = self.flm.device.page_size
        small = [size for _, _, size in self.groups if size < page]
        if small:
            raise Finding(
                f"the FlashDevice declares {small[0]}-byte sectors, smaller than its {page}-byte "
                "page: no flash erases less than it programs, the sector list is damaged"
            )
        return detail

    def check_init(self) -> str:
        r = self.fr
        start = self.flm.device.start
        times = []
        for op in Operation:
            times.append(r.init(op).seconds)  # reloaded, as at the start of a session
            r.uninit()
        # pyOCD keeps the algorithm loaded and switches operations with UnInit + Init.
        r.init(Operation.ERASE)
        for op in (Operation.ERASE, Operation.PROGRAM, Operation.VERIFY):
            if op is not Operation.ERASE:
                r._init(op)
            r.uninit()
        r.init(Operation.ERASE)
        again = r.call("Init", start, r.clock, int(Operation.ERASE))
        r.operation = Operation.ERASE
        r.uninit()
        if again.r0 != 0:
            raise Finding(f"Init called twice without UnInit or reload returned {again.r0}")
        return (
            f"Init(0x{start:08X}, {r.clock}, fnc) and UnInit(fnc) returned 0 for fnc 1, 2, 3, "
            f"each after a reload and in sequence without one (pyOCD's switch between "
            f"operations), and Init twice in place; {times[0]:.4f} s"
        )

    # -- erase ---------------------------------------------------------------------------------
    def check_mass_erase(self) -> str:
        if "EraseChip" not in self.flm.algo_functions:
            return "no EraseChip function (optional: a full erase goes sector by sector)"
        start, r = self.info.start, self.fr
        self._prepare(start, pattern(0x1000, SEED + 2).replace(b"\xff", b"\x00"))
        res = r.mass_erase()
        spans = self._spans(r)
        erased = bytes([self.info.erase_value])
        for addr, size in spans:
            bad, how = r.compare(addr, erased * size, self._note("blank check"))
            if bad is not None:
                raise Finding(
                    f"after EraseChip the device is not blank at 0x{bad:08X} (read through {how})"
                )
        if self.device.model is not None:
            cells = self.device.model.read(0, 0x1000)
            if cells != erased * len(cells):
                raise Finding(
                    "EraseChip returned 0 (success) but the flash cells at "
                    f"0x{start:08X} are not erased: the erase command never reached the chip"
                )
        return f"EraseChip took {res.seconds:.3f} s; blank over {self._covered(spans)} via {how}"

    def check_blank_check(self) -> str:
        if "BlankCheck" not in self.flm.algo_functions:
            return "no BlankCheck function (optional: the programmer reads back or verifies)"
        self._need_sectors()
        r = self.fr
        address, size = self._sector(min(1, self._sector_count() - 1))
        r.sector_erase(address, address)
        blank = r.blank_check(address, size)
        if blank != 0:
            raise Finding(
                f"BlankCheck(0x{address:08X}, 0x{size:X}, 0x{self.info.erase_value:02X}) of a "
                f"freshly erased sector returned {blank} (0 means blank)"
            )
        mark = address + size // 2 + 5
        value = self.info.erase_value ^ 0x5A
        r.write(mark, bytes([value]))
        written = r.blank_check(address, size)
        if written == 0:
            raise Finding(
                f"BlankCheck(0x{address:08X}, 0x{size:X}) returned 0 (blank) with 0x{value:02X} "
                f"programmed at 0x{mark:08X}: Keil MDK skips erasing a sector it calls blank"
            )
        return (
            f"erased sector 0x{address:08X}: 0 (blank); with one byte programmed at "
            f"0x{mark:08X}: {written} (not blank)"
        )

    # -- program and read back -----------------------------------------------------------------
    def check_unaligned_write(self) -> str:
        info, r = self.info, self.fr
        page = r.page
        addr = info.start + page - 3
        length = 2 * page + 7
        end = min(info.start + self._device_size(), self.covered_end)
        if addr + length + page > end:
            raise Finding(
                f"the device (and its sector list) ends at 0x{end:08X}: too small for a write "
                f"of {length} bytes across two {page}-byte pages"
            )
        data = bytes((i * 7 + 1) & 0xFF for i in range(length))
        lo, hi = info.start, addr + length + page
        first, _ = self._sector_at(lo)
        last, _ = self._sector_at(hi - 1)
        r.sector_erase(first, last)
        r.write(addr, data)
        erased = bytes([info.erase_value])
        want = erased * (addr - lo) + data + erased * (hi - addr - length)
        try:
            around = self.device.read(r, lo, hi - lo)
        except HostReadError:
            around = want  # no window behind a probe: Verify below is the only reference
        i = next((k for k, (a, b) in enumerate(zip(around, want, strict=False)) if a != b), -1)
        if i >= 0:
            part = (
                "before the written range"
                if lo + i < addr
                else "after the written range"
                if lo + i >= addr + length
                else "inside the written range"
            )
            raise Finding(
                f"writing {length} bytes at 0x{addr:08X} (ProgramPage of 3 whole pages, padded "
                f"with 0x{info.erase_value:02X}): byte at 0x{lo + i:08X} ({part}) is "
                f"0x{around[i]:02X}, expected 0x{want[i]:02X}"
            )
        bad, how = r.compare(lo, want)
        if bad is not None:
            raise Finding(
                f"read-back of the write at 0x{addr:08X} through {how} differs at 0x{bad:08X}"
            )
        return (
            f"{length} bytes at 0x{addr:08X} across 2 page boundaries (ProgramPage of whole "
            f"{page}-byte pages, partial ones padded with 0x{info.erase_value:02X} as pyOCD and "
            f"Keil MDK pad them) written and read back through {how}"
        )

    def check_whole_device_read(self) -> str:
        r = self.fr
        spans = self._spans(r)
        laid = True
        for addr, size in spans:
            laid = self.device.fill(addr, pattern(size, SEED + addr)) and laid
        how = ""
        for addr, size in spans:
            try:
                want = pattern(size, SEED + addr) if laid else self.device.read(r, addr, size)
            except HostReadError:
                raise NotApplicable(
                    "the algorithm leaves no memory-mapped window and has no Read, so a debug "
                    "probe has no reference for the whole device's content (in-process the "
                    "flash model is the reference)"
                ) from None
            bad, how = r.compare(addr, want, self._note("whole-device read"))
            if bad is not None:
                raise Finding(
                    f"whole-device read through {how}: first invalid address 0x{bad:08X} "
                    f"(0x{bad - addr:X} bytes into the span at 0x{addr:08X})"
                )
        src = "the flash model's cells" if laid else "the memory-mapped window"
        return (
            f"read through {how} matches {src} over {self._covered(spans)} (no RAM buffer size "
            "applies: an FLM has no Read)"
        )

    def _covered(self, spans: list[tuple[int, int]]) -> str:
        total = self._device_size()
        covered = sum(size for _, size in spans)
        if covered >= total:
            return f"the whole device ({_size_text(total)})"
        return f"SAMPLED {len(spans)} spans ({covered:,} of {total:,} bytes)"

    def check_verify(self) -> str:
        if "Verify" not in self.flm.algo_functions:
            return "no Verify function (optional): the programmer compares by reading back"
        r = self.fr
        addr = self.info.start + 0x100
        data = pattern(0x400, SEED + 3)
        self._prepare_written(addr, data)
        bad, _ = r.verify(addr, data)
        if bad:
            raw = r.last_verify
            why = (
                "0: the algorithm uses 0 = success as its other functions do, but Verify must "
                "return adr + sz for a match"
                if raw == 0
                else f"0x{raw:08X}"
            )
            raise Finding(
                f"Verify(0x{addr:08X}, 0x{len(data):X}) of equal content returned {why}; "
                "a match is adr + sz"
            )
        altered = bytearray(data)
        altered[0x123] ^= 0x10
        bad, _ = r.verify(addr, bytes(altered))
        if not bad:
            raise Finding(
                f"Verify missed a difference at 0x{addr + 0x123:08X} (returned adr + sz, a match)"
            )
        near = "" if abs(bad - (addr + 0x123)) <= 8 else f" (reported 0x{bad:08X}, approximate)"
        return (
            f"equal content: adr + sz (match); altered byte at 0x{addr + 0x123:08X} reported{near}"
        )

    def check_order(self) -> str:
        """Operations in the orders pyOCD and Keil use: erase, program, verify, each Init'ed
        for its function, with a reload before each or none (pyOCD keeps the image loaded)."""
        self._need_sectors()
        sector, _ = self._sector(min(2, self._sector_count() - 1))
        data = pattern(ORDER_SPAN, SEED + 5)
        erased = bytes([self.info.erase_value]) * ORDER_SPAN
        notes = []
        for reinit in (True, False):
            label = "reloaded per operation" if reinit else "loaded once (pyOCD)"
            r = self._new_runner(reinit=reinit)
            assert isinstance(r, FlmRunner)
            self._order_runners.append(r)
            r.init(Operation.VERIFY)
            r.compare(sector, erased[:0x100])  # read first, whatever it shows
            before = read_state(self.target)
            r.sector_erase(sector, sector)
            after = read_state(self.target)
            bad, how = r.compare(sector, erased)
            if bad is not None:
                raise Finding(
                    f"{label}: after EraseSector(0x{sector:08X}) a read through {how} shows "
                    f"0x{bad:08X} not erased" + self._erase_state(sector, before, after)
                )
            r.write(sector, data)
            bad, how = r.compare(sector, data)
            if bad is not None:
                raise Finding(
                    f"{label}: after ProgramPage a read through {how} differs at 0x{bad:08X}"
                )
            if "Verify" in self.flm.algo_functions:
                bad, _ = r.verify(sector, data)
                if bad:
                    raise Finding(
                        f"{label}: Verify after ProgramPage reports a mismatch at 0x{bad:08X} "
                        f"(returned 0x{r.last_verify:08X})"
                    )
            r.uninit()
            notes.append(f"{label}: consistent")
        return "Init(3)/read -> EraseSector -> read -> ProgramPage -> read -> Verify: " + (
            "; ".join(notes)
        )

    # -- programmer-side -----------------------------------------------------------------------
    def check_wrong_base(self) -> str:
        """An FLM must run wherever the programmer loads it: pyOCD at the top of the default RAM,
        Keil MDK where the project's "RAM for algorithm" is. Run it at a second address."""
        flm, r = self.flm, self.fr
        shift, where = self._second_base(r.region)
        if shift is None:
            return f"not checked: {where} (informational)"
        self._need_sectors()
        address, _ = self._sector(0)
        data = pattern(r.page, SEED + 13)
        try:
            other = self._new_runner(shift=shift, reinit=True)
            assert isinstance(other, FlmRunner)
            other.init(Operation.ERASE)
            other.uninit()
            other.sector_erase(address, address)
            other.write(address, data)
            bad, how = other.compare(address, data)
        except LoaderCallError as exc:
            raise Finding(
                f"loaded at 0x{flm.load_address + shift:08X} ({where}) instead of "
                f"0x{flm.load_address:08X}: " + exc.message.split("\n")[0]
            ) from None
        except HarnessError as exc:
            return f"not checked: {exc.message} (informational)"
        finally:
            self._fresh()
        if bad is not None:
            raise Finding(
                f"loaded at 0x{flm.load_address + shift:08X} ({where}) the algorithm reports "
                f"success but the page at 0x{address:08X} differs at 0x{bad:08X} (read through "
                f"{how}): its data is position-dependent"
            )
        return (
            f"loaded and called at 0x{flm.load_address + shift:08X} ({where}) as well as "
            f"0x{flm.load_address:08X}: Init, EraseSector and ProgramPage ran inside the loaded "
            "algorithm and programmed the page"
        )

    def _second_base(self, region: MemoryRegion) -> tuple[int | None, str]:
        """A shift placing the algorithm elsewhere: the top of another SRAM region, else lower
        in its own region, leaving room below for buffers and stack."""
        flm = self.flm
        page = max(1, flm.device.page_size)
        need = 2 * page + MIN_TWO_BUF_STACK + 0x100
        home = default_ram(self.target.part)
        for other in sorted(self.target.part.ram, key=lambda g: -g.size):
            if other == home or other.base < SRAM_REGION:
                continue
            load = pyocd_load_address(flm, other)
            if load - need >= other.base:
                return load - flm.load_address, f"the top of {other.name}"
        span = flm.image_end - flm.trap_address
        step = (span + 0xFFF) & ~0xFFF
        if flm.load_address - step - need >= region.base:
            return -step, f"0x{step:X} lower in {region.name}"
        return None, f"{region.name} has no room to load the algorithm a second time"

    def check_timing(self) -> str:
        self._need_board_clock()
        r = self.fr
        dev = self.flm.device
        if self.groups and "EraseSector" in self.flm.algo_functions:
            address, _ = self._sector(0)
            r.sector_erase(address, address)
            r.write(address + r.page // 2, pattern(2 * r.page, SEED + 9))
        raw = [*r.calls, *(c for o in self._order_runners for c in o.calls)]
        problems = []
        for call in raw:
            limit = {"ProgramPage": dev.prog_timeout_ms, "EraseSector": dev.erase_timeout_ms}
            ms = limit.get(call.name)
            if ms and call.r0 == 0 and call.seconds * 1000 > ms:
                problems.append(
                    f"{call.name}(0x{call.args[0]:X}) took {call.seconds * 1000:.1f} ms, over the "
                    f"{ms} ms its FlashDevice declares (Keil MDK aborts there)"
                )
        judged = judge([as_role(c) for c in raw], self.info, self.sheet, r.budgets)
        problems += [in_flm_words(j.problem) for j in judged if j.problem]
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise Finding(problems[0] + more)
        work = [j for j in judged if j.expected_s is not None]
        if not work:
            if self.sheet is None:
                raise Finding(
                    "no call could be judged: the board's inventory entry names no known "
                    "external flash chip, so there is no datasheet time to compare with"
                )
            raise Finding("no EraseSector or ProgramPage call returned success to be timed")
        longest: dict[str, float] = {}
        for call in raw:
            longest[call.name] = max(longest.get(call.name, 0.0), call.seconds)
        unit = self._time_unit
        sheet = self.sheet.name if self.sheet is not None else "chip"
        return (
            f"{len(work)} EraseSector/ProgramPage calls within the {sheet} datasheet times, the "
            f"FlashDevice timeouts ({dev.prog_timeout_ms}/{dev.erase_timeout_ms} ms) and "
            f"pyOCD's budgets; longest call, {unit}s: "
            + ", ".join(f"{k} {v:.4f}" for k, v in sorted(longest.items()))
        )


def cross_check(
    stldr_results: list[CheckResult], flm_results: list[CheckResult]
) -> list[tuple[str, bool | None, bool | None]]:
    """(check, .stldr verdict, .FLM verdict) for each check both ran and judged differently."""
    flm = {r.check: r for r in flm_results}
    out: list[tuple[str, bool | None, bool | None]] = []
    for res in stldr_results:
        other = flm.get(res.check)
        if other is None or other.verdict == "not applicable":
            continue
        if res.passed is None or other.passed is None:
            continue
        if res.passed != other.passed:
            out.append((res.check, res.passed, other.passed))
    return out


__all__ = [
    "FLM_ONLY",
    "NOT_APPLICABLE",
    "FlmValidator",
    "cross_check",
    "flm_checks",
]
