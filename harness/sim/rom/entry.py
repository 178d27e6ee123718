"""What the ROM bootloader needs when application code jumps into system memory.

On silicon a jump from firmware into the bootloader works only if the application left the
core and the memory map the way the ROM expects (AN2606 "jump to the bootloader", ST's
`ServiceBootJump` recipe): interrupts enabled (the ROM is interrupt driven), SysTick stopped
(its first tick would vector into the application's handler), no application interrupt left
enabled and pending, on G0 the system memory remapped at 0x00000000 through SYSCFG (whose
clock must be on, or the remap write is lost), MSP and PC taken from the bootloader's vector
table -- on H7 the documented entry 0x1FF09800, not the system-memory base.

When a condition is not met the real ROM does not crash visibly: it just never answers 0x7F.
The simulated ROM does the same (it does not take the USART) and `board.bootrom_entry_report`
says why, in words a test report can show.

The H7 system-memory base (0x1FF00000) holds boot code that is not the bootloader. What it does
is not documented; reported behaviour is that jumping there "just restarts the application".
The simulator models that as (check): the base code re-evaluates the boot selection (BOOT pin,
BOOT_ADD0/1) and starts what it selects -- the bootloader only when it points at system memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from stm32_hil.sim.bus import Access
from stm32_hil.sim.rom.boot import BootSource

if TYPE_CHECKING:
    from stm32_hil.sim.board import SimBoard

SYSTICK = 15
IRQ0 = 16
CSR_ENABLE, CSR_TICKINT = 1 << 0, 1 << 1
BASE_CODE_OFFSET = 0x400  # H7: where the simulated base boot code's reset vector points


@dataclass(frozen=True)
class EntryCheck:
    """One condition of the jump; a failed `fatal` check keeps the bootloader silent."""

    name: str
    ok: bool
    detail: str
    fatal: bool = True


@dataclass(frozen=True)
class EntryReport:
    """The state of the core at the jump into system memory, and what the ROM made of it."""

    how: str
    pc: int
    msp: int
    at_cycle: int
    checks: tuple[EntryCheck, ...]
    restarted_application: bool = False

    @property
    def answers(self) -> bool:
        """Whether the bootloader listens on its USART after this entry."""
        return not self.restarted_application and all(c.ok or not c.fatal for c in self.checks)

    @property
    def problems(self) -> list[EntryCheck]:
        return [c for c in self.checks if not c.ok and c.fatal]

    @property
    def warnings(self) -> list[EntryCheck]:
        return [c for c in self.checks if not c.ok and not c.fatal]

    def describe(self) -> str:
        """One line: the verdict and every reason, in plain words."""
        where = f"jump to 0x{self.pc:08X} (MSP=0x{self.msp:08X})"
        if self.answers:
            extra = "; ".join(c.detail for c in self.warnings)
            return f"bootloader answering after the {where}" + (f"; note: {extra}" if extra else "")
        verdict = "bootloader not entered" if self.restarted_application else "bootloader silent"
        return f"{verdict}: " + "; ".join(c.detail for c in self.problems)

    def table(self) -> str:
        rows = [f"{'ok' if c.ok else ('FAIL' if c.fatal else 'warn'):4}  {c.name:12}  {c.detail}"
                for c in self.checks]  # fmt: skip
        return "\n".join([self.describe(), *rows])

    def __str__(self) -> str:
        return self.describe()


def install(board: SimBoard) -> None:
    """Put the H7 base boot code's vector pair at the system-memory base (see module doc)."""
    part = board.part
    board.bootrom_entry_report = None
    if part.bootloader is None or not part.system_memory:
        return  # no ROM facts for this device: nothing to lay down
    base = part.system_memory[0].base
    if part.rom.entry == base:
        return
    sysmem = board.bus.find(base)
    data = getattr(sysmem, "data", None)
    if sysmem is None or not isinstance(data, bytearray):
        return
    entry = part.rom.entry - base
    sp = bytes(data[entry : entry + 4])  # same initial stack as the bootloader's table
    data[0:8] = sp + (base + BASE_CODE_OFFSET + 1).to_bytes(4, "little")


