"""Cortex-M exception entry and return, done outside Unicorn (which models neither).

Entry pushes the 8-word basic frame (or the 26-word extended frame when CONTROL.FPCA says the
FPU was used: lazy stacking is simplified to eager stacking, FPCAR is not used), switches to
handler mode on MSP, loads LR with EXC_RETURN and PC from the vector table at VTOR. Return
unstacks the frame named by EXC_RETURN. Tail-chaining and late arrival are not modelled: a
pending exception is taken at the next instruction boundary the core checks (slice start).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from unicorn import UcError
from unicorn import arm_const as A

if TYPE_CHECKING:
    from stm32_hil.sim.cpu.core import CortexM

XPSR_ALIGN = 1 << 9
FRAME_REGS = (A.UC_ARM_REG_R0, A.UC_ARM_REG_R1, A.UC_ARM_REG_R2, A.UC_ARM_REG_R3,
              A.UC_ARM_REG_R12, A.UC_ARM_REG_LR)  # fmt: skip
FP_LOW = tuple(getattr(A, f"UC_ARM_REG_S{i}") for i in range(16))


class StackingError(Exception):
    """The frame could not be pushed or popped (SP outside memory): the core locks up."""


def _mem_write(core: CortexM, address: int, data: bytes) -> None:
    try:
        core.uc.mem_write(address, data)
    except UcError as exc:
        raise StackingError(f"stack at 0x{address:08X} is not writable memory") from exc


def _mem_read(core: CortexM, address: int, length: int) -> bytes:
    try:
        return bytes(core.uc.mem_read(address, length))
    except UcError as exc:
        raise StackingError(f"stack at 0x{address:08X} is not readable memory") from exc


def vector(core: CortexM, exc: int) -> int | None:
    """Handler address from the vector table, or None when the entry cannot be a handler."""
    try:
        raw = bytes(core.uc.mem_read((core.scs.vtor + 4 * exc) & 0xFFFFFFFF, 4))
    except UcError:
        return None
    value = int.from_bytes(raw, "little")
    if value in (0, 0xFFFFFFFF) or not value & 1:
        return None
    return value


def enter(core: CortexM, exc: int, return_pc: int) -> bool:
    """Take exception `exc` with `return_pc` as the stacked return address.

    Returns False when the vector is unusable (the caller escalates or locks up).
    """
    uc = core.uc
    handler = vector(core, exc)
    if handler is None:
        return False
    xpsr = uc.reg_read(A.UC_ARM_REG_XPSR)
    control = uc.reg_read(A.UC_ARM_REG_CONTROL) & 7
    msp = uc.reg_read(A.UC_ARM_REG_MSP)
    psp = uc.reg_read(A.UC_ARM_REG_PSP)
    thread = (xpsr & 0x1FF) == 0
    use_psp = thread and bool(control & 2)
    fpca = core.fpu and bool(control & 4)
    sp = psp if use_psp else msp
    aligned = sp & 4
    frame_len = 0x68 if fpca else 0x20
    new_sp = ((sp & ~7) - frame_len) & 0xFFFFFFFF
    words = [uc.reg_read(r) for r in FRAME_REGS]
    words.append(return_pc & ~1)
    words.append((xpsr & ~XPSR_ALIGN) | (XPSR_ALIGN if aligned else 0))
    frame = struct.pack("<8I", *(w & 0xFFFFFFFF for w in words))
    if fpca:
        frame += struct.pack("<16I", *(uc.reg_read(r) & 0xFFFFFFFF for r in FP_LOW))
        frame += struct.pack("<2I", uc.reg_read(A.UC_ARM_REG_FPSCR) & 0xFFFFFFFF, 0)
    _mem_write(core, new_sp, frame)
    if use_psp:
        psp = new_sp
    else:
        msp = new_sp
    exc_return = 0xFFFFFFE1 | (0 if fpca else 0x10) | (0x8 if thread else 0)
    exc_return |= 0x4 if use_psp else 0
    uc.reg_write(A.UC_ARM_REG_CONTROL, control & ~6)  # SPSEL=0 (MSP), FPCA=0
    uc.reg_write(A.UC_ARM_REG_XPSR, 0x01000000 | (exc & 0x1FF))
    uc.reg_write(A.UC_ARM_REG_MSP, msp)
    uc.reg_write(A.UC_ARM_REG_PSP, psp)
    uc.reg_write(A.UC_ARM_REG_LR, exc_return)
    uc.reg_write(A.UC_ARM_REG_PC, handler | 1)
    core.scs.pending.discard(exc)
    core.scs.active.append(exc)
    return True


def leave(core: CortexM, exc_return: int) -> None:
    """Return from the current exception through EXC_RETURN (bits 4: basic frame, 3: thread,
    2: PSP)."""
    uc = core.uc
    current = uc.reg_read(A.UC_ARM_REG_XPSR) & 0x1FF
    to_thread = bool(exc_return & 0x8)
    use_psp = to_thread and bool(exc_return & 0x4)
    fpca = core.fpu and not exc_return & 0x10
    msp = uc.reg_read(A.UC_ARM_REG_MSP)
    psp = uc.reg_read(A.UC_ARM_REG_PSP)
    sp = psp if use_psp else msp
    frame_len = 0x68 if fpca else 0x20
    frame = _mem_read(core, sp, frame_len)
    r0, r1, r2, r3, r12, lr, pc, xpsr = struct.unpack_from("<8I", frame)
    new_sp = sp + frame_len + (4 if xpsr & XPSR_ALIGN else 0)
    if use_psp:
        psp = new_sp
    else:
        msp = new_sp
    core.scs.exception_returned(current)
    ipsr = 0 if to_thread else (xpsr & 0x1FF)
    control = uc.reg_read(A.UC_ARM_REG_CONTROL) & 7
    uc.reg_write(A.UC_ARM_REG_XPSR, (xpsr & ~(0x1FF | XPSR_ALIGN)) | ipsr | 0x01000000)
    new_control = (control & ~6) | (2 if use_psp else 0) | (4 if fpca else 0)
    uc.reg_write(A.UC_ARM_REG_CONTROL, new_control)
    uc.reg_write(A.UC_ARM_REG_MSP, msp)
    uc.reg_write(A.UC_ARM_REG_PSP, psp)
    for reg, value in zip(FRAME_REGS, (r0, r1, r2, r3, r12, lr), strict=True):
        uc.reg_write(reg, value)
    if fpca:
        fp = struct.unpack_from("<17I", frame, 0x20)
        for reg, value in zip(FP_LOW, fp[:16], strict=True):
            uc.reg_write(reg, value)
        uc.reg_write(A.UC_ARM_REG_FPSCR, fp[16])
    uc.reg_write(A.UC_ARM_REG_PC, pc | 1)
