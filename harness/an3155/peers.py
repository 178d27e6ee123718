"""Command lines for the peer AN3155 clients we check conformance and speed against.

stm32flash (C, Debian package) and stm32loader (Python, PyPI 0.7.1) are run as subprocesses.
On a pseudo-terminal two adaptations are needed, both about the pty, not the protocol:
stm32flash must be told `-m 8n1` (it verifies termios and a pty drops PARENB), and stm32loader
toggles RTS/DTR for BOOT0/NRST, which a pty rejects with ENOTTY -- it is started through a shim
that makes those two modem-line updates no-ops (BOOT0/NRST are driven by the simulator) -- and
it gets `-P none` since re-applying PARENB to a pty fails.
"""

from __future__ import annotations

import shutil
import sys

from stm32_hil.errors import ConfigError

_LOADER_SHIM = (
    "import serial, serial.serialposix as sp\n"
    "class _S(serial.Serial):\n"
    "    def _update_rts_state(self):\n"
    "        try: super()._update_rts_state()\n"
    "        except OSError: pass\n"
    "    def _update_dtr_state(self):\n"
    "        try: super()._update_dtr_state()\n"
    "        except OSError: pass\n"
    "serial.Serial = _S\n"
    "import sys\n"
    "from stm32loader.main import main\n"
    "sys.argv[0] = 'stm32loader'\n"
    "main(*sys.argv[1:])\n"
)


def stm32flash_cmd(port: str, *args: str, pty: bool = True, baud: int = 115200) -> list[str]:
    exe = shutil.which("stm32flash")
    if exe is None:
        raise ConfigError("stm32flash is not installed", hint="apt-get install stm32flash")
    mode = ["-m", "8n1"] if pty else []
    return [exe, *mode, "-b", str(baud), *args, port]


def stm32loader_available() -> bool:
    try:
        import stm32loader  # noqa: F401
    except ImportError:
        return False
    return True


def stm32loader_cmd(
    port: str, *args: str, family: str, baud: int = 115200, pty: bool = True
) -> list[str]:
    if not stm32loader_available():
        raise ConfigError("stm32loader is not installed", hint="pip install stm32loader==0.7.1")
    parity = ["-P", "none"] if pty else []  # re-applying PARENB on a pty fails with EINVAL
    return [
        sys.executable,
        "-c",
        _LOADER_SHIM,
        "-p",
        port,
        "-b",
        str(baud),
        "-f",
        family,
        *parity,
        *args,
    ]
