"""Register-level behaviour that real third-party loaders depend on (W25Q QPI, DLR all-ones)."""

from __future__ import annotations

from stm32_hil.sim.memories.nor.chip import NorFlash
from stm32_hil.sim.periph.quadspi import attach_quadspi

from .test_quadspi import AR, CCR, CR, DCR, DLR, DR, FCR, SR, SR_BUSY, SR_TCF, Hal, Host, ccr

QPI = dict(imode=3, admode=3, dmode=3)


def _read(hal: Hal, dcyc: int, n: int, addr: int = 0x100) -> bytes:
    hal.w(DLR, n - 1)
    return hal.receive(ccr(0x0B, dcyc=dcyc, **QPI), n, addr=addr)


def _w25q_qpi(host: Host) -> tuple[Hal, NorFlash]:
    ctrl = attach_quadspi(host, ["W25Q128"])
    chip = ctrl.chips[0]
    chip.data[0x100:0x108] = bytes(range(1, 9))
    chip.regs["SR2"] |= 0x02  # QE
    chip.qpi = True
    hal = Hal(host)
    hal.w(DCR, 23 << 16)
    hal.w(CR, 1 | (3 << 24))
    return hal, chip


def test_w25q_set_read_parameters_sets_qpi_fast_read_dummy_cycles() -> None:
    hal, chip = _w25q_qpi(Host())
    # Power-up P[5:4] = 00: 2 dummy clocks; 8 clocks read the stream 3 bytes late.
    assert _read(hal, 2, 4) == bytes([1, 2, 3, 4])
    assert _read(hal, 8, 4) == bytes([4, 5, 6, 7])
    # C0h with P[5:4] = 11 (0x30), data on four lines, no WREN: 8 dummy clocks from now on.
    hal.w(DLR, 0)
    hal.w(CCR, ccr(0xC0, imode=3, dmode=3))
    hal.transmit(b"\x30")
    assert chip.regs["RP"] == 0x30
    assert _read(hal, 8, 4) == bytes([1, 2, 3, 4])
    # Enable reset + reset (QPI) bring the parameters back to 2 clocks.
    for op in (0x66, 0x99):
        hal.w(CCR, ccr(op, imode=3))
    assert chip.regs["RP"] == 0
    chip.qpi = True
    assert _read(hal, 2, 2) == bytes([1, 2])


def test_dlr_all_ones_read_runs_to_fsize_end_and_stays_busy_while_fifo_full() -> None:
    host = Host()
    hal, chip = _w25q_qpi(host)
    hal.w(DCR, 7 << 16)  # FSIZE = 7: a 256-byte memory
    hal.w(DLR, 0xFFFFFFFF)
    hal.w(CCR, ccr(0x0B, dcyc=2, fmode=1, **QPI))
    hal.w(AR, 0xC0)  # AR: 64 bytes before the end of the memory
    sr = hal.r(SR)
    assert sr & SR_BUSY and not sr & SR_TCF  # FIFO full, clock stopped, no end yet
    assert (sr >> 8) & 0x3F == 32
    got = bytes(hal.r(DR, 1) for _ in range(64))
    assert got == bytes(chip.data[0xC0:0x100])
    sr = hal.r(SR)
    assert sr & SR_TCF and not sr & SR_BUSY  # end of memory reached: transfer complete
    hal.w(FCR, SR_TCF)
    assert not hal.r(SR) & SR_TCF


def test_busy_controller_ignores_ccr_and_dlr_writes() -> None:
    hal, _ = _w25q_qpi(Host())
    hal.w(DLR, 0xFFFFFFFF)
    hal.w(CCR, ccr(0x0B, dcyc=2, fmode=1, **QPI))
    hal.w(AR, 0x100)
    assert hal.r(SR) & SR_BUSY
    hal.w(DLR, 3)
    hal.w(CCR, ccr(0x05, imode=3, dmode=3, fmode=1))
    assert hal.r(DLR) == 0xFFFFFFFF
    assert hal.r(CCR) & 0xFF == 0x0B
