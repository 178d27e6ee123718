/*
 * SPI NOR external loader (STM32CubeProgrammer .stldr calling convention) on an SPI block.
 *
 * One source, two boards, selected at build time:
 *   BOARD_G071   STM32G071 SPI1 (FIFO SPI, 8-bit DR access, FRXTH): SCK PA5, MISO PA6,
 *                MOSI PA7 in AF0; chip select PA4 as a GPIO output (software NSS)
 *   BOARD_F411   STM32F411 SPI1 (classic SPI): SCK PA5, MISO PA6, MOSI PA7 in AF5; chip
 *                select PA4 in AF5 as hardware NSS (SSOE): NCS is low while SPE=1
 * with a Winbond W25Q16 (2 MiB, 4 KiB sectors, 1-1-1 commands, 3-byte address), and FAULT_*
 * macros that reproduce loader bugs seen in the field (see mk/spi.mk):
 *   FAULT_NO_WEL    page program without Write Enable first: the chip ignores it
 *   FAULT_CS_HELD   chip select not released after the last page program of a Write: that
 *                   page never starts programming (a chip starts at NCS rising)
 * Registers are written as the reference manuals describe (RM0444 35, RM0383 20); every wait
 * is bounded.
 */
#include <stdint.h>

#define REG32(a) (*(volatile uint32_t *)(a))
#define REG16(a) (*(volatile uint16_t *)(a))
#define REG8(a) (*(volatile uint8_t *)(a))

#if defined(BOARD_G071)
#define DEVICE_NAME "W25Q16_STM32G071-SPI1-PA5-PA4-PA7-PA6"
#define RCC_BASE 0x40021000u
#define GPIOA_BASE 0x50000000u
#define RCC_GPIO_EN REG32(RCC_BASE + 0x34u)     /* IOPENR */
#define RCC_GPIOA (1u << 0)
#define RCC_SPI_EN REG32(RCC_BASE + 0x40u)      /* APBENR2 */
#define RCC_SPI_RST REG32(RCC_BASE + 0x30u)     /* APBRSTR2 */
#define SPI_AF 0u
#define SOFTWARE_NSS 1
#elif defined(BOARD_F411)
#define DEVICE_NAME "W25Q16_STM32F411-SPI1-PA5-PA4-PA7-PA6"
#define RCC_BASE 0x40023800u
#define GPIOA_BASE 0x40020000u
#define RCC_GPIO_EN REG32(RCC_BASE + 0x30u)     /* AHB1ENR */
#define RCC_GPIOA (1u << 0)
#define RCC_SPI_EN REG32(RCC_BASE + 0x44u)      /* APB2ENR */
#define RCC_SPI_RST REG32(RCC_BASE + 0x24u)     /* APB2RSTR */
#define SPI_AF 5u
#define SOFTWARE_NSS 0
#else
#error "define BOARD_G071 or BOARD_F411"
#endif
#define RCC_SPI1 (1u << 12)

#define GPIO_MODER REG32(GPIOA_BASE + 0x00u)
#define GPIO_OSPEEDR REG32(GPIOA_BASE + 0x08u)
#define GPIO_BSRR REG32(GPIOA_BASE + 0x18u)
#define GPIO_AFRL REG32(GPIOA_BASE + 0x20u)
#define PIN_NCS 4u

#define SPI_BASE 0x40013000u
#define SPI_CR1 REG32(SPI_BASE + 0x00u)
#define SPI_CR2 REG32(SPI_BASE + 0x04u)
#define SPI_SR REG32(SPI_BASE + 0x08u)
#define SPI_DR8 REG8(SPI_BASE + 0x0Cu)
#define CR1_MSTR (1u << 2)
#define CR1_BR_DIV4 (1u << 3)
#define CR1_SPE (1u << 6)
#define CR1_SSI (1u << 8)
#define CR1_SSM (1u << 9)
#define CR2_SSOE (1u << 2)
#define CR2_DS_8BIT (7u << 8)
#define CR2_FRXTH (1u << 12)
#define SR_RXNE (1u << 0)
#define SR_TXE (1u << 1)
#define SR_BSY (1u << 7)

