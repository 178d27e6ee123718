"""SPI blocks and a NOR chip on a 4-wire bus, driven at register level as firmware drives them.

Each test configures GPIO and SPI registers through the bus (CPU accesses, as code would) on a
board declared from data, and checks what the chip did: its JEDEC ID on MISO, its cells after a
page program, its status. The same chip model answers the classic SPI (F4: no FIFO; G0: FIFO
and data packing), the FIFO SPI of the H7 (TSIZE, EOT, packets, hardware NSS) and bit-banged
GPIOs.
"""

from __future__ import annotations

import random

import pytest

from stm32_hil.inventory import BoardSpec, ExternalFlashSpec
from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.bus import Access
from stm32_hil.sim.periph.spi import ClassicSpi, FifoSpi

A = Access.CPU
JEDEC_W25Q16 = bytes([0xEF, 0x40, 0x15])
MODER, BSRR, IDR, AFRL = 0x00, 0x18, 0x10, 0x20


def _board(part: str, bus: str, pins: dict[str, str] | None = None) -> SimBoard:
    flash = ExternalFlashSpec(chip="W25Q16", bus=bus, pins=pins or {})
    return SimBoard(BoardSpec(name="spi", part=part, backend="sim", external_flash=(flash,)))


class Bus:
    """CPU-side register access to one board."""

    def __init__(self, board: SimBoard) -> None:
        self.board = board

    def w(self, addr: int, value: int, size: int = 4) -> None:
        self.board.bus.write(addr, size, value, A)

    def r(self, addr: int, size: int = 4) -> int:
        return self.board.bus.read(addr, size, A)

    def gpio(self, base: int, modes: dict[int, int], af: int = 0) -> None:
        moder, afrl = self.r(base + MODER), self.r(base + AFRL)
        for pin, mode in modes.items():
            moder = moder & ~(3 << 2 * pin) | mode << 2 * pin
            if mode == 2:
                afrl = afrl & ~(0xF << 4 * pin) | af << 4 * pin
        self.w(base + AFRL, afrl)
        self.w(base + MODER, moder)


# -- classic SPI, G0 (spi_v3: FIFO, FRXTH, data packing) -------------------------------------------
G0_GPIOA, G0_SPI1 = 0x50000000, 0x40013000
CR1, CR2, SR, DR = 0x00, 0x04, 0x08, 0x0C
MSTR, SPE, SSI, SSM, DFF = 1 << 2, 1 << 6, 1 << 8, 1 << 9, 1 << 11
RXNE, TXE, OVR = 1 << 0, 1 << 1, 1 << 6


def _g0(pins: dict[str, str] | None = None) -> Bus:
    bus = Bus(_board("STM32G071RB", "SPI1", pins))
    bus.w(G0_GPIOA + BSRR, 1 << 4)  # NCS high, then PA4 output; PA5/6/7 in AF0 (SPI1)
    bus.gpio(G0_GPIOA, {4: 1, 5: 2, 6: 2, 7: 2}, af=0)
    return bus


def _g0_cmd(bus: Bus, out: bytes) -> bytes:
    bus.w(G0_GPIOA + BSRR, 1 << 20)
    got = bytearray()
    for byte in out:
        assert bus.r(G0_SPI1 + SR) & TXE
        bus.w(G0_SPI1 + DR, byte, 1)
        assert bus.r(G0_SPI1 + SR) & RXNE
        got.append(bus.r(G0_SPI1 + DR, 1))
    bus.w(G0_GPIOA + BSRR, 1 << 4)
    return bytes(got)


def _g0_on(bus: Bus, cr2: int = (7 << 8) | (1 << 12)) -> None:
    bus.w(G0_SPI1 + CR2, cr2)
    bus.w(G0_SPI1 + CR1, MSTR | SSM | SSI | SPE)


