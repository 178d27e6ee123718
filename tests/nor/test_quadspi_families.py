"""QUADSPI on every family that has it (F4, F7, G4, L4, H7), on boards declared from data.

The controller sits where each part's data puts its QUADSPI block (QUADSPI1 on G4), the
window where the family's memory map puts it, and the RCC reset line is the data's. Register
sequences are HAL_QSPI_* ones; data is seeded random with no period shorter than a transfer.
"""

from __future__ import annotations

import random

import pytest

from stm32_hil.inventory import BoardSpec, ExternalFlashSpec
from stm32_hil.sim.bus import Access
from stm32_hil.sim.periph.quadspi import Quadspi
from stm32_hil.sim.target import SimTarget

CR, DCR, SR, FCR, DLR, CCR, AR, ABR, DR, PSMKR, PSMAR, PIR, LPTR = range(0, 0x34, 4)
SR_TCF, SR_FTF, SR_SMF, SR_TOF, SR_BUSY = 2, 4, 8, 16, 32
FAMILIES = [
    ("STM32F446RE", "W25Q64"),
    ("STM32F767ZI", "W25Q128"),
    ("STM32G474RE", "W25Q128"),
    ("STM32L496AG", "MX25L6433F"),
    ("STM32H743ZI", "MT25QL512A"),
]


def ccr(
    instr: int,
    *,
    imode: int = 1,
    admode: int = 0,
    adsize: int = 2,
    abmode: int = 0,
    absize: int = 0,
    dcyc: int = 0,
    dmode: int = 0,
    fmode: int = 0,
    extra: int = 0,
) -> int:
    return (
        instr | imode << 8 | admode << 10 | adsize << 12 | abmode << 14 | absize << 16
        | dcyc << 18 | dmode << 24 | fmode << 26 | extra
    )  # fmt: skip


class Hal:
    def __init__(self, part: str, chip: str) -> None:
        flash = ExternalFlashSpec(chip=chip, bus="QUADSPI", bank=1, chips=1)
        self.target = SimTarget(
            BoardSpec(name="t", part=part, backend="sim", external_flash=(flash,))
        )
        self.board = self.target.sim
        ctrl = self.board.external.quadspi
        assert isinstance(ctrl, Quadspi)
        self.ctrl = ctrl
        self.chip = ctrl.chips[0]
        self.w(DCR, (self.chip.spec.size.bit_length() - 2) << 16)
        self.w(CR, 1 | 3 << 8)

    def w(self, off: int, value: int, size: int = 4) -> None:
        self.board.bus.write(self.ctrl.base + off, size, value, Access.CPU)

    def r(self, off: int, size: int = 4) -> int:
        return int(self.board.bus.read(self.ctrl.base + off, size, Access.CPU))

    def simple(self, instr: int) -> None:
        self.w(CCR, ccr(instr))
        assert self.r(SR) & SR_TCF
        self.w(FCR, SR_TCF)

    def receive(self, c: int, n: int, addr: int | None = None) -> bytes:
        self.w(DLR, n - 1)
        self.w(CCR, c | 1 << 26)
        if addr is not None:
            self.w(AR, addr)
        out = bytearray()
        while len(out) < n:
            assert self.r(SR) & (SR_FTF | SR_TCF)
            out.append(self.r(DR, 1))
        assert self.r(SR) & SR_TCF
        self.w(FCR, SR_TCF)
        return bytes(out)

    def program(self, addr: int, data: bytes) -> None:
        self.simple(0x06)
        self.w(DLR, len(data) - 1)
        self.w(CCR, ccr(0x02, admode=1, dmode=1))
        self.w(AR, addr)
        for byte in data:
            assert self.r(SR) & SR_FTF
            self.w(DR, byte, 1)
        assert self.r(SR) & SR_TCF
        self.w(FCR, SR_TCF)
        self.autopoll_wip()

    def autopoll_wip(self) -> None:
        self.w(PSMAR, 0)
        self.w(PSMKR, 1)
        self.w(PIR, 0x10)
        self.w(CR, self.r(CR) | 1 << 22)
        self.w(DLR, 0)
        self.w(CCR, ccr(0x05, dmode=1, fmode=2))
        assert self.r(SR) & SR_SMF and not self.r(SR) & SR_BUSY
        self.w(FCR, SR_SMF)


@pytest.fixture(params=FAMILIES, ids=[p for p, _ in FAMILIES])
def hal(request: pytest.FixtureRequest) -> Hal:
    return Hal(*request.param)


def test_block_and_window_come_from_the_parts_data(hal: Hal) -> None:
    block = next(b for b in hal.board.part.blocks if b.kind == "quadspi")
    assert (hal.ctrl.name, hal.ctrl.base) == (block.name, block.base)
    assert hal.board.external.window_base == 0x90000000


