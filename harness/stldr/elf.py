"""Reading a .stldr: an ARM ELF whose segments go to target RAM and whose symbols are entry points.

The header is checked by hand before pyelftools sees the file, so a wrong or damaged file is
named precisely (not an ELF, truncated, wrong machine) instead of surfacing as a parser crash;
whatever pyelftools still trips on is re-raised as a `LoaderError`.
"""

from __future__ import annotations

import io
import stat
import struct
from dataclasses import dataclass, field
from pathlib import Path

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from stm32_hil.errors import LoaderError
from stm32_hil.stldr.errors import (
    MissingSymbolError,
    NotElfError,
    TruncatedElfError,
    WrongArchitectureError,
)
from stm32_hil.stldr.storage_info import STORAGE_INFO_SIZE, StorageInfo

EM_ARM = 40
EF_ARM_ABI_FLOAT_HARD = 0x400
EF_ARM_EABIMASK = 0xFF000000
PT_LOAD = 1
PF_X, PF_W, PF_R = 1, 2, 4

FUNCTION_NAMES = (
    "Init",
    "Write",
    "Read",
    "SectorErase",
    "MassErase",
    "CheckSum",
    "Verify",
    "DeInit",
)
REQUIRED_SYMBOLS = ("Init", "StorageInfo")
# Real loaders are a few KiB to a few hundred KiB (debug info included); anything this big is
# the wrong file, and reading it whole would cost its size in memory.
MAX_FILE_SIZE = 64 * 1024 * 1024


@dataclass(frozen=True)
class Segment:
    """One PT_LOAD segment. `metadata` marks a segment that holds StorageInfo and nothing else."""

    index: int
    vaddr: int
    offset: int
    filesz: int
    memsz: int
    flags: int
    data: bytes = field(repr=False)
    metadata: bool = False

    @property
    def end(self) -> int:
        return self.vaddr + self.memsz

    @property
    def flag_text(self) -> str:
        return "".join(
            c if self.flags & bit else "-" for c, bit in (("R", PF_R), ("W", PF_W), ("X", PF_X))
        )

    def image(self) -> bytes:
        """What the programmer writes to RAM: file bytes, then zeros up to memsz."""
        return self.data + bytes(self.memsz - self.filesz)

    def overlaps(self, start: int, end: int) -> bool:
        return self.vaddr < end and start < self.end


@dataclass(frozen=True)
class Stldr:
    """A parsed loader: everything a runner needs to load and call it, and what was odd."""

    path: str
    toolchain: str  # "gcc", "iar", "keil" or "unknown"
    e_flags: int
    entry: int
    segments: tuple[Segment, ...]
    functions: dict[str, int]  # name -> address with the Thumb bit as linked
    storage_info: StorageInfo
    storage_info_addr: int
    storage_info_size: int
    rwpi: bool
    r9: int | None  # static base the caller must put in R9 (RWPI builds), else None
    warnings: tuple[str, ...] = ()
    # [start, end) of the executable sections (empty when the file has no section headers):
    # where a stale copy of the code may be trapped without touching the image's data.
    code: tuple[tuple[int, int], ...] = ()

    @property
    def hard_float(self) -> bool:
        return bool(self.e_flags & EF_ARM_ABI_FLOAT_HARD)

    @property
    def eabi_version(self) -> int:
        return (self.e_flags & EF_ARM_EABIMASK) >> 24

    @property
    def loaded(self) -> tuple[Segment, ...]:
        """Segments written to target RAM (the StorageInfo-only one is metadata)."""
        return tuple(s for s in self.segments if not s.metadata and s.memsz > 0)

    @property
    def image_start(self) -> int:
        return min(s.vaddr for s in self.loaded)

    @property
    def image_end(self) -> int:
        return max(s.end for s in self.loaded)

    @property
    def trap_address(self) -> int:
        """Where the programmer puts `BKPT #0` for functions to return into (LR = this | 1)."""
        return self.image_start - 4

    def function(self, name: str) -> int | None:
        return self.functions.get(name)


def _u(fmt: str, data: bytes, offset: int) -> tuple[int, ...]:
    return struct.unpack_from(fmt, data, offset)


