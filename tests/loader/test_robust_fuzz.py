"""Seeded mutation of real loaders: `hil loader validate` gives a verdict or a typed error, always.

Each mutant of a shared third-party loader (a byte flipped in StorageInfo or in the code, a
size field set to an extreme) is validated in a subprocess whose address space is capped
(RLIMIT_AS) and whose run is bounded by a harness timeout; the exit status must be 0 or 1 (a
verdict) or 2 with an `error:` line that is not an internal error, and no traceback.
"""

from __future__ import annotations

import os
import random
import resource
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from stm32_hil.stldr import load

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "loaders"
SEED = 0x12F022
MUTANTS_PER_LOADER = int(os.environ.get("HIL_LOADER_MUTANTS", "4"))  # more for a nightly run
MEMORY_LIMIT = 1536 * 1024 * 1024  # address space of one validation (a normal run: ~0.6 GiB)
RUN_TIMEOUT = 600  # seconds: the harness bound of one validation, not a speed assertion
ONLY = "metadata,device_fit,init,sector_erase,unaligned_write,whole_device_read,verify,checksum"

# loader -> (board, inventory or None for the default one)
LOADERS = {
    "weact_h7_w25q128.stldr": ("weact-mini-h750", None),
    "st_f469_mt25ql.stldr": ("stm32469i-eval", None),
    "CLIVEONE-W25Q128_STM32F7XX-PB2-PB6-PF8-PF9-PF7-PF6.stldr": (
        "f7-w25q128",
        str(ROOT / "ci" / "shared_loaders.toml"),
    ),
}
# Values a size field is set to: zero, tiny, a sector size as page, huge, sign bit, all ones.
EXTREMES = (0, 1, 0x10, 0x2000, 0x01000000, 0x02000000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
# StorageInfo fields (offset, struct format) a size mutation picks from.
SIZE_FIELDS = (
    (108, "<I"),  # DeviceSize
    (112, "<I"),  # PageSize
    (120, "<I"),  # sectors[0].SectorNum
    (124, "<I"),  # sectors[0].SectorSize
    (128, "<I"),  # sectors[1].SectorNum
    (132, "<I"),  # sectors[1].SectorSize
    (104, "<I"),  # DeviceStartAddress
)


@dataclass(frozen=True)
class Mutant:
    loader: str
    kind: str
    data: bytes
    what: str


def _storage_info_offset(data: bytes) -> int:
    """File offset of the 200-byte StorageInfo record, through the symbol's section."""
    import io

    elf = ELFFile(io.BytesIO(data))
    symtab = elf.get_section_by_name(".symtab")
    assert isinstance(symtab, SymbolTableSection)
    found = symtab.get_symbol_by_name("StorageInfo")
    assert found, "no StorageInfo symbol"
    sym = found[0]
    addr = int(sym["st_value"])
    shndx = sym["st_shndx"]
    if isinstance(shndx, int) and 0 < shndx < elf.num_sections():
        sec = elf.get_section(shndx)
        if sec["sh_type"] != "SHT_NOBITS":
            return int(sec["sh_offset"]) + addr - int(sec["sh_addr"])
    for seg in elf.iter_segments():
        start, size = int(seg["p_vaddr"]), int(seg["p_filesz"])
        if start <= addr < start + size:
            return int(seg["p_offset"]) + addr - start
    raise AssertionError("StorageInfo has no bytes in the file")


def _code_spans(data: bytes) -> list[tuple[int, int]]:
    stldr = load(data)
    return [(s.offset, s.offset + s.filesz) for s in stldr.loaded if s.filesz]


def mutants(name: str, data: bytes, rng: random.Random) -> list[Mutant]:
    si = _storage_info_offset(data)
    out = []
    for i in range(MUTANTS_PER_LOADER):
        b = bytearray(data)
        kind = ("size", "storage_flip", "code_flip", "size")[i % 4]
        if kind == "size":
            offset, fmt = rng.choice(SIZE_FIELDS)
            value = rng.choice(EXTREMES)
            struct.pack_into(fmt, b, si + offset, value)
            what = f"StorageInfo+{offset} = 0x{value:X}"
        elif kind == "storage_flip":
            picks = [rng.randrange(100, 200) for _ in range(rng.randint(1, 3))]
            for p in picks:
                b[si + p] ^= 1 << rng.randrange(8)
            what = "StorageInfo bits flipped at " + ", ".join(f"+{p}" for p in picks)
        else:
            lo, hi = rng.choice(_code_spans(data))
            picks = [rng.randrange(lo, hi) for _ in range(rng.randint(1, 4))]
            for p in picks:
                b[p] = rng.randrange(256)
            what = "code bytes changed at file offsets " + ", ".join(f"0x{p:X}" for p in picks)
        out.append(Mutant(name, kind, bytes(b), what))
    return out


def _cases() -> list[Mutant]:
    rng = random.Random(SEED)
    out: list[Mutant] = []
    for name in LOADERS:
        path = SHARED / name
        if not path.exists():
            continue
        out += mutants(name, path.read_bytes(), rng)
    return out


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _hil(args: list[str]) -> subprocess.CompletedProcess[str]:
    code = "import sys; from stm32_hil.cli.main import main; sys.argv[0] = 'hil'; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        preexec_fn=_limit_memory,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )


CASES = _cases()


def test_the_shared_loaders_are_there() -> None:
    missing = [n for n in LOADERS if not (SHARED / n).exists()]
    if missing and os.environ.get("CI") == "true":
        pytest.fail(f"shared loaders missing: {missing}")
    if missing:
        pytest.skip(f"shared loaders missing: {missing}")
    assert len(CASES) == len(LOADERS) * MUTANTS_PER_LOADER


@pytest.mark.slow
@pytest.mark.parametrize(
    "mutant", CASES, ids=[f"{m.loader[:12]}-{i}-{m.kind}" for i, m in enumerate(CASES)]
)
def test_mutated_loader_gets_a_verdict_or_a_typed_error(mutant: Mutant, tmp_path: Path) -> None:
    path = tmp_path / "mutant.stldr"
    path.write_bytes(mutant.data)
    board, inventory = LOADERS[mutant.loader]
    args = ["loader", "validate", str(path), "--board", board, "--only", ONLY]
    args += ["--wall-limit", "20"]
    if inventory:
        args += ["--inventory", inventory]
    run = _hil(args)
    out = run.stdout + run.stderr
    context = f"{mutant.what}\n{out[-3000:]}"
    assert run.returncode in (0, 1, 2), context
    assert "Traceback" not in out, context
    assert "internal error" not in out, context
    if run.returncode == 2:
        assert "error:" in run.stderr, context  # a typed error, said in words
    else:
        assert "passed" in run.stdout and "failed" in run.stdout, context
    info = _hil(["loader", "info", str(path)])
    assert info.returncode in (0, 2) and "Traceback" not in info.stdout + info.stderr, info.stderr
