"""Whether another process on this host still runs: board locks and served-board records are
left behind by processes that died, and both must tell a live holder from a stale file."""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """True if `pid` runs on this host (or exists but belongs to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
