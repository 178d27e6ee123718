"""Keil .FLM flash algorithms (CMSIS-Pack): parsed into the loader object the validator runs.

An FLM is position-independent Thumb code linked at 0 (`PrgCode`), its read/write data
(`PrgData`, addressed through R9) and a `FlashDevice` table (`DevDscr`) describing the memory.
pyOCD's `PackFlashAlgo` does the parsing (symbols, sections, the RAM blob, the FlashDevice
fields); this module bounds what a damaged file can make it do, names each refusal with a typed
error, and maps the result onto `Stldr` so the runner and the checks see one kind of loader.

The image is placed the way pyOCD places it (`get_pyocd_flash_algo`): the blob with its
`BKPT; B .-2` header at the top of the default RAM region, page buffers below, the stack below
them; R9 holds the static base (blob start + PrgData offset); functions return into the header.
"""

from __future__ import annotations

import dataclasses
import io
import struct
from dataclasses import dataclass, field

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from stm32_hil.errors import LoaderError
from stm32_hil.parts import MemoryRegion, Part
from stm32_hil.stldr.checks import MAX_PAGE, MIN_PAGE, PLAUSIBLE_WINDOWS
from stm32_hil.stldr.elf import PF_R, PF_W, PF_X, Segment, Stldr
from stm32_hil.stldr.errors import LayoutError, MissingSymbolError, TruncatedElfError
from stm32_hil.stldr.storage_info import DeviceType, Sector, StorageInfo

# FlashOS.h: struct FlashDevice { u16 Vers; char DevName[128]; u16 DevType; u32 DevAdr, szDev,
# szPage, Res; u8 valEmpty; u32 toProg, toErase; FlashSectors sectors[SECTOR_NUM]; }
FLASH_DEVICE_FORMAT = "<H128sHLLLLB3xLL"
FLASH_DEVICE_SIZE = struct.calcsize(FLASH_DEVICE_FORMAT)  # 160
SECTOR_NUM = 512  # FlashOS.h: the most sector groups a FlashDevice table holds
SECTOR_END = 0xFFFFFFFF
FLASH_DRV_VERS = 0x0101  # FlashOS.h: 0x0100 + VERS (1)
HEADER = b"\x00\xbe\xfd\xe7"  # pyOCD's blob header: BKPT #0; B .-2 (0xE7FDBE00)
HEADER_SIZE = len(HEADER)
PAGE_BUFFER_ALIGN = 16  # pyOCD aligns page buffers to 16 bytes
MIN_STACK, MIN_TWO_BUF_STACK = 64, 512  # pyOCD's minimum stack for one and for two buffers
# The largest blob (code + data + zero-init) accepted: more than any STM32's RAM, so a table
# claiming more is damaged and is refused before a buffer of that size is made.
MAX_ALGO = 4 * 1024 * 1024
# A Cortex-M's SRAM region (ARMv7-M B3.1): pyOCD's "default RAM" of STM32 packs starts there.
SRAM_REGION = 0x20000000

DEV_TYPES = {0: "UNKNOWN", 1: "ONCHIP", 2: "EXT8BIT", 3: "EXT16BIT", 4: "EXT32BIT", 5: "EXTSPI"}
# The StorageInfo device type each FLM type corresponds to (what the .stldr of a loader says).
TYPE_AS_STLDR = {
    1: DeviceType.MCU_FLASH,
    2: DeviceType.NOR_FLASH,
    3: DeviceType.NOR_FLASH,
    4: DeviceType.NOR_FLASH,
    5: DeviceType.SPI_FLASH,
}
REQUIRED = ("Init", "UnInit", "EraseSector", "ProgramPage")
OPTIONAL = ("EraseChip", "BlankCheck", "Verify")
ALGO_FUNCTIONS = REQUIRED + OPTIONAL
# FLM function -> the .stldr function of the same role, the vocabulary of the checks.
ROLE = {
    "Init": "Init",
    "UnInit": "DeInit",
    "EraseSector": "SectorErase",
    "EraseChip": "MassErase",
    "ProgramPage": "Write",
    "Verify": "Verify",
}
ROLE_TO_ALGO = {role: name for name, role in ROLE.items()}


@dataclass(frozen=True)
class FlashDevice:
    """The FlashDevice table as the file holds it (sectors as (offset, size) pairs)."""

    version: int
    name: str
    dev_type: int
    start: int
    size: int
    page_size: int
    empty: int
    prog_timeout_ms: int
    erase_timeout_ms: int
    sectors: tuple[tuple[int, int], ...]

    @property
    def type_name(self) -> str:
        return DEV_TYPES.get(self.dev_type, f"unknown ({self.dev_type})")


