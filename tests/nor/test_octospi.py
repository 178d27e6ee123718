"""OCTOSPI driven through its registers in the order the ST HAL writes them, and real loaders.

The register sequences follow HAL_OSPI_Command/Transmit/Receive/AutoPolling/MemoryMapped
(FMODE in CR, the command triggered by the IR, AR or first DR write), on boards whose
inventory puts a NOR chip on OCTOSPI1, so the controller is the one `ExternalFlash` wires.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from stm32_hil.inventory import BoardSpec, ExternalFlashSpec
from stm32_hil.sim.bus import Access, CpuMap
from stm32_hil.sim.memories.nor.chips import chip_spec
from stm32_hil.sim.periph.octospi import (
    AR,
    CCR,
    CR,
    DCR1,
    DLR,
    DR,
    FCR,
    IR,
    PIR,
    PSMAR,
    PSMKR,
    SR,
    TCR,
    Octospi,
)
from stm32_hil.sim.target import SimTarget

SR_TEF, SR_TCF, SR_FTF, SR_SMF, SR_BUSY = 1, 2, 4, 8, 32
FMODE_WRITE, FMODE_READ, FMODE_POLL, FMODE_MMAP = range(4)
LOADERS = Path(__file__).resolve().parents[2] / ".." / "shared" / "loaders"


def ccr(
    *,
    imode: int = 1,
    admode: int = 0,
    adsize: int = 2,
    dmode: int = 0,
    abmode: int = 0,
    absize: int = 0,
    extra: int = 0,
) -> int:
    return imode | admode << 8 | adsize << 12 | abmode << 16 | absize << 20 | dmode << 24 | extra


class Hal:
    """HAL_OSPI_* register sequences against the board's OCTOSPI."""

    def __init__(self, target: SimTarget) -> None:
        self.board = target.sim
        ctrl = target.sim.external.octospi
        assert isinstance(ctrl, Octospi)
        self.ctrl = ctrl
        self.base = ctrl.base

    def w(self, off: int, value: int, size: int = 4) -> None:
        self.board.bus.write(self.base + off, size, value, Access.CPU)

    def r(self, off: int, size: int = 4) -> int:
        return int(self.board.bus.read(self.base + off, size, Access.CPU))

    def init(self, devsize: int = 23) -> None:
        """HAL_OSPI_Init: DCR1 (DEVSIZE), FTHRES = 4, then EN."""
        self.w(DCR1, devsize << 16)
        self.w(CR, 3 << 8)
        self.w(CR, self.r(CR) | 1)

    def fmode(self, mode: int) -> None:
        self.w(CR, (self.r(CR) & ~(3 << 28)) | mode << 28)

    def command(self, instr: int, ccr_value: int, *, dlr: int | None = None, dcyc: int = 0) -> None:
        """HAL_OSPI_Command: FMODE = write, DLR, TCR, CCR, IR, then AR if addressed."""
        self.fmode(FMODE_WRITE)
        if dlr is not None:
            self.w(DLR, dlr)
        self.w(TCR, dcyc)
        self.w(CCR, ccr_value)
        self.w(IR, instr)

    def receive(self, n: int, addressed: bool, address: int = 0) -> bytes:
        """HAL_OSPI_Receive: FMODE = read, re-write AR (or IR) to trigger, bytes from DR."""
        self.fmode(FMODE_READ)
        if addressed:
            self.w(AR, address)
        else:
            self.w(IR, self.r(IR))
        out = bytearray()
        while len(out) < n:
            assert self.r(SR) & (SR_FTF | SR_TCF)
            out.append(self.r(DR, 1))
        assert self.r(SR) & SR_TCF
        self.w(FCR, SR_TCF)
        return bytes(out)

    def transmit(self, data: bytes) -> None:
        self.fmode(FMODE_WRITE)
        for byte in data:
            assert self.r(SR) & SR_FTF
            self.w(DR, byte, 1)
        assert self.r(SR) & SR_TCF
        self.w(FCR, SR_TCF)

    def simple(self, instr: int) -> None:
        self.command(instr, ccr())
        assert self.r(SR) & SR_TCF
        self.w(FCR, SR_TCF)

    def autopoll_wip(self) -> None:
        """HAL_OSPI_AutoPolling on RDSR (05h): WIP = 0, automatic stop."""
        self.command(0x05, ccr(dmode=1), dlr=0)
        self.w(PSMAR, 0)
        self.w(PSMKR, 0x01)
        self.w(PIR, 0x10)
        self.w(CR, (self.r(CR) & ~(3 << 28)) | FMODE_POLL << 28 | 1 << 22)
        self.w(IR, 0x05)
        sr = self.r(SR)
        assert sr & SR_SMF and not sr & SR_BUSY
        self.w(FCR, SR_SMF)


