"""enter_bootloader: pin, jump and option-byte entry on simulated targets, and what it restores."""

from __future__ import annotations

import pytest
from jumpfw import FAMILIES, running_target

from stm32_hil.errors import CapabilityError, ConfigError
from stm32_hil.flows.bootloader_entry import BootloaderEntryError, enter_bootloader
from stm32_hil.flows.option_bytes import read_option_bytes
from stm32_hil.sim.target import SimTarget
from stm32_hil.target.base import Capability, HaltReason, Pin


class NoBoot0(SimTarget):
    def capabilities(self) -> frozenset[Capability]:
        return super().capabilities() - {Capability.BOOT0}


@pytest.mark.parametrize("family", FAMILIES)
def test_jump_entry_answers_and_leaves_the_application_running(family: str) -> None:
    target = running_target(family, "jump_ok")
    with enter_bootloader(target, "jump") as session:
        assert session.bootloader.info is not None
        assert session.bootloader.info.id.pid == target.part.pid
        assert session.changed == []
        assert target.board.core.halt_reason is HaltReason.BOOTROM
    assert not target.board.bootrom.active  # reset on exit: the application runs again
    assert not target.board.core.halted


def test_jump_mistake_raises_with_the_reason() -> None:
    target = running_target("g0", "jump_primask")
    with pytest.raises(BootloaderEntryError) as err, enter_bootloader(target, "jump"):
        pass
    text = str(err.value)
    assert "did not ACK 0x7F after entry by jump: no answer" in text
    assert "PRIMASK was set at the jump" in text
    assert "re-enable interrupts" in text  # the hint says what the application must do


@pytest.mark.parametrize("family", FAMILIES)
def test_pin_entry_restores_boot0_and_g0_boot_selection(family: str) -> None:
    target = running_target(family, "jump_ok")
    before = read_option_bytes(target)
    with enter_bootloader(target, "pin") as session:
        assert target.get_pin(Pin.BOOT0) is True
        assert session.bootloader.get_id().pid == target.part.pid
        if family == "g0":  # factory nBOOT_SEL=1 ignores the pin: the flow handed it over
            assert read_option_bytes(target).n_boot_sel == 0  # type: ignore[attr-defined]
            assert session.changed == ["option bytes", "BOOT0 pin"]
    assert target.get_pin(Pin.BOOT0) is False
    assert not read_option_bytes(target).diff(before)


@pytest.mark.parametrize("family", FAMILIES)
def test_option_byte_entry_restores_the_option_bytes(family: str) -> None:
    target = running_target(family, "jump_ok")
    before = read_option_bytes(target)
    with enter_bootloader(target, "option_bytes") as session:
        assert session.bootloader.get_id().pid == target.part.pid
        assert read_option_bytes(target).diff(before)
    assert not read_option_bytes(target).diff(before)
    assert not target.board.bootrom.active


def test_pin_entry_without_boot0_names_the_capability() -> None:
    plain = running_target("g0", "jump_ok")
    target = NoBoot0(plain.spec, board=plain.board)
    with (
        pytest.raises(CapabilityError, match="no capability 'boot0'"),
        enter_bootloader(target, "pin"),
    ):
        pass


def test_unknown_method_is_a_config_error() -> None:
    target = running_target("g0", "jump_ok")
    with (
        pytest.raises(ConfigError, match="use pin, jump, option_bytes"),
        enter_bootloader(target, "dfu"),
    ):
        pass
