"""Data for each supported NOR chip: IDs, geometry, typical timings and its command table.

Sources: Winbond W25Q32JV/W25Q64FV/W25Q128FV, Micron MT25QL512ABB/N25Q128A/MT25TL01G,
Macronix MX25L51245G/MX25R6435F/MX25LM51245G datasheets. Times are the datasheets' typical
values in seconds; the chip is busy that long in virtual time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from stm32_hil.errors import ConfigError
from stm32_hil.sim.memories.nor.commands import Command, Kind, table

K = 1024
M = K * K


@dataclass(frozen=True)
class ChipSpec:
    name: str
    vendor: str
    jedec_id: bytes
    size: int
    commands: dict[int, Command]
    timing: dict[str, float]  # page_program, erase_4k, erase_32k, erase_64k, chip_erase, write_sr
    qe: tuple[str, int] | None  # register and bit of Quad Enable; None = quad always available
    registers: dict[str, int] = field(default_factory=dict)  # reset (factory) values
    status_reg: str = "SR1"  # register holding WIP (bit 0) and WEL (bit 1)
    flag_status: bool = False  # Micron flag status register (bit 7 = ready)
    octal: bool = False  # Macronix OPI via configuration register 2
    page_size: int = 256
    mfr_dev: bytes = b""  # answer to 0x90

    @property
    def four_byte_capable(self) -> bool:
        return self.size > 16 * M


# -- shared rows ---------------------------------------------------------------------------
def _core_rows() -> list[Command]:
    return [
        Command(0x06, Kind.WREN, qpi_dummy=0),
        Command(0x04, Kind.WRDI, qpi_dummy=0),
        Command(0x05, Kind.READ_REG, regs=("SR1",), qpi_dummy=0),
        Command(0x9F, Kind.READ_ID),
        Command(0x03, Kind.READ, addr_bytes=3),
        Command(0x0B, Kind.READ, addr_bytes=3, dummy=8, qpi_dummy=2),
        Command(0x3B, Kind.READ, addr_bytes=3, data_lines=2, dummy=8),
        Command(0x6B, Kind.READ, addr_bytes=3, data_lines=4, dummy=8, needs_qe=True),
        Command(0xBB, Kind.READ, addr_bytes=3, addr_lines=2, data_lines=2, mode_byte=True),
        Command(
            0xEB,
            Kind.READ,
            addr_bytes=3,
            addr_lines=4,
            data_lines=4,
            mode_byte=True,
            dummy=4,
            qpi_dummy=4,
            needs_qe=True,
        ),
        Command(0x02, Kind.PROGRAM, addr_bytes=3, needs_wel=True, qpi_dummy=0),
        Command(0x20, Kind.ERASE, addr_bytes=3, size=4 * K, needs_wel=True, qpi_dummy=0),
        Command(0x52, Kind.ERASE, addr_bytes=3, size=32 * K, needs_wel=True, qpi_dummy=0),
        Command(0xD8, Kind.ERASE, addr_bytes=3, size=64 * K, needs_wel=True, qpi_dummy=0),
        Command(0xC7, Kind.CHIP_ERASE, needs_wel=True, qpi_dummy=0),
        Command(0x60, Kind.CHIP_ERASE, needs_wel=True, qpi_dummy=0),
        Command(0x66, Kind.RESET_ENABLE, qpi_dummy=0),
        Command(0x99, Kind.RESET, qpi_dummy=0),
    ]


def _four_byte_rows(*, wel: bool) -> list[Command]:
    return [
        Command(0xB7, Kind.ENTER_4B, needs_wel=wel, qpi_dummy=0),
        Command(0xE9, Kind.EXIT_4B, needs_wel=wel, qpi_dummy=0),
        Command(0x13, Kind.READ, addr_bytes=4),
        Command(0x0C, Kind.READ, addr_bytes=4, dummy=8, qpi_dummy=10),
        Command(0x6C, Kind.READ, addr_bytes=4, data_lines=4, dummy=8, needs_qe=True),
        Command(
            0xEC,
            Kind.READ,
            addr_bytes=4,
            addr_lines=4,
            data_lines=4,
            mode_byte=True,
            dummy=4,
            qpi_dummy=4,
            needs_qe=True,
        ),
        Command(0x12, Kind.PROGRAM, addr_bytes=4, needs_wel=True, qpi_dummy=0),
        Command(0x34, Kind.PROGRAM, addr_bytes=4, data_lines=4, needs_wel=True, needs_qe=True),
        Command(0x21, Kind.ERASE, addr_bytes=4, size=4 * K, needs_wel=True, qpi_dummy=0),
        Command(0x5C, Kind.ERASE, addr_bytes=4, size=32 * K, needs_wel=True, qpi_dummy=0),
        Command(0xDC, Kind.ERASE, addr_bytes=4, size=64 * K, needs_wel=True, qpi_dummy=0),
    ]


# -- Winbond -------------------------------------------------------------------------------
def _winbond(name: str, capacity: int, size: int, chip_erase_s: float) -> ChipSpec:
    rows = [
        *_core_rows(),
        Command(0x35, Kind.READ_REG, regs=("SR2",), qpi_dummy=0),
        Command(0x15, Kind.READ_REG, regs=("SR3",), qpi_dummy=0),
        Command(0x01, Kind.WRITE_REG, regs=("SR1", "SR2"), needs_wel=True, qpi_dummy=0),
        Command(0x31, Kind.WRITE_REG, regs=("SR2",), needs_wel=True, qpi_dummy=0),
        Command(0x11, Kind.WRITE_REG, regs=("SR3",), needs_wel=True, qpi_dummy=0),
        Command(0x32, Kind.PROGRAM, addr_bytes=3, data_lines=4, needs_wel=True, needs_qe=True),
        Command(0x90, Kind.READ_MFR_DEV, addr_bytes=3),
        Command(0x4B, Kind.READ_UID, dummy=32),
        Command(0x38, Kind.ENTER_QPI, needs_qe=True),
        Command(0xFF, Kind.EXIT_QPI, qpi_dummy=0),
        Command(0x9F, Kind.READ_ID, qpi_dummy=0),
        # Set Read Parameters: one data byte in QPI mode, P[5:4] = dummy clocks of QPI reads,
        # P[1:0] = wrap length; volatile, no WREN needed, back to 00 on reset. Shortcut: the
        # chip also accepts it in SPI mode, where the datasheet lists no C0h.
        Command(0xC0, Kind.WRITE_REG, regs=("RP",), volatile=True, qpi_dummy=0),
    ]
    if size > 16 * M:
        rows += [Command(0xB7, Kind.ENTER_4B, qpi_dummy=0), Command(0xE9, Kind.EXIT_4B)]
    return ChipSpec(
        name=name,
        vendor="winbond",
        jedec_id=bytes([0xEF, 0x40, capacity]),
        size=size,
        commands=table(*rows),
        timing={
            "page_program": 0.4e-3,
            "erase_4k": 45e-3,
            "erase_32k": 120e-3,
            "erase_64k": 150e-3,
            "chip_erase": chip_erase_s,
            "write_sr": 10e-3,
        },
        qe=("SR2", 1),
        registers={"SR1": 0x00, "SR2": 0x02, "SR3": 0x60, "RP": 0x00},
        mfr_dev=bytes([0xEF, capacity - 0x01]),
    )


# -- Micron --------------------------------------------------------------------------------
def _micron(name: str, jedec: bytes, size: int, timing: dict[str, float]) -> ChipSpec:
    rows = [
        *_core_rows(),
        *(_four_byte_rows(wel=True) if size > 16 * M else []),
        Command(0x70, Kind.READ_REG, regs=("FSR",), qpi_dummy=0),
        Command(0x50, Kind.CLEAR_FLAGS, qpi_dummy=0),
        Command(0x01, Kind.WRITE_REG, regs=("SR1",), needs_wel=True, qpi_dummy=0),
        Command(0xB5, Kind.READ_REG, regs=("NVCR_L", "NVCR_H"), qpi_dummy=0),
        Command(0xB1, Kind.WRITE_REG, regs=("NVCR_L", "NVCR_H"), needs_wel=True, qpi_dummy=0),
        Command(0x85, Kind.READ_REG, regs=("VCR",), qpi_dummy=0),
        Command(0x81, Kind.WRITE_REG, regs=("VCR",), needs_wel=True, volatile=True, qpi_dummy=0),
        Command(0x65, Kind.READ_REG, regs=("EVCR",), qpi_dummy=0),
        Command(0x61, Kind.WRITE_REG, regs=("EVCR",), needs_wel=True, volatile=True, qpi_dummy=0),
        # Extended SPI quad modes: 1-1-4 and 1-4-4 program, 1-4-4 read with 10 dummy cycles.
        Command(0x32, Kind.PROGRAM, addr_bytes=3, data_lines=4, needs_wel=True),
        Command(0x38, Kind.PROGRAM, addr_bytes=3, addr_lines=4, data_lines=4, needs_wel=True),
        Command(0x6B, Kind.READ, addr_bytes=3, data_lines=4, dummy=8),
        Command(0xEB, Kind.READ, addr_bytes=3, addr_lines=4, data_lines=4, dummy=10, qpi_dummy=10),
        Command(0x0B, Kind.READ, addr_bytes=3, dummy=8, qpi_dummy=10),
        Command(0x35, Kind.ENTER_QPI),
        Command(0xF5, Kind.EXIT_QPI, qpi_dummy=0),
        Command(0xAF, Kind.READ_ID, qpi_dummy=0),  # multiple I/O read ID (QIO mode)
    ]
    return ChipSpec(
        name=name,
        vendor="micron",
        jedec_id=jedec,
        size=size,
        commands=table(*rows),
        timing=timing,
        qe=None,
        flag_status=True,
        registers={
            "SR1": 0x00,
            "FSR": 0x80,
            "NVCR_L": 0xFF,
            "NVCR_H": 0xFF,
            "VCR": 0xFB,
            "EVCR": 0xDF,
        },
    )


# -- Macronix ------------------------------------------------------------------------------
def _macronix(
    name: str, jedec: bytes, size: int, timing: dict[str, float], *, octal: bool = False
) -> ChipSpec:
    rows = [
        *_core_rows(),
        *(_four_byte_rows(wel=False) if size > 16 * M else []),
        Command(0x15, Kind.READ_REG, regs=("CR",), qpi_dummy=0),
        Command(0x01, Kind.WRITE_REG, regs=("SR1", "CR"), needs_wel=True, qpi_dummy=0),
        Command(
            0x38,
            Kind.PROGRAM,
            addr_bytes=3,
            addr_lines=4,
            data_lines=4,
            needs_wel=True,
            needs_qe=True,
        ),  # 4PP
        Command(
            0xEB,
            Kind.READ,
            addr_bytes=3,
            addr_lines=4,
            data_lines=4,
            mode_byte=True,
            dummy=4,
            qpi_dummy=4,
            needs_qe=True,
        ),
        Command(0x35, Kind.ENTER_QPI, needs_qe=True),  # EQIO
        Command(0xF5, Kind.EXIT_QPI, qpi_dummy=0),  # RSTQIO
        Command(0xAF, Kind.READ_ID, qpi_dummy=0),  # QPIID
    ]
    if octal:
        rows += [
            Command(0x71, Kind.READ_REG, addr_bytes=4, regs=("CR2",), qpi_dummy=0),
            Command(
                0x72,
                Kind.WRITE_REG,
                addr_bytes=4,
                regs=("CR2",),
                needs_wel=True,
                volatile=True,
                qpi_dummy=0,
            ),
            Command(
                0xEC,
                Kind.READ,
                addr_bytes=4,
                addr_lines=4,
                data_lines=4,
                mode_byte=True,
                dummy=4,
                qpi_dummy=20,
                needs_qe=True,
            ),
        ]
    return ChipSpec(
        name=name,
        vendor="macronix",
        jedec_id=jedec,
        size=size,
        commands=table(*rows),
        timing=timing,
        qe=("SR1", 6),
        octal=octal,
        registers={"SR1": 0x00, "CR": 0x00, "CR2": 0x00},
    )


_MT25QL512_T = {
    "page_program": 0.12e-3,
    "erase_4k": 50e-3,
    "erase_32k": 0.1,
    "erase_64k": 0.15,
    "chip_erase": 153.0,
    "write_sr": 1.3e-3,
}
_N25Q128_T = {
    "page_program": 0.5e-3,
    "erase_4k": 0.3,
    "erase_32k": 0.5,
    "erase_64k": 0.7,
    "chip_erase": 170.0,
    "write_sr": 1.3e-3,
}

CHIPS: dict[str, ChipSpec] = {
    spec.name: spec
    for spec in (
        _winbond("W25Q32", 0x16, 4 * M, 10.0),
        _winbond("W25Q64", 0x17, 8 * M, 20.0),
        _winbond("W25Q128", 0x18, 16 * M, 40.0),
        _micron("MT25QL512A", bytes([0x20, 0xBA, 0x20]), 64 * M, _MT25QL512_T),
        _micron("N25Q128A", bytes([0x20, 0xBA, 0x18]), 16 * M, _N25Q128_T),
        # One die of the twin-quad MT25TL01G: two of them sit on QUADSPI banks 1 and 2
        # in dual-flash mode (ID of each die: check).
        _micron("MT25TL01G", bytes([0x20, 0xBA, 0x20]), 64 * M, _MT25QL512_T),
        _macronix(
            "MX25L51245G",
            bytes([0xC2, 0x20, 0x1A]),
            64 * M,
            {
                "page_program": 0.15e-3,
                "erase_4k": 30e-3,
                "erase_32k": 0.15,
                "erase_64k": 0.28,
                "chip_erase": 150.0,
                "write_sr": 40e-3,
            },
        ),
        _macronix(
            "MX25R6435F",
            bytes([0xC2, 0x28, 0x17]),
            8 * M,
            {
                "page_program": 0.85e-3,
                "erase_4k": 40e-3,
                "erase_32k": 0.24,
                "erase_64k": 0.48,
                "chip_erase": 50.0,
                "write_sr": 10e-3,
            },
        ),
        # ISSI IS25LP: Macronix-compatible register set (QE = SR bit 6, 4PP 38h, QPI 35h/F5h,
        # QPIID AFh); JEDEC ID and typical timings from the IS25LP128 datasheet (check).
        dataclasses.replace(
            _macronix(
                "IS25LP128",
                bytes([0x9D, 0x60, 0x18]),
                16 * M,
                {
                    "page_program": 0.2e-3,
                    "erase_4k": 70e-3,
                    "erase_32k": 0.1,
                    "erase_64k": 0.15,
                    "chip_erase": 45.0,
                    "write_sr": 2e-3,
                },
            ),
            vendor="issi",
        ),
        _macronix(
            "MX25LM51245G",
            bytes([0xC2, 0x85, 0x3A]),
            64 * M,
            {
                "page_program": 0.15e-3,
                "erase_4k": 25e-3,
                "erase_32k": 0.22,
                "erase_64k": 0.22,
                "chip_erase": 150.0,
                "write_sr": 40e-3,
            },
            octal=True,
        ),
    )
}


def chip_spec(name: str) -> ChipSpec:
    try:
        return CHIPS[name.upper()]
    except KeyError:
        raise ConfigError(
            f"unknown NOR flash chip {name!r}", hint="known: " + ", ".join(sorted(CHIPS))
        ) from None
