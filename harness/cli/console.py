"""Rich consoles for every command: terminal-width tables on a terminal, 100 columns when piped
(or $COLUMNS, when set).

Progress bars belong on stderr and only on a terminal: piped or logged output keeps the
tables and the verdicts, never a bar's last frame.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

PIPED_WIDTH = 100  # what a CI log, a pager or `| tee` shows without wrapping


def piped_width() -> int:
    """100 columns, or $COLUMNS when set (`COLUMNS=200 hil parts show X | less`)."""
    try:
        return max(40, int(os.environ.get("COLUMNS", "")))
    except ValueError:
        return PIPED_WIDTH


def make_console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else piped_width())


def progress_console() -> Console:
    """The console progress bars draw on: stderr, so stdout stays machine-readable."""
    return make_console(stderr=True)


def progress_disabled(console: Console) -> bool:
    """Progress bars only on an interactive terminal (rich prints a last frame otherwise)."""
    return not console.is_terminal
