"""Frame builders, the STM32 CRC and the UART line model."""

from __future__ import annotations

import random

import serial

from stm32_hil.an3155.crc import stm32_crc32, stm32_crc32_reference
from stm32_hil.an3155.framing import address_frame, data_frame, extended_erase_frame, length_frame
from stm32_hil.an3155.image import frames
from stm32_hil.sim.links.line import DEVICE_FRAMING, Framing, LineFaults, transcode


def test_stm32_crc_known_vectors() -> None:
    # 0x12345678 through the CRC unit with its reset value: the value HAL examples print
    assert stm32_crc32((0x12345678).to_bytes(4, "little")) == 0xDF8A8A2B
    assert stm32_crc32(b"") == 0xFFFFFFFF


def test_fast_crc_equals_the_table_definition() -> None:
    rng = random.Random(0xC4C)
    for n in (4, 8, 12, 1024, 4100):
        data = rng.randbytes(n)
        assert stm32_crc32(data) == stm32_crc32_reference(data)
        assert stm32_crc32(data, 0x12345678) == stm32_crc32_reference(data, 0x12345678)


def test_frames_carry_xor_checksums() -> None:
    assert address_frame(0x08000000) == bytes.fromhex("0800000008")
    assert length_frame(256) == b"\xff\x00"
    assert data_frame(b"\x01\x02\x03\x04") == bytes.fromhex("03010203 0407".replace(" ", ""))
    assert extended_erase_frame(special=0xFFFF) == b"\xff\xff\x00"
    assert extended_erase_frame([1, 2]) == bytes.fromhex("00010001000202")


def test_image_frames_never_cross_256_byte_boundaries() -> None:
    parts = list(frames(0x080000F0, 0x220))
    assert parts[0] == (0x080000F0, 0x10)
    assert all((a % 256) + n <= 256 for a, n in parts)
    assert sum(n for _, n in parts) == 0x220


def test_matched_framing_is_transparent() -> None:
    data = random.Random(1).randbytes(4096)
    assert transcode(data, DEVICE_FRAMING, DEVICE_FRAMING) == data


def test_8n1_host_lone_sync_byte_survives_but_stream_is_garbage() -> None:
    host = Framing(8, serial.PARITY_NONE, 1)
    assert transcode(b"\x7f", host, DEVICE_FRAMING) == b"\x7f"
    assert transcode(b"\x00\xff", host, DEVICE_FRAMING) != b"\x00\xff"
    # the other way an 8N1 receiver reads the data bits right: the parity bit lands in its
    # stop-bit slot (a framing error when 0) and the ROM's stop bit looks like idle line
    assert transcode(bytes(range(40)), DEVICE_FRAMING, host) == bytes(range(40))


def test_line_faults_are_seeded_and_counted() -> None:
    a = LineFaults(seed=7, drop=0.1, corrupt=0.1)
    b = LineFaults(seed=7, drop=0.1, corrupt=0.1)
    data = bytes(1000)
    assert a.apply(data) == b.apply(data)
    assert a.dropped > 0 and a.corrupted > 0
