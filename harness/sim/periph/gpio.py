"""GPIO ports (every gpio version with MODER/AFR): reset state, and who holds the debug pins.

Other models read MODER/AFR to know how a pin is used (the debug port on PA13/PA14; external
memory buses through alternate functions). Reset values follow the RMs: pins come out of reset
as analog on the families whose MODER resets to all ones (`gpio_reset` in the catalogue) and
as inputs on the others, except the debug pins, which reset in AF0 with their pulls: PA13
(SWDIO, pull-up) and PA14 (SWCLK, pull-down) everywhere, and on cores with JTAG also PA15
(JTDI, pull-up), PB3 (JTDO/SWO) and PB4 (NJTRST, pull-up).

Pins are also where external devices meet the firmware: a device on the board (the SPI NOR
chip of `stm32_hil.sim.memories.spi_nor`) subscribes to a port's writes (`listeners`) to see
the levels the firmware drives, and drives the level of input pins (`drive`), which IDR shows.
IDR reads, per pin: the ODR bit for an output, the driven level for a pin a device drives, and
otherwise what was stored there (0 out of reset).

Shortcut: the port clock (RCC ...ENR) is not checked for register writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from stm32_hil.sim.bus import Access
from stm32_hil.sim.periph.plain import PlainRegisters

if TYPE_CHECKING:
    from stm32_hil.parts import Part
    from stm32_hil.sim.periph.context import BlockContext

MODER, OTYPER, OSPEEDR, PUPDR, IDR, ODR, BSRR, LCKR, AFRL, AFRH = (
    0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18, 0x1C, 0x20, 0x24,
)  # fmt: skip
MODE_INPUT, MODE_OUTPUT, MODE_AF, MODE_ANALOG = 0, 1, 2, 3
SWD_PINS = {13: "SWDIO", 14: "SWCLK"}  # PA13/PA14, alternate function 0
PULL_UP, PULL_DOWN = 1, 2
SPEED_VERY_HIGH = 3


def debug_pins(part: Part) -> dict[str, dict[int, int]]:
    """Port -> {pin: pull} of the pins that leave reset in AF0 for the debug port."""
    pins = {"GPIOA": {13: PULL_UP, 14: PULL_DOWN}}
    if part.core not in ("cortex-m0", "cortex-m0+"):
        pins["GPIOA"][15] = PULL_UP
        pins["GPIOB"] = {3: 0, 4: PULL_UP}
    return pins


def reset_values(part: Part, port: str) -> dict[int, int]:
    moder = 0xFFFFFFFF if part.gpio_reset == "analog" else 0
    ospeedr = pupdr = 0
    for pin, pull in debug_pins(part).get(port, {}).items():
        moder = (moder & ~(3 << 2 * pin)) | MODE_AF << 2 * pin
        pupdr |= pull << 2 * pin
        if pin in (13, 3):  # SWDIO and SWO drive at very high speed out of reset
            ospeedr |= SPEED_VERY_HIGH << 2 * pin
    return {MODER: moder, OSPEEDR: ospeedr, PUPDR: pupdr}


class Gpio(PlainRegisters):
    """A GPIO port; on port A it also knows whether PA13/PA14 still carry SWD."""

    def __init__(self, ctx: BlockContext) -> None:
        self.listeners: list[Callable[[Gpio], None]] = []  # told after MODER/ODR/AFR writes
        self.config_listeners: list[Callable[[], None]] = []  # told after MODER/AFR writes
        self.driven: dict[int, bool] = {}  # pin -> level an external device drives
        self._outputs_of, self._outputs_mask = -1, 0
        super().__init__(ctx.name, ctx.base, reset_values(ctx.board.part, ctx.name), ctx.size)
        external = getattr(ctx.board, "external", None)
        joined = getattr(external, "gpio_built", None)
        if joined is not None:
            joined(self)  # devices wired to this port's pins start listening

    def power_on(self) -> None:
        super().power_on()
        self.driven = {}
        for changed in list(getattr(self, "config_listeners", ())):
            changed()
        for listener in list(getattr(self, "listeners", ())):
            listener(self)

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        if offset == BSRR:  # set/reset the output data register, reads as 0
            odr = self.regs.get(ODR, 0)
            odr = (odr | (value & 0xFFFF)) & ~(value >> 16)
            self.regs[ODR] = odr & 0xFFFF
        elif offset == IDR:
            return  # read-only
        else:
            self.regs[offset] = value
        if offset in (MODER, AFRL, AFRH):
            for changed in list(self.config_listeners):
                changed()
        if self.listeners and offset in (MODER, ODR, BSRR, AFRL, AFRH):
            for listener in list(self.listeners):
                listener(self)

    def read_reg(self, offset: int, access: Access) -> int:
        if offset != IDR:
            return self.regs.get(offset, 0)
        outputs = self._outputs()
        value = (self.regs.get(IDR, 0) & ~outputs) | (self.regs.get(ODR, 0) & outputs)
        for pin, level in self.driven.items():
            if not outputs >> pin & 1:
                value = value | 1 << pin if level else value & ~(1 << pin)
        return value

    def _outputs(self) -> int:
        """Mask of the pins in output mode (cached per MODER value: IDR is read in loops)."""
        moder = self.regs.get(MODER, 0)
        if moder != self._outputs_of:
            self._outputs_of = moder
            self._outputs_mask = sum(1 << pin for pin in range(16) if moder >> 2 * pin & 3 == 1)
        return self._outputs_mask

    # -- pin state, for devices on the board ---------------------------------------------------
    def output_level(self, pin: int) -> bool:
        """The ODR bit of `pin` (the level the pin shows while it is an output)."""
        return bool(self.regs.get(ODR, 0) >> pin & 1)

    def drive(self, pin: int, level: bool | None) -> None:
        """An external device drives `pin` to `level` (None: it lets go of the pin)."""
        if level is None:
            self.driven.pop(pin, None)
        else:
            self.driven[pin] = level

    def mode(self, pin: int) -> int:
        return (self.regs.get(MODER, 0) >> (2 * pin)) & 3

    def alternate(self, pin: int) -> int:
        word = self.regs.get(AFRL if pin < 8 else AFRH, 0)
        return (word >> (4 * (pin % 8))) & 0xF

    def swd_problem(self) -> str | None:
        """Why the SWD pins do not reach the debug port, or None when they do."""
        if self.name != "GPIOA":
            return None
        wrong = []
        for pin, signal in SWD_PINS.items():
            mode, af = self.mode(pin), self.alternate(pin)
            if mode != MODE_AF:
                what = ("input", "output", "alternate", "analog")[mode]
                wrong.append(f"PA{pin} ({signal}) set to {what} mode")
            elif af != 0:
                wrong.append(f"PA{pin} ({signal}) set to AF{af} instead of AF0")
        return ", ".join(wrong) or None
