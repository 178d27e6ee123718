"""Read and write KiB/s through SPI NOR loaders on the simulator, next to an ST-LINK/V3.

Loaders: our own G071 (SPI1 with FIFO, GPIO chip select) and F411 (classic SPI1, hardware
NSS) builds of loaders/src/spi_loader.c on a W25Q16, and the bit-banged G0B0 loader of
`../shared/loaders` (MX25L6433F on GPIOA) when present. Each moves seeded random data (erase,
Write, Read back, compare); every byte on an SPI bus is several register accesses, and on the
bit-banged one some forty GPIO accesses. The reference is STM32CubeProgrammer's external-loader
transfer rate over an ST-LINK/V3 (0.13 MiB/s), which an SPI NOR at its own clock would not
exceed either.

    python3 bench/bench_spi_nor.py            # 64 KiB per SPI loader, 8 KiB bit-banged
    python3 bench/bench_spi_nor.py --short    # 16 KiB / 2 KiB

Prints figures; it does not pass or fail.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from stm32_hil.inventory import BoardSpec, ExternalFlashSpec
from stm32_hil.sim.target import SimTarget
from stm32_hil.stldr import load
from stm32_hil.stldr.runner import LoaderRunner

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "loaders"
STLINK_KIB_S = 0.13 * 1024
SPI_PINS = {"SCK": "PA5", "NCS": "PA4", "MOSI": "PA7", "MISO": "PA6"}
CASES = (
    ("G071 SPI1", ROOT / "loaders/good/spi_g071_w25q16.stldr", "STM32G071RB", "W25Q16", "SPI1",
     SPI_PINS, 1),
    ("F411 SPI1", ROOT / "loaders/good/spi_f411_w25q16.stldr", "STM32F411CE", "W25Q16", "SPI1",
     SPI_PINS, 1),
    ("G0B0 bit-banged", SHARED / "CLIVEONE-MX25L64_STM32G0B0-PA0-PA5-PA4-PA3.stldr",
     "STM32G0B0RE", "MX25L6433F", "GPIO",
     {"SCK": "PA0", "NCS": "PA5", "MOSI": "PA4", "MISO": "PA3"}, 8),
)  # fmt: skip


def run(size: int) -> None:
    print(f"{'loader':18} {'write KiB/s':>12} {'read KiB/s':>11} {'read / ST-LINK':>15}")
    for name, path, part, chip, bus, pins, divisor in CASES:
        if not path.exists():
            print(f"{name:18} (missing: {path})")
            continue
        flash = ExternalFlashSpec(chip=chip, bus=bus, pins=pins)
        target = SimTarget(BoardSpec(name="bench", part=part, backend="sim",
                                     external_flash=(flash,)))  # fmt: skip
        runner = LoaderRunner(target, load(path))
        n = size // divisor
        data = random.Random(0x5B1 + n).randbytes(n)
        base = runner.stldr.storage_info.start
        runner.sector_erase(base, base + n - 1)
        t0 = time.perf_counter()
        runner.write(base, data)
        t1 = time.perf_counter()
        back = runner.read(base, n)
        t2 = time.perf_counter()
        assert back == data, f"{name}: read-back differs"
        write, read = n / 1024 / (t1 - t0), n / 1024 / (t2 - t1)
        print(f"{name:18} {write:12.1f} {read:11.1f} {read / STLINK_KIB_S:14.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true")
    args = parser.parse_args()
    run(16 * 1024 if args.short else 64 * 1024)


if __name__ == "__main__":
    main()
