"""Damaged and implausible loaders: typed errors and warnings, made by patching real files."""

from __future__ import annotations

import contextlib
import os
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stm32_hil.errors import LoaderError
from stm32_hil.stldr import load
from stm32_hil.stldr.errors import (
    LayoutError,
    MissingSymbolError,
    NotElfError,
    TruncatedElfError,
    WrongArchitectureError,
)

F469_SI_OFFSET = 0x34  # IAR: StorageInfo-only segment at file offset 0x34


def _phdr_offset(data: bytes | bytearray, index: int) -> int:
    (phoff,) = struct.unpack_from("<I", data, 28)
    (phentsize,) = struct.unpack_from("<H", data, 42)
    return phoff + index * phentsize


def _patch_si(data: bytes, fmt: str, field_offset: int, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, F469_SI_OFFSET + field_offset, value)
    return bytes(out)


def test_not_elf() -> None:
    with pytest.raises(NotElfError):
        load(b"MZ\x90\x00" + bytes(100))


def test_missing_file_is_loader_error(tmp_path: object) -> None:
    with pytest.raises(LoaderError, match="cannot read"):
        load(f"{tmp_path}/nope.stldr")


@pytest.mark.parametrize("cut", [10, 40, 60, 2000])
def test_truncated(loader_bytes: dict[str, bytes], cut: int) -> None:
    with pytest.raises(TruncatedElfError):
        load(loader_bytes["f469"][:cut])


@pytest.mark.parametrize(
    ("offset", "value", "what"),
    [(4, 2, "ELFCLASS32"), (5, 2, "little-endian"), (18, 62, "not ARM")],
)
def test_wrong_architecture(
    loader_bytes: dict[str, bytes], offset: int, value: int, what: str
) -> None:
    data = bytearray(loader_bytes["weact"])
    data[offset] = value
    with pytest.raises(WrongArchitectureError, match=what):
        load(bytes(data))


@pytest.mark.parametrize("symbol", [b"Init", b"StorageInfo"])
def test_missing_required_symbol(loader_bytes: dict[str, bytes], symbol: bytes) -> None:
    data = loader_bytes["weact"]
    needle = b"\0" + symbol + b"\0"
    assert data.count(needle) >= 1
    patched = data.replace(needle, b"\0" + symbol[:-1] + b"_\0")
    with pytest.raises(MissingSymbolError, match=symbol.decode()):
        load(patched)


def test_image_at_zero_leaves_no_room_for_trap(loader_bytes: dict[str, bytes]) -> None:
    data = bytearray(loader_bytes["f469"])
    ph = _phdr_offset(data, 1)  # the code segment, p_vaddr at +8, p_paddr at +12
    struct.pack_into("<II", data, ph + 8, 0x2, 0x2)
    with pytest.raises(LayoutError, match="BKPT return trap"):
        load(bytes(data))


def test_segment_past_end_of_file(loader_bytes: dict[str, bytes]) -> None:
    data = bytearray(loader_bytes["f469"])
    ph = _phdr_offset(data, 1)
    struct.pack_into("<I", data, ph + 16, 0x10000000)  # p_filesz
    with pytest.raises(TruncatedElfError, match="segment 1"):
        load(bytes(data))


def test_clean_loader_has_no_warnings(loader_bytes: dict[str, bytes]) -> None:
    assert load(loader_bytes["f469"]).warnings == ()


@pytest.mark.parametrize(
    ("fmt", "field", "value", "warning"),
    [
        ("<I", 112, 300, "not a power of two"),
        ("<I", 112, 8, "not a power of two"),
        ("<I", 112, 128 * 1024, "not a power of two"),
        ("<I", 108, 32 * 1024 * 1024, "sector list sums"),
        ("<I", 104, 0x40000000, "outside every memory window"),
        ("<I", 104, 0x9E000000, "runs past the end"),
        ("<B", 116, 0x5A, "EraseValue"),
        ("<H", 100, 77, "not a known device type"),
    ],
)
def test_metadata_warnings(
    loader_bytes: dict[str, bytes], fmt: str, field: int, value: int, warning: str
) -> None:
    ld = load(_patch_si(loader_bytes["f469"], fmt, field, value))
    assert any(warning in w for w in ld.warnings), ld.warnings


def test_short_storage_info_symbol_warns(loader_bytes: dict[str, bytes]) -> None:
    import io

    from elftools.elf.elffile import ELFFile

    data = bytearray(loader_bytes["weact"])
    symtab: Any = ELFFile(io.BytesIO(bytes(data))).get_section_by_name(".symtab")
    index = next(i for i, s in enumerate(symtab.iter_symbols()) if s.name == "StorageInfo")
    st_size = symtab["sh_offset"] + index * 16 + 8  # Elf32_Sym: name, value, size, ...
    assert struct.unpack_from("<I", data, st_size) == (200,)
    struct.pack_into("<I", data, st_size, 192)
    assert any("192 bytes" in w for w in load(bytes(data)).warnings)


# -- fuzzing: whatever the bytes, a LoaderError and nothing else -----------------------------


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=512))
def test_fuzz_random_bytes(blob: bytes) -> None:
    with pytest.raises(LoaderError):
        load(blob)


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=48, max_size=48))
def test_fuzz_random_header_after_magic(tail: bytes) -> None:
    with pytest.raises(LoaderError):
        load(b"\x7fELF" + tail)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.sampled_from(["weact", "csp", "f469"]),
    mutations=st.lists(
        st.tuples(st.integers(0, 0x400), st.integers(0, 255)), min_size=1, max_size=8
    ),
    cut=st.one_of(st.none(), st.integers(0, 0x3000)),
)
def test_fuzz_mutated_real_headers(
    loader_bytes: dict[str, bytes],
    which: str,
    mutations: list[tuple[int, int]],
    cut: int | None,
) -> None:
    data = bytearray(loader_bytes[which])
    for offset, value in mutations:
        data[offset] = value
    blob = bytes(data if cut is None else data[:cut])
    with contextlib.suppress(LoaderError):
        load(blob)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mutations=st.lists(
        st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1, max_size=16
    )
)
def test_fuzz_mutated_tables_anywhere(
    loader_bytes: dict[str, bytes], mutations: list[tuple[int, int]]
) -> None:
    data = bytearray(loader_bytes["weact"])
    for offset, value in mutations:
        data[offset % len(data)] = value
    with contextlib.suppress(LoaderError):
        load(bytes(data))


def test_keil_flm_is_parsed_as_a_flash_algorithm_not_as_a_broken_stldr() -> None:
    flm = (
        Path(__file__).resolve().parents[2].parent
        / "shared/loaders/CLIVEONE-W25Q128_STM32F7XX-PB2-PB6-PF8-PF9-PF7-PF6.flm"
    )
    if not flm.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared FLM missing: {flm}")
        pytest.skip(f"shared FLM missing: {flm}")
    from stm32_hil.stldr.flm import Flm

    assert isinstance(load(flm), Flm)  # a FlashDevice table: the FLM parser takes it