@dataclass(frozen=True)
class Flm(Stldr):
    """A parsed FLM. Addresses are those of a placement (`load_address`, 0 when not placed).

    `functions` holds the .stldr roles the checks ask about (Write = ProgramPage, ...);
    `algo_functions` the FLM's own names, which the runner calls and messages show.
    """

    device: FlashDevice = field(default=None)  # type: ignore[assignment]
    algo_functions: dict[str, int] = field(default_factory=dict)
    algo_size: int = 0  # bytes of the blob after the header: code, data, zero-init
    rw_offset: int = 0  # PrgData offset in the blob: R9 = blob start + this
    load_address: int = 0  # where the header (the return trap) is; 0: not placed yet
    placed: bool = False

    def function(self, name: str) -> int | None:
        if name in self.algo_functions:
            return self.algo_functions[name]
        return self.functions.get(name)

    @property
    def code_start(self) -> int:
        return self.load_address + HEADER_SIZE

    def at(self, load_address: int) -> Flm:
        """This algorithm placed with its header at `load_address` (pyOCD's `load_address`)."""
        delta = load_address - self.load_address
        segs = tuple(dataclasses.replace(s, vaddr=s.vaddr + delta) for s in self.segments)
        return dataclasses.replace(
            self,
            entry=self.entry + delta,
            segments=segs,
            functions={k: v + delta for k, v in self.functions.items()},
            algo_functions={k: v + delta for k, v in self.algo_functions.items()},
            r9=None if self.r9 is None else self.r9 + delta,
            load_address=load_address,
            placed=True,
        )


def parse(data: bytes, where: str) -> Flm:
    """Parse an FLM whose ELF header `check_header` accepted."""
    elf = ELFFile(io.BytesIO(data))
    device_addr, device_size = _bounds(elf, data, where)
    from pyocd.target.pack.flash_algo import FlashAlgoException, PackFlashAlgo

    try:
        algo = PackFlashAlgo(io.BytesIO(data))
    except FlashAlgoException as exc:
        text = str(exc)
        if text.startswith("Missing symbol"):
            name = text.rsplit(" ", 1)[-1]
            raise MissingSymbolError(
                f"{where}: the flash algorithm exports no {name} (every FLM needs "
                f"{', '.join(REQUIRED)})",
                hint="keep the symbol when linking the algorithm (do not strip the symbol table)",
            ) from None
        raise LoaderError(
            f"{where}: not a usable flash algorithm: {text}",
            hint="PrgCode must be one section at address 0, with PrgData after it",
        ) from None
    info = algo.flash_info
    device = FlashDevice(
        version=int(info.version),
        name=bytes(info.name).split(b"\0", 1)[0].decode("latin-1"),
        dev_type=int(info.type),
        start=int(info.start),
        size=int(info.size),
        page_size=int(info.page_size),
        empty=int(info.value_empty),
        prog_timeout_ms=int(info.prog_timeout_ms),
        erase_timeout_ms=int(info.erase_timeout_ms),
        sectors=tuple((int(off), int(size)) for off, size in info.sector_info_list),
    )
    blob = bytes(algo.algo_data)
    size = len(blob)
    symbols = {name: int(addr) for name, addr in algo.symbols.items()}
    offsets = {name: symbols[name] for name in ALGO_FUNCTIONS if name in symbols}
    code_start = HEADER_SIZE  # placed at load address 0 until `at()` moves it
    segment = Segment(
        index=0,
        vaddr=code_start,
        offset=0,
        filesz=size,
        memsz=size,
        flags=PF_R | PF_W | PF_X,
        data=blob,
    )
    sectors, sector_warnings = _sector_groups(device)
    storage = StorageInfo(
        name=device.name,
        device_type=int(TYPE_AS_STLDR.get(device.dev_type, 0)),
        start=device.start,
        size=device.size,
        page_size=device.page_size,
        erase_value=device.empty,
        sectors=sectors,
    )
    algo_functions = {name: code_start + off for name, off in offsets.items()}
    flm = Flm(
        path=where,
        toolchain=_toolchain(elf),
        e_flags=int(elf.header["e_flags"]),
        entry=code_start,
        segments=(segment,),
        functions={ROLE[n]: a for n, a in algo_functions.items() if n in ROLE},
        storage_info=storage,
        storage_info_addr=device_addr,
        storage_info_size=device_size,
        rwpi=True,
        r9=code_start + int(algo.rw_start),
        device=device,
        algo_functions=algo_functions,
        algo_size=size,
        rw_offset=int(algo.rw_start),
    )
    warnings = metadata_warnings(flm, int(algo.ro_size)) + sector_warnings
    return dataclasses.replace(flm, warnings=tuple(warnings))


