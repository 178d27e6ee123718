# SPI NOR loaders (src/spi_loader.c): SPI1 on an STM32G071 (software NSS) and an STM32F411
# (hardware NSS), W25Q16; faulty builds on the G071 (no Write Enable, chip select held).
SPI_SRC := $(CURDIR)/src/spi_loader.c
SPI_CFLAGS := -Os -g -std=c11 -Wall -Wextra -ffreestanding -nostdlib -mthumb -mfloat-abi=soft \
	-fno-builtin -ffunction-sections -ffile-prefix-map=$(CURDIR)=. -fdebug-prefix-map=$(CURDIR)=.

SPI_GOOD := spi_g071_w25q16 spi_f411_w25q16
SPI_FAULTY := spi_g071_w25q16_no_wel spi_g071_w25q16_cs_held
SPI_DEF_spi_g071_w25q16 := -mcpu=cortex-m0plus -DBOARD_G071
SPI_DEF_spi_f411_w25q16 := -mcpu=cortex-m4 -DBOARD_F411
SPI_DEF_spi_g071_w25q16_no_wel := -mcpu=cortex-m0plus -DBOARD_G071 -DFAULT_NO_WEL
SPI_DEF_spi_g071_w25q16_cs_held := -mcpu=cortex-m0plus -DBOARD_G071 -DFAULT_CS_HELD

TARGETS += $(addprefix $(OUT)/good/,$(addsuffix .stldr,$(SPI_GOOD))) \
	$(addprefix $(OUT)/faulty/,$(addsuffix .stldr,$(SPI_FAULTY)))

define spi_build
$(OUT)/$(2)/$(1).stldr: $(SPI_SRC) ld/loader.ld ld/sram_20000000.ld
	@mkdir -p $(OUT)/$(2)
	$(CC) $(SPI_CFLAGS) $(SPI_DEF_$(1)) -Tsram_20000000.ld $(SPI_SRC) $(LDFLAGS) -o $$@
endef
$(foreach n,$(SPI_GOOD),$(eval $(call spi_build,$(n),good)))
$(foreach n,$(SPI_FAULTY),$(eval $(call spi_build,$(n),faulty)))