def test_models_by_version() -> None:
    g0, f4, h7 = (
        SimBoard.for_part(p).device("SPI1") for p in ("STM32G071RB", "STM32F411CE", "STM32H743ZI")
    )
    assert isinstance(g0, ClassicSpi) and g0.fifo
    assert isinstance(f4, ClassicSpi) and not f4.fifo
    assert isinstance(h7, FifoSpi)


def test_g0_software_nss_jedec_and_random_page_round_trip() -> None:
    bus = _g0()
    _g0_on(bus)
    assert _g0_cmd(bus, b"\x9f\xff\xff\xff")[1:] == JEDEC_W25Q16
    data = random.Random(0x5B1).randbytes(256)
    _g0_cmd(bus, b"\x06")
    assert _g0_cmd(bus, b"\x05\xff")[1] & 0x02  # WEL
    _g0_cmd(bus, b"\x02\x00\x12\x00" + data)
    status = _g0_cmd(bus, b"\x05\xff")[1]  # busy seen: time skips to the chip's ready instant
    assert status & 0x01
    assert not _g0_cmd(bus, b"\x05\xff")[1] & 0x01
    chip = bus.board.external.spi.chip  # type: ignore[union-attr]
    assert bytes(chip.data[0x1200:0x1300]) == data
    assert _g0_cmd(bus, b"\x03\x00\x12\x00" + b"\xff" * 256)[4:] == data
    assert _g0_cmd(bus, b"\x0b\x00\x12\x00\xff" + b"\xff" * 16)[5:] == data[:16]  # dummy byte


def test_g0_chip_listens_only_while_ncs_low() -> None:
    bus = _g0()
    _g0_on(bus)
    bus.w(G0_SPI1 + DR, 0x9F, 1)  # NCS high: the chip does not drive MISO
    assert bus.r(G0_SPI1 + DR, 1) == 0xFF
    bus.gpio(G0_GPIOA, {4: 0})  # NCS as an input: nothing drives it low
    assert _g0_cmd(bus, b"\x9f\xff\xff\xff") == b"\xff" * 4


def test_g0_fifo_threshold_and_data_packing() -> None:
    bus = _g0()
    _g0_on(bus, cr2=7 << 8)  # FRXTH = 0: RXNE at 16 bits
    bus.w(G0_GPIOA + BSRR, 1 << 20)
    bus.w(G0_SPI1 + DR, 0x9F, 1)
    assert not bus.r(G0_SPI1 + SR) & RXNE  # one byte in the FIFO: below the threshold
    assert (bus.r(G0_SPI1 + SR) >> 9) & 3 == 1  # FRLVL: a quarter
    bus.w(G0_SPI1 + DR, 0xFFFF, 2)  # 16-bit access, 8-bit frames: two frames
    assert bus.r(G0_SPI1 + SR) & RXNE
    assert (bus.r(G0_SPI1 + SR) >> 9) & 3 == 3  # FRLVL: three bytes, full
    # A 16-bit read takes two frames, the older in the low byte: MISO idle during 0x9F, then
    # the manufacturer byte; the device byte follows.
    assert bus.r(G0_SPI1 + DR, 2) == JEDEC_W25Q16[0] << 8 | 0xFF
    assert bus.r(G0_SPI1 + DR, 1) == JEDEC_W25Q16[1]


