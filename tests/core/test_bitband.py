"""Bit-band aliases on Cortex-M3/M4 parts: the STM32F469 loader host writes RCC bits this way."""

from __future__ import annotations

from stm32_hil.sim.board import SimBoard

THUMB_STR_R1_R0 = bytes.fromhex("0160")  # str r1, [r0]
THUMB_LDR_R2_R0 = bytes.fromhex("0268")  # ldr r2, [r0]
BKPT = bytes.fromhex("00be")


def _run(board: SimBoard, code: bytes, **regs: int) -> None:
    core = board.core
    board.write(0x20000100, code + BKPT)
    for name, value in regs.items():
        core.write_reg(name, value)
    core.write_reg("pc", 0x20000100)
    core.resume()
    board.run(1000)
    assert core.halted


def test_peripheral_bit_band_sets_one_bit() -> None:
    board = SimBoard.from_inventory("stm32469i-eval")
    rcc = board.part.peripherals["RCC"]
    ahb1enr = rcc + 0x30
    before = board.bus.read(ahb1enr, 4)
    alias = 0x42000000 + (ahb1enr - 0x40000000) * 32 + 3 * 4  # bit 3: GPIODEN
    _run(board, THUMB_STR_R1_R0, r0=alias, r1=1)
    assert board.bus.read(ahb1enr, 4) == before | (1 << 3)
    _run(board, THUMB_LDR_R2_R0, r0=alias)
    assert board.core.read_reg("r2") == 1


def test_sram_bit_band_clears_one_bit() -> None:
    board = SimBoard.from_inventory("stm32469i-eval")
    board.write(0x20001000, b"\xff\xff\xff\xff")
    alias = 0x22000000 + 0x1000 * 32 + 9 * 4  # bit 9 of the word at 0x20001000
    _run(board, THUMB_STR_R1_R0, r0=alias, r1=0)
    assert board.read(0x20001000, 4) == (0xFFFFFFFF & ~(1 << 9)).to_bytes(4, "little")


def test_m0_and_m7_parts_have_no_bit_band() -> None:
    for name in ("nucleo-g071rb", "nucleo-h743zi"):
        board = SimBoard.from_inventory(name)
        assert board.bus.find(0x22000000) is None
        _run(board, THUMB_LDR_R2_R0, r0=0x22000000)
        assert board.core.last_fault is not None  # unmapped: a bus fault, not a bit read


def test_code_rewritten_by_the_debugger_runs_as_written() -> None:
    """Unicorn caches translated blocks: a debug write over executed code must drop them."""
    board = SimBoard.from_inventory("nucleo-h743zi")
    movs_r0_1, movs_r0_2 = bytes.fromhex("0120"), bytes.fromhex("0220")
    _run(board, movs_r0_1)
    assert board.core.read_reg("r0") == 1
    _run(board, movs_r0_2)  # same address, new instruction
    assert board.core.read_reg("r0") == 2
