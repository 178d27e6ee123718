"""`Target` on a simulated board: the debug port's view of a `SimBoard`."""

from __future__ import annotations

from typing import Any

import serial

from stm32_hil.errors import CapabilityError, TargetTimeout
from stm32_hil.inventory import BoardSpec
from stm32_hil.parts import Part, get_part
from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.bus import Access
from stm32_hil.target.base import Capability, HaltReason, Pin, ResetKind, Target

_BASE_CAPS = frozenset(
    {
        Capability.MEMORY,
        Capability.RESET_SYSTEM,
        Capability.RESET_PIN,
        Capability.POWER_CYCLE,
        Capability.BOOT0,
        Capability.UART,
        Capability.CONNECT_UNDER_RESET,
        Capability.FAULT_INJECTION,
        Capability.VIRTUAL_TIME,
    }
)


class SimTarget(Target):
    backend = "sim"

    def __init__(self, spec: BoardSpec, part: Part | None = None, board: SimBoard | None = None):
        part = part or get_part(spec.part)
        super().__init__(spec, part)
        self.board = board or SimBoard(spec, part)

    @property
    def sim(self) -> SimBoard:
        return self.board

    def capabilities(self) -> frozenset[Capability]:
        caps = set(_BASE_CAPS)
        if self.board.core is not None:
            caps |= {Capability.CORE, Capability.BREAKPOINTS}
        return frozenset(caps)

    # -- memory ------------------------------------------------------------------------
    def read_memory(self, address: int, length: int) -> bytes:
        self.board.check_debug()
        return self.board.bus.read_block(address, length, Access.DEBUG)

    def write_memory(self, address: int, data: bytes) -> None:
        self.board.check_debug()
        self.board.bus.write_block(address, bytes(data), Access.DEBUG)

    def read32(self, address: int) -> int:
        self.board.check_debug()
        return self.board.bus.read(address, 4, Access.DEBUG)

    def write32(self, address: int, value: int) -> None:
        self.board.check_debug()
        self.board.bus.write(address, 4, value & 0xFFFFFFFF, Access.DEBUG)

    def read16(self, address: int) -> int:
        self.board.check_debug()
        return self.board.bus.read(address, 2, Access.DEBUG)

    def write16(self, address: int, value: int) -> None:
        self.board.check_debug()
        self.board.bus.write(address, 2, value & 0xFFFF, Access.DEBUG)

    def read8(self, address: int) -> int:
        self.board.check_debug()
        return self.board.bus.read(address, 1, Access.DEBUG)

    def write8(self, address: int, value: int) -> None:
        self.board.check_debug()
        self.board.bus.write(address, 1, value & 0xFF, Access.DEBUG)

    # -- core --------------------------------------------------------------------------
    @property
    def _core(self) -> Any:
        if self.board.core is None:
            raise CapabilityError(Capability.CORE.value, self.name)
        self.board.check_debug()
        return self.board.core

    def halt(self) -> None:
        self._core.halt()

    def resume(self) -> None:
        self._core.resume()

    def step(self) -> None:
        self._core.step()

    def is_halted(self) -> bool:
        return bool(self._core.halted)

    def wait_for_halt(self, timeout_s: float) -> HaltReason:
        core = self._core
        deadline = self.board.clock.now + int(timeout_s * self.board.clock.hz)
        slice_cycles = max(1, self.board.clock.hz // 1000)
        while not core.halted:
            if self.board.clock.now >= deadline:
                raise TargetTimeout(
                    f"{self.name}: core still running after {timeout_s:g} s of virtual time "
                    f"(PC=0x{core.read_reg('pc'):08X}); {self._loop_trace()}",
                    hint="the code under test is stuck in a loop: the trace shows its blocks",
                )
            # not exact: the chunks only bound how long a halt goes unnoticed
            self.board.run(min(slice_cycles, deadline - self.board.clock.now), exact=False)
        return HaltReason(core.halt_reason)

    def _loop_trace(self, cycles: int = 4096, depth: int = 8) -> str:
        """Where a runaway core spends its time: block addresses of a short traced run."""
        core = self._core
        core.enable_trace(True)
        try:
            self.board.run(cycles)
        finally:
            core.enable_trace(False)
        blocks: list[int] = []
        for address in reversed(core.trace()):
            if address not in blocks:
                blocks.append(address)
            if len(blocks) == depth:
                break
        return "recently executed blocks: " + ", ".join(f"0x{a:08X}" for a in sorted(blocks))

    def read_core_register(self, name: str) -> int:
        return int(self._core.read_reg(name.lower()))

    def write_core_register(self, name: str, value: int) -> None:
        self._core.write_reg(name.lower(), value & 0xFFFFFFFF)

    def set_breakpoint(self, address: int) -> None:
        self._core.set_breakpoint(address)

    def remove_breakpoint(self, address: int) -> None:
        self._core.remove_breakpoint(address)

    def delay(self, seconds: float) -> None:
        self.board.run(max(1, int(seconds * self.board.clock.hz)))

    # -- reset and pins ----------------------------------------------------------------
    def reset(self, kind: ResetKind = ResetKind.SYSTEM, *, halt: bool = False) -> None:
        if kind is ResetKind.PIN:
            self.board.set_pin("NRST", False)
            self.board.set_pin("NRST", True)
        else:
            self.board.reset(kind, cause="debugger request")
        if self.board.core is not None:
            if halt:
                self.board.core.halt()
            else:
                self.board.core.resume()

    def set_pin(self, pin: Pin, level: bool) -> None:
        self.board.set_pin(pin.value, level)

    def get_pin(self, pin: Pin) -> bool:
        return self.board.pins[pin.value]

    # -- uart --------------------------------------------------------------------------
    def open_uart(self, **kwargs: Any) -> serial.SerialBase:
        from stm32_hil.sim.links.serial_link import open_sim_port

        return open_sim_port(self.board, **kwargs)
