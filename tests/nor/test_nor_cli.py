"""`hil nor`: the catalogue and a chip's SFDP from the command line."""

from __future__ import annotations

import json

from click.testing import CliRunner

from stm32_hil.cli.main import cli
from stm32_hil.sim.memories.nor import CHIPS


def test_list_json_has_every_chip_of_the_catalogue() -> None:
    out = CliRunner().invoke(cli, ["nor", "list", "--json"])
    assert out.exit_code == 0, out.output
    rows = {r["name"]: r for r in json.loads(out.output)}
    assert set(rows) == set(CHIPS)
    assert rows["MX25LM51245G"]["octal"] == "macronix_cr2"
    assert rows["W25Q256"]["four_byte"] == {"enter": "B7", "wel": False, "opcodes": True}


def test_show_decodes_the_sfdp_the_chip_returns() -> None:
    out = CliRunner().invoke(cli, ["nor", "show", "MT25QL256", "--sfdp"])
    assert out.exit_code == 0, out.output
    assert "SFDP: 32 MiB, page 256" in out.output and "address 3or4 bytes" in out.output


def test_unknown_chip_is_a_typed_error_listing_the_catalogue() -> None:
    out = CliRunner().invoke(cli, ["nor", "show", "W25X99"])
    assert out.exit_code != 0
    assert "unknown NOR flash chip" in str(out.exception) and "W25Q128" in str(out.exception)
