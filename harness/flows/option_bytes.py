"""Typed option bytes per family, read and written through the FLASH registers of any Target.

Raw register words are easy to get wrong (a shifted RDP byte, a 9-bit PCROP field given 0x200),
so flows and suites speak in named fields: `G0OptionBytes.n_boot0`, `H7OptionBytes.prar1_dmep`.
Each attribute names its catalogue register and field; widths and positions come from
`harness/parts/catalogue.toml`, so a layout fix is a data change. Bits no field describes
(reserved bits, factory trimming) are carried through `raw` unchanged on encode.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from stm32_hil.errors import ConfigError, FlashError, TargetError
from stm32_hil.flows.internal_flash import internal_flash
from stm32_hil.flows.poll import wait_until
from stm32_hil.parts import Part, all_parts
from stm32_hil.report import attach_option_bytes, step
from stm32_hil.target.base import Target

RDP_LEVEL0, RDP_LEVEL1, RDP_LEVEL2 = 0xAA, 0xBB, 0xCC
RELOAD_BUDGET_S = 2.0  # G0: time allowed for the part to come back after OBL_LAUNCH


def _of(register: str, name: str) -> Any:
    """Dataclass field bound to catalogue `register`.`name`."""
    return field(metadata={"register": register, "field": name})


def rdp_level_of(rdp: int) -> int:
    """RDP byte -> level: 0xAA is 0, 0xCC is 2 (permanent), anything else is 1."""
    return 0 if rdp == RDP_LEVEL0 else 2 if rdp == RDP_LEVEL2 else 1


@dataclass(frozen=True)
class OptionBytes:
    """Base of the per-family models; subclasses declare one attribute per catalogue field."""

    FAMILY: ClassVar[str] = ""
    RDP_REGISTER: ClassVar[str] = ""

    raw: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False, kw_only=True)

    # -- catalogue binding --------------------------------------------------------------
    @classmethod
    def bindings(cls) -> dict[str, tuple[str, str]]:
        """attribute -> (register, field) for every modelled field."""
        return {
            f.name: (f.metadata["register"], f.metadata["field"])
            for f in dataclasses.fields(cls)
            if "register" in f.metadata
        }

    @classmethod
    def reference_part(cls) -> Part:
        """A part of this family: field layouts are family data, shared by its parts."""
        for part in all_parts().values():
            if part.family == cls.FAMILY:
                return part
        raise ConfigError(f"the parts catalogue holds no part of family {cls.FAMILY!r}")

    def __post_init__(self) -> None:
        part = self.reference_part()
        for attr, (reg, name) in self.bindings().items():
            width = part.option_register(reg).field(name).width
            value = getattr(self, attr)
            limit = (1 << width) - 1
            if not isinstance(value, int) or not 0 <= value <= limit:
                shown = f"{value:#x}" if isinstance(value, int) else repr(value)
                raise ConfigError(
                    f"{self.FAMILY.upper()} option {attr} ({reg}.{name}) is {width} bit(s) "
                    f"wide: {shown} is outside 0..{limit:#x}",
                    hint=f"give {attr} a value in 0..{limit}",
                )

    # -- decode / encode ----------------------------------------------------------------
    @classmethod
    def decode(cls, part: Part, values: Mapping[str, int]) -> Self:
        """Build the model from option register words keyed by catalogue name."""
        if part.family != cls.FAMILY:
            raise ConfigError(f"{part.name} is a {part.family} part, not {cls.FAMILY}")
        missing = {reg for reg, _ in cls.bindings().values()} - set(values)
        if missing:
            raise ConfigError(f"option registers missing for decode: {', '.join(sorted(missing))}")
        kwargs = {
            attr: part.option_register(reg).field(name).get(values[reg])
            for attr, (reg, name) in cls.bindings().items()
        }
        return cls(**kwargs, raw=dict(values))

    @classmethod
    def factory(cls, part: Part) -> Self:
        """The values the catalogue lists as the part's factory option bytes."""
        return cls.decode(part, part.factory_options)

    def encode(self, part: Part) -> dict[str, int]:
        """Register words: fields placed over `raw` (factory words where raw lacks one)."""
        regs = part.option_registers
        words = {reg.name: int(self.raw.get(reg.name, reg.factory)) for reg in regs}
        for attr, (reg, name) in self.bindings().items():
            words[reg] = part.option_register(reg).field(name).put(words[reg], getattr(self, attr))
        return words

    def replace(self, **changes: int) -> Self:
        """A copy with `changes` applied; unknown names and out-of-range values -> ConfigError."""
        unknown = sorted(set(changes) - set(self.bindings()))
        if unknown:
            raise ConfigError(
                f"{self.FAMILY.upper()} option bytes have no field {', '.join(unknown)}",
                hint="fields: " + ", ".join(self.bindings()),
            )
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def diff(self, other: OptionBytes) -> dict[str, tuple[int, int]]:
        """attribute -> (self value, other value) where they differ."""
        return {
            attr: (getattr(self, attr), getattr(other, attr))
            for attr in self.bindings()
            if getattr(self, attr) != getattr(other, attr)
        }

    # -- common views -------------------------------------------------------------------
    @property
    def rdp_level(self) -> int:
        """Readout protection level (every family model declares an `rdp` field)."""
        return rdp_level_of(int(getattr(self, "rdp")))  # noqa: B009

    def pcrop_areas(self, part: Part) -> list[tuple[int, int, bool]]:
        """PCROP areas as (first address, end address exclusive, erased by regression)."""
        raise NotImplementedError


