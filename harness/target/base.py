"""The one interface suites and flows program against.

Suites never ask "is this simulated?": they ask for a capability (`target.has(...)`) and the
backend answers. Anything only a simulator can do (fault injection, virtual time) sits behind
`target.sim`, which is None on real boards.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stm32_hil.errors import CapabilityError
from stm32_hil.target.safety import Safety, refuse_unless_allowed

if TYPE_CHECKING:
    import serial

    from stm32_hil.inventory import BoardSpec
    from stm32_hil.parts import Part


class Capability(str, enum.Enum):
    MEMORY = "memory"
    CORE = "core"  # halt/resume/step/registers
    BREAKPOINTS = "breakpoints"
    RESET_SYSTEM = "reset_system"
    RESET_PIN = "reset_pin"  # NRST under host control
    POWER_CYCLE = "power_cycle"
    BOOT0 = "boot0"
    UART = "uart"
    CONNECT_UNDER_RESET = "connect_under_reset"
    FAULT_INJECTION = "fault_injection"  # simulator only
    VIRTUAL_TIME = "virtual_time"  # simulator only


class ResetKind(str, enum.Enum):
    SYSTEM = "system"  # SYSRESETREQ: core and peripherals, RAM kept
    PIN = "pin"  # NRST low then high: same scope as system, option bytes not reloaded
    POWER = "power"  # power cycle: RAM lost, option bytes reloaded


class Pin(str, enum.Enum):
    BOOT0 = "BOOT0"
    NRST = "NRST"


class HaltReason(str, enum.Enum):
    NONE = "none"  # running
    DEBUG_REQUEST = "debug_request"
    BREAKPOINT = "breakpoint"
    STEP = "step"
    VECTOR_CATCH = "vector_catch"
    LOCKUP = "lockup"
    BUDGET = "budget"  # simulator: instruction budget exhausted
    BOOTROM = "bootrom"  # simulator: core handed over to the Python bootrom


@dataclass(frozen=True)
class Identity:
    part: str
    pid: int
    uid: bytes
    flash_size_kib: int

    @property
    def uid_hex(self) -> str:
        return self.uid.hex().upper()


CORE_REGISTERS = (
    "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12",
    "sp", "lr", "pc", "xpsr", "msp", "psp", "control", "primask", "basepri", "faultmask",
)  # fmt: skip


class Target(ABC):
    """A board under test.

    Backends: `stm32_hil.sim.target.SimTarget` and `stm32_hil.hw.pyocd_target`.
    """

    backend: str = "abstract"
    # The operator's opt-ins for this board; nothing destructive until granted (see `allow`).
    safety: Safety = Safety()

    def __init__(self, spec: BoardSpec, part: Part) -> None:
        self.spec = spec
        self.part = part

    @property
    def name(self) -> str:
        return self.spec.name

    # -- safety ------------------------------------------------------------------------
    def allow(self, safety: Safety) -> None:
        """Grant the operator's opt-ins for the rest of this session (they only add up)."""
        self.safety = self.safety | safety

    def require_destructive(self, what: str, *, irreversible: bool = False) -> None:
        """Raise SafetyError unless `what` may change this board for good or for the next user.

        Simulated boards are fresh per test and always allow it; backends of real boards call
        this on every write that reaches flash, its controller or the option bytes, and
        operations that change external flash (loaders) call it before they start.
        """
        if self.sim is None:
            refuse_unless_allowed(self.name, self.safety, what, irreversible=irreversible)

    # -- capabilities ------------------------------------------------------------------
    @abstractmethod
    def capabilities(self) -> frozenset[Capability]: ...

    def has(self, capability: Capability) -> bool:
        return capability in self.capabilities()

    def require(self, capability: Capability) -> None:
        if not self.has(capability):
            raise CapabilityError(capability.value, self.name)

    @property
    def sim(self) -> Any | None:
        """The simulator handle (fault injection, virtual time) or None on real boards."""
        return None

    @property
    def wall_time_is_board_time(self) -> bool:
        """Whether time measured on the host's wall clock is time that passed on the board.

        True on silicon (a call the host timed took at most that long on the board); False on
        a simulated board, whose clock is virtual even when a debug probe reaches it: what it
        took is known only in the simulating process (`sim.clock`).
        """
        return self.sim is None

    # -- memory ------------------------------------------------------------------------
    @abstractmethod
    def read_memory(self, address: int, length: int) -> bytes: ...

    @abstractmethod
    def write_memory(self, address: int, data: bytes) -> None: ...

    @abstractmethod
    def read32(self, address: int) -> int: ...

    @abstractmethod
    def write32(self, address: int, value: int) -> None: ...

    def read8(self, address: int) -> int:
        return self.read_memory(address, 1)[0]

    def read16(self, address: int) -> int:
        return int.from_bytes(self.read_memory(address, 2), "little")

    def write8(self, address: int, value: int) -> None:
        self.write_memory(address, bytes([value & 0xFF]))

    def write16(self, address: int, value: int) -> None:
        self.write_memory(address, (value & 0xFFFF).to_bytes(2, "little"))

    # -- core --------------------------------------------------------------------------
    @abstractmethod
    def halt(self) -> None: ...

    @abstractmethod
    def resume(self) -> None: ...

    @abstractmethod
    def step(self) -> None: ...

    @abstractmethod
    def is_halted(self) -> bool: ...

    @abstractmethod
    def wait_for_halt(self, timeout_s: float) -> HaltReason:
        """Block until the core halts; raise `TargetTimeout` after `timeout_s`.

        On the simulator `timeout_s` is virtual time; on hardware it is wall-clock time.
        """

    @abstractmethod
    def read_core_register(self, name: str) -> int: ...

    @abstractmethod
    def write_core_register(self, name: str, value: int) -> None: ...

    def read_core_registers(self, names: tuple[str, ...] = CORE_REGISTERS) -> dict[str, int]:
        return {n: self.read_core_register(n) for n in names}

    def set_breakpoint(self, address: int) -> None:
        self.require(Capability.BREAKPOINTS)
        raise NotImplementedError

    def remove_breakpoint(self, address: int) -> None:
        self.require(Capability.BREAKPOINTS)
        raise NotImplementedError

    # -- reset and pins ----------------------------------------------------------------
    @abstractmethod
    def reset(self, kind: ResetKind = ResetKind.SYSTEM, *, halt: bool = False) -> None: ...

    @abstractmethod
    def set_pin(self, pin: Pin, level: bool) -> None: ...

    @abstractmethod
    def get_pin(self, pin: Pin) -> bool: ...

    # -- uart and identity -------------------------------------------------------------
    @abstractmethod
    def open_uart(self, **kwargs: Any) -> serial.SerialBase:
        """Open the board's UART (the bootloader USART) as a pyserial port."""

    def identity(self) -> Identity:
        """Read the identity as a debugger would: IDCODE register, UID and flash-size words."""
        pid = self.read32(self.part.idcode_addr) & 0xFFF
        uid = self.read_memory(self.part.uid_addr, 12)
        addr = self.part.flash_size_addr
        # Where the catalogue does not know the flash-size word, the data's size stands in.
        size = self.read16(addr) if addr is not None else self.part.flash.size // 1024
        return Identity(self.part.name, pid, uid, size)

    def delay(self, seconds: float) -> None:
        """Let time pass on the target: wall-clock on hardware, virtual time on the simulator."""
        import time

        time.sleep(seconds)

    def close(self) -> None:
        """Release the board (locks, probe sessions, ports)."""

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
