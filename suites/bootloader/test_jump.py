"""Bootloader entry from application code: the correct jump answers, each classic mistake is
caught and named, and the three entry methods (pin, jump, option bytes) all reach the ROM.

The application images are the committed test firmware (firmware/<part>/jump_*.bin, one per
family, built from firmware/src/jump.c). They are programmed through the FLASH registers, so
the same steps run on simulated and real boards; only naming *why* a jump failed needs the
simulator (its ROM records what the core looked like at the jump: `sim_only`).
"""

from __future__ import annotations

from typing import Any

import pytest

from stm32_hil.flows.bootloader_entry import BootloaderEntryError, enter_bootloader
from stm32_hil.flows.internal_flash import internal_flash
from stm32_hil.report import attach_text, step
from stm32_hil.target import Target
from stm32_hil.target.base import Capability, Pin, ResetKind
from stm32_hil_suites import FIRMWARE

# Our jump test firmware exists for G0 and H7 (firmware/).
pytestmark = [pytest.mark.needs("uart"), pytest.mark.family("g0", "h7")]

FIRMWARE_DIRS = {"g0": "g071", "h7": "h743"}  # one build per family, linked for its smallest RAM
G0_FLASH_ACR = 0x40022000
G0_ACR_EMPTY = 1 << 16
MISTAKES = {
    # program: words the report must contain
    "jump_primask": "PRIMASK was set at the jump -- re-enable interrupts",
    "jump_systick": "SysTick was left running with its interrupt enabled",
    "jump_nosyscfg": "the SYSCFG clock was off when MEM_MODE=01 was written",
    "jump_base": "jumped to the system-memory base 0x1FF00000 instead of the bootloader entry",
}
FAMILY_OF = {"jump_nosyscfg": "g0", "jump_base": "h7"}


def load_application(target: Target, program: str) -> None:
    """Program firmware/<family>/<program>.bin at the flash base and start it (BOOT0 low)."""
    family = target.part.family
    if family not in FIRMWARE_DIRS:
        pytest.skip(f"no test firmware built for family {family}")
    image = (FIRMWARE / FIRMWARE_DIRS[family] / f"{program}.bin").read_bytes()
    base = target.part.flash.base
    with step(f"program {program} ({len(image)} bytes) and start it"):
        flash = internal_flash(target)
        flash.erase(base, len(image))
        flash.program(base, image)
        if family == "g0":
            # The empty flag was sampled at power-on: clear it, as programming tools do, so a
            # reset starts the new image instead of the bootloader.
            acr = target.read32(G0_FLASH_ACR)
            target.write32(G0_FLASH_ACR, acr & ~G0_ACR_EMPTY)
        if target.has(Capability.BOOT0):
            target.set_pin(Pin.BOOT0, False)
        target.reset(ResetKind.PIN)


def _skip_other_family(target: Target, program: str) -> None:
    family = FAMILY_OF.get(program)
    if family is not None and target.part.family != family:
        pytest.skip(f"{program} is a {family} mistake")


@pytest.mark.destructive
def test_correct_jump_answers_0x7f_with_ack(target: Target) -> None:
    load_application(target, "jump_ok")
    with enter_bootloader(target, "jump") as session:
        info = session.bootloader.info
        assert info is not None and info.id.pid == target.part.pid
        assert info.get.version == target.part.bootloader.version
        vectors = session.bootloader.read_memory(target.part.flash.base, 8)
        assert vectors == (FIRMWARE / FIRMWARE_DIRS[target.part.family] / "jump_ok.bin"
                           ).read_bytes()[:8]  # fmt: skip


@pytest.mark.destructive
@pytest.mark.parametrize("program", sorted(MISTAKES))
def test_jump_mistake_leaves_the_bootloader_silent(target: Target, program: str) -> None:
    _skip_other_family(target, program)
    load_application(target, program)
    with (
        pytest.raises(BootloaderEntryError, match="did not ACK 0x7F after entry by jump") as err,
        enter_bootloader(target, "jump"),
    ):
        pass
    attach_text("entry failure", str(err.value))


@pytest.mark.sim_only
@pytest.mark.destructive
@pytest.mark.parametrize("program", sorted(MISTAKES))
def test_jump_mistake_is_named(target: Target, sim_board: Any, program: str) -> None:
    _skip_other_family(target, program)
    load_application(target, program)
    with step("send the trigger; the application jumps"), target.open_uart() as port:
        port.write(b"B")
        target.delay(0.01)
        assert b"jumping to the bootloader" in port.read(port.in_waiting or 1)
    report = sim_board.bootrom_entry_report
    assert report is not None and not report.answers
    attach_text("bootloader entry report", report.table())
    assert MISTAKES[program] in report.describe()
    assert [c.name for c in report.problems] == [
        {"jump_primask": "primask", "jump_systick": "systick", "jump_nosyscfg": "remap",
         "jump_base": "vector"}[program]
    ]  # fmt: skip


@pytest.mark.destructive
@pytest.mark.needs("boot0")
def test_entry_by_boot0_pin(target: Target) -> None:
    load_application(target, "jump_ok")
    with enter_bootloader(target, "pin") as session:
        assert session.bootloader.get_id().pid == target.part.pid
        assert "BOOT0 pin" in session.changed
    assert target.get_pin(Pin.BOOT0) is False


@pytest.mark.destructive
def test_entry_by_option_bytes_restores_them(target: Target, safety: Any) -> None:
    from stm32_hil.flows.option_bytes import read_option_bytes

    load_application(target, "jump_ok")
    before = read_option_bytes(target)
    with enter_bootloader(target, "option_bytes", safety=safety) as session:
        assert session.bootloader.get_id().pid == target.part.pid
        assert read_option_bytes(target).diff(before)  # changed while inside
    assert not read_option_bytes(target).diff(before)