@dataclass(frozen=True)
class G0OptionBytes(OptionBytes):
    """STM32G0 user option bytes (RM0444 3.4.1); bank-1 protection areas only."""

    FAMILY: ClassVar[str] = "g0"
    RDP_REGISTER: ClassVar[str] = "OPTR"
    PCROP_GRANULE: ClassVar[int] = 512  # PCROP areas are counted in 512-byte sub-pages

    rdp: int = _of("OPTR", "RDP")
    bor_en: int = _of("OPTR", "BOR_EN")
    borr_lev: int = _of("OPTR", "BORR_LEV")
    borf_lev: int = _of("OPTR", "BORF_LEV")
    n_rst_stop: int = _of("OPTR", "nRST_STOP")
    n_rst_stdby: int = _of("OPTR", "nRST_STDBY")
    n_rst_shdw: int = _of("OPTR", "nRST_SHDW")
    iwdg_sw: int = _of("OPTR", "IWDG_SW")
    iwdg_stop: int = _of("OPTR", "IWDG_STOP")
    iwdg_stdby: int = _of("OPTR", "IWDG_STDBY")
    wwdg_sw: int = _of("OPTR", "WWDG_SW")
    n_swap_bank: int = _of("OPTR", "nSWAP_BANK")
    dual_bank: int = _of("OPTR", "DUAL_BANK")
    ram_parity_check: int = _of("OPTR", "RAM_PARITY_CHECK")
    n_boot_sel: int = _of("OPTR", "nBOOT_SEL")
    n_boot1: int = _of("OPTR", "nBOOT1")
    n_boot0: int = _of("OPTR", "nBOOT0")
    nrst_mode: int = _of("OPTR", "NRST_MODE")
    irhen: int = _of("OPTR", "IRHEN")
    sec_size: int = _of("SECR", "SEC_SIZE")
    boot_lock: int = _of("SECR", "BOOT_LOCK")
    pcrop1a_strt: int = _of("PCROP1ASR", "PCROP1A_STRT")
    pcrop1a_end: int = _of("PCROP1AER", "PCROP1A_END")
    pcrop_rdp: int = _of("PCROP1AER", "PCROP_RDP")
    wrp1a_strt: int = _of("WRP1AR", "WRP1A_STRT")
    wrp1a_end: int = _of("WRP1AR", "WRP1A_END")
    wrp1b_strt: int = _of("WRP1BR", "WRP1B_STRT")
    wrp1b_end: int = _of("WRP1BR", "WRP1B_END")
    pcrop1b_strt: int = _of("PCROP1BSR", "PCROP1B_STRT")
    pcrop1b_end: int = _of("PCROP1BER", "PCROP1B_END")

    def pcrop_areas(self, part: Part) -> list[tuple[int, int, bool]]:
        g, base = self.PCROP_GRANULE, part.flash.base
        areas = []
        for start, end in ((self.pcrop1a_strt, self.pcrop1a_end),
                           (self.pcrop1b_strt, self.pcrop1b_end)):  # fmt: skip
            if start <= end:
                areas.append((base + start * g, base + (end + 1) * g, bool(self.pcrop_rdp)))
        return areas


