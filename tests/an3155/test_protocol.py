"""The host client against the simulated ROM: every command, the NACK rules, recovery."""

from __future__ import annotations

import random

import pytest
import serial

from stm32_hil.an3155 import (
    Bootloader,
    NackError,
    NoResponseError,
    UnsupportedCommandError,
    read_image,
    stm32_crc32,
    verify_image,
    write_image,
)
from stm32_hil.an3155.framing import ACK, NACK
from stm32_hil.parts.catalogue import BootloaderInfo
from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.links.line import LineFaults
from stm32_hil.sim.links.serial_link import open_sim_port


def rom_info(board: SimBoard) -> BootloaderInfo:
    """The part's bootloader facts (every part these tests use has a system bootloader)."""
    info = board.part.bootloader
    assert info is not None
    return info


pytestmark = pytest.mark.sim_only


def test_identity_comes_from_the_catalogue(board: SimBoard, bl: Bootloader) -> None:
    info = bl.info
    assert info is not None
    assert info.id.pid == board.part.pid
    assert info.get.version == rom_info(board).version
    assert info.get.commands == rom_info(board).commands
    assert info.version.version == rom_info(board).version


def test_full_flash_read_matches_cells(board: SimBoard, bl: Bootloader) -> None:
    size = min(board.part.flash.size, 0x20000)
    board.flash.array.data[:size] = random.Random(1).randbytes(size)
    assert read_image(bl, board.part.flash.base, size) == bytes(board.flash.array.data[:size])


