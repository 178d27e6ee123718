"""What a real board may have done to it, decided where the writes happen: in the Target.

A real board is somebody's bench hardware. Erasing or programming its flash, changing its
option bytes or (worse) setting RDP level 2 must be asked for by the person running the tests:
`--allow-destructive` on a test marked `destructive`, and `--allow-irreversible` on a test
marked `irreversible` for the permanent steps. Checking this in each suite or flow leaves gaps
(a helper that programs flash directly, a script); checking it in the Target, on the memory
writes that reach flash or unlock its controller, leaves none. Simulated boards are fresh per
test and exempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stm32_hil.errors import SafetyError

if TYPE_CHECKING:
    from stm32_hil.parts import Part

RDP_LEVEL2 = 0xCC
OPT_IN_HINT = (
    "run pytest with --allow-destructive on a test marked @pytest.mark.destructive "
    "(in a script: open_target(spec, safety=Safety(destructive=True)))"
)
IRREVERSIBLE_HINT = (
    "run pytest with --allow-irreversible as well, on a test marked @pytest.mark.irreversible, "
    "and only on a board you can lose (in a script: Safety(destructive=True, irreversible=True))"
)


@dataclass(frozen=True)
class Safety:
    """What the operator allowed on real boards."""

    destructive: bool = False  # erase or program flash, change option bytes, RDP 1 <-> 0
    irreversible: bool = False  # RDP level 2, OTP: the part changes for good

    def __or__(self, other: Safety) -> Safety:
        return Safety(
            destructive=self.destructive or other.destructive,
            irreversible=self.irreversible or other.irreversible,
        )

    @classmethod
    def from_options(cls, config: Any) -> Safety:
        """From the pytest options --allow-destructive / --allow-irreversible alone."""
        irreversible = bool(config.getoption("--allow-irreversible"))
        destructive = bool(config.getoption("--allow-destructive")) or irreversible
        return cls(destructive=destructive, irreversible=irreversible)

    @classmethod
    def for_test(cls, config: Any, node: Any) -> Safety:
        """The options, limited to what the test's markers declare: an opt-in on the command
        line does not reach a test that does not say it is destructive."""
        options = cls.from_options(config)
        irreversible = node.get_closest_marker("irreversible") is not None
        destructive = irreversible or node.get_closest_marker("destructive") is not None
        return cls(
            destructive=options.destructive and destructive,
            irreversible=options.irreversible and irreversible,
        )


def refuse_unless_allowed(
    board: str, safety: Safety, what: str, *, irreversible: bool = False
) -> None:
    """Raise SafetyError unless `safety` allows `what` on the real board `board`."""
    if not safety.destructive:
        raise SafetyError(
            f"{board}: {what} refused on a real board without an explicit opt-in "
            "(--allow-destructive)",
            hint=OPT_IN_HINT,
        )
    if irreversible and not safety.irreversible:
        raise SafetyError(
            f"{board}: {what} refused on a real board: irreversible (--allow-irreversible)",
            hint=IRREVERSIBLE_HINT,
        )


@dataclass(frozen=True)
class Destructive:
    """Why a memory write is destructive."""

    what: str
    irreversible: bool = False


def classify_write(part: Part, address: int, data: bytes) -> Destructive | None:
    """Whether writing `data` at `address` changes the part's non-volatile state.

    Writes into a flash region program it (OTP for good); writes to the flash controller's
    key registers unlock erase, programming or option bytes; a write that puts 0xCC into an RDP
    field sets readout protection level 2. All from the part's data, for every family.
    """
    end = address + len(data)
    for name, base, size, permanent in _flash_regions(part):
        if address < base + size and end > base:
            if permanent:
                return Destructive(f"programming one-time-programmable {name}", True)
            return Destructive(f"writing into flash ({name} at 0x{max(address, base):08X})")
    return _controller_write(part, address, data)


def _flash_regions(part: Part) -> list[tuple[str, int, int, bool]]:
    regions: list[tuple[str, int, int, bool]] = []
    if part.chip is not None:
        regions += [
            (m.name, m.base, m.size, m.name == "OTP")
            for m in part.chip.memory
            if m.kind in ("flash", "eeprom")
        ]
    regions.append(("main flash", part.flash.base, part.flash.size, False))
    if part.otp is not None:
        regions.append(("OTP", part.otp.base, part.otp.size, True))
    return regions


def _controller_write(part: Part, address: int, data: bytes) -> Destructive | None:
    block = part.chip.block_at(address) if part.chip is not None else None
    if block is None:
        if part.flash_regs <= address < part.flash_regs + 0x400:
            return Destructive("writing the flash controller registers")
        return None
    if not block.name.startswith("FLASH"):
        return None
    layout = block.layout()
    if layout is None:
        return Destructive(f"writing the {block.name} controller registers")
    offset = address - block.base
    for word_at in range(offset - offset % 4, offset + len(data), 4):
        reg = layout.at(word_at)
        if reg is None:
            continue
        upper = reg.name.upper()
        if "KEYR" in upper and not upper.startswith("PDKEYR"):
            return Destructive(f"unlocking the flash controller ({block.name}_{reg.name})")
        rdp = reg.field("RDP")
        if rdp is not None:
            word = bytearray(4)  # the bytes of this write that land in the register
            for i in range(max(offset, word_at), min(offset + len(data), word_at + 4)):
                word[i - word_at] = data[i - offset]
            if (int.from_bytes(word, "little") & rdp.mask) >> rdp.bit_offset == RDP_LEVEL2:
                return Destructive(f"setting RDP level 2 ({block.name}_{reg.name})", True)
    return None