def board(part: str, chip: str) -> SimTarget:
    flash = ExternalFlashSpec(chip=chip, bus="OCTOSPI1", bank=1, chips=1)
    return SimTarget(BoardSpec(name="t", part=part, backend="sim", external_flash=(flash,)))


FAMILIES = [("STM32L552ZE", "MT25QL512A"), ("STM32H7B3LI", "W25Q128")]


@pytest.fixture(params=FAMILIES, ids=[p for p, _ in FAMILIES])
def hal(request: pytest.FixtureRequest) -> Hal:
    part, chip = request.param
    h = Hal(board(part, chip))
    h.init(devsize=chip_spec(chip).size.bit_length() - 2)
    return h


def test_controller_sits_on_the_parts_octospi1_block(hal: Hal) -> None:
    block = next(b for b in hal.board.part.blocks if b.name == "OCTOSPI1")
    assert hal.ctrl.base == block.base
    assert hal.board.external.window_base == 0x90000000


def test_read_jedec_id(hal: Hal) -> None:
    chip = hal.ctrl.chips[0]
    hal.command(0x9F, ccr(dmode=1), dlr=2)
    assert not hal.r(SR) & SR_BUSY  # FMODE = write and data: nothing started on IR
    assert hal.receive(3, addressed=False) == chip.spec.jedec_id
    assert not hal.r(SR) & SR_BUSY


def test_page_program_autopoll_and_read_back(hal: Hal) -> None:
    page = hal.ctrl.chips[0].spec.page_size
    data = random.Random(7).randbytes(page)  # no period shorter than the transfer
    start = hal.board.clock.now
    hal.simple(0x06)  # WREN
    hal.command(0x02, ccr(admode=1, dmode=1), dlr=page - 1)
    hal.w(AR, 0x1000)
    assert not hal.r(SR) & SR_BUSY  # a write with data starts on the first DR write
    hal.transmit(data)
    hal.autopoll_wip()
    assert hal.board.clock.now > start  # the status polls skipped to the chip's ready instant
    assert hal.board.external.read(0x1000, page) == data
    hal.command(0x03, ccr(admode=1, dmode=1), dlr=page - 1)
    assert hal.receive(page, addressed=True, address=0x1000) == data


def test_autopoll_sees_wip_until_erase_ends(hal: Hal) -> None:
    hal.board.external.write(0x2000, b"\x00" * 16)
    hal.simple(0x06)
    hal.command(0x20, ccr(admode=1))  # 4 KiB sector erase: starts on the AR write
    hal.w(AR, 0x2000)
    assert hal.r(SR) & SR_TCF
    hal.w(FCR, SR_TCF)
    assert hal.ctrl.chips[0].busy
    hal.autopoll_wip()
    assert not hal.ctrl.chips[0].busy
    assert hal.board.external.read(0x2000, 16) == b"\xff" * 16


