"""Reloading a loader costs virtual time on the simulator, as the download does on silicon."""

from __future__ import annotations

from types import SimpleNamespace

from stm32_hil.sim.clock import Clock
from stm32_hil.stldr.runner import DEBUG_PORT_BYTES_PER_S, LoaderRunner


def test_debug_port_transfer_advances_the_virtual_clock() -> None:
    clock = Clock(64_000_000)
    fake = SimpleNamespace(target=SimpleNamespace(sim=SimpleNamespace(clock=clock)))
    LoaderRunner._debug_port_time(fake, 0x10000)  # type: ignore[arg-type]
    assert clock.now == 0x10000 * clock.hz // DEBUG_PORT_BYTES_PER_S
    # 64 KiB take longer than a 40 ms status-register write: the flash is idle at the next call.
    assert clock.now / clock.hz > 0.040
