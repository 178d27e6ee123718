"""`hil loader validate`: run the validation checks of loaders on a board, show a verdict.

Exit status: 0 every check passed, 1 at least one check failed, 2 the harness could not judge
(unreadable or malformed loader, unknown board, internal error).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
from rich.table import Table

from stm32_hil.cli.console import make_console
from stm32_hil.errors import HarnessError
from stm32_hil.inventory import Inventory
from stm32_hil.stldr import load
from stm32_hil.stldr.validate import CALL_WALL_LIMIT, CheckResult, validate
from stm32_hil.target.factory import open_target
from stm32_hil.target.safety import Safety

MARK = {True: "[green]pass[/green]", False: "[red]FAIL[/red]", None: "[dim]not run[/dim]"}


def _table(path: str, results: list[CheckResult]) -> Table:
    table = Table(title=path, title_justify="left")
    table.add_column("check")
    table.add_column("verdict")
    table.add_column("detail", overflow="fold")
    table.add_column("unmodelled blocks used", overflow="fold")
    for res in results:
        verdict = "[dim]n/a[/dim]" if res.verdict == "not applicable" else MARK[res.passed]
        if res.verdict == "not applicable":
            verdict = "[dim]n/a[/dim]"
        elif res.verdict in ("internal error", "no verdict"):
            verdict = "[red]no verdict[/red]"
        elif res.passed is False and res.verdict != "finding":
            verdict += f"\n[yellow]{res.verdict}[/yellow]"
        table.add_row(res.check, verdict, res.detail, ", ".join(res.generic_blocks) or "-")
    return table


def _gap_line(results: list[CheckResult]) -> str | None:
    blocks = list(dict.fromkeys(b for r in results for b in r.generic_blocks))
    if not blocks:
        return None
    return (
        "simulator gap: the loader used blocks the simulator does not model ("
        + ", ".join(blocks)
        + "); they read back what was written, so a result that depends on them may differ "
        "on silicon"
    )


def run_validate(
    paths: tuple[str, ...],
    board_name: str,
    inventory: str | None,
    json_path: str | None,
    reinit: bool,
    full: bool,
    only: tuple[str, ...] | None = None,
    *,
    buffers: tuple[int, ...] = (),
    wall_limit: float | None = CALL_WALL_LIMIT,
    allow_destructive: bool = False,
) -> int:
    console = make_console()
    err = make_console(stderr=True)
    try:
        spec = Inventory.load(inventory).get(board_name)
    except HarnessError as exc:
        err.print(f"[red]error:[/red] {exc}")
        return 2
    records: list[dict[str, Any]] = []
    status = 0
    for path in paths:
        try:
            stldr = load(path)
        except HarnessError as exc:
            err.print(f"[red]error:[/red] {exc}")
            status = 2
            continue
        try:
            target = open_target(spec, safety=Safety(destructive=allow_destructive))
        except HarnessError as exc:
            err.print(f"[red]error:[/red] cannot open board {board_name}: {exc}")
            return 2
        try:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                console=err,
                transient=True,
            ) as bars:
                tasks: dict[str, Any] = {}

                def note(
                    phase: str,
                    done: int,
                    total: int,
                    tasks: dict[str, Any] = tasks,
                    name: str = Path(path).name,
                ) -> None:
                    if phase not in tasks:
                        tasks[phase] = bars.add_task(f"{name}: {phase}", total=total)
                    bars.update(tasks[phase], completed=done, total=total)

                results = validate(
                    target,
                    stldr,
                    reinit=reinit,
                    full=full,
                    only=only,
                    progress=note,
                    buffers=buffers,
                    wall_limit=wall_limit,
                )
        except HarnessError as exc:
            err.print(f"[red]error:[/red] {path}: the harness could not finish: {exc}")
            status = 2
            continue
        except Exception as exc:  # an internal error is "no verdict", never a traceback
            err.print(f"[red]internal error[/red] validating {path}: {type(exc).__name__}: {exc}")
            status = 2
            continue
        finally:
            target.close()
        console.print(_table(path, results))
        failed = [r for r in results if r.passed is False]
        passed = sum(1 for r in results if r.passed)
        na = sum(1 for r in results if r.verdict == "not applicable")
        console.print(
            f"{path}: {passed} passed, {len(failed)} failed, "
            f"{sum(1 for r in results if r.passed is None) - na} not run"
            + (f", {na} not applicable" if na else ""),
            soft_wrap=True,  # one line to grep, whatever the width
        )
        gap = _gap_line(results)
        if gap:
            console.print(f"[yellow]{gap}[/yellow]")
        records += [r.record() for r in results]
        unjudged = [r for r in results if r.verdict in ("internal error", "no verdict")]
        if unjudged:
            why = "; ".join(f"{r.check}: {r.detail.splitlines()[0]}" for r in unjudged)
            err.print(f"[red]error:[/red] {path}: no verdict for some checks ({why})")
            status = 2
        elif failed and status == 0:
            status = 1
    if json_path:
        try:
            Path(json_path).write_text(json.dumps(records, indent=2) + "\n")
        except OSError as exc:
            err.print(f"[red]error:[/red] cannot write {json_path}: {exc.strerror}")
            return 2
    return status