def test_memory_mapped_read_matches_the_cells(hal: Hal) -> None:
    data = random.Random(11).randbytes(4096)
    hal.board.external.write(0x3000, data)
    big = hal.ctrl.chips[0].spec.size > 16 << 20
    hal.w(TCR, 8)
    hal.w(CCR, ccr(admode=1, adsize=3 if big else 2, dmode=1))
    hal.w(IR, 0x0C if big else 0x0B)  # fast read (4-byte address above 16 MiB), 8 dummy
    hal.fmode(FMODE_MMAP)
    window = hal.ctrl.window
    assert window.cpu_map is CpuMap.ROM  # a linear read: the core can alias the cells
    assert hal.board.bus.read(0x90003000, 4, Access.CPU) == int.from_bytes(data[:4], "little")
    assert window.read_block(0x3000, 4096, Access.CPU) == data
    hal.w(CR, hal.r(CR) | 2)  # ABORT leaves memory-mapped mode usable only after reconfig
    assert hal.r(SR) & SR_TCF


def test_address_beyond_devsize_sets_tef(hal: Hal) -> None:
    hal.w(CR, hal.r(CR) & ~1)
    hal.w(DCR1, 11 << 16)  # 4 KiB device
    hal.w(CR, hal.r(CR) | 1)
    hal.command(0x20, ccr(admode=1))
    hal.w(AR, 0x10000)
    assert hal.r(SR) & SR_TEF and not hal.r(SR) & SR_BUSY


def test_dtr_instruction_to_a_str_chip_is_not_heard(hal: Hal) -> None:
    chip = hal.ctrl.chips[0]
    hal.command(0x06, ccr(extra=1 << 3))  # WREN with IDTR: the chip samples on one edge only
    assert hal.r(SR) & SR_TCF and not hal.r(SR) & SR_TEF
    assert not chip.wel and "DTR" in chip.log[-1]
    hal.w(FCR, SR_TCF)
    hal.simple(0x06)
    assert chip.wel


def test_hyperbus_is_refused_and_recorded(hal: Hal) -> None:
    hal.w(CR, hal.r(CR) & ~1)
    hal.w(DCR1, hal.r(DCR1) | 0b100 << 24)  # MTYP = HyperBus
    hal.w(CR, hal.r(CR) | 1)
    hal.command(0x06, ccr())
    assert hal.r(SR) & SR_TEF
    assert hal.ctrl.unsupported and "HyperBus" in hal.ctrl.unsupported[0]
    hal.w(FCR, SR_TEF)
    assert not hal.r(SR) & SR_TEF


def test_octospi2_window_on_h7b3() -> None:
    flash = ExternalFlashSpec(chip="W25Q128", bus="OCTOSPI2", bank=1, chips=1)
    t = SimTarget(BoardSpec(name="t", part="STM32H7B3LI", backend="sim", external_flash=(flash,)))
    assert t.sim.external.window_base == 0x70000000
    assert t.sim.external.octospi is not None and t.sim.external.octospi.name == "OCTOSPI2"


QUAD_LOADERS = [
    ("STM32L552ZE", "MT25QL256", "CLIVEONE-MT25QL256_STM32L552-PA3-PA2-PB1-PB0-PA7-PA6.stldr"),
    ("STM32H563ZI", "W25Q128", "CLIVEONE-W25Q128_STM32H563-PB2-PG6-PD11-PD12-PE2-PD13.stldr"),
    ("STM32U545RE", "W25Q128", "CLIVEONE-W25Q128_STM32U545-PB10-PA4-PB1-PB0-PA7-PA6.stldr"),
]


@pytest.mark.parametrize(
    ("part", "chip", "name"), QUAD_LOADERS, ids=[p for p, _, _ in QUAD_LOADERS]
)
def test_shared_quad_loader_init_erase_write_read(part: str, chip: str, name: str) -> None:
    from stm32_hil.stldr.elf import load
    from stm32_hil.stldr.runner import LoaderRunner

    path = LOADERS / name
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared loader missing: {path}")
        pytest.skip(f"shared loader not present: {path}")
    target = board(part, chip)
    runner = LoaderRunner(target, load(str(path)))
    assert runner.init().r0 == 1
    base = target.sim.external.window_base
    assert runner.sector_erase(base + 0x10000, base + 0x10000).r0 == 1
    data = random.Random(3).randbytes(1000)
    runner.write(base + 0x10010, data)
    assert target.sim.external.read(0x10010, 1000) == data
    assert runner.read(base + 0x10010, 1000) == data
