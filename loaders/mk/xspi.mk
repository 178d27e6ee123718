# QUADSPI / OCTOSPI test loaders (src/xspi_loader.c): one build per board of
# tests/nor/xspi_boards.toml, and faulty builds that each fail the validation check naming
# their fault (tests/nor/test_xspi_loaders.py).
XSPI_SRC := $(CURDIR)/src/xspi_loader.c
XSPI_CFLAGS := -Os -g -std=c11 -Wall -Wextra -ffreestanding -nostdlib -mthumb -mfloat-abi=soft \
	-fno-builtin -ffunction-sections -ffile-prefix-map=$(CURDIR)=. -fdebug-prefix-map=$(CURDIR)=.

XSPI_GOOD := l496_mx25l3233f g474_w25q16 g474_w25q256 u585_w25q32 h7b3_mx25lm51245g
XSPI_FAULTY := l496_mx25l3233f_wrong_dummy g474_w25q256_no_4byte

XDEF_l496_mx25l3233f := -DTARGET_L496 -DCHIP_MX25L3233F -mcpu=cortex-m4
XDEF_g474_w25q16 := -DTARGET_G474 -DCHIP_W25Q16 -mcpu=cortex-m4
XDEF_g474_w25q256 := -DTARGET_G474 -DCHIP_W25Q256 -mcpu=cortex-m4
XDEF_u585_w25q32 := -DTARGET_U585 -DCHIP_W25Q32 -mcpu=cortex-m33
XDEF_h7b3_mx25lm51245g := -DTARGET_H7B3 -DCHIP_MX25LM51245G -mcpu=cortex-m7
XDEF_l496_mx25l3233f_wrong_dummy := $(XDEF_l496_mx25l3233f) -DFAULT_WRONG_DUMMY
XDEF_g474_w25q256_no_4byte := $(XDEF_g474_w25q256) -DFAULT_NO_4BYTE
XLD_h7b3_mx25lm51245g := h7_axi.ld

TARGETS += $(addprefix $(OUT)/good/,$(addsuffix .stldr,$(XSPI_GOOD))) \
	$(addprefix $(OUT)/faulty/,$(addsuffix .stldr,$(XSPI_FAULTY)))

define xspi_build
$(OUT)/$(2)/$(1).stldr: $(XSPI_SRC) ld/loader.ld ld/$(or $(XLD_$(1)),sram_20000000.ld) mk/xspi.mk
	@mkdir -p $(OUT)/$(2)
	$(CC) $(XSPI_CFLAGS) $(XDEF_$(1)) -DLOADER_NAME='"$(1)"' \
		-T$(or $(XLD_$(1)),sram_20000000.ld) $(XSPI_SRC) $(LDFLAGS) -o $$@
endef
$(foreach n,$(XSPI_GOOD),$(eval $(call xspi_build,$(n),good)))
$(foreach n,$(XSPI_FAULTY),$(eval $(call xspi_build,$(n),faulty)))
