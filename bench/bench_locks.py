"""Board locks: what the fair ticket queue costs over a bare OS lock, and how evenly two
processes contending for one board are served.

    python bench/bench_locks.py [--rounds N]

Figures:
- uncontended acquire + release: the queued BoardLock, a pool of three, and a bare filelock
  (the peer: what the lock cost before the queue); the ratio is queued / bare.
- two processes each taking one board N times in a loop, holding it 20 ms: how many times in a
  row the same process got the board at most (1 is strict alternation; a bare filelock lets
  the releasing process win again and again), and the longest single wait.
Prints figures; it does not pass or fail.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import tempfile
import time
from pathlib import Path

import filelock

from stm32_hil.hw.locks import BoardLock, BoardPool

HOLD_S = 0.02


def per_call(fn: object, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()  # type: ignore[operator]
    return (time.perf_counter() - start) / n


def worker(directory: str, name: str, rounds: int, fair: bool, log: str) -> None:
    for _ in range(rounds):
        asked = time.monotonic()
        if fair:
            lock = BoardLock("board", directory=Path(directory), owner=name, timeout_s=120)
            lock.acquire()
        else:
            raw = filelock.FileLock(str(Path(directory) / "raw.lock"), thread_local=False)
            raw.acquire()
        waited = time.monotonic() - asked
        with open(log, "a") as f:
            f.write(f"{name} {waited:.4f}\n")
        time.sleep(HOLD_S)
        if fair:
            lock.release()
        else:
            raw.release()


def contention(directory: str, rounds: int, fair: bool) -> tuple[int, float]:
    log = str(Path(directory) / f"order-{fair}.log")
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=worker, args=(directory, name, rounds, fair, log))
        for name in ("w0", "w1")
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    rows = [line.split() for line in Path(log).read_text().splitlines()]
    # Only the part where both still wanted the board: up to the last grant of the one that
    # finished first.
    last = min(max(i for i, r in enumerate(rows) if r[0] == w) for w in ("w0", "w1"))
    run = best = 1
    for prev, cur in itertools.pairwise(rows[: last + 1]):
        run = run + 1 if cur[0] == prev[0] else 1
        best = max(best, run)
    return best, max(float(r[1]) for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d)
        n = 200
        queued = per_call(lambda: BoardLock("b", directory=path).acquire().release(), n)
        pool_lock = BoardPool("p", ["a", "b", "c"], directory=path)
        pool = per_call(lambda: pool_lock.acquire().release(), n)
        bare_lock = filelock.FileLock(str(path / "bare.lock"))

        def bare_cycle() -> None:
            bare_lock.acquire()
            bare_lock.release()

        bare = per_call(bare_cycle, n)
        print(f"uncontended acquire+release: queued {queued * 1e3:.2f} ms, pool of 3 "
              f"{pool * 1e3:.2f} ms, bare filelock {bare * 1e3:.3f} ms "
              f"(queued/bare {queued / bare:.1f}x)")  # fmt: skip
        for fair in (True, False):
            run, wait = contention(d, args.rounds, fair)
            kind = "queued BoardLock" if fair else "bare filelock"
            print(f"two processes x {args.rounds} rounds, {kind}: same process served "
                  f"{run}x in a row at most, longest wait {wait:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