def test_program_autopoll_read_back_and_memory_mapped(hal: Hal) -> None:
    page = hal.chip.spec.page_size
    data = random.Random(21).randbytes(page)
    assert hal.receive(ccr(0x9F, dmode=1), 3) == hal.chip.spec.jedec_id
    hal.program(0x2000, data)
    assert hal.receive(ccr(0x03, admode=1, dmode=1), page, 0x2000) == data
    hal.w(CCR, ccr(0x0B, admode=1, dmode=1, dcyc=8, fmode=3))
    window = hal.board.external.window_base
    got = bytes(hal.board.bus.read(window + 0x2000 + i, 1, Access.CPU) for i in range(page))
    assert got == data


def test_rcc_reset_line_resets_the_controller(hal: Hal) -> None:
    rcc = hal.board.device("RCC")
    line = next(
        (off, bit)
        for off, lines in rcc.reset_lines.items()  # type: ignore[attr-defined]
        for bit, name in lines
        if name == hal.ctrl.name
    )
    assert hal.r(CR) & 1
    off, bit = line
    hal.board.bus.write(rcc.base + off, 4, 1 << bit, Access.CPU)
    assert hal.r(CR) == 0 and hal.r(DCR) == 0


def test_ddr_read_needs_a_dtr_command() -> None:
    hal = Hal("STM32H743ZI", "MT25QL512A")
    data = random.Random(4).randbytes(64)
    hal.board.external.write(0x400, data)
    ddrm = 1 << 31
    fast_dtr = ccr(0x0D, admode=1, dmode=1, dcyc=6, extra=ddrm)
    assert hal.receive(fast_dtr, 64, 0x400) == data
    assert hal.receive(ccr(0x0B, admode=1, dmode=1, dcyc=8, extra=ddrm), 8, 0x400) == b"\xff" * 8
    assert "DTR" in hal.chip.log[-1]


def test_sioo_keeps_memory_mapped_reads_only_in_continuous_read_mode() -> None:
    hal = Hal("STM32F767ZI", "W25Q128")
    data = random.Random(6).randbytes(32)
    hal.board.external.write(0x100, data)
    sioo = 1 << 28
    window = hal.board.external.window_base
    quad_io = ccr(0xEB, admode=3, adsize=2, abmode=3, absize=0, dcyc=4, dmode=3, fmode=3)

    def mapped(n: int) -> bytes:
        return hal.ctrl.window.read_block(0x100, n, Access.CPU)

    hal.w(ABR, 0x20)  # mode byte M5-4 = 10: the chip stays in continuous-read mode
    hal.w(CCR, quad_io | sioo)
    assert mapped(32) == data and mapped(32) == data
    hal.w(CR, hal.r(CR) | 2)  # ABORT
    hal.w(ABR, 0xFF)  # mode byte that ends continuous read: the second access is not heard
    hal.w(CCR, quad_io | sioo)
    assert window == 0x90000000 and hal.ctrl.window.cpu_map.name == "MMIO"
    assert mapped(32) == data
    assert mapped(32) == b"\xff" * 32


def test_timeout_counter_sets_tof_after_lptr_idle_clocks() -> None:
    hal = Hal("STM32L496AG", "MX25L6433F")
    hal.w(LPTR, 1000)
    hal.w(CR, hal.r(CR) | 1 << 3)  # TCEN
    hal.w(CCR, ccr(0x03, admode=1, dmode=1, fmode=3))
    hal.ctrl.window.read_block(0, 4, Access.CPU)
    assert not hal.r(SR) & SR_TOF
    hal.board.clock.advance(999)
    assert not hal.r(SR) & SR_TOF
    hal.board.clock.advance(2)
    assert hal.r(SR) & SR_TOF
    hal.w(FCR, SR_TOF)
    assert not hal.r(SR) & SR_TOF


def test_three_byte_memory_mapped_reads_wrap_at_16_mib_on_a_32_mib_chip() -> None:
    hal = Hal("STM32G474RE", "W25Q256")
    low, high = random.Random(8).randbytes(16), random.Random(9).randbytes(16)
    hal.board.external.write(0x100, low)
    hal.board.external.write(0x1000100, high)
    hal.w(CCR, ccr(0x6B, admode=1, adsize=2, dmode=3, dcyc=8, fmode=3))  # 3-byte address
    window = hal.ctrl.window
    assert window.cpu_map.name == "MMIO"  # the cells cannot be aliased as they are
    assert window.read_block(0x1000100, 16, Access.CPU) == low  # A24 never leaves the chip
    hal.w(CR, hal.r(CR) | 2)
    hal.w(CCR, ccr(0x6C, admode=1, adsize=3, dmode=3, dcyc=8, fmode=3))  # 4-byte address
    assert window.cpu_map.name == "ROM"
    assert window.read_block(0x1000100, 16, Access.CPU) == high
