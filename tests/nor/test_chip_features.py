"""Catalogue-driven chip behaviour: addressing above 16 MiB, suspend, power-down, XIP, DTR,
octal entry, and cells that cost nothing until written."""

from __future__ import annotations

import random

import pytest

from stm32_hil.sim.memories.nor import CHIPS, NorFlash

from .test_chip import Clock, cmd


def test_extended_address_register_picks_the_upper_16_mib() -> None:
    clk = Clock()
    chip = NorFlash("W25Q256", clk)
    data = random.Random(5).randbytes(16)
    chip.data[0x01000100:0x01000110] = data
    assert cmd(chip, 0x03, addr=0x000100, recv=16) != data  # EAR = 0: lower half
    cmd(chip, 0x06)
    cmd(chip, 0xC5, send=b"\x01")  # write EAR
    assert cmd(chip, 0xC8, recv=1) == b"\x01"
    assert cmd(chip, 0x03, addr=0x000100, recv=16) == data
    cmd(chip, 0xB7)  # 4-byte mode: the address carries A24 itself
    assert cmd(chip, 0x15, recv=1)[0] & 1  # SR3.ADS shows the mode
    assert cmd(chip, 0x03, addr=0x01000100, abytes=4, recv=16) == data


def test_spansion_bank_register_extadd_selects_four_byte_mode() -> None:
    chip = NorFlash("S25FL256S", Clock())
    assert not chip.addr4
    cmd(chip, 0x17, send=b"\x80")  # BRWR: EXTADD, no WREN needed
    assert chip.addr4
    cmd(chip, 0x06)
    cmd(chip, 0x02, addr=0x01FFFF00, abytes=4, send=b"\x5a")
    assert chip.data[0x01FFFF00] == 0x5A


def test_micron_nvcr_selects_four_byte_mode_at_power_up() -> None:
    chip = NorFlash("MT25QL512A", Clock())
    assert not chip.addr4
    chip.nv_regs["NVCR_L"] = 0xFE  # bit 0 = 0: 4-byte addressing out of power-up
    chip.power_on()
    assert chip.addr4 and cmd(chip, 0x70, recv=1)[0] & 1


def test_erase_suspend_lets_reads_through_and_resume_finishes_the_erase() -> None:
    clk = Clock()
    chip = NorFlash("W25Q128", clk)
    chip.data[0:0x2000] = b"\x00" * 0x2000
    cmd(chip, 0x06)
    cmd(chip, 0x20, addr=0x1000)  # 4 KiB erase, 45 ms
    clk.t = 0.010
    assert cmd(chip, 0x03, addr=0, recv=1) == b"\xff"  # busy: read ignored
    cmd(chip, 0x75)  # suspend
    assert cmd(chip, 0x35, recv=1)[0] & 0x80  # SR2.SUS
    assert cmd(chip, 0x05, recv=1)[0] & 1 == 0
    assert cmd(chip, 0x03, addr=0, recv=1) == b"\x00"  # array readable while suspended
    clk.t = 1.0
    cmd(chip, 0x7A)  # resume: 35 ms left
    assert cmd(chip, 0x05, recv=1)[0] & 1
    clk.t = 1.034
    assert cmd(chip, 0x05, recv=1)[0] & 1
    clk.t = 1.036
    assert cmd(chip, 0x05, recv=1)[0] & 1 == 0 and not cmd(chip, 0x35, recv=1)[0] & 0x80


def test_deep_power_down_hears_only_release() -> None:
    chip = NorFlash("MX25L6433F", Clock())
    cmd(chip, 0xB9)
    assert cmd(chip, 0x9F, recv=3) == b"\xff\xff\xff"
    cmd(chip, 0xAB)
    assert cmd(chip, 0x9F, recv=3).hex() == "c22017"


def test_continuous_read_lets_the_next_read_omit_the_instruction() -> None:
    chip = NorFlash("W25Q128", Clock())
    chip.data[0x40:0x48] = bytes(range(8))

    def quad_io(mode: int, with_instruction: bool) -> bytes:
        t = chip.begin()
        if with_instruction:
            t.instruction(0xEB, 1)
        t.address_phase(0x40, 3, 4)
        t.alternate(1, 4, value=mode)
        t.dummy(4)
        out = t.receive(8, 4)
        t.end()
        return out

    assert quad_io(0x20, True) == bytes(range(8))  # M5-4 = 10: stay in continuous read
    assert quad_io(0x20, False) == bytes(range(8))
    assert quad_io(0xFF, False) == bytes(range(8))  # this one ends the session
    assert quad_io(0xFF, False) == b"\xff" * 8
    assert "continuous-read" in chip.log[-1]


def test_dtr_quad_read_and_its_dummy_cycles() -> None:
    chip = NorFlash("MT25QL512A", Clock())
    data = random.Random(9).randbytes(8)
    chip.data[0x100:0x108] = data

    def read(dtr: bool, dummy: int) -> bytes:
        t = chip.begin()
        t.instruction(0xED, 1)
        t.address_phase(0x100, 3, 4, dtr)
        t.dummy(dummy)
        out = t.receive(8, 4, dtr)
        t.end()
        return out

    assert read(True, 8) == data
    # One dummy cycle short: 8 bits (two DTR edges on 4 lines) of idle bus come first.
    assert read(True, 7) == b"\xff" + data[:7]
    assert read(False, 8) == b"\xff" * 8  # SDR address to a DTR command: not understood


def test_micron_octal_dtr_entry_through_the_addressed_volatile_register() -> None:
    chip = NorFlash("MT35XL512", Clock())
    cmd(chip, 0x06)
    cmd(chip, 0x81, addr=0, send=b"\xe7")  # IOMODE: octal DTR with DQS
    assert chip.dtr
    t = chip.begin()
    t.instruction(0x9F9F, 8, nbytes=2, dtr=True)  # Micron repeats the opcode
    t.dummy(8)
    assert t.receive(3, 8, dtr=True).hex() == "2c5a1a"
    t.end()


@pytest.mark.parametrize("name", ["W25Q02", "MT25QL02G", "MX66L1G45G"])
def test_a_large_chip_costs_nothing_until_written(name: str) -> None:
    chip = NorFlash(name, Clock())
    assert cmd(chip, 0x9F, recv=3) == CHIPS[name].jedec_id
    assert cmd(chip, 0x03, addr=0x100, recv=4) == b"\xff" * 4
    cmd(chip, 0x06)
    cmd(chip, 0x20, addr=0)  # erasing erased cells allocates nothing either
    assert not chip.allocated
    chip.busy_until = 0.0
    cmd(chip, 0x06)
    cmd(chip, 0x02, addr=0x10, send=b"\x12")
    assert chip.allocated and chip.data[0x10] == 0x12


def test_issi_quad_page_program_takes_data_on_four_lines() -> None:
    chip = NorFlash("IS25LP128", Clock())
    cmd(chip, 0x06)
    cmd(chip, 0x01, send=b"\x40")  # SR.QE
    chip.busy_until = 0.0
    data = random.Random(12).randbytes(8)
    for op in (0x32, 0x38):  # PPQ: address on one line, data on four
        cmd(chip, 0x06)
        cmd(chip, op, addr=0x200 * op, send=data, dlines=4)
        chip.busy_until = 0.0
        assert chip.data[0x200 * op : 0x200 * op + 8] == data
