"""KEYR/OPTKEYR unlock sequences and their lock-out after a wrong key (RM0444 3.3.6)."""

from __future__ import annotations

import sys

import pytest

from stm32_hil.errors import BusFault
from stm32_hil.target.base import ResetKind

g0 = sys.modules["sim_g0_host"]  # loaded by conftest.py


def test_reset_state_is_locked(host):
    assert host.cr & (g0.CR_LOCK | g0.CR_OPTLOCK) == g0.CR_LOCK | g0.CR_OPTLOCK


def test_key_sequence_unlocks_and_lock_bit_relocks(host):
    host.unlock()
    assert not host.cr & g0.CR_LOCK
    assert host.cr & g0.CR_OPTLOCK
    host.lock()
    assert host.cr & g0.CR_LOCK


def test_cr_writes_ignored_while_locked(host):
    host.set_reg(g0.CR, g0.CR_PG)
    assert not host.cr & g0.CR_PG


def test_wrong_key_locks_until_reset(host):
    k1 = host.board.part.flash_keys[0]
    with pytest.raises(BusFault, match="wrong flash key"):
        host.set_reg(g0.KEYR, 0x12345678)
    with pytest.raises(BusFault, match="until the next reset"):
        host.set_reg(g0.KEYR, k1)
    assert host.cr & g0.CR_LOCK
    host.board.reset(ResetKind.SYSTEM)
    host.unlock()
    assert not host.cr & g0.CR_LOCK


def test_keys_in_wrong_order_lock(host):
    k2 = host.board.part.flash_keys[1]
    with pytest.raises(BusFault):
        host.set_reg(g0.KEYR, k2)
    with pytest.raises(BusFault):
        host.unlock()
    assert host.cr & g0.CR_LOCK


def test_option_keys_need_cr_unlocked(host):
    o1, o2 = host.board.part.option_keys
    host.set_reg(g0.OPTKEYR, o1)
    host.set_reg(g0.OPTKEYR, o2)
    assert host.cr & g0.CR_OPTLOCK
    host.unlock_options()
    assert not host.cr & g0.CR_OPTLOCK


def test_wrong_option_key_locks_options_until_reset(host):
    host.unlock()
    with pytest.raises(BusFault, match="wrong option key"):
        host.set_reg(g0.OPTKEYR, 0)
    with pytest.raises(BusFault):
        host.unlock_options()
    assert host.cr & g0.CR_OPTLOCK
    host.board.reset(ResetKind.PIN)
    host.unlock_options()
    assert not host.cr & g0.CR_OPTLOCK


def test_option_registers_ignore_writes_while_optlock(host):
    offset = host.opt_offset("OPTR")
    before = host.reg(offset)
    host.unlock()
    host.set_reg(offset, 0)
    assert host.reg(offset) == before