def admit(board: SimBoard, how: str) -> bool:
    """Decide whether the ROM starts listening after the core entered system memory.

    Only jumps from code are checked: a boot into system memory starts the ROM from reset
    with everything as it needs it. Records `board.bootrom_entry_report` for every jump.
    """
    if how != "jump" or board.core is None:
        return True
    report = check_jump(board)
    if report.restarted_application:
        _restart_application(board)
    board.bootrom_entry_report = report
    return report.answers


def check_jump(board: SimBoard) -> EntryReport:
    """Every condition the ROM needs, evaluated on the core state at the jump."""
    core = board.core
    pc = core.read_reg("pc") & ~1
    msp = core.read_reg("msp")
    checks: list[EntryCheck] = []
    restart = False
    vector, restart = _check_vector(board, pc)
    checks.append(vector)
    checks.append(_check_msp(board, msp))
    checks.append(_check_interrupt_mask(board))
    if board.part.family == "g0":
        checks.append(_check_remap(board))
    checks.append(_check_systick(board))
    checks.extend(_check_nvic(board))
    return EntryReport("jump", pc, msp, board.clock.now, tuple(checks), restart)


# -- the individual conditions ---------------------------------------------------------------
def _word(board: SimBoard, address: int) -> int:
    return board.bus.read(address, 4, Access.CPU)


def _check_vector(board: SimBoard, pc: int) -> tuple[EntryCheck, bool]:
    part = board.part
    entry = part.rom.entry
    expected = _word(board, entry + 4) & ~1
    if pc == expected:
        return EntryCheck("vector", True, f"PC from the bootloader's vector table at "
                          f"0x{entry:08X}"), False  # fmt: skip
    base = part.system_memory[0].base
    if entry != base and pc == (_word(board, base + 4) & ~1):
        decision = board.boot_decision
        if decision.source is BootSource.SYSTEM:
            return EntryCheck("vector", True, f"entered through the system-memory base "
                              f"0x{base:08X}; boot selection ({decision.reason}) points at the "
                              "bootloader"), False  # fmt: skip
        return EntryCheck(
            "vector",
            False,
            f"jumped to the system-memory base 0x{base:08X} instead of the bootloader entry "
            f"0x{entry:08X}: the base boot code re-read the boot selection ({decision.reason}) "
            f"and restarted the application -- load MSP/PC from 0x{entry:08X}",
        ), True
    return EntryCheck(
        "vector",
        False,
        f"jumped to 0x{pc:08X}, not the bootloader's reset vector 0x{expected:08X} -- load MSP "
        f"from 0x{entry:08X} and jump to the address stored at 0x{entry + 4:08X}",
    ), False


def _check_msp(board: SimBoard, msp: int) -> EntryCheck:
    part = board.part
    rom_sp = _word(board, part.rom.entry)
    if not any(r.base < msp <= r.end for r in part.ram):
        return EntryCheck("msp", False, f"MSP=0x{msp:08X} is not in RAM: the bootloader's first "
                          f"push faults -- load MSP from 0x{part.rom.entry:08X} "
                          f"(0x{rom_sp:08X}) before jumping")  # fmt: skip
    if msp != rom_sp:
        return EntryCheck("msp", False, f"MSP=0x{msp:08X} is the application's, not the "
                          f"bootloader's 0x{rom_sp:08X} (works while that RAM is not in use)",
                          fatal=False)  # fmt: skip
    return EntryCheck("msp", True, f"MSP from the bootloader's vector table (0x{rom_sp:08X})")


def _check_interrupt_mask(board: SimBoard) -> EntryCheck:
    core = board.core
    if core.read_reg("primask") & 1:
        return EntryCheck("primask", False, "PRIMASK was set at the jump -- re-enable interrupts "
                          "(__enable_irq) before jumping")  # fmt: skip
    basepri = core.read_reg("basepri")
    if basepri:
        return EntryCheck("primask", False, f"BASEPRI=0x{basepri:02X} masks the bootloader's "
                          "interrupts -- clear BASEPRI before jumping")  # fmt: skip
    if core.read_reg("faultmask") & 1:
        return EntryCheck("primask", False, "FAULTMASK was set at the jump -- clear it before "
                          "jumping")  # fmt: skip
    return EntryCheck("primask", True, "interrupts enabled (PRIMASK clear)")