def check_header(data: bytes, where: str) -> None:
    """Refuse anything that is not a complete 32-bit little-endian ARM ELF header + tables."""
    if len(data) < 4 or data[:4] != b"\x7fELF":
        raise NotElfError(
            f"{where}: not an ELF file (no \\x7fELF magic)",
            hint="pass the .stldr itself, not a .hex/.bin or the project folder",
        )
    if len(data) < 52:
        raise TruncatedElfError(
            f"{where}: ELF header truncated ({len(data)} of 52 bytes)",
            hint="the file was cut short while copying; fetch it again",
        )
    ei_class, ei_data = data[4], data[5]
    if ei_class != 1:
        raise WrongArchitectureError(
            f"{where}: ELF class {ei_class} is not ELFCLASS32",
            hint="STM32 loaders are 32-bit ARM ELF files; this one was built for another target",
        )
    if ei_data != 1:
        raise WrongArchitectureError(
            f"{where}: ELF data encoding {ei_data} is not little-endian",
            hint="STM32 loaders are little-endian ARM ELF files",
        )
    (machine,) = _u("<H", data, 18)
    if machine != EM_ARM:
        raise WrongArchitectureError(
            f"{where}: ELF machine {machine} is not ARM (40)",
            hint="rebuild the loader for a Cortex-M target",
        )
    phoff, shoff = _u("<II", data, 28)
    phentsize, phnum, shentsize, shnum = _u("<HHHxxH", data, 42)
    if phnum == 0:
        raise LoaderError(
            f"{where}: ELF has no program headers, nothing to load",
            hint="link the loader as an executable (not with -r)",
        )
    if phentsize < 32 or phoff + phentsize * phnum > len(data):
        raise TruncatedElfError(
            f"{where}: program header table (offset 0x{phoff:X}, {phnum} x {phentsize}) "
            f"lies beyond the end of the {len(data)}-byte file",
            hint="the file is truncated or corrupt; fetch it again",
        )
    if shnum and (shentsize < 40 or shoff + shentsize * shnum > len(data)):
        raise TruncatedElfError(
            f"{where}: section header table (offset 0x{shoff:X}, {shnum} x {shentsize}) "
            f"lies beyond the end of the {len(data)}-byte file",
            hint="the file is truncated or corrupt; fetch it again",
        )


def load(source: str | Path | bytes, *, name: str | None = None) -> Stldr:
    """Parse a .stldr from a path or from its bytes."""
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
        where = name or "<bytes>"
    else:
        where = str(source)
        data = _read_file(Path(source), where)
    check_header(data, where)
    try:
        return _parse(data, where)
    except LoaderError:
        raise
    except Exception as exc:  # pyelftools raises many types on corrupt input
        raise LoaderError(
            f"{where}: malformed ELF ({type(exc).__name__}: {exc})",
            hint="the file is corrupt or not a loader; rebuild or fetch it again",
        ) from None


def _read_file(path: Path, where: str) -> bytes:
    """The file's bytes, refusing what is not a regular file or is too big to be a loader.

    A FIFO, a device or /dev/zero would otherwise be read forever.
    """
    try:
        info = path.stat()
    except OSError as exc:
        raise LoaderError(
            f"{where}: cannot read ({exc.strerror or exc})", hint="check the path and permissions"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise LoaderError(
            f"{where}: not a regular file (a FIFO, device or socket)",
            hint="pass the .stldr file itself",
        )
    if info.st_size > MAX_FILE_SIZE:
        raise LoaderError(
            f"{where}: {info.st_size:,} bytes, more than the {MAX_FILE_SIZE:,} a loader can be",
            hint="this is not an external loader; pass the .stldr file",
        )
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_SIZE + 1)
    except OSError as exc:
        raise LoaderError(
            f"{where}: cannot read ({exc.strerror or exc})", hint="check the path and permissions"
        ) from None
    if len(data) > MAX_FILE_SIZE:  # grew while being read
        raise LoaderError(
            f"{where}: more than {MAX_FILE_SIZE:,} bytes", hint="pass the .stldr file itself"
        )
    return data