def test_write_goes_through_the_flash_controller(board: SimBoard, bl: Bootloader) -> None:
    data = random.Random(2).randbytes(4096 + 100)
    t0 = board.clock.now
    seen: list[int] = []
    write_image(bl, 0x08000000, data, progress=lambda done, total: seen.append(done))
    verify_image(bl, 0x08000000, data)
    assert bytes(board.flash.array.data[: len(data)]) == data
    assert seen[-1] == len(data)
    units = -(-len(data) // board.part.flash.program_unit)
    # programming time is the controller's BSY time per unit, spent in virtual time
    assert board.clock.now - t0 >= units * board.clock.cycles(board.part.timing_us["program_unit"])
    # the last partial program unit was padded with 0xFF
    assert board.flash.array.data[len(data) : len(data) + 4] == b"\xff" * 4


def test_rewriting_programmed_flash(board: SimBoard, bl: Bootloader) -> None:
    unit = board.part.flash.program_unit
    bl.write_memory(0x08000000, b"\x00" * 32)
    if board.part.family == "g0":  # PROGERR: only an erased double word may be programmed
        with pytest.raises(NackError, match=r"Write Memory \(0x31\) at 0x08000000"):
            bl.write_memory(0x08000000, b"\x11" * unit)
    else:  # H7 programs it again and the flash word's ECC no longer matches
        bl.write_memory(0x08000000, b"\x11" * unit)
        with pytest.raises(NackError, match=r"Read Memory \(0x11\) at 0x08000000"):
            bl.read_memory(0x08000000, 16)


def test_page_erase_erases_exactly_the_listed_pages(board: SimBoard, bl: Bootloader) -> None:
    page = board.part.flash.page_size
    arr = board.flash.array
    arr.data[: 3 * page] = b"\x00" * (3 * page)
    bl.erase_pages([1])
    assert arr.is_blank(page, page)
    assert arr.data[page - 1] == 0 and arr.data[2 * page] == 0


def test_mass_and_bank_erase(board: SimBoard, bl: Bootloader) -> None:
    arr = board.flash.array
    arr.data[:] = b"\x00" * len(arr.data)
    if board.part.flash.banks > 1:
        bl.erase_bank(2)
        half = board.part.flash.bank_size
        assert arr.is_blank(half, half) and arr.data[0] == 0
    bl.mass_erase()
    assert arr.is_blank(0, len(arr.data))


def test_get_checksum_where_implemented(board: SimBoard, bl: Bootloader) -> None:
    data = random.Random(3).randbytes(1024)
    board.flash.array.data[:1024] = data
    if 0xA1 in rom_info(board).commands:
        assert bl.get_checksum(0x08000000, 1024).crc == stm32_crc32(data)
    else:
        with pytest.raises(UnsupportedCommandError):
            bl.get_checksum(0x08000000, 1024)


def test_bad_checksums_and_addresses_are_nacked(board: SimBoard) -> None:
    port = open_sim_port(board)
    port.write(b"\x7f")
    assert port.read(1) == bytes((ACK,))
    port.write(b"\x00\x00")  # wrong complement
    assert port.read(1) == bytes((NACK,))
    port.write(b"\x11\xee" + bytes.fromhex("0800000000"))  # wrong address XOR
    assert port.read(2) == bytes((ACK, NACK))
    port.write(b"\x11\xee" + bytes.fromhex("4000000040"))  # a peripheral is not memory
    assert port.read(2) == bytes((ACK, NACK))
    port.write(b"\x7f")  # sync byte once synchronised: an unknown command
    port.write(b"\x00")
    assert port.read(1) == bytes((NACK,))
    bl = Bootloader(port)
    assert bl.get().version == rom_info(board).version


def test_garbage_then_resync(board: SimBoard, bl: Bootloader) -> None:
    bl.port.write(b"\x31\xce\x08\x00")  # a Write Memory abandoned mid-address
    assert bl.port.read(1) == bytes((ACK,))
    with pytest.raises(NoResponseError):
        bl._read(1, 0.5, "probe", "nothing")
    assert bl.get_id().pid == board.part.pid  # the client resynchronised first
    bl.port.write(random.Random(132).randbytes(256))  # garbage on the line
    bl._needs_resync = True
    assert bl.read_memory(0x08000000, 256) == bytes(board.flash.array.data[:256])


def test_timeout_mid_data_frame_then_recovery(board: SimBoard, bl: Bootloader) -> None:
    bl.port.write(b"\x31\xce" + bytes.fromhex("0800000008") + b"\xff\x01\x02")
    bl.port.read(2)
    bl._needs_resync = True
    assert bl.get_version().version == rom_info(board).version
    assert board.flash.array.is_blank(0, 256)


def test_rdp1_allows_only_identification_and_unprotect(board: SimBoard, bl: Bootloader) -> None:
    board.flash.array.data[:4] = b"\x12\x34\x56\x78"
    if board.part.family == "g0":
        board.flash.array.data[:4] = b"\xff\xff\xff\xff"  # keep G0 "empty" so it reboots to ROM
        board.flash.array.data[8:12] = b"\x12\x34\x56\x78"
    bl.readout_protect()
    assert board.flash.rdp_level() == 1
    bl.reconnect()
    assert bl.get_id().pid == board.part.pid
    for call in (
        lambda: bl.read_memory(0x08000000, 16),
        lambda: bl.write_memory(0x20001000, b"\x00" * 4),
        lambda: bl.mass_erase(),
        lambda: bl.go(0x08000000),
        lambda: bl.write_unprotect(),
    ):
        with pytest.raises(NackError, match="NACK to the command"):
            call()
    assert board.flash.array.data[8:12] == b"\x12\x34\x56\x78" or board.part.family == "h7"
    bl.readout_unprotect()
    bl.reconnect()
    assert board.flash.rdp_level() == 0
    assert board.flash.array.is_blank(0, len(board.flash.array.data))


def test_write_protect_then_unprotect(board: SimBoard, bl: Bootloader) -> None:
    bl.write_protect([0])
    bl.reconnect()
    with pytest.raises(NackError, match="at 0x08000000"):
        bl.write_memory(0x08000000, b"\x00" * 32)
    bl.write_unprotect()
    bl.reconnect()
    bl.write_memory(0x08000000, b"\x00" * 32)
    assert board.flash.array.data[:32] == b"\x00" * 32


def test_go_hands_over_and_records_the_jump(board: SimBoard, bl: Bootloader) -> None:
    vectors = (0x20001000).to_bytes(4, "little") + (0x08000101).to_bytes(4, "little")
    bl.write_memory(0x08000000, vectors + b"\xff" * 24)
    bl.go(0x08000000)
    jump = board.bootrom.jumps[-1]
    assert (jump.msp, jump.pc) == (0x20001000, 0x08000101)
    assert not board.bootrom.active


@pytest.mark.parametrize("board", ["nucleo-g071rb"], indirect=True)  # a G0 option-byte area
def test_g0_option_area_write_resets_with_new_options(board: SimBoard, bl: Bootloader) -> None:
    raw = bl.read_memory(0x1FFF7800, 8)
    optr = int.from_bytes(raw[:4], "little")
    assert optr == board.flash.options["OPTR"]
    assert int.from_bytes(raw[4:], "little") == optr ^ 0xFFFFFFFF
    new = optr & ~(1 << 24)  # nBOOT_SEL = 0: the BOOT0 pin selects the boot memory
    bl.write_memory(
        0x1FFF7800, new.to_bytes(4, "little") + (new ^ 0xFFFFFFFF).to_bytes(4, "little")
    )
    assert board.reset_log[-1][1] == "option_reload"
    bl.reconnect()
    assert board.flash.options["OPTR"] == new


def test_sim_url_and_wrong_parity(board: SimBoard) -> None:
    from stm32_hil.sim import live as registry

    registry.register(board, "an3155-url-board")
    try:
        port = serial.serial_for_url("sim://an3155-url-board", parity="E", timeout=0.5)
        good = Bootloader(port)
        good.sync()
        assert good.identify().id.pid == board.part.pid
        bad = serial.serial_for_url("sim://an3155-url-board", parity="N", timeout=0.5)
        bl = Bootloader(bad)
        bl.sync()  # a lone 0x7F frames the same in 8N1 and 8E1
        with pytest.raises((NackError, NoResponseError)):
            bl.get_id()  # back-to-back command bytes do not
    finally:
        registry.unregister("an3155-url-board")


def test_noisy_line_costs_retries_not_the_session(board: SimBoard) -> None:
    port = open_sim_port(board, faults=LineFaults(seed=3, corrupt=0.002))
    bl = Bootloader(port)
    bl.sync()
    data = bytes(board.flash.array.data[:0x2000])
    got = bytearray()
    errors = 0
    addr = 0x08000000
    while len(got) < len(data):
        try:
            got += bl.read_memory(addr + len(got), 256)
        except Exception:
            errors += 1
            assert errors < 50
    assert port.faults.corrupted > 0
    assert len(got) == len(data)


def test_resync_recovers_a_rom_collecting_a_long_erase_list(
    board: SimBoard, bl: Bootloader
) -> None:
    """A corrupted Extended Erase count leaves the ROM waiting for ~64 Ki page numbers."""
    size = 0x1000
    data = random.Random(4).randbytes(size)
    board.flash.array.data[:size] = data
    bl.port.write(bytes((0x44, 0xBB)))
    assert bl.port.read(1) == bytes((ACK,))
    bl.port.write(bytes((0x7F, 0xEE)))  # count - 1 = 0x7FEE: 65518 pages, 131037 more bytes
    bl.out_of_step()
    assert bl.get_id().pid == board.part.pid  # single bytes alone would give up long before
    assert bytes(board.flash.array.data[:size]) == data  # nothing erased on the way
    assert bl.read_memory(0x08000000, 256) == data[:256]
