"""The native MMIO dispatcher: loaders run the same with it as without it, only faster.

The same seeded write runs through a loader twice, once with the native dispatcher and once
on the Python path; virtual time, the flash cells and the loader's results must be identical,
and the native run must have served the data-register loop without Python.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from stm32_hil.errors import HarnessError
from stm32_hil.inventory import BoardSpec, ExternalFlashSpec, Inventory
from stm32_hil.sim.bus import Access, Device
from stm32_hil.sim.cpu import native
from stm32_hil.sim.target import SimTarget
from stm32_hil.stldr import load
from stm32_hil.stldr.runner import LoaderRunner
from stm32_hil.target.base import HaltReason

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "loaders" / "good" / "h743_w25q128.stldr"


def _need_native() -> None:
    if native.library() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no C compiler: the native MMIO dispatcher cannot be built")
        pytest.skip("no C compiler for the native MMIO dispatcher")


def _h743(monkeypatch: pytest.MonkeyPatch, on: bool) -> tuple[SimTarget, Device]:
    """A NUCLEO-H743ZI with the native dispatcher on or off, and its QUADSPI."""
    monkeypatch.setenv("STM32_HIL_NATIVE", "1" if on else "0")
    target = SimTarget(Inventory.load().get("nucleo-h743zi"))
    return target, target.board.bus.device("QUADSPI")


def _board(part: str, chip: str) -> SimTarget:
    flash = (ExternalFlashSpec(chip=chip, bus="QUADSPI", bank=1),)
    return SimTarget(BoardSpec(name="native-test", part=part, backend="sim", external_flash=flash))


def _write_run(
    make: Callable[[], SimTarget], path: Path, size: int, monkeypatch: pytest.MonkeyPatch, on: bool
) -> tuple[int, bytes, list[tuple[str, int]], tuple[int, int]]:
    monkeypatch.setenv("STM32_HIL_NATIVE", "1" if on else "0")
    target = make()
    runner = LoaderRunner(target, load(path))
    start = runner.stldr.storage_info.start
    data = random.Random(0x5EED).randbytes(size)
    runner.sector_erase(start, start + size - 1)
    runner.write(start + 3, data)  # unaligned: the last bytes go one by one
    back = runner.read(start + 3, size)
    assert back == data
    cells = bytes(target.sim.external.read(0, size + 16))
    core = target.sim.core
    return target.sim.clock.now, cells, [(c.name, c.r0) for c in runner.calls], core.fast_accesses


XSPI_BOARDS = ROOT / "tests" / "nor" / "xspi_boards.toml"
OCTOSPI = {  # our loaders on OCTOSPI: octal DTR with DQS, and quad mode
    "h7b3_mx25lm51245g": "h7b3-mx25lm51245g",
    "u585_w25q32": "u585-w25q32",
}


@pytest.mark.parametrize(
    "case",
    ["ours", "st_f469_mt25ql.stldr", *OCTOSPI],
)
def test_loader_write_is_identical_with_and_without_the_native_dispatcher(
    case: str, monkeypatch: pytest.MonkeyPatch, shared_loader: Callable[[str], Path]
) -> None:
    _need_native()
    if case == "ours":
        path, size = GOOD, 0x3000

        def make() -> SimTarget:
            return SimTarget(Inventory.load().get("nucleo-h743zi"))
    elif case in OCTOSPI:
        path, size = ROOT / "loaders" / "good" / f"{case}.stldr", 0x3000

        def make() -> SimTarget:
            return SimTarget(Inventory.load(str(XSPI_BOARDS)).get(OCTOSPI[case]))
    else:
        path, size = shared_loader(case), 0x1800

        def make() -> SimTarget:
            return _board("STM32F469NI", "MT25QL512A")

    fast = _write_run(make, path, size, monkeypatch, on=True)
    slow = _write_run(make, path, size, monkeypatch, on=False)
    assert fast[0] == slow[0], "virtual time differs"
    assert fast[1] == slow[1], "flash cells differ"
    assert fast[2] == slow[2], "loader results differ"
    assert slow[3] == (0, 0)
    reads, writes = fast[3]
    assert writes >= size // 4 * 3 // 4, f"data register loop not served natively ({writes})"
    assert reads > 0


INDIRECT_READER = "CLIVEONE-MT25QL512A_STM32H7XX-PB2-PB6-PD11-PD12-PE2-PD13.stldr"


def test_indirect_reads_are_identical_with_and_without_the_native_dispatcher(
    monkeypatch: pytest.MonkeyPatch, shared_loader: Callable[[str], Path]
) -> None:
    """This loader reads through the QUADSPI FIFO in indirect mode, a DR read per byte: the
    native dispatcher serves them from bytes the model took ahead, and reports how many."""
    _need_native()
    path = shared_loader(INDIRECT_READER)
    size = 3 * 4096 + 1000  # past several published runs of the stream, and a partial one
    data = random.Random(0x1D1E).randbytes(size)
    runs = []
    for on in (True, False):
        monkeypatch.setenv("STM32_HIL_NATIVE", "1" if on else "0")
        target = _board("STM32H743ZI", "MT25QL512A")
        runner = LoaderRunner(target, load(path))
        start = runner.stldr.storage_info.start
        runner.sector_erase(start, start + size)
        runner.write(start + 3, data)
        before = target.sim.core.python_accesses[0]
        back = runner.read(start + 3, size)
        python_reads = target.sim.core.python_accesses[0] - before
        runs.append((back, target.sim.clock.now, [(c.name, c.r0) for c in runner.calls]))
        if on:
            # Init, the read command and one call per published run; one per byte before
            assert python_reads < size // 16, f"{python_reads} reads reached Python"
    assert runs[0][0] == data and runs[1][0] == data
    assert runs[0][1] == runs[1][1], "virtual time differs"
    assert runs[0][2] == runs[1][2], "loader results differ"


def test_a_python_error_inside_a_native_callback_reaches_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _need_native()
    target = SimTarget(Inventory.load().get("nucleo-h743zi"))
    block = target.sim.bus.find(0x52005000)  # QUADSPI registers
    assert block is not None

    def broken(offset: int, access: Access) -> int:
        raise RuntimeError("model bug")

    monkeypatch.setattr(block, "read_reg", broken)
    target.halt()
    target.write_memory(0x24000000, bytes.fromhex("0168fee7"))  # ldr r1, [r0]; b .
    target.write_core_register("r0", 0x52005000)
    target.write_core_register("pc", 0x24000000)
    target.resume()
    with pytest.raises(RuntimeError, match="model bug"):
        target.sim.run(1000)


def test_build_without_a_compiler_gives_the_python_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CC", "")
    monkeypatch.setattr(native, "_compiler", lambda: None)
    assert native.build(tmp_path) is None
    monkeypatch.setenv("STM32_HIL_NATIVE", "0")
    target = SimTarget(Inventory.load().get("nucleo-h743zi"))
    assert target.sim.core.fast_accesses == (0, 0)
    with pytest.raises(HarnessError):
        target.read32(0x5FFFFFF0)  # nothing mapped: typed error, as before


# str r1,[r0,#0x14] (CCR); ldr r2,[r0,#8] (SR); str r3,[r0,#0xC] (FCR); ldr r4,[r0,#8]; bkpt
FLAG_CLEAR = bytes.fromhex("4161 8268 c360 8468 00be")


@pytest.mark.parametrize("ftf_held_by_tcf", [True, False])
def test_a_flag_clear_and_the_status_read_after_it_need_no_python_call(
    monkeypatch: pytest.MonkeyPatch, ftf_held_by_tcf: bool
) -> None:
    """HAL's command sequence: a command without data sets TCF, FCR clears it, SR is read.
    The native dispatcher serves the clear and the read; both paths read the same SR values
    (in an indirect write, clearing TCF brings the FIFO-threshold flag back)."""
    _need_native()
    seen = []
    for on in (True, False):
        target, qspi = _h743(monkeypatch, on)
        monkeypatch.setattr(type(qspi), "FTF_STOPS_AT_TCF", ftf_held_by_tcf)
        ram = 0x24000000
        target.board.bus.write_block(ram, FLAG_CLEAR, Access.DEBUG)
        target.board.bus.write(qspi.base, 4, 1, Access.CPU)  # CR.EN
        core = target.board.core
        for name, value in dict(r0=qspi.base, r1=0x106, r3=2, pc=ram | 1).items():
            core.write_reg(name, value)  # CCR: instruction 0x06 on one line, nothing else
        before = core.python_accesses
        core.halted, core.halt_reason = False, HaltReason.NONE
        core.run(1_000)
        assert core.pc_now() == ram + 8  # at the bkpt
        after = core.python_accesses
        seen.append((core.read_reg("r2"), core.read_reg("r4")))
        if on:
            assert (after[0] - before[0], after[1] - before[1]) == (0, 1)  # the CCR write only
    assert seen[0] == seen[1]
    tcf_set, cleared = seen[0]
    assert tcf_set & 0x02 and not cleared & 0x02  # TCF, then cleared
    assert cleared & 0x04  # FTF: the FIFO is empty
    assert bool(tcf_set & 0x04) is not ftf_held_by_tcf


# str r1,[r0,#0x14] (CCR); str r2,[r0,#0x18] (AR); str r1,[r0,#0x14] (CCR again);
# str r3,[r0] (CR, as it is); strb r4,[r5] (DR); bkpt
PROGRAM_SETUP = bytes.fromhex("4161 8261 4161 0360 2c70 00be")


def test_rewrites_of_held_values_and_an_address_that_starts_nothing_need_no_python_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HAL's page-program sequence: CCR for a command that waits for its address and data,
    AR, CCR written again with the same value, CR rewritten as it is, then the data. Only the
    first CCR write and the data byte (which starts the command) call Python; both paths
    program the same byte and leave the same registers."""
    _need_native()
    seen = []
    for on in (True, False):
        target, qspi = _h743(monkeypatch, on)
        bus = target.board.bus
        bus.write(qspi.base, 4, 1, Access.CPU)  # CR.EN
        bus.write(qspi.base + 0x14, 4, 0x106, Access.CPU)  # write enable
        bus.write(qspi.base + 0x0C, 4, 0x1F, Access.CPU)  # FCR: its TCF cleared
        bus.write(qspi.base + 0x10, 4, 0, Access.CPU)  # DLR: one byte
        ram = 0x24000000
        bus.write_block(ram, PROGRAM_SETUP, Access.DEBUG)
        core = target.board.core
        ccr = 0x02 | 1 << 8 | 1 << 10 | 2 << 12 | 1 << 24  # page program, 1 line, 3-byte address
        registers = dict(r0=qspi.base, r1=ccr, r2=0x1000, r3=1, r4=0x5A, r5=qspi.base + 0x20)
        for name, value in registers.items():
            core.write_reg(name, value)
        core.write_reg("pc", ram | 1)
        before = core.python_accesses
        core.halted, core.halt_reason = False, HaltReason.NONE
        core.run(1_000)
        assert core.pc_now() == ram + 10  # at the bkpt
        after = core.python_accesses
        chip = qspi.chips[0]  # type: ignore[attr-defined]
        state = tuple(qspi.read(offset, 4, Access.DEBUG) for offset in (0x00, 0x14, 0x18))
        seen.append((state, chip.data[0x1000], list(chip.log)))
        if on:
            assert (after[0] - before[0], after[1] - before[1]) == (0, 2)  # CCR, then DR
    assert seen[0] == seen[1]
    (cr, ccr_now, ar), programmed, _log = seen[0]
    assert (cr, ccr_now, ar, programmed) == (1, ccr, 0x1000, 0x5A)