def _parse(data: bytes, where: str) -> Stldr:
    from stm32_hil.stldr.checks import layout_errors, metadata_warnings

    elf = ELFFile(io.BytesIO(data))
    symbols = _symbols(elf)
    missing = [s for s in REQUIRED_SYMBOLS if s not in symbols]
    if missing and "FlashDevice" in symbols:
        # Keil/CMSIS-Pack flash algorithm (.FLM): position-independent code with a FlashDevice
        # table instead of StorageInfo; stm32_hil.stldr.flm maps it onto the same loader object.
        from stm32_hil.stldr.flm import parse as parse_flm

        return parse_flm(data, where)
    if missing:
        raise MissingSymbolError(
            f"{where}: required symbol(s) {', '.join(missing)} not found",
            hint="a loader must export Init and StorageInfo (keep them with KEEP()/--keep "
            "and do not strip the symbol table)",
        )
    si_addr, si_size, si_shndx = symbols["StorageInfo"]
    segments = _segments(elf, data, where, si_addr, si_size)
    blob = _storage_blob(elf, segments, si_addr, si_shndx)
    if blob is None:
        raise TruncatedElfError(
            f"{where}: StorageInfo at 0x{si_addr:08X} has no bytes in the file",
            hint="the file is truncated or StorageInfo was placed in a NOBITS section",
        )
    info = StorageInfo.decode(blob)
    functions = {n: symbols[n][0] for n in FUNCTION_NAMES if n in symbols}
    sections = _sections(elf)
    toolchain = _toolchain(elf, sections, symbols, segments, si_addr)
    rwpi = _is_rwpi(elf, symbols)
    r9 = _static_base(sections, symbols) if rwpi else None
    e_flags = int(elf.header["e_flags"])
    stldr = Stldr(
        path=where,
        toolchain=toolchain,
        e_flags=e_flags,
        entry=int(elf.header["e_entry"]),
        segments=tuple(segments),
        functions=functions,
        storage_info=info,
        storage_info_addr=si_addr,
        storage_info_size=si_size,
        rwpi=rwpi,
        r9=r9,
        code=tuple(
            (s.addr, s.addr + s.size)
            for s in sections
            if s.flags & SH_FLAGS.SHF_ALLOC
            and s.flags & SH_FLAGS.SHF_EXECINSTR
            and s.size > 0
            and not s.nobits
        ),
    )
    layout_errors(stldr)
    warnings = metadata_warnings(stldr, blob_len=len(blob))
    if rwpi and r9 is None:
        warnings.append("RWPI build but no PrgData region found: R9 cannot be set")
    return Stldr(**{**stldr.__dict__, "warnings": tuple(warnings)})


def _symbols(elf: ELFFile) -> dict[str, tuple[int, int, int | str]]:
    out: dict[str, tuple[int, int, int | str]] = {}
    for secname in (".symtab", ".dynsym"):
        sec = elf.get_section_by_name(secname)
        if sec is None or not hasattr(sec, "iter_symbols"):
            continue
        for sym in sec.iter_symbols():
            if sym.name and sym.name not in out:
                out[sym.name] = (int(sym["st_value"]), int(sym["st_size"]), sym["st_shndx"])
    return out


def _segments(elf: ELFFile, data: bytes, where: str, si_addr: int, si_size: int) -> list[Segment]:
    si_end = si_addr + max(si_size, STORAGE_INFO_SIZE)
    out: list[Segment] = []
    for i in range(elf.num_segments()):
        h = elf._get_segment_header(i)  # header only: never let pyelftools read the payload
        if h["p_type"] != "PT_LOAD":
            continue
        off, filesz, memsz = int(h["p_offset"]), int(h["p_filesz"]), int(h["p_memsz"])
        vaddr = int(h["p_vaddr"])
        if off + filesz > len(data):
            raise TruncatedElfError(
                f"{where}: segment {i} (0x{vaddr:08X}, {filesz} bytes at file offset 0x{off:X}) "
                f"runs past the end of the {len(data)}-byte file",
                hint="the file is truncated; fetch it again",
            )
        if memsz < filesz:
            raise LoaderError(
                f"{where}: segment {i} has memsz {memsz} < filesz {filesz}",
                hint="the ELF is corrupt; rebuild the loader",
            )
        if vaddr + memsz > 1 << 32:
            raise LoaderError(
                f"{where}: segment {i} at 0x{vaddr:08X} wraps the address space",
                hint="the ELF is corrupt; rebuild the loader",
            )
        metadata = memsz > 0 and si_addr <= vaddr and vaddr + memsz <= si_end
        out.append(
            Segment(
                i, vaddr, off, filesz, memsz, int(h["p_flags"]), data[off : off + filesz], metadata
            )
        )
    if not out:
        raise LoaderError(f"{where}: no PT_LOAD segment", hint="nothing would be loaded")
    return out


