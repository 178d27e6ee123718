"""The parts catalogue is data: every shipped part resolves with coherent facts."""

import pytest

from stm32_hil.errors import ConfigError, UnknownPartError
from stm32_hil.parts import all_parts, get_part

REQUIRED = ["STM32G071RB", "STM32G0B1RE", "STM32H743ZI", "STM32H750XB"]


@pytest.mark.parametrize("name", REQUIRED)
def test_required_parts_have_coherent_geometry(name: str) -> None:
    part = get_part(name)
    geo = part.flash
    assert geo.size % (geo.banks * geo.page_size) == 0
    assert geo.page_count * geo.page_size == geo.size
    assert geo.program_unit in (8, 32)
    assert part.bootloader.id_addr in range(
        min(s.base for s in part.system_memory), max(s.end for s in part.system_memory)
    )
    assert part.bootloader.extended_erase  # all four parts use Extended Erase (0x44)
    assert 0x43 not in part.bootloader.commands
    for reg in part.option_registers:
        for f in reg.fields:
            assert f.get(reg.factory) == (reg.factory >> f.shift) & ((1 << f.width) - 1)


def test_known_identities() -> None:
    assert get_part("STM32G071RB").pid == 0x460
    assert get_part("STM32G0B1RE").pid == 0x467
    assert get_part("STM32H743ZI").pid == 0x450
    assert get_part("stm32h750xb").flash.size == 128 * 1024
    assert get_part("STM32H743ZI").bootloader.entry == 0x1FF09800
    assert get_part("STM32G071RB").factory_options["OPTR"] & 0xFF == 0xAA


def test_g0b1_has_two_banks_and_h743_two_banks_of_eight_sectors() -> None:
    assert get_part("STM32G0B1RE").flash.banks == 2
    h743 = get_part("STM32H743ZI").flash
    assert (h743.banks, h743.pages_per_bank, h743.page_size) == (2, 8, 128 * 1024)


def test_unknown_part_lists_the_closest_names() -> None:
    with pytest.raises(UnknownPartError) as err:
        get_part("STM32G071RX")
    assert "STM32G071RB" in str(err.value)


def test_any_chip_of_the_data_is_a_part_and_hand_facts_stay_with_their_device() -> None:
    l496 = get_part("stm32l496agt6")
    assert (l496.name, l496.family, l496.core) == ("STM32L496AG", "l4", "cortex-m4")
    assert l496.bootloader is None and l496.flash_controller == "basic" and not l496.described
    assert l496.peripheral("QUADSPI") == 0xA0001000 and l496.flash.size == 1024 * 1024
    # H743 and H750 share DEV_ID 0x450: one device entry gives both the H7 controller model.
    assert get_part("STM32H750XB").flash_controller == "h7"
    assert get_part("STM32H7B3LI").flash_controller == "basic"  # other flash, not described
    assert get_part("STM32H750XB").peripheral("AXI_GPV") == 0x51000000  # family extra block


def test_option_field_rejects_values_outside_its_width() -> None:
    rdp = get_part("STM32G071RB").option_register("OPTR").field("RDP")
    assert rdp.put(0xFFFFFFAA, 0xBB) == 0xFFFFFFBB
    with pytest.raises(ConfigError, match="8 bit"):
        rdp.put(0, 0x1AA)


def test_catalogue_is_complete_for_every_part() -> None:
    for part in all_parts().values():
        assert part.flash_regs and part.idcode_addr and part.ram and part.engi
        assert part.engi.contains(part.uid_addr, 12) and part.engi.contains(part.flash_size_addr, 2)
        if part.flash_controller in ("g0", "h7"):  # modelled controllers carry option bytes
            reg = part.option_registers[0]
            assert set(reg.decode(reg.factory))
