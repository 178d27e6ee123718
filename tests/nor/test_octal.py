"""Octal NOR behind OCTOSPI: STR and DTR OPI, DQS, the OCTOSPIM port mapping and the second
instance's window, driven with the register sequences of HAL_OSPI_* (as in test_octospi)."""

from __future__ import annotations

import random

import pytest

from stm32_hil.inventory import BoardSpec, ExternalFlashSpec
from stm32_hil.sim.bus import Access, CpuMap
from stm32_hil.sim.periph.octospi import AR, CCR, CR, FCR, IR, PIR, PSMAR, PSMKR, SR, TCR
from stm32_hil.sim.target import SimTarget

from .test_octospi import FMODE_MMAP, FMODE_POLL, SR_BUSY, SR_SMF, SR_TCF, Hal, ccr

IDTR, ADDTR, DDTR, DQSE = 1 << 3, 1 << 11, 1 << 27, 1 << 29


def octal_ccr(*, dtr: bool, address: bool = True, data: bool = True, isize: int = 1) -> int:
    c = 4 | isize << 4 | (4 << 8 | 3 << 12 if address else 0) | (4 << 24 if data else 0)
    if dtr:
        c |= IDTR | (ADDTR if address else 0) | (DDTR | DQSE if data else 0)
    return c


class Octal:
    """MX25LM51245G on an H7B3's OCTOSPI1, put into STR or DTR OPI as ST's BSP does."""

    def __init__(self, part: str = "STM32H7B3LI", bus: str = "OCTOSPI1") -> None:
        flash = ExternalFlashSpec(chip="MX25LM51245G", bus=bus, bank=1, chips=1)
        spec = BoardSpec(name="t", part=part, backend="sim", external_flash=(flash,))
        self.target = SimTarget(spec)
        self.hal = Hal(self.target)
        self.hal.init(devsize=25)
        self.chip = self.hal.ctrl.chips[0]
        self.dtr = False

    def enter(self, dtr: bool, dummy_code: int = 0b111) -> None:
        h = self.hal
        h.simple(0x06)
        h.command(0x72, ccr(admode=1, adsize=3, dmode=1), dlr=0)  # CR2 @300h: dummy cycles
        h.w(AR, 0x300)
        h.transmit(bytes([dummy_code]))
        h.simple(0x06)
        h.command(0x72, ccr(admode=1, adsize=3, dmode=1), dlr=0)  # CR2 @0: SOPI / DOPI
        h.w(AR, 0)
        h.transmit(bytes([0b10 if dtr else 0b01]))
        self.dtr = dtr

    def op(self, code: int) -> int:
        return code << 8 | (~code & 0xFF)

    def command(self, code: int, *, address: bool, data: bool, dcyc: int, dlr: int = 0) -> None:
        c = octal_ccr(dtr=self.dtr, address=address, data=data)
        self.hal.command(self.op(code), c, dlr=dlr if data else None, dcyc=dcyc)

    def rdsr(self) -> bytes:
        n = 2 if self.dtr else 1
        self.command(0x05, address=True, data=True, dcyc=4, dlr=n - 1)
        return self.hal.receive(n, addressed=True, address=0)

    def read(self, address: int, n: int, dcyc: int) -> bytes:
        code = 0xEE if self.dtr else 0xEC
        self.command(code, address=True, data=True, dcyc=dcyc, dlr=n - 1)
        return self.hal.receive(n, addressed=True, address=address)


@pytest.mark.parametrize("dtr", [False, True], ids=["STR", "DTR"])
def test_octal_program_autopoll_read_and_memory_mapped(dtr: bool) -> None:
    o = Octal()
    o.enter(dtr)
    assert o.chip.octal_state == ("dtr" if dtr else "str")
    assert o.rdsr()[0] & 0x01 == 0
    data = random.Random(17).randbytes(256)
    h = o.hal
    o.command(0x06, address=False, data=False, dcyc=0)
    assert h.r(SR) & SR_TCF
    h.w(FCR, SR_TCF)
    assert o.rdsr()[0] & 0x02  # WEL
    o.command(0x12, address=True, data=True, dcyc=0, dlr=len(data) - 1)
    h.w(AR, 0x4000)
    h.transmit(data)
    # HAL_OSPI_AutoPolling on RDSR in octal mode: WIP = 0
    o.command(0x05, address=True, data=True, dcyc=4, dlr=1 if dtr else 0)
    h.w(PSMAR, 0)
    h.w(PSMKR, 1)
    h.w(PIR, 0x10)
    h.w(CR, (h.r(CR) & ~(3 << 28)) | FMODE_POLL << 28 | 1 << 22)
    h.w(AR, 0)
    assert h.r(SR) & SR_SMF and not h.r(SR) & SR_BUSY
    h.w(FCR, SR_SMF)
    assert h.board.external.read(0x4000, 256) == data
    assert o.read(0x4000, 256, dcyc=6) == data
    # A loader clocking 8 dummy cycles while the chip was set to 6 reads shifted data.
    # Two cycles late: 2 bytes lost in STR, 4 in DTR (a byte on each clock edge).
    lost = 4 if dtr else 2
    assert o.read(0x4000, 16, dcyc=8) == data[lost : lost + 16]
    # Memory-mapped: the window aliases the cells only for the read the chip runs.
    h.w(TCR, 6)
    h.w(CCR, octal_ccr(dtr=dtr))
    h.w(IR, o.op(0xEE if dtr else 0xEC))
    h.fmode(FMODE_MMAP)
    assert h.ctrl.window.cpu_map is CpuMap.ROM
    assert h.ctrl.window.read_block(0x4000, 256, Access.CPU) == data