def _storage_blob(
    elf: ELFFile, segments: list[Segment], addr: int, shndx: int | str
) -> bytes | None:
    """StorageInfo bytes from the section holding the symbol, else from a covering segment.

    The section is authoritative: a GCC image can map the same address twice, once as padding
    in the code segment and once as the .Dev_info segment.
    """
    if isinstance(shndx, int) and 0 < shndx < elf.num_sections():
        sec = elf.get_section(shndx)
        start = addr - int(sec["sh_addr"])
        if sec["sh_type"] != "SHT_NOBITS" and 0 <= start < int(sec["sh_size"]):
            return bytes(sec.data()[start : start + STORAGE_INFO_SIZE])
    covering = [s for s in segments if s.vaddr <= addr < s.vaddr + s.filesz]
    covering.sort(key=lambda s: (not s.metadata, s.filesz))
    for seg in covering:
        start = addr - seg.vaddr
        return seg.data[start : start + STORAGE_INFO_SIZE]
    return None


@dataclass(frozen=True)
class _Section:
    name: str
    addr: int
    size: int
    flags: int
    nobits: bool


def _sections(elf: ELFFile) -> list[_Section]:
    out = []
    for sec in elf.iter_sections():
        out.append(
            _Section(
                sec.name,
                int(sec["sh_addr"]),
                int(sec["sh_size"]),
                int(sec["sh_flags"]),
                sec["sh_type"] == "SHT_NOBITS",
            )
        )
    return out


def _comment(elf: ELFFile) -> str:
    sec = elf.get_section_by_name(".comment")
    if sec is None or sec["sh_type"] == "SHT_NOBITS":
        return ""
    return bytes(sec.data()[:65536]).decode("latin-1")


def _toolchain(
    elf: ELFFile,
    sections: list[_Section],
    symbols: dict[str, tuple[int, int, int | str]],
    segments: list[Segment],
    si_addr: int,
) -> str:
    names = {s.name for s in sections}
    if {"PrgCode", "DevInfo"} & names or any(n.startswith("BuildAttributes$$") for n in symbols):
        return "keil"
    if any(n.startswith(".iar") for n in names) or (
        si_addr == 0 and any(s.metadata and s.vaddr == 0 for s in segments)
    ):
        return "iar"
    comment = _comment(elf)
    if ".Dev_info" in names or "GCC" in comment:
        return "gcc"
    return "unknown"


def _is_rwpi(elf: ELFFile, symbols: dict[str, tuple[int, int, int | str]]) -> bool:
    """armcc/armlink record RWPI in the BuildAttributes$$ symbol and in the command lines."""
    for name in symbols:
        if name.startswith("BuildAttributes$$"):
            return "$RWPI$" in f"{name}$"
    comment = _comment(elf).lower()
    return "/rwpi" in comment or "--rwpi" in comment


def _static_base(
    sections: list[_Section], symbols: dict[str, tuple[int, int, int | str]]
) -> int | None:
    """Start of the PrgData execution region: what R9 must hold for RWPI code."""
    if "Image$$PrgData$$Base" in symbols:
        return symbols["Image$$PrgData$$Base"][0]
    prg = [s.addr for s in sections if s.name == "PrgData" and s.flags & SH_FLAGS.SHF_ALLOC]
    return min(prg) if prg else None
