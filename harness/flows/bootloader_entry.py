"""Where a part boots, decided by its option bytes, and how to point it at the bootloader.

G0 (RM0444 table 9): nBOOT_SEL=1 makes the nBOOT0 bit replace the BOOT0 pin; with boot0
selected, nBOOT1 picks system memory (1) or SRAM (0). An empty main flash also diverts a G0 to
system memory (not visible in the option bytes). H7 (RM0433 2.6): the core fetches its vector
table at BOOT_ADD0 << 16 (BOOT pin low) or BOOT_ADD1 << 16 (pin high).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from stm32_hil.an3155 import ACK, NACK, Bootloader
from stm32_hil.an3155.framing import SYNC
from stm32_hil.errors import ConfigError, HarnessError, TargetError
from stm32_hil.flows.option_bytes import (
    G0OptionBytes,
    H7OptionBytes,
    OptionBytes,
    read_option_bytes,
    write_option_bytes,
)
from stm32_hil.flows.safety import Safety, option_bytes_guard
from stm32_hil.parts import Part
from stm32_hil.report import attach_text, step
from stm32_hil.target.base import Capability, Pin, ResetKind, Target


def boot_target(part: Part, options: OptionBytes, boot0_pin: bool) -> str:
    """Where the part boots: flash, system_memory, sram, or an address (H7 BOOT_ADDx)."""
    if isinstance(options, G0OptionBytes):
        if options.boot_lock:
            return "flash"
        boot0 = boot0_pin if not options.n_boot_sel else options.n_boot0 == 0
        if not boot0:
            return "flash"
        return "system_memory" if options.n_boot1 else "sram"
    if isinstance(options, H7OptionBytes):
        address = (options.boot_add1 if boot0_pin else options.boot_add0) << 16
        if part.flash.base <= address < part.flash.base + part.flash.size:
            return "flash"
        if any(region.contains(address) for region in part.system_memory):
            return "system_memory"
        if any(region.contains(address) for region in part.ram):
            return "sram"
        return f"0x{address:08X}"
    raise ConfigError(f"no boot selection rules for {type(options).__name__}")


def boot_from_option_bytes(
    target: Target, source: str, *, safety: Safety | None = None
) -> OptionBytes:
    """Make the part boot from `source` ("flash" or "system_memory") whatever the BOOT0 pin.

    G0: nBOOT_SEL=1 and nBOOT0/nBOOT1 set accordingly. H7 has no pin override: both
    BOOT_ADD0 and BOOT_ADD1 are pointed at the source. Takes effect at the next reset (H7)
    or immediately through OBL_LAUNCH (G0).
    """
    if source not in ("flash", "system_memory"):
        raise ConfigError(f"boot source {source!r}", hint="use 'flash' or 'system_memory'")
    part = target.part
    current = read_option_bytes(target)
    changes: dict[str, int]
    if isinstance(current, G0OptionBytes):
        changes = {"n_boot_sel": 1, "n_boot0": 0 if source == "system_memory" else 1,
                   "n_boot1": 1}  # fmt: skip
    else:
        address = part.flash.base if source == "flash" else part.system_memory[0].base
        changes = {"boot_add0": address >> 16, "boot_add1": address >> 16}
    return write_option_bytes(target, changes, safety=safety)


# -- entering the bootloader ---------------------------------------------------------------------
METHODS = ("pin", "jump", "option_bytes")
SYNC_BUDGET_S = 0.5  # per 0x7F, as stm32flash waits
SYNC_ATTEMPTS = 3
JUMP_SETTLE_S = 0.05  # the application's time to see the trigger, answer and jump


class BootloaderEntryError(TargetError):
    """The bootloader did not answer after an entry attempt (silent, or not the expected part)."""


@dataclass
class BootloaderSession:
    """A part sitting in its system bootloader, reached by `method`, and how it got there."""

    method: str
    bootloader: Bootloader
    changed: list[str] = field(default_factory=list)  # what the flow changed (restored on exit)

    @property
    def port(self) -> Any:
        return self.bootloader.port


@contextlib.contextmanager
def enter_bootloader(
    target: Target,
    method: str = "pin",
    *,
    safety: Safety | None = None,
    trigger: bytes = b"B",
) -> Iterator[BootloaderSession]:
    """Bring the part into its system bootloader, prove it answers, and undo the changes on exit.

    `pin`: BOOT0 high + NRST reset (needs the `boot0` capability; G0 parts whose nBOOT_SEL=1
    ignore the pin first get nBOOT_SEL=0). `jump`: the running application is sent `trigger`
    on the board UART and jumps to system memory itself. `option_bytes`: G0 nBOOT_SEL=1,
    nBOOT0=0 (and nBOOT1=1); H7 BOOT_ADD0=0x1FF0. Option-byte changes are destructive on real
    boards (`safety` must allow them) and are restored through the option-byte guard.

    The bootloader must answer 0x7F with ACK and report the part's PID; otherwise
    `BootloaderEntryError` says what happened. On exit BOOT0 goes low, option bytes are put
    back and the part is reset, so it runs its application again.
    """
    if method not in METHODS:
        raise ConfigError(f"bootloader entry method {method!r}", hint="use " + ", ".join(METHODS))
    target.require(Capability.UART)
    if method == "pin":
        target.require(Capability.BOOT0)
    with step(f"enter the bootloader of {target.name} ({method})"), contextlib.ExitStack() as undo:
        changed: list[str] = []
        undo.callback(_leave, target)
        if method in ("pin", "option_bytes") and _option_change(target, method):
            undo.enter_context(option_bytes_guard(target, safety=safety))
            changed.append("option bytes")
        if method == "pin":
            _pin_entry(target, safety, undo, changed)
        elif method == "option_bytes":
            _option_entry(target, safety)
        port = target.open_uart()
        undo.callback(port.close)
        if method == "jump":
            _jump_entry(target, port, trigger)
        bootloader = _verify(target, port, method)
        yield BootloaderSession(method, bootloader, changed)


def _option_change(target: Target, method: str) -> bool:
    """Whether reaching the bootloader by `method` needs an option-byte change."""
    if method == "option_bytes":
        return True
    options = read_option_bytes(target)
    return isinstance(options, G0OptionBytes) and bool(options.n_boot_sel)


def _pin_entry(
    target: Target, safety: Safety | None, undo: contextlib.ExitStack, changed: list[str]
) -> None:
    options = read_option_bytes(target)
    if isinstance(options, G0OptionBytes) and options.n_boot_sel:
        with step("nBOOT_SEL=0: hand boot selection to the BOOT0 pin"):
            write_option_bytes(target, {"n_boot_sel": 0}, safety=safety)
    target.set_pin(Pin.BOOT0, True)
    undo.callback(target.set_pin, Pin.BOOT0, False)
    changed.append("BOOT0 pin")
    target.reset(ResetKind.PIN)


def _option_entry(target: Target, safety: Safety | None) -> None:
    options = read_option_bytes(target)
    if isinstance(options, G0OptionBytes):
        changes = {"n_boot_sel": 1, "n_boot0": 0, "n_boot1": 1}
    else:
        changes = {"boot_add0": target.part.system_memory[0].base >> 16}
    write_option_bytes(target, changes, safety=safety)
    if target.has(Capability.BOOT0):
        target.set_pin(Pin.BOOT0, False)  # H7: BOOT pin low selects BOOT_ADD0
    target.reset(ResetKind.PIN)


def _jump_entry(target: Target, port: Any, trigger: bytes) -> None:
    with step(f"send the jump trigger {trigger!r} to the application"):
        port.reset_input_buffer()
        port.write(trigger)
        target.delay(JUMP_SETTLE_S)
        port.timeout = 0.01
        chatter = bytes(port.read(4096))  # what the application said before it jumped
        if chatter:
            attach_text("application output before the jump", chatter.decode(errors="replace"))


def _verify(target: Target, port: Any, method: str) -> Bootloader:
    """0x7F must be answered with ACK, then Get ID must name the part."""
    reply = b""
    for _ in range(SYNC_ATTEMPTS):
        port.reset_input_buffer()
        port.write(bytes((SYNC,)))
        port.timeout = SYNC_BUDGET_S
        reply = bytes(port.read(1))
        if reply:
            break
    if reply != bytes((ACK,)):
        if not reply:
            what = "no answer"
        elif reply == bytes((NACK,)):
            what = "NACK (the link was already synchronised by someone else)"
        else:
            what = f"0x{reply[0]:02X}"
        raise BootloaderEntryError(
            f"{target.name}: bootloader did not ACK 0x7F after entry by {method}: {what}"
            + _diagnosis(target),
            hint=_HINTS[method],
        )
    bootloader = Bootloader(port)
    try:
        info = bootloader.identify()
    except HarnessError as exc:
        raise BootloaderEntryError(
            f"{target.name}: bootloader ACKed 0x7F but then failed: {exc.message}",
            hint="check the line (8E1) and that nothing else talks on the port",
        ) from exc
    if info.id.pid != target.part.pid:
        raise BootloaderEntryError(
            f"{target.name}: the bootloader reports PID 0x{info.id.pid:03X}, expected "
            f"0x{target.part.pid:03X} ({target.part.name})",
            hint="the UART is wired to another board, or the inventory names the wrong part",
        )
    return bootloader


def _diagnosis(target: Target) -> str:
    """The simulator records why its ROM stayed silent after a jump; hardware cannot say."""
    report = getattr(target.sim, "bootrom_entry_report", None)
    return f" ({report.describe()})" if report is not None else ""


_HINTS = {
    "pin": "check that BOOT0 is wired and driven, the UART is the bootloader's, and (G0) "
    "BOOT_LOCK=0 and nBOOT1=1",
    "jump": "the application must re-enable interrupts, stop SysTick, clear the NVIC, (G0) "
    "enable the SYSCFG clock before remapping system memory, and load MSP/PC from the "
    "bootloader's vector table (H7: 0x1FF09800)",
    "option_bytes": "check the option bytes as loaded (BOOT_LOCK, nBOOT1 on G0; BOOT_ADD0 on "
    "H7) and that the UART is the bootloader's",
}


def _leave(target: Target) -> None:
    """Back to the application: a reset once pins and option bytes are restored."""
    try:
        target.reset(ResetKind.PIN if target.has(Capability.RESET_PIN) else ResetKind.SYSTEM)
    except HarnessError as exc:
        attach_text("reset after leaving the bootloader failed", str(exc))
