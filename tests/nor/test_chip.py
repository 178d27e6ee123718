"""NOR chips driven phase by phase, as a controller would."""

from __future__ import annotations

import pytest

from stm32_hil.sim.memories.nor import CHIPS, NorFlash


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def cmd(
    chip: NorFlash,
    op: int,
    *,
    lines: int = 1,
    addr: int | None = None,
    abytes: int = 3,
    alines: int = 1,
    dummy: int = 0,
    send: bytes = b"",
    recv: int = 0,
    dlines: int = 1,
) -> bytes:
    t = chip.begin()
    t.instruction(op, lines)
    if addr is not None:
        t.address_phase(addr, abytes, alines)
    if dummy:
        t.dummy(dummy)
    if send:
        t.send(send, dlines)
    out = t.receive(recv, dlines) if recv else b""
    t.end()
    return out


@pytest.mark.parametrize(
    ("name", "jedec"),
    [
        ("W25Q32", "ef4016"),
        ("W25Q64", "ef4017"),
        ("W25Q128", "ef4018"),
        ("MT25QL512A", "20ba20"),
        ("N25Q128A", "20ba18"),
        ("MX25L51245G", "c2201a"),
        ("MX25R6435F", "c22817"),
        ("MX25LM51245G", "c2853a"),
    ],
)
def test_jedec_id(name: str, jedec: str) -> None:
    assert cmd(NorFlash(name, Clock()), 0x9F, recv=3).hex() == jedec


def test_program_needs_wel_wraps_in_page_and_only_clears_bits() -> None:
    clk = Clock()
    chip = NorFlash("W25Q128", clk)
    cmd(chip, 0x02, addr=0x1F0, send=b"\x00" * 4)
    assert chip.data[0x1F0] == 0xFF and any("WEL" in m for m in chip.log)
    cmd(chip, 0x06)
    assert cmd(chip, 0x05, recv=1)[0] & 0x02
    cmd(chip, 0x02, addr=0x1FE, send=bytes([0x11, 0x22, 0x33, 0x44]))
    assert cmd(chip, 0x05, recv=1)[0] & 0x03 == 0x03  # busy with WEL still shown
    assert chip.data[0x1FE:0x200] == bytes([0x11, 0x22])
    assert chip.data[0x100:0x102] == bytes([0x33, 0x44])  # wrapped to the page start
    cmd(chip, 0x06)  # ignored while busy
    clk.t += 0.001
    assert cmd(chip, 0x05, recv=1)[0] & 0x03 == 0  # done: WIP and WEL clear
    cmd(chip, 0x06)
    cmd(chip, 0x02, addr=0x1FE, send=bytes([0xFF, 0x0F]))
    clk.t += 0.001
    assert chip.data[0x1FE:0x200] == bytes([0x11, 0x02])  # 1 -> 0 only


def test_sector_erase_is_busy_for_datasheet_time() -> None:
    clk = Clock()
    chip = NorFlash("W25Q64", clk)
    chip.data[0x1000:0x3000] = b"\x00" * 0x2000
    cmd(chip, 0x06)
    cmd(chip, 0x20, addr=0x1234)
    assert chip.data[0x1000:0x2000] == b"\xff" * 0x1000 and chip.data[0x2000] == 0
    clk.t += 0.044
    assert cmd(chip, 0x05, recv=1)[0] & 1
    assert cmd(chip, 0x03, addr=0, recv=1) == b"\xff"  # read ignored while busy
    clk.t += 0.002
    assert cmd(chip, 0x05, recv=1)[0] & 1 == 0


def test_quad_read_needs_qe_and_dummy_count_matters() -> None:
    chip = NorFlash("W25Q128", Clock())
    chip.data[0:4] = bytes([0x12, 0x34, 0x56, 0x78])
    chip.nv_regs["SR2"] = chip.regs["SR2"] = 0  # QE cleared
    assert cmd(chip, 0x6B, addr=0, dummy=8, recv=2, dlines=4) == b"\xff\xff"
    chip.regs["SR2"] = 0x02
    assert cmd(chip, 0x6B, addr=0, dummy=8, recv=2, dlines=4) == b"\x12\x34"
    # 6 dummy cycles instead of 8: the controller samples 2 idle cycles (8 bits of 1s) first.
    assert cmd(chip, 0x6B, addr=0, dummy=6, recv=2, dlines=4) == b"\xff\x12"
    # 9 cycles: one quad cycle (a nibble) of data is lost.
    assert cmd(chip, 0x6B, addr=0, dummy=9, recv=2, dlines=4) == b"\x23\x45"


def test_qpi_mode_changes_instruction_width() -> None:
    chip = NorFlash("W25Q128", Clock())
    cmd(chip, 0x38)
    assert cmd(chip, 0x9F, recv=3) == b"\xff\xff\xff"  # single-line instruction not heard
    assert cmd(chip, 0x9F, lines=4, recv=3, dlines=4).hex() == "ef4018"
    cmd(chip, 0xFF, lines=4)
    assert cmd(chip, 0x9F, recv=3).hex() == "ef4018"


def test_micron_four_byte_mode_and_flag_status() -> None:
    clk = Clock()
    chip = NorFlash("MT25QL512A", clk)
    assert cmd(chip, 0x70, recv=1)[0] & 0x80  # ready
    cmd(chip, 0x06)
    cmd(chip, 0xB7)
    assert chip.addr4 and cmd(chip, 0x70, recv=1)[0] & 0x01
    cmd(chip, 0x06)
    cmd(chip, 0x12, addr=0x03000000, abytes=4, send=b"\xa5")
    assert cmd(chip, 0x70, recv=1)[0] & 0x80 == 0
    clk.t += 0.01
    assert cmd(chip, 0x13, addr=0x03000000, abytes=4, recv=1) == b"\xa5"
    assert cmd(chip, 0x03, addr=0x030000, abytes=3, recv=1) == b"\xff"  # 3 bytes refused


def test_macronix_qe_in_status_bit6_and_octal_entry() -> None:
    clk = Clock()
    chip = NorFlash("MX25LM51245G", clk)
    cmd(chip, 0x06)
    cmd(chip, 0x01, send=bytes([0x40, 0x00]))
    clk.t += 0.05
    assert chip.quad_enabled
    cmd(chip, 0x06)
    cmd(chip, 0x72, addr=0, abytes=4, send=b"\x01")  # CR2: STR OPI
    assert chip.opi
    assert cmd(chip, 0x05, recv=1) == b"\xff"  # single-line SPI no longer heard
    t = chip.begin()
    t.instruction(0x05FA, 8, nbytes=2)
    t.address_phase(0, 4, 8)
    t.dummy(4)
    assert t.receive(1, 8)[0] & 0x40
    t.end()


def test_every_chip_has_datasheet_timings() -> None:
    for spec in CHIPS.values():
        assert {"page_program", "write_sr"} <= set(spec.timing), spec.name
        for size, _op in (*spec.erase_types, *spec.erase_types_4b):
            assert spec.timing[f"erase_{size // 1024}k"] > 0, spec.name
        assert spec.timing.get("chip_erase") or spec.timing.get("die_erase"), spec.name
