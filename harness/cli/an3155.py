"""`hil an3155 ...`: talk to a system bootloader on any port (tty, rfc2217://, sim://board)."""

from __future__ import annotations

import termios
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import serial
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

from stm32_hil.an3155 import Bootloader, read_image, verify_image, write_image
from stm32_hil.an3155.framing import Command
from stm32_hil.cli.console import make_console, progress_console, progress_disabled
from stm32_hil.errors import ConfigError, SafetyError

console = make_console()


def _open(port: str, baud: int) -> serial.SerialBase:
    if port.startswith("sim://"):
        import stm32_hil.sim.links.serial_link  # noqa: F401 - registers the sim:// scheme
    try:
        ser = serial.serial_for_url(port, baudrate=baud, parity=serial.PARITY_EVEN, timeout=0.5)
    except (serial.SerialException, ValueError) as exc:
        raise ConfigError(f"cannot open {port}: {exc}", hint="check the port name/URL") from None
    if not _keeps_parity(ser):
        # A pseudo-terminal (e.g. `hil sim serve --pty`) drops PARENB and then refuses to be
        # set to even parity again. Parity does not exist on a pty's "wire": 8N1 carries the
        # same bytes, and the far end (a served board) treats the line as matched.
        ser.parity = serial.PARITY_NONE
        console.print(f"note: {port} cannot carry parity (a pseudo-terminal?); using 8N1")
    return ser


def _keeps_parity(ser: serial.SerialBase) -> bool:
    """Whether a tty kept the even parity it was opened with (a URL port always does)."""
    try:
        fd = ser.fileno()
    except (AttributeError, serial.SerialException, OSError, ValueError):
        return True
    if not isinstance(fd, int):
        return True
    try:
        return bool(termios.tcgetattr(fd)[2] & termios.PARENB)
    except termios.error:
        return True


@contextmanager
def _session(port: str, baud: int) -> Iterator[Bootloader]:
    ser = _open(port, baud)
    try:
        bl = Bootloader(ser)
        bl.sync()
        bl.identify()
        yield bl
    finally:
        ser.close()


@contextmanager
def _bar(label: str, total: int) -> Iterator[Callable[[int, int], None]]:
    """A transfer bar on stderr, drawn only on a terminal (piped stdout stays clean)."""
    bars = progress_console()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=bars,
        transient=False,
        disable=progress_disabled(bars),
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda done, _total: progress.update(task, completed=done)


class _IntType(click.ParamType):
    """Integers in any base Python accepts (0x08000000, 4096, 0o17)."""

    name = "integer"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int):
            return value
        try:
            return int(str(value), 0)
        except ValueError:
            self.fail(f"{value!r} is not an integer (0x.. for hex)", param, ctx)


_int = _IntType()


def _retried(retries: int) -> str:
    return f" ({retries} exchange(s) repeated after line errors)" if retries else ""


port_option = click.option(
    "--port", "-p", required=True, help="tty, rfc2217://, socket:// or sim://BOARD"
)
baud_option = click.option("--baud", "-b", default=115200, show_default=True)


@click.group()
def an3155() -> None:
    """STM32 system bootloader (AN3155) over a serial port."""


@an3155.command()
@port_option
@baud_option
def info(port: str, baud: int) -> None:
    """Identify the part: bootloader version, command set, product ID."""
    with _session(port, baud) as bl:
        assert bl.info is not None
        table = Table(title=f"bootloader on {port}")
        table.add_column("field")
        table.add_column("value")
        table.add_row("product ID", bl.info.id.pid_hex)
        table.add_row(
            "bootloader version", f"0x{bl.info.get.version:02X} ({bl.info.get.version_str})"
        )
        table.add_row(
            "option bytes", f"0x{bl.info.version.option1:02X} 0x{bl.info.version.option2:02X}"
        )
        table.add_row("commands", ", ".join(Command.describe(c) for c in bl.info.get.commands))
        console.print(table)


@an3155.command()
@port_option
@baud_option
@click.option("--address", "-a", type=_int, default=0x08000000, show_default=True)
@click.option("--length", "-l", type=_int, required=True)
@click.option(
    "--confirm", is_flag=True, help="read every frame until three reads agree (noisy lines)"
)
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
def read(port: str, baud: int, address: int, length: int, confirm: bool, output: Path) -> None:
    """Read LENGTH bytes at ADDRESS into OUTPUT."""
    with _session(port, baud) as bl, _bar("read", length) as progress:
        data = read_image(bl, address, length, progress, confirm=confirm)
    output.write_bytes(data)
    console.print(f"{len(data)} bytes from 0x{address:08X} -> {output}{_retried(data.retries)}")