#define WINDOW 0x90000000u
#define DEVICE_SIZE 0x00200000u
#define PAGE 256u
#define SECTOR 0x1000u
#define WAIT_LIMIT 2000000u

/* ---- StorageInfo ------------------------------------------------------------------------------ */
struct DeviceSectors {
    uint32_t SectorNum;
    uint32_t SectorSize;
};

struct StorageInfo {
    char DeviceName[100];
    uint16_t DeviceType;
    uint32_t DeviceStartAddress;
    uint32_t DeviceSize;
    uint32_t PageSize;
    uint8_t EraseValue;
    struct DeviceSectors sectors[10];
};

__attribute__((section(".Dev_info"), used)) const struct StorageInfo StorageInfo = {
    DEVICE_NAME,
    7, /* SPI_FLASH */
    WINDOW,
    DEVICE_SIZE,
    PAGE,
    0xFF,
    {{DEVICE_SIZE / SECTOR, SECTOR}, {0, 0}},
};

/* ---- SPI primitives ---------------------------------------------------------------------------- */
static void cs_low(void) {
#if SOFTWARE_NSS
    GPIO_BSRR = 1u << (PIN_NCS + 16u);
#else
    SPI_CR1 |= CR1_SPE;                          /* hardware NSS: low while SPE=1 */
#endif
}

static void cs_high(void) {
    for (uint32_t i = 0; i < WAIT_LIMIT && (SPI_SR & SR_BSY); i++) {}
#if SOFTWARE_NSS
    GPIO_BSRR = 1u << PIN_NCS;
#else
    SPI_CR1 &= ~CR1_SPE;
#endif
}

static int xfer(uint8_t out, uint8_t *in) {
    uint32_t i = 0;
    while (!(SPI_SR & SR_TXE)) {
        if (++i >= WAIT_LIMIT) return 0;
    }
    SPI_DR8 = out;
    for (i = 0; !(SPI_SR & SR_RXNE); i++) {
        if (i >= WAIT_LIMIT) return 0;
    }
    uint8_t got = SPI_DR8;
    if (in) *in = got;
    return 1;
}

static int command(uint8_t op, int with_address, uint32_t address) {
    cs_low();
    int ok = xfer(op, 0);
    if (ok && with_address) {
        ok = xfer((uint8_t)(address >> 16), 0) && xfer((uint8_t)(address >> 8), 0) &&
             xfer((uint8_t)address, 0);
    }
    cs_high();
    return ok;
}

static int read_status(uint8_t *status) {
    cs_low();
    int ok = xfer(0x05, 0) && xfer(0xFF, status);
    cs_high();
    return ok;
}

static int wait_ready(void) {
    uint8_t status = 0xFF;
    for (uint32_t i = 0; i < WAIT_LIMIT; i++) {
        if (!read_status(&status)) return 0;
        if (!(status & 0x01u)) return 1;
    }
    return 0;
}

static int write_enable(void) {
    uint8_t status = 0;
    if (!command(0x06, 0, 0) || !read_status(&status)) return 0;
    return (status & 0x02u) != 0u;
}

static int program_page(uint32_t offset, const uint8_t *data, uint32_t size, int last) {
#if !defined(FAULT_NO_WEL)
    if (!write_enable()) return 0;
#endif
    cs_low();
    int ok = xfer(0x02, 0) && xfer((uint8_t)(offset >> 16), 0) &&
             xfer((uint8_t)(offset >> 8), 0) && xfer((uint8_t)offset, 0);
    for (uint32_t i = 0; ok && i < size; i++) ok = xfer(data[i], 0);
#if defined(FAULT_CS_HELD)
    if (last) return ok;                         /* NCS stays low: the program never starts */
#else
    (void)last;
#endif
    cs_high();
    return ok && wait_ready();
}

