# Keil .FLM flash algorithms (src/flm_*.c) built with GCC: position-independent code linked at
# 0 (ld/flm.ld), for the NUCLEO-H743ZI's W25Q128; faulty builds whose ProgramPage returns
# success without programming, and whose Init calls an absolute (link-time) code address.
FLM_SRC := $(CURDIR)/src/flm_qspi_w25q128.c
FLM_CFLAGS := -Os -g -std=c11 -Wall -Wextra -ffreestanding -nostdlib -mthumb -mcpu=cortex-m7 \
	-mfloat-abi=soft -fno-builtin -fpic -msingle-pic-base -mno-pic-data-is-text-relative \
	-ffile-prefix-map=$(CURDIR)=. -fdebug-prefix-map=$(CURDIR)=.
FLM_LDFLAGS := -Wl,--build-id=none -Wl,-e,Init -Wl,-Tflm.ld -L$(CURDIR)/ld -lgcc

FLM_GOOD := flm_h743_w25q128
FLM_FAULTY := flm_h743_w25q128_program_nothing flm_h743_w25q128_absolute_call
FLM_DEF_flm_h743_w25q128 :=
FLM_DEF_flm_h743_w25q128_program_nothing := -DFAULT_PROGRAM_NOTHING
FLM_DEF_flm_h743_w25q128_absolute_call := -DFAULT_ABSOLUTE_CALL -fno-pic

TARGETS += $(addprefix $(OUT)/good/,$(addsuffix .FLM,$(FLM_GOOD))) \
	$(addprefix $(OUT)/faulty/,$(addsuffix .FLM,$(FLM_FAULTY)))

define flm_build
$(OUT)/$(2)/$(1).FLM: $(FLM_SRC) ld/flm.ld
	@mkdir -p $(OUT)/$(2)
	$(CC) $(FLM_CFLAGS) $(FLM_DEF_$(1)) $(FLM_SRC) $(FLM_LDFLAGS) -o $$@
endef
$(foreach n,$(FLM_GOOD),$(eval $(call flm_build,$(n),good)))
$(foreach n,$(FLM_FAULTY),$(eval $(call flm_build,$(n),faulty)))