def _bounds(elf: ELFFile, data: bytes, where: str) -> tuple[int, int]:
    """Refuse what would make the parser loop or allocate without bound.

    The FlashDevice table must lie in the file with its sector list ended within SECTOR_NUM
    entries, and the blob (PrgCode, PrgData) must be of a size an MCU's RAM can hold.
    """
    symtab = elf.get_section_by_name(".symtab")
    sym = None
    if isinstance(symtab, SymbolTableSection):
        sym = symtab.get_symbol_by_name("FlashDevice")
    if not sym:
        raise MissingSymbolError(
            f"{where}: no FlashDevice symbol: not a CMSIS flash algorithm",
            hint="an FLM exports the FlashDevice table (FlashDev.c) next to its functions",
        )
    address = int(sym[0]["st_value"])
    size = int(sym[0]["st_size"])
    table = _file_bytes(elf, data, address, FLASH_DEVICE_SIZE + 8 * SECTOR_NUM)
    if table is None or len(table) < FLASH_DEVICE_SIZE + 8:
        raise TruncatedElfError(
            f"{where}: the FlashDevice table at 0x{address:X} is not in the file",
            hint="the file is truncated or the table lies in a section without contents",
        )
    ended = any(
        struct.unpack_from("<II", table, off) == (SECTOR_END, SECTOR_END)
        for off in range(FLASH_DEVICE_SIZE, len(table) - 7, 8)
    )
    if not ended:
        raise LoaderError(
            f"{where}: the FlashDevice sector list has no end marker (0xFFFFFFFF, 0xFFFFFFFF) "
            f"within {SECTOR_NUM} entries or the file",
            hint="end the sectors[] list with SECTOR_END, as FlashDev.c templates do",
        )
    for sec in elf.iter_sections():
        if sec.name in ("PrgCode", "PrgData"):
            end = int(sec["sh_addr"]) + int(sec["sh_size"])
            if end > MAX_ALGO:
                raise LoaderError(
                    f"{where}: section {sec.name} ends at 0x{end:X}, beyond the "
                    f"{MAX_ALGO // (1024 * 1024)} MiB any flash algorithm can occupy in RAM",
                    hint="the file is damaged; rebuild the algorithm",
                )
            if sec["sh_type"] != "SHT_NOBITS" and int(sec["sh_offset"]) + int(sec["sh_size"]) > len(
                data
            ):
                raise TruncatedElfError(
                    f"{where}: section {sec.name} runs past the end of the {len(data)}-byte file",
                    hint="the file is truncated; fetch it again",
                )
    return address, size


def _file_bytes(elf: ELFFile, data: bytes, address: int, length: int) -> bytes | None:
    """Up to `length` file bytes of the segment holding `address`, as pyOCD reads them."""
    for i in range(elf.num_segments()):
        h = elf._get_segment_header(i)
        vaddr, off = int(h["p_paddr"]), int(h["p_offset"])
        size = min(int(h["p_filesz"]), int(h["p_memsz"]))
        if vaddr <= address < vaddr + size:
            start = off + address - vaddr
            stop = min(off + size, start + length, len(data))
            return data[start:stop]
    return None


def _sector_groups(device: FlashDevice) -> tuple[tuple[Sector, ...], list[str]]:
    """FLM (offset, size) pairs as StorageInfo (count, size) groups, and what does not fit."""
    out: list[Sector] = []
    warnings: list[str] = []
    pairs = list(device.sectors)
    if not pairs:
        return (), ["the FlashDevice sector list is empty: nothing can be erased"]
    for j, (off, size) in enumerate(pairs):
        end = pairs[j + 1][0] if j + 1 < len(pairs) else device.size
        if size == 0 or end <= off:
            warnings.append(
                f"sector group {j} (offset 0x{off:X}, size 0x{size:X}) is empty or out of order"
            )
            continue
        if size < device.page_size:
            warnings.append(
                f"sector group {j} has 0x{size:X}-byte sectors, smaller than the "
                f"{device.page_size}-byte page"
            )
        count, rest = divmod(end - off, size)
        if rest:
            warnings.append(
                f"sector group {j} (offset 0x{off:X}) spans 0x{end - off:X} bytes, not a "
                f"multiple of its sector size 0x{size:X}"
            )
        if count:
            out.append(Sector(count, size))
    return tuple(out), warnings