/* ---- exported functions ------------------------------------------------------------------------ */
int Init(void) {
    RCC_GPIO_EN |= RCC_GPIOA;
    RCC_SPI_EN |= RCC_SPI1;
    RCC_SPI_RST |= RCC_SPI1;
    RCC_SPI_RST &= ~RCC_SPI1;
#if SOFTWARE_NSS
    GPIO_BSRR = 1u << PIN_NCS;                   /* NCS high before it becomes an output */
    GPIO_MODER = (GPIO_MODER & ~(0xFFu << 8)) | (1u << 8) | (2u << 10) | (2u << 12) | (2u << 14);
    GPIO_AFRL = (GPIO_AFRL & ~(0xFFFu << 20)) | (SPI_AF << 20) | (SPI_AF << 24) | (SPI_AF << 28);
    SPI_CR2 = CR2_DS_8BIT | CR2_FRXTH;
    SPI_CR1 = CR1_MSTR | CR1_BR_DIV4 | CR1_SSM | CR1_SSI | CR1_SPE;
#else
    GPIO_MODER = (GPIO_MODER & ~(0xFFu << 8)) | (2u << 8) | (2u << 10) | (2u << 12) | (2u << 14);
    GPIO_AFRL = (GPIO_AFRL & ~(0xFFFFu << 16)) | (SPI_AF << 16) | (SPI_AF << 20) |
                (SPI_AF << 24) | (SPI_AF << 28);
    SPI_CR2 = CR2_SSOE;
    SPI_CR1 = CR1_MSTR | CR1_BR_DIV4;            /* SPE toggles NCS per command */
#endif
    GPIO_OSPEEDR |= 0xFFu << 8;

    /* Software reset leaves whatever a previous user set; then the JEDEC ID must be Winbond. */
    if (!command(0x66, 0, 0) || !command(0x99, 0, 0)) return 0;
    uint8_t maker = 0, type = 0, capacity = 0;
    cs_low();
    int ok = xfer(0x9F, 0) && xfer(0xFF, &maker) && xfer(0xFF, &type) && xfer(0xFF, &capacity);
    cs_high();
    if (!ok || maker != 0xEF || capacity != 0x15) return 0;
    return wait_ready();
}

int Write(uint32_t address, uint32_t size, uint8_t *buffer) {
    uint32_t offset = address - WINDOW;
    while (size) {
        uint32_t chunk = PAGE - (offset % PAGE);
        if (chunk > size) chunk = size;
        if (!program_page(offset, buffer, chunk, chunk == size)) return 0;
        offset += chunk;
        buffer += chunk;
        size -= chunk;
    }
    return 1;
}

int SectorErase(uint32_t start, uint32_t end) {
    uint32_t first = (start - WINDOW) & ~(SECTOR - 1u);
    uint32_t last = (end - WINDOW) & ~(SECTOR - 1u);
    for (uint32_t sector = first; sector <= last && sector < DEVICE_SIZE; sector += SECTOR) {
        if (!write_enable() || !command(0x20, 1, sector) || !wait_ready()) return 0;
    }
    return 1;
}

int MassErase(uint32_t parallelism) {
    (void)parallelism;
    return write_enable() && command(0xC7, 0, 0) && wait_ready();
}

int Read(uint32_t address, uint32_t size, uint8_t *buffer) {
    uint32_t offset = address - WINDOW;
    cs_low();
    int ok = xfer(0x03, 0) && xfer((uint8_t)(offset >> 16), 0) &&
             xfer((uint8_t)(offset >> 8), 0) && xfer((uint8_t)offset, 0);
    for (uint32_t i = 0; ok && i < size; i++) ok = xfer(0xFF, &buffer[i]);
    cs_high();
    return ok;
}