def test_g0_rxne_interrupt_reaches_the_nvic() -> None:
    bus = _g0()
    board = bus.board
    irq = next(
        board.part.chip.interrupts[name]  # type: ignore[union-attr]
        for sig, name in board.part.chip.block("SPI1").interrupts  # type: ignore[union-attr]
    )
    ispr = 0xE000E200 + 4 * (irq // 32)
    _g0_on(bus, cr2=(7 << 8) | (1 << 12) | (1 << 6))  # RXNEIE
    assert not board.read(ispr, 4)[irq % 32 // 8] >> (irq % 8) & 1
    bus.w(G0_SPI1 + DR, 0x05, 1)
    assert board.read(ispr, 4)[irq % 32 // 8] >> (irq % 8) & 1


# -- classic SPI, F4 (spi_v2: one buffer, DFF, hardware NSS) ---------------------------------------
F4_GPIOA, F4_SPI1 = 0x40020000, 0x40013000
SSOE = 1 << 2


def test_f4_hardware_nss_16_bit_frames_and_overrun() -> None:
    bus = Bus(_board("STM32F411CE", "SPI1"))
    bus.gpio(F4_GPIOA, {4: 2, 5: 2, 6: 2, 7: 2}, af=5)  # PA4 = NSS (hardware) in AF5
    bus.w(F4_SPI1 + CR2, SSOE)
    bus.w(F4_SPI1 + CR1, MSTR | DFF)
    bus.w(F4_SPI1 + CR1, MSTR | DFF | SPE)  # NSS low while SPE=1
    bus.w(F4_SPI1 + DR, 0x9FFF, 2)
    assert bus.r(F4_SPI1 + DR, 2) == 0xFFEF  # MSB first: 0x9F out, then the ID's first byte
    bus.w(F4_SPI1 + DR, 0xFFFF, 2)
    bus.w(F4_SPI1 + DR, 0xFFFF, 2)  # second frame before reading the first: overrun
    assert bus.r(F4_SPI1 + SR) & OVR
    assert bus.r(F4_SPI1 + DR, 2) == 0x4015  # the buffer keeps the first frame
    bus.r(F4_SPI1 + SR)  # OVR clears by a DR read then an SR read
    assert not bus.r(F4_SPI1 + SR) & OVR
    bus.w(F4_SPI1 + CR1, MSTR | DFF)  # SPE=0: NSS rises, the command ends
    assert bus.board.external.spi.cmd is None  # type: ignore[union-attr]


# -- FIFO SPI, H7 (spi_v4: TSIZE, EOT, TXP/RXP, CSTART) --------------------------------------------
H7_GPIOA, H7_SPI1 = 0x58020000, 0x40013000
H_CR1, H_CR2, CFG1, CFG2, IFCR, TXDR, RXDR, H_SR = 0x00, 0x04, 0x08, 0x0C, 0x18, 0x20, 0x30, 0x14
H_SPE, CSTART = 1 << 0, 1 << 9
RXP, TXP, EOT, TXTF = 1 << 0, 1 << 1, 1 << 3, 1 << 4
MASTER, H_SSOE = 1 << 22, 1 << 29


def test_h7_tsize_eot_packets_and_hardware_nss() -> None:
    bus = Bus(_board("STM32H743ZI", "SPI1"))
    bus.gpio(H7_GPIOA, {4: 2, 5: 2, 6: 2, 7: 2}, af=5)
    bus.w(H7_SPI1 + CFG1, 7)  # 8-bit frames, packets of one frame
    bus.w(H7_SPI1 + CFG2, MASTER | H_SSOE)
    bus.w(H7_SPI1 + H_CR2, 4)  # TSIZE = 4 frames
    bus.w(H7_SPI1 + H_CR1, H_SPE)
    assert bus.r(H7_SPI1 + H_SR) & TXP
    for byte in b"\x9f\xff\xff\xff":
        bus.w(H7_SPI1 + TXDR, byte, 1)
    sr = bus.r(H7_SPI1 + H_SR)
    assert sr & TXTF and not sr & EOT  # all frames given, none clocked before CSTART
    bus.w(H7_SPI1 + H_CR1, H_SPE | CSTART)
    sr = bus.r(H7_SPI1 + H_SR)
    assert sr & EOT and sr & RXP
    assert bytes(bus.r(H7_SPI1 + RXDR, 1) for _ in range(4))[1:] == JEDEC_W25Q16
    bus.w(H7_SPI1 + IFCR, EOT | TXTF)
    assert not bus.r(H7_SPI1 + H_SR) & EOT
    assert bus.board.external.spi.cmd is not None  # type: ignore[union-attr]
    bus.w(H7_SPI1 + H_CR1, 0)  # SPE=0 releases SS
    assert bus.board.external.spi.cmd is None  # type: ignore[union-attr]


# -- bit-banged ------------------------------------------------------------------------------------
class BitBang:
    """Firmware toggling G0B0 GPIOA pins: SCK PA0, NCS PA5, MOSI PA4, MISO PA3 (mode 0)."""

    SCK, NCS, MOSI, MISO = 0, 5, 4, 3

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        bus.w(G0_GPIOA + BSRR, 1 << self.NCS)
        bus.gpio(G0_GPIOA, {self.SCK: 1, self.NCS: 1, self.MOSI: 1, self.MISO: 0})

    def set(self, pin: int, level: bool) -> None:
        self.bus.w(G0_GPIOA + BSRR, 1 << (pin if level else pin + 16))

    def byte(self, out: int) -> int:
        got = 0
        for bit in range(7, -1, -1):
            self.set(self.MOSI, bool(out >> bit & 1))
            self.set(self.SCK, True)
            got = got << 1 | (self.bus.r(G0_GPIOA + IDR) >> self.MISO & 1)
            self.set(self.SCK, False)
        return got

    def cmd(self, out: bytes) -> bytes:
        self.set(self.NCS, False)
        got = bytes(self.byte(b) for b in out)
        self.set(self.NCS, True)
        return got


BITBANG_PINS = {"SCK": "PA0", "NCS": "PA5", "MOSI": "PA4", "MISO": "PA3"}


def test_bitbanged_chip_on_gpio_pins_round_trip() -> None:
    bus = Bus(_board("STM32G0B0RE", "GPIO", BITBANG_PINS))
    bb = BitBang(bus)
    assert bb.cmd(b"\x9f\xff\xff\xff")[1:] == JEDEC_W25Q16
    data = random.Random(0xB17).randbytes(64)
    bb.cmd(b"\x06")
    bb.cmd(b"\x02\x00\x01\x00" + data)
    assert bb.cmd(b"\x05\xff")[1] & 0x01  # busy, then ready (time skips)
    assert bb.cmd(b"\x03\x00\x01\x00" + b"\xff" * 64)[4:] == data
    report = bus.board.wiring_report()
    assert report is not None and report.used == BITBANG_PINS and not report.problems


def test_bitbanged_board_wired_on_other_pins_names_the_line() -> None:
    pins = dict(BITBANG_PINS, SCK="PB0")
    bus = Bus(_board("STM32G0B0RE", "GPIO", pins))
    bb = BitBang(bus)
    got = bb.cmd(b"\x9f\xff\xff\xff")
    assert got[1:] != JEDEC_W25Q16 and len(set(got)) == 1  # no clock reaches the chip
    report = bus.board.wiring_report()
    assert report is not None
    assert any("SCK on PB0" in p and "PA0" in p for p in report.problems), report.problems


def test_gpio_bus_needs_its_pins() -> None:
    from stm32_hil.errors import ConfigError

    with pytest.raises(ConfigError, match="SCK"):
        _board("STM32G0B0RE", "GPIO", {"NCS": "PA5", "MOSI": "PA4", "MISO": "PA3"})


def test_spi_mode_1_loses_the_command() -> None:
    """NOR chips answer in modes 0 and 3; mode 3 works, mode 1 (CPHA=1, CPOL=0) does not."""
    bus = _g0()
    bus.w(G0_SPI1 + CR2, (7 << 8) | (1 << 12))
    bus.w(G0_SPI1 + CR1, MSTR | SSM | SSI | SPE | 0b11)  # mode 3
    assert _g0_cmd(bus, b"\x9f\xff\xff\xff")[1:] == JEDEC_W25Q16
    bus.w(G0_SPI1 + CR1, MSTR | SSM | SSI | SPE | 0b01)  # mode 1
    assert _g0_cmd(bus, b"\x9f\xff\xff\xff") == b"\xff" * 4
    chip = bus.board.external.spi.chip  # type: ignore[union-attr]
    assert any("SPI mode 1" in line for line in chip.log)