def metadata_warnings(flm: Flm, code_size: int) -> list[str]:
    """What Keil MDK or pyOCD would stumble over in the FlashDevice table and the functions."""
    dev = flm.device
    out: list[str] = []
    if dev.version >> 8 != FLASH_DRV_VERS >> 8:
        out.append(f"FlashDevice.Vers 0x{dev.version:04X} is not a 1.xx driver version (0x0101)")
    if not dev.name:
        out.append("FlashDevice.DevName is empty")
    if dev.dev_type not in TYPE_AS_STLDR:
        out.append(f"FlashDevice.DevType {dev.dev_type} is not a known device type (1..5)")
    if dev.size == 0:
        out.append("FlashDevice.szDev is 0")
    page = dev.page_size
    if page & (page - 1) or not MIN_PAGE <= page <= MAX_PAGE:
        out.append(f"szPage {page} is not a power of two between {MIN_PAGE} B and 64 KiB")
    if dev.empty not in (0x00, 0xFF):
        out.append(f"valEmpty 0x{dev.empty:02X} is neither 0xFF nor 0x00")
    if dev.prog_timeout_ms == 0 or dev.erase_timeout_ms == 0:
        out.append(
            f"toProg {dev.prog_timeout_ms} ms / toErase {dev.erase_timeout_ms} ms: a zero "
            "timeout makes Keil MDK fail every call"
        )
    if not any(lo <= dev.start < hi for lo, hi, _ in PLAUSIBLE_WINDOWS):
        out.append(
            f"DevAdr 0x{dev.start:08X} lies outside every memory window an STM32 maps flash at"
        )
    for name, address in sorted(flm.algo_functions.items()):
        offset = address - flm.code_start
        if not 0 <= offset < code_size:
            out.append(
                f"{name} at offset 0x{offset:X} lies outside PrgCode (0x{code_size:X} bytes)"
            )
    return out


def _toolchain(elf: ELFFile) -> str:
    symtab = elf.get_section_by_name(".symtab")
    if symtab is not None and hasattr(symtab, "iter_symbols"):
        if any(s.name.startswith("BuildAttributes$$") for s in symtab.iter_symbols()):
            return "keil"
    comment = elf.get_section_by_name(".comment")
    if comment is not None and comment["sh_type"] != "SHT_NOBITS":
        text = bytes(comment.data()[:65536]).decode("latin-1")
        if "GCC" in text:
            return "gcc"
        if "ARM Compiler" in text or "armlink" in text.lower():
            return "keil"
    return "unknown"


def default_ram(part: Part) -> MemoryRegion:
    """The RAM pyOCD runs an algorithm in: the pack's default RAM, the one at the start of the
    Cortex-M SRAM region (0x20000000) on STM32 parts; else the largest region."""
    regions = list(part.ram)
    if not regions:
        raise LayoutError(f"{part.name} has no RAM to run a flash algorithm in")
    for region in regions:
        if region.base == SRAM_REGION:
            return region
    return max(regions, key=lambda r: r.size)


def pyocd_load_address(flm: Flm, region: MemoryRegion) -> int:
    """pyOCD's `load_address` in `region`: the header and blob end at the region's top."""
    words = -(-(HEADER_SIZE + flm.algo_size) // 4)
    return (region.end & ~3) - 4 * words


def place(flm: Flm, part: Part) -> Flm:
    """`flm` placed as pyOCD places it on `part`; LayoutError when the region is too small."""
    region = default_ram(part)
    address = pyocd_load_address(flm, region)
    page = max(1, flm.device.page_size)
    stack = (address - page) // PAGE_BUFFER_ALIGN * PAGE_BUFFER_ALIGN - region.base
    if address < region.base or stack < MIN_STACK:
        raise LayoutError(
            f"{flm.path}: the algorithm ({HEADER_SIZE + flm.algo_size:,} bytes), a "
            f"{page}-byte page buffer and a {MIN_STACK}-byte stack do not fit in "
            f"{region.name} [0x{region.base:08X}, 0x{region.end:08X}) of {part.name}",
            hint="pyOCD places the algorithm at the top of the default RAM; this one is too big",
        )
    return flm.at(address)


__all__ = [
    "ALGO_FUNCTIONS",
    "FLASH_DEVICE_SIZE",
    "ROLE",
    "ROLE_TO_ALGO",
    "FlashDevice",
    "Flm",
    "default_ram",
    "parse",
    "place",
    "pyocd_load_address",
]
