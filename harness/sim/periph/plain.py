"""Register files that read back what was written, for models that build on one."""

from __future__ import annotations

from harness.sim.bus import Access, RegisterBlock


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