def test_dtr_chip_ignores_str_phases_and_names_why() -> None:
    o = Octal()
    o.enter(dtr=True)
    o.dtr = False  # the loader forgot IDTR/ADDTR/DDTR
    assert o.rdsr() == b"\xff"
    assert "STR" in o.chip.log[-1] and "DTR" in o.chip.log[-1]


def test_macronix_dtr_id_comes_in_byte_pairs() -> None:
    o = Octal()
    o.enter(dtr=True)
    o.command(0x9F, address=True, data=True, dcyc=4, dlr=5)
    assert o.hal.receive(6, addressed=True, address=0).hex() == "c2c285853a3a"


def test_octospim_swap_cuts_the_chip_off_until_restored() -> None:
    o = Octal()
    h = o.hal
    manager = h.board.device("OCTOSPIM")
    p1cr = manager.base + 0x4
    reset = h.board.bus.read(p1cr, 4, Access.CPU)
    assert reset == 0x03010111  # OCTOSPI1 drives port 1 out of reset
    h.command(0x9F, ccr(dmode=1), dlr=2)
    assert h.receive(3, addressed=False).hex() == "c2853a"
    h.board.bus.write(p1cr, 4, 0x07050333, Access.CPU)  # port 1 now from OCTOSPI2
    h.command(0x9F, ccr(dmode=1), dlr=2)
    assert h.receive(3, addressed=False) == b"\xff\xff\xff"
    assert "OCTOSPIM" in o.chip.log[-1] and "OCTOSPI2" in o.chip.log[-1]
    h.board.bus.write(manager.base, 4, 1, Access.CPU)  # MUXEN: both instances share port 1
    h.command(0x9F, ccr(dmode=1), dlr=2)
    assert h.receive(3, addressed=False).hex() == "c2853a"


def test_second_instance_window_from_the_family_data() -> None:
    o = Octal(bus="OCTOSPI2")
    h = o.hal
    assert h.ctrl.window.base == 0x70000000
    h.command(0x9F, ccr(dmode=1), dlr=2)  # the chip on port 2, OCTOSPI2's port out of reset
    assert h.receive(3, addressed=False).hex() == "c2853a"
    data = random.Random(2).randbytes(64)
    h.board.external.write(0x100, data)
    h.w(TCR, 8)
    h.w(CCR, ccr(admode=1, adsize=3, dmode=1))
    h.w(IR, 0x0C)
    h.fmode(FMODE_MMAP)
    assert h.board.bus.read(0x70000100, 4, Access.CPU) == int.from_bytes(data[:4], "little")


def test_shared_h7b3_octal_dtr_loader_init_erase_write_read() -> None:
    import os
    from pathlib import Path

    from stm32_hil.stldr.elf import load
    from stm32_hil.stldr.runner import LoaderRunner

    name = "CLIVEONE-MX25LM51245G_STM32H7X3-PB2-PG6-PC5-PD11-PF9-PF7-PF6-PC1-PH3-PG9-PG14.stldr"
    path = Path(__file__).resolve().parents[2] / ".." / "shared" / "loaders" / name
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared loader missing: {path}")
        pytest.skip(f"shared loader not present: {path}")
    o = Octal()
    runner = LoaderRunner(o.target, load(str(path)))
    assert runner.init().r0 == 1
    # Its Init resets the chip in every protocol it may be left in, octal DTR included (the
    # commands a model without DTR refused), then drives it in SPI mode.
    assert not o.hal.ctrl.unsupported
    assert any("DTR" in line for line in o.chip.log) and o.chip.octal_state is None
    base = o.hal.board.external.window_base
    assert runner.sector_erase(base + 0x10000, base + 0x10000).r0 == 1
    data = random.Random(13).randbytes(3000)
    runner.write(base + 0x10011, data)
    assert o.hal.board.external.read(0x10011, 3000) == data
    assert runner.read(base + 0x10011, 3000) == data
