"""SFDP read back from every chip of the catalogue matches the chip's own table.

The image is read the way a loader or pyOCD reads it (5Ah, 3-byte address, 8 dummy cycles,
one line) through the chip model, parsed as JESD216 says, and each field is compared with the
catalogue entry and with what the chip actually does (its command rows), not with the builder.
"""

from __future__ import annotations

import pytest

from stm32_hil.errors import ConfigError
from stm32_hil.sim.memories.nor import CHIPS, NorFlash
from stm32_hil.sim.memories.nor.commands import Kind
from stm32_hil.sim.memories.nor.sfdp import parse_bfpt


def read_sfdp(chip: NorFlash, n: int = 0x70, addr: int = 0) -> bytes:
    t = chip.begin()
    t.instruction(0x5A, 1)
    t.address_phase(addr, 3, 1)
    t.dummy(8)
    out = t.receive(n, 1)
    t.end()
    return out


@pytest.mark.parametrize("name", sorted(CHIPS))
def test_sfdp_read_back_matches_the_chip_table(name: str) -> None:
    chip = NorFlash(name, lambda: 0.0)
    spec = chip.spec
    image = read_sfdp(chip)
    assert image[:4] == b"SFDP"
    b = parse_bfpt(image)
    assert b.size == spec.size
    assert b.page_size == spec.page_size
    assert b.erase_types == sorted(spec.erase_types)[:4]
    for (size, _op), typical in zip(b.erase_types, b.erase_times, strict=True):
        datasheet = spec.timing[f"erase_{size // 1024}k"]
        assert datasheet * (1 - 1e-9) <= typical <= datasheet * 1.5 + 1e-3  # unit rounding
    four_k = [op for size, op in spec.erase_types if size == 4096]
    assert b.erase_4k_opcode == (four_k[0] if four_k else None)
    assert b.address_bytes == ("3or4" if spec.size > 16 << 20 else "3")
    # Every fast read SFDP announces is one the chip runs with those clocks.
    for mode, (op, mode_clocks, dummy) in b.fast_reads.items():
        cmd = spec.commands[op]
        assert cmd.kind is Kind.READ
        assert (cmd.addr_lines, cmd.data_lines) == tuple(int(x) for x in mode.split("-")[1:])
        assert mode_clocks == ((8 // cmd.addr_lines) if cmd.mode_byte else 0)
        assert dummy == cmd.dummy
    assert ("1-1-4" in b.fast_reads) == (0x6B in spec.commands)
    assert b.page_program_time >= spec.timing["page_program"] * (1 - 1e-9)
    reset = spec.reset
    assert b.soft_reset == (0b010000 if reset == (0x66, 0x99) else 0b001000)
    assert b.deep_power_down == spec.deep_power_down
    assert b.suspend == ((spec.suspend.suspend, spec.suspend.resume) if spec.suspend else None)
    assert b.flag_status_polling == spec.flag_status
    qe = {None: 0, ("SR1", 6): 0b010}.get(spec.qe, -1)
    if qe >= 0:
        assert b.quad_enable == qe
    else:
        assert b.quad_enable in (0b001, 0b101) and spec.qe is not None and spec.qe[1] == 1
    fb = spec.four_byte
    if spec.size > 16 << 20 and fb is not None:
        assert bool(b.enter_4b & 0b01) == (fb.enter == 0xB7 and not fb.wel)
        assert bool(b.enter_4b & 0b10) == (fb.enter == 0xB7 and fb.wel)
        assert bool(b.enter_4b & 1 << 5) == fb.opcodes
        if fb.opcodes:
            assert spec.commands[0x13].addr_bytes == 4
    else:
        assert b.enter_4b == 0


def test_sfdp_address_past_the_table_reads_ones_and_keeps_three_byte_address() -> None:
    chip = NorFlash("W25Q256", lambda: 0.0)
    chip.addr4 = True  # 5Ah keeps a 3-byte address in 4-byte mode (JESD216)
    assert read_sfdp(chip, 4) == b"SFDP"
    assert read_sfdp(chip, 4, addr=0x1000) == b"\xff" * 4


def test_parse_refuses_what_is_not_sfdp() -> None:
    with pytest.raises(ConfigError, match="signature"):
        parse_bfpt(b"\xff" * 64)
