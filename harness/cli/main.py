"""The `hil` command. Each capability adds a click group in its own module under harness/cli."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

import click

from stm32_hil.errors import HarnessError

# Subcommand groups: (module, attribute). Modules are imported lazily so `hil boards` stays fast.
SUBCOMMANDS = {
    "boards": ("stm32_hil.cli.boards", "boards"),
    "parts": ("stm32_hil.cli.parts", "parts"),
    "run": ("stm32_hil.cli.run", "run"),
    "report": ("stm32_hil.cli.report", "report"),
    "an3155": ("stm32_hil.cli.an3155", "an3155"),
    "sim": ("stm32_hil.cli.sim", "sim"),
    "loader": ("stm32_hil.cli.loader", "loader"),
    "nor": ("stm32_hil.cli.nor", "nor"),
    "options": ("stm32_hil.cli.target_cmds", "options"),
    "recover": ("stm32_hil.cli.target_cmds", "recover"),
    "labgrid": ("stm32_hil.cli.labgrid", "labgrid"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in SUBCOMMANDS if self._available(name))

    @staticmethod
    def _available(name: str) -> bool:
        module = SUBCOMMANDS[name][0]
        return importlib.util.find_spec(module) is not None

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in SUBCOMMANDS or not self._available(cmd_name):
            return None
        module, attr = SUBCOMMANDS[cmd_name]
        cmd: click.Command = getattr(importlib.import_module(module), attr)
        return cmd


@click.group(cls=LazyGroup)
@click.version_option(package_name="stm32-hil")
def cli() -> None:
    """STM32 hardware-in-the-loop harness: simulated and real boards, loaders, bootloader."""


def main() -> None:
    try:
        rc = cli(standalone_mode=False)
        if isinstance(rc, int):
            sys.exit(rc)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(2)
    except HarnessError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # a bug in the harness: say so plainly, keep the detail available
        if os.environ.get("HIL_DEBUG"):
            raise
        click.secho(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "  -> this is a harness bug; rerun with HIL_DEBUG=1 for the traceback and report it",
            fg="red",
            err=True,
        )
        sys.exit(2)
