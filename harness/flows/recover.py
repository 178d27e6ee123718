"""Bring a "bricked" board back: diagnose what is wrong, repair it, and say what was done.

The usual ways a part is lost on a bench: the debug port does not answer because the firmware
reconfigures the SWD pins or faults at once (connect under reset), readout protection was
raised (regression), a PCROP area blocks the flash (DMEP recipe), or a reset/power loss hit
the part while it was programming and left words with a bad ECC that fail every read (erase
the pages/sectors holding them). `recover` tries these in that order and returns a report a
person can scan: what was found, what was done, the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stm32_hil.errors import HarnessError, ProtectionError, TargetError
from stm32_hil.flows.flash_scan import scan_flash
from stm32_hil.flows.internal_flash import internal_flash
from stm32_hil.flows.option_bytes import OptionBytes, option_model, read_option_bytes
from stm32_hil.flows.pcrop import pcrop_regression
from stm32_hil.flows.rdp import kept_pcrop_pages, rdp_regression
from stm32_hil.flows.safety import Safety, check_allowed, restore_option_bytes
from stm32_hil.report import attach_text, step
from stm32_hil.target.base import Capability, Pin, Target

DEMCR = 0xE000EDFC  # Debug Exception and Monitor Control Register (ARMv6-M/v7-M)
DEMCR_VC_CORERESET = 1 << 0
HALT_BUDGET_S = 0.5


@dataclass(frozen=True)
class ConnectResult:
    pid: int
    halted: bool
    pc: int | None

    def summary(self) -> str:
        where = f", core halted at PC=0x{self.pc:08X}" if self.pc is not None else ""
        return f"attached (PID 0x{self.pid:03X}){where}"


def connect_under_reset(target: Target) -> ConnectResult:
    """Hold NRST, attach and arm a halt, release NRST: the core stops before any instruction.

    This is how debuggers reach a part whose firmware disables the SWD pins or faults at once:
    the firmware never gets to run. Needs the CONNECT_UNDER_RESET capability (NRST driven by
    the probe); without CORE control the result is an attach with the core not halted.
    """
    target.require(Capability.CONNECT_UNDER_RESET)
    core = target.has(Capability.CORE)
    demcr: int | None = None
    with step("connect under reset"):
        target.set_pin(Pin.NRST, False)
        try:
            if core:
                target.halt()
                demcr = target.read32(DEMCR)
                target.write32(DEMCR, demcr | DEMCR_VC_CORERESET)
        finally:
            target.set_pin(Pin.NRST, True)
        pc: int | None = None
        if core:
            if not target.is_halted():
                target.wait_for_halt(HALT_BUDGET_S)
            if demcr is not None:
                target.write32(DEMCR, demcr)
            pc = target.read_core_register("pc")
        pid = target.read32(target.part.idcode_addr) & 0xFFF
        return ConnectResult(pid, core and target.is_halted(), pc)


def restore_factory_option_bytes(target: Target, *, safety: Safety | None = None) -> OptionBytes:
    """Every option byte back to the catalogue's factory value (RDP 0: erases the flash).

    PCROP areas the factory values do not have are removed first with the DMEP recipe, since
    a plain option change may not remove them.
    """
    check_allowed(target, safety, "factory option-byte restore")
    factory = option_model(target.part.family).factory(target.part)
    with step("restore factory option bytes"):
        restore_option_bytes(target, factory, safety=safety)
        return read_option_bytes(target)


@dataclass(frozen=True)
class RecoveryStep:
    found: str
    action: str
    result: str
    ok: bool = True


@dataclass
class RecoveryReport:
    target: str
    steps: list[RecoveryStep] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    def add(self, found: str, action: str, result: str, ok: bool = True) -> None:
        self.steps.append(RecoveryStep(found, action, result, ok))

    def table(self) -> str:
        rows = [("found", "action", "result", "")]
        rows += [(s.found, s.action, s.result, "ok" if s.ok else "FAILED") for s in self.steps]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = ["  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3] for r in rows]
        lines.insert(1, "-" * len(lines[0]))
        verdict = "recovered" if self.ok else "NOT recovered"
        return f"recovery of {self.target}: {verdict}\n" + "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def recover(target: Target, *, safety: Safety | None = None) -> RecoveryReport:
    """Diagnose and repair; never raises for what it finds, only reports it.

    Destructive: on a real board `safety` must allow it. Order matters: the debug port must
    answer before anything else; RDP level 1 and PCROP areas block the reads the ECC scan
    needs; the scan comes last and also proves the result.
    """
    check_allowed(target, safety, "recovery (may mass-erase and rewrite option bytes)")
    report = RecoveryReport(target.name)
    with step(f"recover {target.name}"):
        try:
            if _attach(target, report) and _protection(target, report, safety):
                _ecc(target, report)
        except HarnessError as exc:
            report.add("unexpected error", "stopped", exc.message, ok=False)
        attach_text("recovery report", report.table())
    return report


def _attach(target: Target, report: RecoveryReport) -> bool:
    try:
        pid = target.read32(target.part.idcode_addr) & 0xFFF
    except ProtectionError as exc:
        report.add("debug port closed (RDP level 2)", "none: level 2 is permanent",
                   exc.message, ok=False)  # fmt: skip
        return False
    except TargetError as exc:
        found = f"debug port does not answer ({exc.message})"
        if not target.has(Capability.CONNECT_UNDER_RESET):
            report.add(found, "none: no NRST control (connect_under_reset)", "unreachable", False)
            return False
        try:
            result = connect_under_reset(target)
        except HarnessError as cur:
            report.add(found, "connect under reset", cur.message, ok=False)
            return False
        report.add(found, "connect under reset", result.summary())
        return True
    halted = ""
    if target.has(Capability.CORE) and not target.is_halted():
        target.halt()
        halted = ", core halted"
    report.add(f"debug port answers (PID 0x{pid:03X})", "attach" + halted, "attached")
    return True


def _protection(target: Target, report: RecoveryReport, safety: Safety | None) -> bool:
    options = read_option_bytes(target)
    if options.rdp_level == 2:
        report.add("RDP level 2", "none: level 2 is permanent", "locked for good", ok=False)
        return False
    areas = options.pcrop_areas(target.part)
    if areas:
        found = "PCROP area(s) " + ", ".join(f"0x{lo:08X}..0x{hi:08X}" for lo, hi, _ in areas)
        try:
            result = pcrop_regression(target, safety=safety)
        except HarnessError as exc:
            report.add(found, "DMEP recipe", exc.message, ok=False)
            return False
        report.add(found, "DMEP recipe (RDP 1 + DMEP, then RDP 0 + no area)", result.summary())
        return True
    if options.rdp_level == 1:
        found = f"RDP level 1 (RDP=0x{getattr(options, 'rdp'):02X})"  # noqa: B009
        try:
            regression = rdp_regression(target, safety=safety)
        except HarnessError as exc:
            report.add(found, "RDP regression to level 0", exc.message, ok=False)
            return False
        report.add(found, "RDP regression to level 0 (mass erase)", regression.summary())
        return True
    report.add("RDP level 0, no PCROP area", "none", "flash readable by debugger")
    return True


def _ecc(target: Target, report: RecoveryReport) -> None:
    kept = kept_pcrop_pages(target, read_option_bytes(target))
    scan = scan_flash(target, skip_pages=kept)
    if scan.ecc:
        flash = internal_flash(target)
        geo = target.part.flash
        for page, address in sorted(scan.ecc.items()):
            what = "sector" if target.part.family == "h7" else "page"
            found = f"read memory error (ECC) at 0x{address:08X}"
            try:
                flash.erase(geo.base + page * geo.page_size, geo.page_size)
            except HarnessError as exc:
                report.add(found, f"erase {what} {page}", exc.message, ok=False)
                continue
            report.add(found, f"erase {what} {page}", "erased")
        scan = scan_flash(target, skip_pages=kept)
    ok = not scan.ecc and not scan.protected
    report.add("flash scan", "read every page", scan.summary(), ok=ok)