# loop: ldr r2,[r0,#8] (SR); subs r1,#1; bne loop; bkpt
SR_LOOP = bytes.fromhex("8268 0139 fcd1 00be")


def test_a_loop_spanning_slices_gets_its_fast_path_back_without_a_python_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A slice's end withdraws what a device published (time moves on between slices); the
    next slice starts with it published again, so a register loop spanning many slices calls
    Python once, on its first read. Both paths end at the same cycle with the same SR."""
    _need_native()
    loops = 30_000  # 90,000 instructions: six slices or more
    seen = []
    for on in (True, False):
        target, qspi = _h743(monkeypatch, on)
        target.board.bus.write(qspi.base, 4, 1, Access.CPU)  # CR.EN, indirect write, idle
        ram = 0x24000000
        target.board.bus.write_block(ram, SR_LOOP, Access.DEBUG)
        core, clock = target.board.core, target.board.clock
        for name, value in dict(r0=qspi.base, r1=loops, pc=ram | 1).items():
            core.write_reg(name, value)
        before = core.python_accesses
        core.halted, core.halt_reason = False, HaltReason.NONE
        reason = target.wait_for_halt(1.0)
        assert reason is HaltReason.BREAKPOINT
        after = core.python_accesses
        seen.append((clock.now, core.read_reg("r2")))
        if on:
            assert after[0] - before[0] == 1  # the first SR read only
    assert seen[0] == seen[1]