def _check_remap(board: SimBoard) -> EntryCheck:
    from stm32_hil.sim.periph.syscfg import CFGR1, MEM_MODE_MASK, MEM_MODES, G0Syscfg

    sysmem = board.bus.find(board.part.system_memory[0].base)
    if board._alias_target() is sysmem:
        return EntryCheck("remap", True, "system memory remapped at 0x00000000 "
                          "(SYSCFG_CFGR1.MEM_MODE=01)")  # fmt: skip
    syscfg = board.bus.find(board.part.peripherals.get("SYSCFG", 0))
    lost = []
    if isinstance(syscfg, G0Syscfg):
        lost = [v for off, v in syscfg.ignored_writes if off == CFGR1 and v & MEM_MODE_MASK == 1]
    if lost:
        return EntryCheck("remap", False, "the SYSCFG clock was off when MEM_MODE=01 was "
                          "written, so the remap was ignored and 0x00000000 still shows main "
                          "flash -- enable the SYSCFG clock (RCC_APBENR2.SYSCFGEN) before the "
                          "remap")  # fmt: skip
    mode = syscfg.current_mode() if isinstance(syscfg, G0Syscfg) else 0
    return EntryCheck("remap", False, f"0x00000000 shows {MEM_MODES[mode]} "
                      f"(SYSCFG_CFGR1.MEM_MODE={mode:02b}): the bootloader's interrupts would "
                      "vector into the application -- set MEM_MODE=01 (SYSCFG clock on) before "
                      "jumping")  # fmt: skip


def _check_systick(board: SimBoard) -> EntryCheck:
    scs = board.core.scs
    csr = scs.systick.csr
    if csr & CSR_ENABLE and csr & CSR_TICKINT:
        return EntryCheck("systick", False, "SysTick was left running with its interrupt "
                          "enabled: its first tick is taken inside the bootloader and vectors "
                          f"through VTOR=0x{scs.vtor:08X} into the application's handler, so "
                          "the bootloader never answers -- stop SysTick (SYST_CSR=0) before "
                          "jumping")  # fmt: skip
    if csr & CSR_ENABLE:
        return EntryCheck("systick", False, "SysTick left counting (interrupt off)", fatal=False)
    return EntryCheck("systick", True, "SysTick stopped")


def _check_nvic(board: SimBoard) -> list[EntryCheck]:
    scs = board.core.scs
    enabled = sorted(scs.enabled)
    if not enabled:
        return [EntryCheck("nvic", True, "no application interrupt enabled in the NVIC")]
    pending = {e - IRQ0 for e in scs.pending if e >= IRQ0}
    pending |= {irq for irq, level in scs.lines.items() if level}
    live = [irq for irq in enabled if irq in pending]
    if live:
        names = ", ".join(f"IRQ {i}" for i in live)
        return [EntryCheck("nvic", False, f"{names} enabled and pending at the jump: it is taken "
                           "into the application's handler -- disable (NVIC ICER) and clear "
                           "(ICPR) every interrupt before jumping")]  # fmt: skip
    names = ", ".join(f"IRQ {i}" for i in enabled)
    return [EntryCheck("nvic", False, f"{names} still enabled in the NVIC -- disable them "
                       "before jumping", fatal=False)]  # fmt: skip


def _restart_application(board: SimBoard) -> None:
    """What the H7 base boot code does when the boot selection does not name system memory."""
    decision = board.boot_decision
    table = decision.address
    msp = _word(board, table)
    pc = _word(board, table + 4)
    core = board.core
    core.write_reg("msp", msp & ~3)
    core.write_reg("pc", pc | 1)
    board.in_bootrom = False
    core.resume()
