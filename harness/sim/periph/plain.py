"""Register files that read back what was written, for models that build on one."""

from __future__ import annotations

from collections.abc import Callable

from stm32_hil.parts.chipdata import RegisterLayout
from stm32_hil.sim.bus import Access, RegisterBlock


class PlainRegisters(RegisterBlock):
    """32-bit registers holding what was written, with optional reset values."""

    modelled = True

    def __init__(
        self, name: str, base: int, reset: dict[int, int] | None = None, size: int = 0x400
    ) -> None:
        super().__init__(name, base, size)
        self._reset = dict(reset or {})
        self.regs: dict[int, int] = {}
        self.power_on()

    def power_on(self) -> None:
        self.regs = dict(self._reset)

    def read_reg(self, offset: int, access: Access) -> int:
        return self.regs.get(offset, 0)

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        self.regs[offset] = value


def field_stem(name: str) -> str:
    """A field's name without its array index: PLLRDY[0] -> PLLRDY."""
    return name.partition("[")[0]


def flag_bits(layout: RegisterLayout | None, wanted: Callable[[str], bool]) -> dict[int, int]:
    """Register offset -> mask of the fields whose name (index dropped) `wanted` accepts."""
    out: dict[int, int] = {}
    if layout is None:
        return out
    for reg in layout.registers:
        for f in reg.fields:
            if wanted(field_stem(f.name)):
                out[reg.offset] = out.get(reg.offset, 0) | 1 << f.bit_offset
    return out


class FlagRegisters(PlainRegisters):
    """Registers holding what was written, with some status bits that always read 1.

    What firmware waits on in PWR, SYSCFG and RCC is mostly "ready" flags of analog things the
    simulator does not have (regulators, compensation cells, domain clocks): they read set.
    """

    def __init__(
        self,
        name: str,
        base: int,
        always_one: dict[int, int],
        reset: dict[int, int] | None = None,
        size: int = 0x400,
    ) -> None:
        self.always_one = always_one
        super().__init__(name, base, reset, size)

    def read_reg(self, offset: int, access: Access) -> int:
        return self.regs.get(offset, 0) | self.always_one.get(offset, 0)