@dataclass(frozen=True)
class H7OptionBytes(OptionBytes):
    """STM32H742/743/750/753 option bytes (RM0433 4.4); values as in the *_CUR registers."""

    FAMILY: ClassVar[str] = "h7"
    RDP_REGISTER: ClassVar[str] = "OPTSR"
    AREA_UNIT: ClassVar[int] = 0x100  # PCROP / secure areas are counted in 256-byte blocks

    rdp: int = _of("OPTSR", "RDP")
    bor_lev: int = _of("OPTSR", "BOR_LEV")
    iwdg1_sw: int = _of("OPTSR", "IWDG1_SW")
    nrst_stop_d1: int = _of("OPTSR", "NRST_STOP_D1")
    nrst_stby_d1: int = _of("OPTSR", "NRST_STBY_D1")
    fz_iwdg_stop: int = _of("OPTSR", "FZ_IWDG_STOP")
    fz_iwdg_sdby: int = _of("OPTSR", "FZ_IWDG_SDBY")
    st_ram_size: int = _of("OPTSR", "ST_RAM_SIZE")
    security: int = _of("OPTSR", "SECURITY")
    io_hslv: int = _of("OPTSR", "IO_HSLV")
    swap_bank_opt: int = _of("OPTSR", "SWAP_BANK_OPT")
    prar1_start: int = _of("PRAR1", "PROT_AREA_START")
    prar1_end: int = _of("PRAR1", "PROT_AREA_END")
    prar1_dmep: int = _of("PRAR1", "DMEP")
    scar1_start: int = _of("SCAR1", "SEC_AREA_START")
    scar1_end: int = _of("SCAR1", "SEC_AREA_END")
    scar1_dmes: int = _of("SCAR1", "DMES")
    wpsn1: int = _of("WPSN1", "WRPSN")
    boot_add0: int = _of("BOOT", "BOOT_ADD0")
    boot_add1: int = _of("BOOT", "BOOT_ADD1")
    prar2_start: int = _of("PRAR2", "PROT_AREA_START")
    prar2_end: int = _of("PRAR2", "PROT_AREA_END")
    prar2_dmep: int = _of("PRAR2", "DMEP")
    scar2_start: int = _of("SCAR2", "SEC_AREA_START")
    scar2_end: int = _of("SCAR2", "SEC_AREA_END")
    scar2_dmes: int = _of("SCAR2", "DMES")
    wpsn2: int = _of("WPSN2", "WRPSN")

    def pcrop_areas(self, part: Part) -> list[tuple[int, int, bool]]:
        areas = []
        for bank in range(part.flash.banks):
            n = bank + 1
            start, end = getattr(self, f"prar{n}_start"), getattr(self, f"prar{n}_end")
            if start <= end:
                base = part.flash.base + bank * part.flash.bank_size
                dmep = bool(getattr(self, f"prar{n}_dmep"))
                areas.append((base + start * self.AREA_UNIT, base + (end + 1) * self.AREA_UNIT,
                              dmep))  # fmt: skip
        return areas

    def no_pcrop_changes(self, part: Part) -> dict[str, int]:
        """Field changes that describe "no PCROP area, DMEP=0" on every bank of `part`."""
        changes: dict[str, int] = {}
        for n in range(1, part.flash.banks + 1):
            changes |= {f"prar{n}_start": 0xFF, f"prar{n}_end": 0, f"prar{n}_dmep": 0}
        return changes


MODELS: dict[str, type[OptionBytes]] = {"g0": G0OptionBytes, "h7": H7OptionBytes}


def option_model(family: str) -> type[OptionBytes]:
    """The option-byte model class of a part family."""
    try:
        return MODELS[family]
    except KeyError:
        raise ConfigError(
            f"no option-byte model for family {family!r}",
            hint="families with a model: " + ", ".join(sorted(MODELS)),
        ) from None


