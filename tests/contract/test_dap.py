"""The simulated SW-DP and AHB-AP at register level, as a probe's wire transactions see them."""

from __future__ import annotations

from typing import Any

import pytest
from pyocd.core import exceptions
from pyocd.coresight.ap import AP_4K_WRAP, AP_TYPE_MAP

from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.debug.pyocd_probe import (
    CDBGPWRUPACK,
    CSYSPWRUPACK,
    DPIDR_VALUE,
    ROM_TABLE,
    STICKYERR,
    SimProbe,
    ap_identity,
)

SELECT, CTRL, ABORT = 0x8, 0x4, 0x0


def connected(board: SimBoard) -> SimProbe:
    probe = SimProbe(board.name)
    probe.open()
    probe.connect()
    probe.write_dp(CTRL, 0x50000000)  # CSYSPWRUPREQ | CDBGPWRUPREQ
    return probe


def ap_read(probe: SimProbe, reg: int) -> int:
    probe.write_dp(SELECT, reg & 0xF0)
    return int(probe.read_ap(reg & 0xC))


def ap_write(probe: SimProbe, reg: int, value: int) -> None:
    probe.write_dp(SELECT, reg & 0xF0)
    probe.write_ap(reg & 0xC, value)


def mem_read(probe: SimProbe, address: int, size: int = 2) -> int:
    ap_write(probe, 0x00, 0x23000010 | size)
    ap_write(probe, 0x04, address)
    return ap_read(probe, 0x0C)


def test_dp_identity_and_power_up_handshake(board: SimBoard) -> None:
    probe = SimProbe(board.name)
    probe.open()
    probe.connect()
    assert probe.read_dp(0x0) == DPIDR_VALUE
    assert probe.read_dp(CTRL) & (CSYSPWRUPACK | CDBGPWRUPACK) == 0
    probe.write_dp(CTRL, 0x50000000)
    assert probe.read_dp(CTRL) & 0xF0000000 == 0xF0000000


def test_ap_registers_need_the_bank_from_select(board: SimBoard) -> None:
    probe = connected(board)
    assert ap_read(probe, 0xFC) == ap_identity(board.part.core)[0]
    assert ap_read(probe, 0xF8) == ROM_TABLE | 3
    probe.write_dp(SELECT, 0x01000000 | 0xF0)  # AP1 does not exist: IDR reads zero
    assert probe.read_ap(0xC) == 0


def test_idcode_through_the_mem_ap(board: SimBoard) -> None:
    assert mem_read(probe := connected(board), board.part.idcode_addr) & 0xFFF == board.part.pid
    assert probe.is_open


def test_byte_lanes_and_auto_increment(board: SimBoard) -> None:
    probe = connected(board)
    ram = board.part.ram[-1].base if board.part.family == "g0" else 0x24000000
    board.bus.write_block(ram, bytes(range(16)))
    ap_write(probe, 0x00, 0x23000010)  # 8-bit, single increment
    ap_write(probe, 0x04, ram + 1)
    assert ap_read(probe, 0x0C) == 0x01 << 8  # byte 1 arrives in lane 1
    probe.write_dp(SELECT, 0)
    assert probe.read_ap(0xC) == 0x02 << 16  # TAR advanced by one byte
    assert ap_read(probe, 0x04) == ram + 3
    ap_write(probe, 0x00, 0x23000011)  # 16-bit writes land in their lane
    ap_write(probe, 0x04, ram + 2)
    ap_write(probe, 0x0C, 0xBEEF << 16)
    assert board.bus.read(ram, 4) == 0xBEEF0100


def test_tar_wraps_at_the_page_its_idr_promises(board: SimBoard) -> None:
    probe = connected(board)
    idr, wrap = ap_identity(board.part.core)
    assert ap_read(probe, 0xFC) == idr
    # pyOCD's own table decides the auto-increment page from the IDR: they must agree
    key = (idr >> 17 & 0x7FF, idr >> 13 & 0xF, idr >> 4 & 0xF, idr & 0xF)
    assert bool(AP_TYPE_MAP[key][2] & AP_4K_WRAP) == (wrap == 0x1000)
    base = 0x24000000 if board.part.family == "h7" else 0x20000000
    ap_write(probe, 0x00, 0x23000012)
    ap_write(probe, 0x04, base + wrap - 4)
    probe.write_dp(SELECT, 0)
    probe.read_ap(0xC)
    assert ap_read(probe, 0x04) == base  # TAR[log2(wrap)-1:0] wrapped, upper bits kept
    ap_write(probe, 0x04, base + wrap - 8)
    probe.write_dp(SELECT, 0)
    probe.read_ap(0xC)
    assert ap_read(probe, 0x04) == base + wrap - 4  # no wrap inside the page


def test_bus_fault_sets_stickyerr_until_abort(board: SimBoard) -> None:
    probe = connected(board)
    with pytest.raises(exceptions.TransferFaultError) as info:
        mem_read(probe, 0x60000000)
    assert info.value.fault_address == 0x60000000
    assert probe.read_dp(CTRL) & STICKYERR
    with pytest.raises(exceptions.TransferFaultError):
        ap_read(probe, 0xFC)  # every AP access faults while STICKYERR is set
    probe.write_dp(ABORT, 0x1E)
    assert not probe.read_dp(CTRL) & STICKYERR
    assert ap_read(probe, 0xFC) == ap_identity(board.part.core)[0]


def test_memory_access_needs_system_power(board: SimBoard) -> None:
    probe = SimProbe(board.name)
    probe.open()
    probe.connect()
    with pytest.raises(exceptions.TransferFaultError, match="power-up"):
        mem_read(probe, board.part.idcode_addr)


def test_rom_table_lists_only_mapped_components(board: SimBoard) -> None:
    probe = connected(board)
    cidr1 = mem_read(probe, ROM_TABLE + 0xFF4)
    assert (cidr1 >> 4) & 0xF == 1  # class 1: ROM table
    entries = []
    for i in range(8):
        e = mem_read(probe, ROM_TABLE + 4 * i)
        if e == 0:
            break
        entries.append((ROM_TABLE + (e & 0xFFFFF000)) & 0xFFFFFFFF)
    assert all(board.bus.find(a) is not None for a in entries)
    for a in entries:
        assert mem_read(probe, a + 0xFFC) == 0xB1  # CIDR3 of each listed component


def test_probe_reset_pulses_nrst(board: SimBoard) -> None:
    probe = connected(board)
    before = len(board.reset_log)
    probe.assert_reset(True)
    assert probe.is_reset_asserted() and not board.pins["NRST"]
    probe.assert_reset(False)
    assert not probe.is_reset_asserted()
    assert [k for _, k, _ in board.reset_log[before:]] == ["pin"]


def test_rdp_level2_refuses_connect(board: SimBoard, set_rdp: Any) -> None:
    set_rdp(board, 0xCC)
    probe = SimProbe(board.name)
    probe.open()
    with pytest.raises(exceptions.ProbeError, match="RDP level 2"):
        probe.connect()