@an3155.command()
@port_option
@baud_option
@click.option("--address", "-a", type=_int, default=0x08000000, show_default=True)
@click.option("--erase/--no-erase", default=True, help="erase the covered pages first")
@click.option("--page-size", type=_int, default=None, help="page/sector size for --erase")
@click.option("--verify/--no-verify", default=True)
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def write(
    port: str,
    baud: int,
    address: int,
    erase: bool,
    page_size: int | None,
    verify: bool,
    image: Path,
) -> None:
    """Write IMAGE at ADDRESS (erasing and verifying by default)."""
    data = image.read_bytes()
    with _session(port, baud) as bl:
        if erase:
            if page_size is None:
                from stm32_hil.parts import all_parts

                sizes = {
                    p.flash.page_size
                    for p in all_parts().values()
                    if bl.info is not None and p.pid == bl.info.id.pid
                }
                if len(sizes) != 1:
                    raise ConfigError("cannot tell the page size", hint="pass --page-size")
                page_size = sizes.pop()
            first = (address - 0x08000000) // page_size
            last = (address + len(data) - 1 - 0x08000000) // page_size
            bl.erase_pages(list(range(first, last + 1)))
        with _bar("write", len(data)) as progress:
            result = write_image(bl, address, data, progress)
        retries = result.retries
        if verify:
            with _bar("verify", len(data)) as progress:
                retries += verify_image(bl, address, data, progress, confirm=True).retries
    console.print(
        f"{len(data)} bytes written at 0x{address:08X}"
        + (", verified" if verify else "")
        + _retried(retries)
    )


@an3155.command()
@port_option
@baud_option
@click.argument("address", type=_int)
def go(port: str, baud: int, address: int) -> None:
    """Start the code whose vector table is at ADDRESS (MSP from it, PC from ADDRESS + 4)."""
    with _session(port, baud) as bl:
        bl.go(address)
    console.print(f"started the code at 0x{address:08X}; the bootloader no longer answers")


@an3155.command()
@port_option
@baud_option
@click.option("--page", "pages", type=_int, multiple=True, help="page/sector (repeatable)")
@click.option("--bank", type=click.IntRange(1, 2), default=None)
@click.option("--mass", is_flag=True, help="erase the whole flash")
def erase(port: str, baud: int, pages: tuple[int, ...], bank: int | None, mass: bool) -> None:
    """Erase pages, a bank, or everything."""
    if sum((bool(pages), bank is not None, mass)) != 1:
        raise ConfigError("choose exactly one of --page, --bank, --mass")
    with _session(port, baud) as bl:
        if mass:
            bl.mass_erase()
        elif bank is not None:
            bl.erase_bank(bank)
        else:
            bl.erase_pages(list(pages))
    console.print("erased")


@an3155.command()
@port_option
@baud_option
@click.option("--readout", is_flag=True, help="readout protection (RDP level 1)")
@click.option("--sector", "sectors", type=_int, multiple=True, help="write-protect sector")
@click.option("--yes", is_flag=True, help="confirm: option bytes change and the part resets")
def protect(port: str, baud: int, readout: bool, sectors: tuple[int, ...], yes: bool) -> None:
    """Readout-protect the part, or write-protect sectors. The part resets afterwards."""
    if not (readout or sectors):
        raise ConfigError("give --readout or --sector N")
    if not yes and not port.startswith("sim://"):
        raise SafetyError("protection changes option bytes", hint="add --yes to confirm")
    with _session(port, baud) as bl:
        if readout:
            bl.readout_protect()
        else:
            bl.write_protect(list(sectors))
    console.print("protected; the part has reset")


@an3155.command()
@port_option
@baud_option
@click.option("--readout", is_flag=True, help="readout unprotect: MASS-ERASES the flash")
@click.option("--write", "write_", is_flag=True, help="remove write protection")
@click.option("--yes", is_flag=True, help="confirm the mass erase / option change")
def unprotect(port: str, baud: int, readout: bool, write_: bool, yes: bool) -> None:
    """Remove readout protection (erases all flash) or write protection."""
    if readout == write_:
        raise ConfigError("give exactly one of --readout or --write")
    if not yes and not port.startswith("sim://"):
        raise SafetyError("unprotect changes option bytes", hint="add --yes to confirm")
    with _session(port, baud) as bl:
        if readout:
            bl.readout_unprotect()
        else:
            bl.write_unprotect()
    console.print("unprotected; the part has reset")
