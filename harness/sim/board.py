"""A simulated STM32 board: a bus of memories and register-level peripherals, built from data.

A board is a plain object; create as many as you like in one process. Non-volatile state (flash
cells, option bytes, ECC state) lives in the flash controller and survives `reset(POWER)`;
RAM and peripheral registers do not.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from stm32_hil.errors import ConfigError, ProtectionError, TargetError
from stm32_hil.inventory import BoardSpec
from stm32_hil.parts import Part, chipdata, get_part
from stm32_hil.parts.chipdata import BlockInfo
from stm32_hil.sim.bus import Access, Alias, Bus, Device, Memory
from stm32_hil.sim.clock import Clock
from stm32_hil.sim.faults import FaultInjector, FaultKind
from stm32_hil.sim.memories.flash_array import FlashArray
from stm32_hil.sim.periph import models
from stm32_hil.sim.periph.context import BlockContext
from stm32_hil.sim.periph.generic import GapLog, GenericBlock
from stm32_hil.sim.periph.sysinfo import IdcodeBlock, fill_engineering, unique_id
from stm32_hil.sim.periph.usart import Usart
from stm32_hil.sim.rom import boot
from stm32_hil.sim.rom import entry as bootrom_entry
from stm32_hil.target.base import ResetKind

if TYPE_CHECKING:
    from stm32_hil.sim.memories.wiring import WiringReport
    from stm32_hil.sim.rom.boot import BootDecision
    from stm32_hil.sim.rom.entry import EntryReport

DEFAULT_HZ = 64_000_000  # virtual core clock: one instruction = one cycle
DEBUG_ACCESS_US = 1.0  # virtual time one debug-port transaction takes

# Flash controller model per `flash_controller` key of the catalogue.
CONTROLLERS = {
    "g0": "stm32_hil.sim.periph.flash_g0:G0FlashController",
    "h7": "stm32_hil.sim.periph.flash_h7:H7FlashController",
    "basic": "stm32_hil.sim.periph.flash_sector:sector_or_basic",  # F2/F4/F7 by FLASH layout
}


class FlashController(Protocol):
    """What the board needs from a flash controller model (see flash_g0.py, flash_h7.py)."""

    array: FlashArray
    options: dict[str, int]  # option registers as loaded at the last option-byte load
    empty_flag: bool  # G0: main flash seen empty at option load (always False on H7)

    def rdp_level(self) -> int: ...

    def power_on(self) -> None: ...

    def system_reset(self) -> None: ...


def _load_class(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


class SimBoard:
    def __init__(self, spec: BoardSpec, part: Part | None = None, *, hz: int = DEFAULT_HZ):
        self.spec = spec
        self.part = part or get_part(spec.part)
        self.name = spec.name
        self.clock = Clock(hz)
        self._debug_cycles = self.clock.cycles(DEBUG_ACCESS_US)
        self.bus = Bus(on_debug_access=lambda: self.clock.advance(self._debug_cycles))
        self.faults = FaultInjector()
        self.pins: dict[str, bool] = {"BOOT0": False, "NRST": True}
        self.reset_log: list[tuple[int, str, str]] = []  # (cycle, kind, cause)
        self.uid = unique_id(spec.name)
        self.debug_attached = True  # the simulator is reached through its debug port
        self._reset_listeners: list[Callable[[ResetKind, str], None]] = []

        part = self.part
        self.gaps = GapLog(lambda: self.clock.now)  # what code did on unmodelled blocks
        if part.flash_controller not in CONTROLLERS:
            raise ConfigError(f"no flash controller model {part.flash_controller!r}")
        self.flash: FlashController = _load_class(CONTROLLERS[part.flash_controller])(self)
        rams: dict[str, Memory] = {}
        for region in part.ram:
            if self.bus.find(region.base) is None:
                rams[region.name] = self.bus.attach(Memory(region.name, region.base, region.size))  # type: ignore[assignment]
        for name, mem in rams.items():  # an instruction-bus view shares its data-bus bytes
            if name.endswith("_ICODE"):
                stem = name.removesuffix("_ICODE")
                other = rams.get(stem) or rams.get(stem + "_DCODE")
                if other is not None and other.size == mem.size:
                    mem.data = other.data
        for i, region in enumerate(part.system_memory):
            sysmem = Memory(f"SYSMEM{i}", region.base, region.size, fill=0xFF, volatile=False)
            sysmem.writable = False
            self.bus.attach(sysmem)
            if part.bootloader is not None and region.contains(part.bootloader.id_addr):
                sysmem.data[part.bootloader.id_addr - region.base] = part.bootloader.id_byte
            self._write_bootrom_vectors(sysmem)
        self.bootrom_entry_report: EntryReport | None = None  # last jump into system memory
        bootrom_entry.install(self)
        if part.otp is not None:
            self.bus.attach(Memory("OTP", part.otp.base, part.otp.size, fill=0xFF, volatile=False))
        if part.engi is not None:
            engi = Memory("ENGI", part.engi.base, part.engi.size, fill=0xFF, volatile=False)
            fill_engineering(engi, part, self.uid)
            engi.writable = False
            self.bus.attach(engi)
        self.boot_decision: BootDecision = boot.decide(self)
        self._remap: Device | None = None  # G0 SYSCFG MEM_MODE override of the boot alias
        if part.boot_alias:
            self.bus.attach(Alias("BOOT_ALIAS", 0x00000000, part.flash.size, self._alias_target))
        from stm32_hil.sim.memories.external import attach_external_flash

        self.external = attach_external_flash(self)  # inventory external_flash, its pins
        for block in part.blocks:  # every other block of the chip, built on first access
            self.bus.declare(block.name, block.base, block.size, self._builder(block))
        for block in part.die_blocks:  # on the die, documented for sibling lines only
            self.bus.declare(block.name, block.base, block.size, self._generic_builder(block))
        if not self.bus.has("DBGMCU"):
            self.bus.attach(IdcodeBlock(part))
        self.core: Any = None
        self.bootrom: Any = None
        self.in_bootrom = False
        self._make_core()
        self._make_bootrom()

    @classmethod
    def from_inventory(cls, name: str, inventory: str | None = None) -> SimBoard:
        """A fresh board from the inventory (default `fixtures/boards.toml`)."""
        from stm32_hil.inventory import Inventory

        return cls(Inventory.load(inventory).get(name))

    @classmethod
    def for_part(cls, part_name: str, name: str | None = None) -> SimBoard:
        """A fresh bare board for a part, for tests that do not need an inventory entry."""
        part = get_part(part_name)
        spec = BoardSpec(name=name or f"sim-{part.name.lower()}", part=part.name, backend="sim")
        return cls(spec)

    # -- construction helpers ----------------------------------------------------------
    def _write_bootrom_vectors(self, sysmem: Memory) -> None:
        """System memory holds a vector table (initial MSP, reset vector) like the real ROM.

        The ROM code itself is Python (stm32_hil.sim.rom.bootrom); these words make a jump into
        system memory look right to firmware that reads them before branching.
        """
        if self.part.bootloader is None:
            return
        entry = self.part.bootloader.entry
        if not sysmem.base <= entry < sysmem.end:
            return
        sp = self.part.ram[0].base + min(self.part.ram[0].size, 0x2000)
        if self.part.family == "h7":
            sp = self.part.ram_region("AXISRAM").base + 0x4000
        off = entry - sysmem.base
        sysmem.data[off : off + 8] = sp.to_bytes(4, "little") + (entry + 0x101).to_bytes(
            4, "little"
        )

    def _alias_target(self) -> Device:
        if self._remap is not None:
            return self._remap
        src = self.boot_decision.source
        if src is boot.BootSource.SYSTEM:
            return self.bus.find(self.part.system_memory[0].base)  # type: ignore[return-value]
        if src is boot.BootSource.SRAM:
            return self.bus.find(self.part.ram[0].base)  # type: ignore[return-value]
        return self.flash.array

    def _make_core(self) -> None:
        try:
            core_mod = importlib.import_module("stm32_hil.sim.cpu.core")
        except ModuleNotFoundError:
            return
        self.core = core_mod.CortexM(self)

    def _make_bootrom(self) -> None:
        """The system-memory ROM; it takes the USART whenever the part boots into it."""
        from stm32_hil.sim.rom.bootrom import Bootrom

        if self.part.flash_controller == "basic" or self.part.bootloader is None:
            return  # parts simulated for external loaders only: no bootloader model
        self.bootrom = Bootrom(self)
        if self.boot_decision.source is boot.BootSource.SYSTEM:
            self.enter_system_memory("boot selection at power-on")

    def _builder(self, block: BlockInfo) -> Callable[[], Device]:
        return lambda: self._build_block(block)

    def _generic_builder(self, block: BlockInfo) -> Callable[[], Device]:
        return lambda: self._generic_block(block)

    def _build_block(self, block: BlockInfo) -> Device:
        """The device for one block of the chip: its behaviour model, or a generic file."""
        layout = chipdata.layout(block.layout_key, block.block) if block.layout_key else None
        row = models.row_for(block.kind, block.version)
        if row is not None:
            return models.factory_for(row)(BlockContext(self, block, layout))
        return self._generic_block(block)

    def _generic_block(self, block: BlockInfo) -> Device:
        """A register file that records who touches it (its registers named from the layout)."""
        layout = chipdata.layout(block.layout_key, block.block) if block.layout_key else None
        return GenericBlock(
            block.name,
            block.base,
            block.size,
            layout=layout,
            log=self.gaps,
            pc=self._cpu_pc,
            kind=block.kind,
        )

    def _cpu_pc(self) -> int | None:
        return self.core.pc_now() if self.core is not None else None

    def device(self, name: str) -> Device:
        return self.bus.device(name)

    def wiring_report(self) -> WiringReport | None:
        """The pins the firmware used for the external memory, and any mismatch with the board's
        declared wiring (None: no external memory). Verdicts quote it."""
        return self.external.wiring_report()

    @property
    def usarts(self) -> dict[str, Usart]:
        """Every U(S)ART of the part that has a USART model (built on demand)."""
        out: dict[str, Usart] = {}
        for block in self.part.blocks:
            if block.kind == "usart" and models.row_for(block.kind, block.version) is not None:
                dev = self.bus.device(block.name)
                if isinstance(dev, Usart):
                    out[block.name] = dev
        return out

    def usart(self, name: str | None = None) -> Usart:
        key = name or self.spec.uart.peripheral
        try:
            dev: Device | None = self.bus.device(key)
        except KeyError:
            dev = None
        if not isinstance(dev, Usart):
            names = [b.name for b in self.part.blocks if b.kind == "usart"]
            raise ConfigError(
                f"board {self.name}: part {self.part.name} has no modelled {key}",
                hint="usarts: " + ", ".join(names),
            )
        return dev

    # -- protection --------------------------------------------------------------------
    def check_debug(self) -> None:
        """RDP level 2 disconnects the debug port for good."""
        if self.flash.rdp_level() == 2:
            raise ProtectionError(
                f"{self.name}: debug port disabled (RDP level 2)",
                hint="level 2 is permanent; the board can only be used through its firmware",
            )
        gpioa = self.bus.device("GPIOA") if self.bus.has("GPIOA") else None
        swd_problem = getattr(gpioa, "swd_problem", None)
        problem = swd_problem() if swd_problem is not None else None
        if problem is not None and self.pins["NRST"]:
            raise TargetError(
                f"{self.name}: debug port not answering: the firmware reconfigured the SWD "
                f"pins ({problem})",
                hint="connect under reset (stm32_hil.flows.recover.connect_under_reset): with "
                "NRST held the firmware never runs and the pins stay SWD",
            )

    # -- resets ------------------------------------------------------------------------
    def on_reset(self, listener: Callable[[ResetKind, str], None]) -> None:
        self._reset_listeners.append(listener)

    def reset(self, kind: ResetKind = ResetKind.SYSTEM, cause: str = "requested") -> None:
        """Reset as the silicon does. POWER also reloads option bytes and clears RAM."""
        self.reset_log.append((self.clock.now, kind.value, cause))
        for dev in self.bus.devices:
            if dev is self.flash or dev is self.flash.array:
                continue
            if kind is ResetKind.POWER:
                dev.power_on()
            else:
                dev.system_reset()
        if kind is ResetKind.POWER:
            self.flash.power_on()
        else:
            self.flash.system_reset()
        self._remap = None
        self.boot_decision = boot.decide(self)
        for listener in list(self._reset_listeners):
            listener(kind, cause)

    def option_reload_reset(self, cause: str = "OBL_LAUNCH") -> None:
        """Option-byte reload: options reloaded as at power-on, RAM kept (a system reset)."""
        self.reset_log.append((self.clock.now, "option_reload", cause))
        for dev in self.bus.devices:
            if dev is not self.flash and dev is not self.flash.array:
                dev.system_reset()
        self.flash.power_on()
        self._remap = None
        self.boot_decision = boot.decide(self)
        for listener in list(self._reset_listeners):
            listener(ResetKind.SYSTEM, cause)

    def interrupt(self, kind: FaultKind, cause: str) -> None:
        """A fault plan fired: the board resets or loses power right now."""
        self.reset(ResetKind.POWER if kind is FaultKind.POWER_LOSS else ResetKind.PIN, cause)

    def enter_system_memory(self, how: str) -> None:
        """The core is now executing system memory: the Python bootrom takes the USART.

        `how` says why (reset with boot selection, a jump from firmware, Go to system memory)
        so the bootrom can apply entry rules.
        """
        self.in_bootrom = True
        if not bootrom_entry.admit(self, how):
            return  # the ROM stays silent (or never ran): bootrom_entry_report says why
        if self.bootrom is not None:
            self.bootrom.activate(how)

    def set_pin(self, pin: str, level: bool) -> None:
        previous = self.pins[pin]
        self.pins[pin] = level
        if pin == "NRST" and previous and not level:
            self.reset(ResetKind.PIN, "NRST asserted")

    # -- time --------------------------------------------------------------------------
    def run(self, cycles: int, *, exact: bool = True) -> None:
        """Let `cycles` of virtual time pass: the core executes if it is running.

        `exact=False`: up to `cycles`, possibly a few instructions short (`CortexM.run`)."""
        if self.core is not None and self.pins["NRST"]:
            self.core.run(cycles, exact=exact)
        else:
            self.clock.advance(cycles)

    def preload_flash(self, image: bytes, offset: int = 0) -> None:
        """Put `image` into main flash as a factory programmer would, without register traffic.

        Test set-up shortcut: cells are programmed unit by unit through the array (1 -> 0, ECC
        bookkeeping kept), skipping blank units; the FLASH registers are not involved. Flows
        that must exercise the controller use `stm32_hil.flows.internal_flash` instead.
        """
        array = self.flash.array
        unit = array.unit
        blank = bytes([array.geometry.erase_value]) * unit
        padded = bytes(image) + blank[: (-len(image)) % unit]
        if offset % unit or offset + len(padded) > array.size:
            raise ConfigError(
                f"image of {len(image)} bytes at flash offset 0x{offset:X} does not fit "
                f"{array.size} bytes of flash in {unit}-byte units"
            )
        for off in range(0, len(padded), unit):
            chunk = padded[off : off + unit]
            if chunk != blank:
                array.program_unit(offset + off, chunk)

    # -- convenience for tests and the bootrom ------------------------------------------
    def read(self, address: int, length: int, access: Access = Access.DEBUG) -> bytes:
        return self.bus.read_block(address, length, access)

    def write(self, address: int, data: bytes, access: Access = Access.DEBUG) -> None:
        self.bus.write_block(address, data, access)
