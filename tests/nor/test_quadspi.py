"""QUADSPI driven through its registers in the order the ST HAL writes them."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from stm32_hil.errors import BusFault
from stm32_hil.parts import Part, get_part
from stm32_hil.sim.bus import Access, Bus, CpuMap
from stm32_hil.sim.clock import Clock
from stm32_hil.sim.periph.quadspi import Quadspi, attach_quadspi

Q = 0x52005000
CR, DCR, SR, FCR, DLR, CCR, AR, ABR, DR, PSMKR, PSMAR, PIR = range(0, 0x30, 4)
SR_TCF, SR_FTF, SR_SMF, SR_BUSY = 2, 4, 8, 32


@dataclass
class Host:
    part: Part = field(default_factory=lambda: get_part("STM32H743ZI"))
    bus: Bus = field(default_factory=Bus)
    clock: Clock = field(default_factory=lambda: Clock(64_000_000))


def ccr(
    instr: int,
    *,
    imode: int = 1,
    admode: int = 0,
    adsize: int = 2,
    dmode: int = 0,
    dcyc: int = 0,
    fmode: int = 0,
    abmode: int = 0,
    absize: int = 0,
) -> int:
    return (
        instr
        | imode << 8
        | admode << 10
        | adsize << 12
        | abmode << 14
        | absize << 16
        | dcyc << 18
        | dmode << 24
        | fmode << 26
    )


class Hal:
    """The register sequences of HAL_QSPI_Command/Transmit/Receive/AutoPolling/MemoryMapped."""

    def __init__(self, host: Host) -> None:
        self.h = host

    def w(self, off: int, value: int, size: int = 4) -> None:
        self.h.bus.write(Q + off, size, value, Access.CPU)

    def r(self, off: int, size: int = 4) -> int:
        return self.h.bus.read(Q + off, size, Access.CPU)

    def wait(self, mask: int, budget: int = 100_000) -> None:
        for _ in range(budget):
            if self.r(SR) & mask:
                return
            self.h.clock.advance_us(10)
        raise AssertionError(f"SR flag {mask:#x} never set")

    def command(self, c: int, *, addr: int | None = None, nbytes: int = 0) -> None:
        if nbytes:
            self.w(DLR, nbytes - 1)
        self.w(CCR, c)
        if addr is not None:
            self.w(AR, addr)

    def transmit(self, data: bytes) -> None:
        for b in data:
            self.wait(SR_FTF)
            self.w(DR, b, 1)
        self.wait(SR_TCF)
        self.w(FCR, SR_TCF)

    def receive(self, c: int, n: int, addr: int | None = None) -> bytes:
        self.w(CCR, c | 1 << 26)
        if addr is not None:
            self.w(AR, addr)
        out = bytearray()
        while len(out) < n:
            self.wait(SR_FTF | SR_TCF)
            out.append(self.r(DR, 1))
        self.wait(SR_TCF)
        self.w(FCR, SR_TCF)
        return bytes(out)

    def autopoll(self, instr: int, match: int, mask: int, nbytes: int = 1) -> None:
        self.w(PSMAR, match)
        self.w(PSMKR, mask)
        self.w(PIR, 0x10)
        self.w(CR, self.r(CR) | 1 << 22)  # APMS
        self.w(DLR, nbytes - 1)
        self.w(CCR, ccr(instr, dmode=1, fmode=2))
        self.wait(SR_SMF)
        self.w(FCR, SR_SMF)


@pytest.fixture
def single() -> tuple[Host, Quadspi, Hal]:
    host = Host()
    ctrl = attach_quadspi(host, ["W25Q128"])
    hal = Hal(host)
    hal.w(DCR, 23 << 16)  # FSIZE: 16 MiB
    hal.w(CR, 1 | 3 << 8)  # EN, FTHRES = 4 bytes
    return host, ctrl, hal


def test_read_jedec_id(single: tuple[Host, Quadspi, Hal]) -> None:
    _, _, hal = single
    hal.w(DLR, 2)
    assert hal.receive(ccr(0x9F, dmode=1), 3).hex() == "ef4018"


def test_write_enable_page_program_autopoll_and_read_back(
    single: tuple[Host, Quadspi, Hal],
) -> None:
    host, ctrl, hal = single
    hal.command(ccr(0x06))
    hal.autopoll(0x05, 0x02, 0x02)  # wait for WEL
    hal.command(ccr(0x02, admode=1, dmode=1), addr=0x1000, nbytes=5)
    assert not ctrl.chips[0].busy  # nothing programmed before the data phase completes
    hal.transmit(b"hello")
    t0 = host.clock.seconds
    hal.autopoll(0x05, 0x00, 0x01)  # wait for WIP = 0
    assert host.clock.seconds - t0 >= 0.0004
    assert ctrl.chips[0].data[0x1000:0x1005] == b"hello"
    hal.w(DLR, 4)
    # 0xEB: 2 mode-byte cycles + 4 dummy cycles = DCYC 6 when no alternate bytes are sent.
    assert hal.receive(ccr(0xEB, admode=3, dmode=3, dcyc=6), 5, addr=0x1000) == b"hello"


def test_quad_read_without_correct_dummy_gives_shifted_data(
    single: tuple[Host, Quadspi, Hal],
) -> None:
    _, ctrl, hal = single
    ctrl.chips[0].data[0:4] = b"\x12\x34\x56\x78"
    hal.w(DLR, 3)
    good = hal.receive(ccr(0xEB, admode=3, dmode=3, dcyc=4, abmode=3, absize=0), 4, addr=0)
    assert good == b"\x12\x34\x56\x78"
    hal.w(DLR, 3)
    bad = hal.receive(ccr(0xEB, admode=3, dmode=3, dcyc=5), 4, addr=0)
    assert bad != good


def test_4k_erase(single: tuple[Host, Quadspi, Hal]) -> None:
    _, ctrl, hal = single
    ctrl.chips[0].data[0x2000:0x4000] = b"\x00" * 0x2000
    hal.command(ccr(0x06))
    hal.command(ccr(0x20, admode=1), addr=0x2345)
    assert ctrl.chips[0].busy
    hal.autopoll(0x05, 0x00, 0x01)
    assert ctrl.chips[0].data[0x2000:0x3000] == b"\xff" * 0x1000
    assert ctrl.chips[0].data[0x3000] == 0


def test_memory_mapped_read_is_rom_aliasable(single: tuple[Host, Quadspi, Hal]) -> None:
    host, ctrl, _ = single
    hal = Hal(host)
    ctrl.chips[0].data[0x100:0x104] = b"\xde\xad\xbe\xef"
    with pytest.raises(BusFault):
        host.bus.read(0x90000100, 4, Access.CPU)
    hal.w(CCR, ccr(0xEB, admode=3, dmode=3, dcyc=6, fmode=3))
    assert ctrl.window.cpu_map is CpuMap.ROM
    assert ctrl.window.data is ctrl.chips[0].data
    assert host.bus.read(0x90000100, 4, Access.CPU) == 0xEFBEADDE
    with pytest.raises(BusFault):
        host.bus.read(0x91000000, 4, Access.CPU)  # beyond FSIZE
    hal.w(CR, hal.r(CR) | 2)  # ABORT leaves memory-mapped mode usable after a new CCR
    hal.w(CCR, ccr(0xEB, admode=3, dmode=3, dcyc=3, fmode=3))  # wrong dummy count
    assert ctrl.window.cpu_map is CpuMap.MMIO
    assert host.bus.read(0x90000100, 4, Access.CPU) != 0xEFBEADDE


def test_dual_flash_interleaves_even_and_odd_bytes() -> None:
    host = Host()
    ctrl = attach_quadspi(host, ["MT25TL01G", "MT25TL01G"])
    hal = Hal(host)
    hal.w(DCR, 26 << 16)
    hal.w(CR, 1 | 1 << 6 | 3 << 8)  # EN, DFM
    hal.command(ccr(0x06))
    hal.autopoll(0x05, 0x0202, 0x0202, nbytes=2)
    hal.command(ccr(0x02, admode=1, dmode=1), addr=0x200, nbytes=4)
    hal.transmit(b"ABCD")
    hal.autopoll(0x05, 0x0000, 0x0101, nbytes=2)
    a, b = ctrl.chips
    assert a.data[0x100:0x102] == b"AC" and b.data[0x100:0x102] == b"BD"
    hal.w(CCR, ccr(0x0B, admode=1, dmode=1, dcyc=8, fmode=3))
    assert host.bus.read_block(0x90000200, 4, Access.CPU) == b"ABCD"
    assert ctrl.window.cpu_map is CpuMap.MMIO


def test_fsel_selects_bank_two() -> None:
    host = Host()
    ctrl = attach_quadspi(host, ["W25Q64", "MX25R6435F"])
    hal = Hal(host)
    hal.w(CR, 1 | 1 << 7)
    hal.w(DLR, 2)
    assert hal.receive(ccr(0x9F, dmode=1), 3).hex() == "c22817"
    assert ctrl.chips[1].spec.name == "MX25R6435F"


def test_reset_returns_registers_and_releases_chip(single: tuple[Host, Quadspi, Hal]) -> None:
    _, ctrl, hal = single
    hal.w(DLR, 999)
    hal.w(CCR, ccr(0x03, admode=1, dmode=1, fmode=1))
    hal.w(AR, 0)
    assert ctrl.chips[0].selected
    ctrl.reset()
    assert not ctrl.chips[0].selected
    assert hal.r(CR) == 0 and hal.r(CCR) == 0 and hal.r(SR) & SR_BUSY == 0