# -- reading and writing on a target ------------------------------------------------------
def read_option_bytes(target: Target) -> OptionBytes:
    """Option bytes in force, decoded (G0: FLASH_OPTR & co; H7: the *_CUR registers)."""
    model = option_model(target.part.family)
    return model.decode(target.part, internal_flash(target).read_options())


def _resolve(current: OptionBytes, changes: Mapping[str, int] | OptionBytes) -> OptionBytes:
    if isinstance(changes, OptionBytes):
        if type(changes) is not type(current):
            raise ConfigError(
                f"{type(changes).__name__} given for a {current.FAMILY} part",
                hint=f"use {type(current).__name__}",
            )
        return changes
    return current.replace(**dict(changes))


def write_option_bytes(
    target: Target,
    changes: Mapping[str, int] | OptionBytes,
    *,
    safety: Any = None,
    allow_irreversible: bool = False,
) -> OptionBytes:
    """Program option bytes and verify them as loaded; returns the values now in force.

    `changes` is a mapping of model attributes (`{"n_boot0": 0}`) or a whole model. Destructive:
    on a real board `safety` must allow it; RDP 0xCC (level 2, permanent) also needs
    `allow_irreversible`. G0 applies the change with OBL_LAUNCH (the part resets and the debug
    connection is re-established); H7 with OPTSTART, then the *_CUR registers are checked.
    """
    from stm32_hil.flows.safety import check_allowed

    before = read_option_bytes(target)
    wanted = _resolve(before, changes)
    irreversible = wanted.rdp_level == 2 and before.rdp_level != 2
    check_allowed(
        target,
        safety,
        "option-byte change" + (" to RDP level 2" if irreversible else ""),
        irreversible=irreversible,
        allow_irreversible=allow_irreversible,
    )
    if not before.diff(wanted):
        return before
    part = target.part
    changed = ", ".join(f"{k}: {a:#x}->{b:#x}" for k, (a, b) in before.diff(wanted).items())
    with step(f"write option bytes ({changed})"):
        attach_option_bytes("option bytes before", part, before.encode(part))
        words = wanted.encode(part)
        old = before.encode(part)
        # Only registers that change are written: fewer chances to trip a refused change.
        values = {name: word for name, word in words.items() if word != old[name]}
        flash = internal_flash(target)
        if part.family == "g0":
            _launch_g0(target, flash, values, reattach=not irreversible)
        else:
            flash.write_options(values)  # H7: OPTSTART, wait, OPTCHANGEERR check
        if irreversible:
            return wanted  # level 2 closes the debug port: nothing more can be read back
        after = read_option_bytes(target)
        attach_option_bytes("option bytes after", part, after.encode(part), before.encode(part))
        _verify(target, wanted, after)
        return after


def _launch_g0(
    target: Target, flash: Any, values: Mapping[str, int], *, reattach: bool = True
) -> None:
    """OPTSTRT, then OBL_LAUNCH: the part reloads its option bytes and resets.

    The read-back in `write_option_bytes` is what proves the change; here the flow only waits
    until the debug port answers again (re-attaching first when the backend can).
    """
    flash.write_options(values, launch=False)
    flash.launch_options()
    if not reattach:
        return  # RDP level 2: the debug port is closed for good
    reconnect = getattr(target, "reconnect", None)
    if callable(reconnect):
        reconnect()
    reg = target.part.flash_regs + target.part.option_register("OPTR").offset

    def readable() -> bool:
        try:
            target.read32(reg)
        except TargetError:
            return False
        return True

    wait_until(target, readable, RELOAD_BUDGET_S, "reconnect after OBL_LAUNCH")


def _verify(target: Target, wanted: OptionBytes, after: OptionBytes) -> None:
    diff = wanted.diff(after)
    if diff:
        detail = ", ".join(f"{k}: wanted {a:#x}, loaded {b:#x}" for k, (a, b) in diff.items())
        raise FlashError(
            f"{target.name}: option bytes did not take: {detail}",
            hint="a protection rule may have refused the change (RDP level 2, PCROP/DMEP "
            "rules, SECURITY); see the before/after option-byte tables",
        )
