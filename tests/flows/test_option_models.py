"""The typed option-byte models: catalogue coverage, decode/encode, field widths."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stm32_hil.errors import ConfigError
from stm32_hil.flows.option_bytes import (
    G0OptionBytes,
    H7OptionBytes,
    OptionBytes,
    option_model,
)
from stm32_hil.parts import get_part

G071 = get_part("STM32G071RB")
H743 = get_part("STM32H743ZI")


@pytest.mark.parametrize("model", [G0OptionBytes, H7OptionBytes])
def test_every_catalogue_field_is_modelled_once(model: type[OptionBytes]) -> None:
    part = model.reference_part()
    catalogue = {(r.name, f.name) for r in part.option_registers for f in r.fields}
    bound = list(model.bindings().values())
    assert len(bound) == len(set(bound))
    assert set(bound) == catalogue


def test_g0_factory_decodes_to_named_fields() -> None:
    ob = G0OptionBytes.decode(G071, {**G071.factory_options, "OPTR": 0xDFFFE1AA})  # G030 value
    assert ob.rdp == 0xAA and ob.rdp_level == 0
    assert (ob.n_boot_sel, ob.n_boot1, ob.n_boot0) == (1, 1, 1)
    assert ob.bor_en == 1 and ob.borr_lev == 0 and ob.borf_lev == 0
    assert ob.nrst_mode == 3 and ob.irhen == 0
    assert ob.pcrop1a_strt == 0x1FF and ob.pcrop_areas(G071) == []
    assert ob.encode(G071)["OPTR"] == 0xDFFFE1AA


def test_h7_decode_of_a_real_optsr_keeps_unmodelled_bits() -> None:
    values = {**H743.factory_options, "OPTSR": 0x0306AAD0, "BOOT": 0x1FF00800}
    ob = H7OptionBytes.decode(H743, values)
    assert ob.rdp == 0xAA and ob.iwdg1_sw == 1 and ob.security == 0
    assert (ob.boot_add0, ob.boot_add1) == (0x0800, 0x1FF0)
    # bits 24/25 are in no catalogue field: encode must carry them, not clear them
    assert ob.encode(H743)["OPTSR"] == 0x0306AAD0
    changed = ob.replace(rdp=0xBB).encode(H743)["OPTSR"]
    assert changed == 0x0306BBD0


def test_rdp_levels() -> None:
    ob = G0OptionBytes.factory(G071)
    assert [ob.replace(rdp=v).rdp_level for v in (0xAA, 0xBB, 0x00, 0xCC)] == [0, 1, 1, 2]


@pytest.mark.parametrize(
    ("model", "part", "name", "value", "limit"),
    [
        (G0OptionBytes, G071, "rdp", 0x100, "0xff"),
        (G0OptionBytes, G071, "pcrop1a_strt", 0x200, "0x1ff"),
        (G0OptionBytes, G071, "n_boot0", 2, "0x1"),
        (G0OptionBytes, G071, "nrst_mode", -1, "0x3"),
        (H7OptionBytes, H743, "prar1_start", 0x1000, "0xfff"),
        (H7OptionBytes, H743, "boot_add0", 0x10000, "0xffff"),
    ],
)
def test_out_of_width_values_name_field_and_range(
    model: type[OptionBytes], part: object, name: str, value: int, limit: str
) -> None:
    ob = model.factory(part)  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as err:
        ob.replace(**{name: value})
    assert name in str(err.value) and f"0..{limit}" in str(err.value)


def test_unknown_field_and_family() -> None:
    with pytest.raises(ConfigError, match="no field nboot0"):
        G0OptionBytes.factory(G071).replace(nboot0=0)
    with pytest.raises(ConfigError, match="no option-byte model for family 'f4'"):
        option_model("f4")
    with pytest.raises(ConfigError, match="not g0"):
        G0OptionBytes.decode(H743, H743.factory_options)


def test_h7_pcrop_area_of_bank_2() -> None:
    ob = H7OptionBytes.factory(H743).replace(prar2_start=0x10, prar2_end=0x1F, prar2_dmep=1)
    assert ob.pcrop_areas(H743) == [(0x08101000, 0x08102000, True)]
    words = ob.encode(H743)
    assert words["PRAR2"] == 0x801F0010
    assert H7OptionBytes.decode(H743, words) == ob


def _values(model: type[OptionBytes]) -> st.SearchStrategy[dict[str, int]]:
    part = model.reference_part()
    return st.fixed_dictionaries(
        {
            attr: st.integers(0, (1 << part.option_register(reg).field(name).width) - 1)
            for attr, (reg, name) in model.bindings().items()
        }
    )


@settings(max_examples=60, deadline=None)
@given(g0=_values(G0OptionBytes), h7=_values(H7OptionBytes))
def test_encode_decode_round_trip(g0: dict[str, int], h7: dict[str, int]) -> None:
    for model, part, values in ((G0OptionBytes, G071, g0), (H7OptionBytes, H743, h7)):
        ob = model.factory(part).replace(**values)
        again = model.decode(part, ob.encode(part))
        assert again == ob
        assert dataclasses.asdict(again) == {**dataclasses.asdict(ob), "raw": again.raw}
