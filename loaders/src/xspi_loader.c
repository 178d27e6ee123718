/*
 * QUADSPI / OCTOSPI external loader for test boards (STM32CubeProgrammer .stldr convention).
 *
 * One source, one build per board (loaders/mk/xspi.mk):
 *   TARGET_L496 + CHIP_MX25L3233F      STM32L496 QUADSPI, Macronix 4 MiB, 1-1-4 read, 1-4-4 4PP
 *   TARGET_G474 + CHIP_W25Q16          STM32G474 QUADSPI1, Winbond 2 MiB, 1-1-4 read/program
 *   TARGET_G474 + CHIP_W25Q256         the same on a 32 MiB part (4-byte mode)
 *   TARGET_U585 + CHIP_W25Q32          STM32U585 OCTOSPI1 in quad mode, Winbond 4 MiB
 *   TARGET_H7B3 + CHIP_MX25LM51245G    STM32H7B3 OCTOSPI1, Macronix OctaBus in octal DTR
 *                                      (8D-8D-8D, DQS), 64 MiB
 * FAULT_* macros reproduce loader bugs seen in the field:
 *   FAULT_WRONG_DUMMY   reads clock 6 dummy cycles where the chip sends data after 8
 *   FAULT_NO_4BYTE      a 32 MiB part driven with 3-byte addresses, 4-byte mode never entered
 *
 * Register sequences follow ST's HAL (HAL_QSPI_* / HAL_OSPI_*: command, transmit, receive,
 * automatic polling, memory-mapped), at register level: RM0351/RM0440 (QUADSPI), RM0456 and
 * RM0455 (OCTOSPI). Addresses and bits are those of each part's reference manual. Every wait
 * is bounded.
 */
#include <stdint.h>

#define REG32(a) (*(volatile uint32_t *)(a))
#define REG8(a) (*(volatile uint8_t *)(a))

/* ---- target: clocks, pins, controller --------------------------------------------------- */
struct pin {
    uint32_t gpio;
    uint8_t pin;
    uint8_t af;
};

#if defined(TARGET_L496) || defined(TARGET_G474)
#define BUS_QUADSPI 1
#define XSPI_BASE 0xA0001000u
#define RCC_GPIO_ENR REG32(0x40021000u + 0x4Cu)          /* AHB2ENR */
#define RCC_XSPI_ENR REG32(0x40021000u + 0x50u)          /* AHB3ENR */
#define RCC_XSPI_RSTR REG32(0x40021000u + 0x30u)         /* AHB3RSTR */
#define RCC_XSPI_BIT (1u << 8)                           /* QSPIEN / QSPIRST */
#define GPIO_BITS 0x3u                                   /* GPIOA, GPIOB */
#define GPIOA 0x48000000u
#define GPIOB 0x48000400u
static const struct pin PINS[] = {
    {GPIOA, 3, 10}, {GPIOA, 2, 10},                      /* CLK, BK1_NCS */
    {GPIOB, 1, 10}, {GPIOB, 0, 10}, {GPIOA, 7, 10}, {GPIOA, 6, 10}, /* IO0..IO3 */
};
#elif defined(TARGET_U585)
#define BUS_OCTOSPI 1
#define XSPI_BASE 0x420D1400u
#define RCC_GPIO_ENR REG32(0x46020C00u + 0x8Cu)          /* AHB2ENR1 */
#define RCC_XSPI_ENR REG32(0x46020C00u + 0x90u)          /* AHB2ENR2 */
#define RCC_XSPI_RSTR REG32(0x46020C00u + 0x68u)         /* AHB2RSTR2 */
#define RCC_XSPI_BIT (1u << 4)                           /* OCTOSPI1EN / OCTOSPI1RST */
#define GPIO_BITS ((1u << 21) | 0x3u)                    /* OCTOSPIM, GPIOA, GPIOB */
#define GPIOA 0x42020000u
#define GPIOB 0x42020400u
static const struct pin PINS[] = {
    {GPIOB, 10, 10}, {GPIOA, 4, 3},                      /* P1_CLK, P1_NCS */
    {GPIOB, 1, 10}, {GPIOB, 0, 10}, {GPIOA, 7, 10}, {GPIOA, 6, 10}, /* P1_IO0..IO3 */
};
#elif defined(TARGET_H7B3)
#define BUS_OCTOSPI 1
#define XSPI_BASE 0x52005000u
#define RCC_GPIO_ENR REG32(0x58024400u + 0x140u)         /* AHB4ENR */
#define RCC_XSPI_ENR REG32(0x58024400u + 0x134u)         /* AHB3ENR */
#define RCC_XSPI_RSTR REG32(0x58024400u + 0x7Cu)         /* AHB3RSTR */
#define RCC_XSPI_BIT ((1u << 14) | (1u << 21))           /* OCTOSPI1, IO manager */
#define GPIO_BITS 0xFEu                                  /* GPIOB..GPIOH */
#define GPIO(n) (0x58020000u + 0x400u * (n))
static const struct pin PINS[] = {
    {GPIO(1), 2, 9},  {GPIO(6), 6, 10}, {GPIO(2), 5, 10},                   /* CLK NCS DQS */
    {GPIO(3), 11, 9}, {GPIO(5), 9, 10}, {GPIO(5), 7, 10}, {GPIO(5), 6, 10}, /* IO0..IO3 */
    {GPIO(2), 1, 10}, {GPIO(7), 3, 9},  {GPIO(6), 9, 9},  {GPIO(6), 14, 9}, /* IO4..IO7 */
};
#define RCC_RSTR_BIT (1u << 14)
#else
#error "define a TARGET_*"
#endif
#ifndef RCC_RSTR_BIT
#define RCC_RSTR_BIT RCC_XSPI_BIT
#endif

#define WINDOW 0x90000000u
#define WAIT_LIMIT 20000000u

/* ---- chip --------------------------------------------------------------------------------- */
#if defined(CHIP_MX25L3233F)
#define DEVICE "MX25L3233F"
#define DEVICE_SIZE 0x00400000u
#define QE_MACRONIX 1
#elif defined(CHIP_W25Q16)
#define DEVICE "W25Q16"
#define DEVICE_SIZE 0x00200000u
#define QE_WINBOND 1
#elif defined(CHIP_W25Q32)
#define DEVICE "W25Q32"
#define DEVICE_SIZE 0x00400000u
#define QE_WINBOND 1
#elif defined(CHIP_W25Q256)
#define DEVICE "W25Q256"
#define DEVICE_SIZE 0x02000000u
#define QE_WINBOND 1
#if !defined(FAULT_NO_4BYTE)
#define ENTER_4BYTE 1
#endif
#elif defined(CHIP_MX25LM51245G)
#define DEVICE "MX25LM51245G"
#define DEVICE_SIZE 0x04000000u
#define OCTAL_DTR 1
#else
#error "define a CHIP_*"
#endif

#define PAGE 256u
#define SECTOR 0x1000u
#if defined(ENTER_4BYTE) || defined(OCTAL_DTR)
#define ADDR_BYTES 4u
#else
#define ADDR_BYTES 3u
#endif
#if defined(FAULT_WRONG_DUMMY)
#define READ_DUMMY 6u /* the datasheet's 8 for 6Bh, miscounted */
#else
#define READ_DUMMY 8u
#endif

/* log2(DEVICE_SIZE) - 1: QUADSPI DCR.FSIZE / OCTOSPI DCR1.DEVSIZE */
static uint32_t size_code(void) {
    uint32_t n = 0;
    while ((1u << (n + 1u)) < DEVICE_SIZE) n++;
    return n;
}

/* ---- StorageInfo ---------------------------------------------------------------------------- */
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
    DEVICE "_" LOADER_NAME,
    3, /* NOR_FLASH */
    WINDOW,
    DEVICE_SIZE,
    PAGE,
    0xFF,
    {{DEVICE_SIZE / SECTOR, SECTOR}, {0, 0}},
};

void *memcpy(void *dst, const void *src, uint32_t n);
void *memcpy(void *dst, const void *src, uint32_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    while (n--) *d++ = *s++;
    return dst;
}

static int wait_reg(volatile uint32_t *reg, uint32_t mask, uint32_t want) {
    for (uint32_t i = 0; i < WAIT_LIMIT; i++) {
        if ((*reg & mask) == want) return 1;
    }
    return 0;
}

/* ---- one command, whatever the controller ---------------------------------------------------- */
struct cmd {
    uint32_t instr;
    uint8_t lines;   /* instruction lines */
    uint8_t alines;  /* address lines, 0 = no address */
    uint8_t abytes;
    uint8_t dlines;  /* data lines, 0 = no data */
    uint8_t dummy;
    uint8_t dtr;     /* octal DTR: every phase double rate, DQS on reads */
};

enum { WRITE = 0, READ = 1, POLL = 2, MAPPED = 3 };

#if defined(BUS_QUADSPI)
#define CR REG32(XSPI_BASE + 0x00u)
#define DCR REG32(XSPI_BASE + 0x04u)
#define SR REG32(XSPI_BASE + 0x08u)
#define FCR REG32(XSPI_BASE + 0x0Cu)
#define DLR REG32(XSPI_BASE + 0x10u)
#define CCR REG32(XSPI_BASE + 0x14u)
#define AR REG32(XSPI_BASE + 0x18u)
#define DR8 REG8(XSPI_BASE + 0x20u)
#define PSMKR REG32(XSPI_BASE + 0x24u)
#define PSMAR REG32(XSPI_BASE + 0x28u)
#define PIR REG32(XSPI_BASE + 0x2Cu)

static uint32_t mode_bits(uint32_t lines) {
    return lines == 4u ? 3u : lines;
}

/* HAL_QSPI_Command: DLR, CCR (starts a command without address), AR (starts one with). */
static void issue(const struct cmd *c, uint32_t fmode, uint32_t addr, uint32_t n) {
    if (c->dlines) DLR = n - 1u;
    uint32_t ccr = c->instr | mode_bits(c->lines) << 8 | (uint32_t)c->dummy << 18 |
                   mode_bits(c->dlines) << 24 | fmode << 26;
    if (c->alines) ccr |= mode_bits(c->alines) << 10 | (uint32_t)(c->abytes - 1u) << 12;
    CCR = ccr;
    if (c->alines && fmode != MAPPED) AR = addr;
}

#define FMODE_NOW ((CCR >> 26) & 3u) /* QUADSPI: FMODE is part of CCR */
#else
#define CR REG32(XSPI_BASE + 0x000u)
#define DCR1 REG32(XSPI_BASE + 0x008u)
#define DCR2 REG32(XSPI_BASE + 0x00Cu)
#define SR REG32(XSPI_BASE + 0x020u)
#define FCR REG32(XSPI_BASE + 0x024u)
#define DLR REG32(XSPI_BASE + 0x040u)
#define AR REG32(XSPI_BASE + 0x048u)
#define DR8 REG8(XSPI_BASE + 0x050u)
#define PSMKR REG32(XSPI_BASE + 0x080u)
#define PSMAR REG32(XSPI_BASE + 0x088u)
#define PIR REG32(XSPI_BASE + 0x090u)
#define CCR REG32(XSPI_BASE + 0x100u)
#define TCR REG32(XSPI_BASE + 0x108u)
#define IR REG32(XSPI_BASE + 0x110u)

static uint32_t mode_bits(uint32_t lines) {
    return lines == 8u ? 4u : lines == 4u ? 3u : lines;
}

static void set_mode(uint32_t fmode) {
    CR = (CR & ~(3u << 28)) | fmode << 28;
}

/* HAL_OSPI_Command: FMODE, DLR, TCR, CCR, IR (starts a command without address), AR. */
static void issue(const struct cmd *c, uint32_t fmode, uint32_t addr, uint32_t n) {
    set_mode(fmode);
    if (c->dlines) DLR = n - 1u;
    TCR = c->dummy;
    uint32_t ccr = mode_bits(c->lines) | (c->instr > 0xFFu ? 1u : 0u) << 4 |
                   mode_bits(c->dlines) << 24;
    if (c->alines) ccr |= mode_bits(c->alines) << 8 | (uint32_t)(c->abytes - 1u) << 12;
    if (c->dtr) {
        ccr |= 1u << 3 | (c->alines ? 1u << 11 : 0u) | (c->dlines ? 1u << 27 : 0u);
        if (c->dlines && fmode != WRITE) ccr |= 1u << 29; /* DQS on reads */
    }
    CCR = ccr;
    IR = c->instr;
    if (c->alines && fmode != MAPPED) AR = addr;
}
#define FMODE_NOW ((CR >> 28) & 3u)
#endif

#define SR_TCF (1u << 1)
#define SR_FTF (1u << 2)
#define SR_SMF (1u << 3)
#define SR_BUSY (1u << 5)
#define CR_EN 1u
#define CR_ABORT 2u
#define CR_APMS (1u << 22)

static int idle(void) {
    if (FMODE_NOW == MAPPED || (SR & SR_BUSY)) {
        CR |= CR_ABORT;
        if (!wait_reg(&CR, CR_ABORT, 0) || !wait_reg(&SR, SR_BUSY, 0)) return 0;
    }
    FCR = 0x1Bu;
    return 1;
}

/* A command with no data, or with `n` bytes written from `data`. */
static int send(const struct cmd *c, uint32_t addr, const uint8_t *data, uint32_t n) {
    if (!idle()) return 0;
    issue(c, WRITE, addr, n);
    for (uint32_t i = 0; c->dlines && i < n; i++) {
        if (!wait_reg(&SR, SR_FTF, SR_FTF)) return 0;
        DR8 = data[i];
    }
    if (!wait_reg(&SR, SR_TCF, SR_TCF)) return 0;
    FCR = SR_TCF;
    return 1;
}

static int poll(const struct cmd *c, uint32_t mask, uint32_t match, uint32_t n) {
    if (!idle()) return 0;
    PSMKR = mask;
    PSMAR = match;
    PIR = 0x10u;
    CR |= CR_APMS;
#if defined(BUS_QUADSPI)
    issue(c, POLL, 0, n);
#else
    issue(c, WRITE, 0, n);
    set_mode(POLL);
    if (c->alines) AR = 0; else IR = c->instr;
#endif
    if (!wait_reg(&SR, SR_SMF, SR_SMF)) return 0;
    FCR = SR_SMF;
    return wait_reg(&SR, SR_BUSY, 0);
}

/* ---- the chip's commands ---------------------------------------------------------------------- */
#if defined(OCTAL_DTR)
#define OP(x) ((uint32_t)(x) << 8 | (~(uint32_t)(x) & 0xFFu)) /* OPI: opcode, inverted opcode */
static const struct cmd C_WREN = {OP(0x06), 8, 0, 0, 0, 0, 1};
static const struct cmd C_RDSR = {OP(0x05), 8, 8, 4, 8, 4, 1};
static const struct cmd C_PROGRAM = {OP(0x12), 8, 8, 4, 8, 0, 1};
static const struct cmd C_ERASE = {OP(0x21), 8, 8, 4, 0, 0, 1};
static const struct cmd C_CHIP_ERASE = {OP(0x60), 8, 0, 0, 0, 0, 1};
static const struct cmd C_READ = {OP(0xEE), 8, 8, 4, 8, 6, 1}; /* CR2 DC = 6 cycles */
#define STATUS_BYTES 2u /* DTR: the status byte comes twice */
#else
static const struct cmd C_WREN = {0x06, 1, 0, 0, 0, 0, 0};
static const struct cmd C_RDSR = {0x05, 1, 0, 0, 1, 0, 0};
#if defined(QE_MACRONIX)
static const struct cmd C_PROGRAM = {0x38, 1, 4, ADDR_BYTES, 4, 0, 0};  /* 4PP, 1-4-4 */
#elif defined(ENTER_4BYTE)
static const struct cmd C_PROGRAM = {0x34, 1, 1, 4, 4, 0, 0};           /* 1-1-4, 4-byte */
#else
static const struct cmd C_PROGRAM = {0x32, 1, 1, ADDR_BYTES, 4, 0, 0};  /* 1-1-4 */
#endif
static const struct cmd C_ERASE = {0x20, 1, 1, ADDR_BYTES, 0, 0, 0};
static const struct cmd C_CHIP_ERASE = {0xC7, 1, 0, 0, 0, 0, 0};
static const struct cmd C_READ = {0x6B, 1, 1, ADDR_BYTES, 4, READ_DUMMY, 0}; /* 1-1-4 */
#define STATUS_BYTES 1u
#endif

static int wait_ready(void) {
    return poll(&C_RDSR, 0x01u, 0x00u, STATUS_BYTES);
}

static int write_enable(void) {
    return send(&C_WREN, 0, 0, 0) && poll(&C_RDSR, 0x02u, 0x02u, STATUS_BYTES);
}

static int map(void) {
    if (!idle()) return 0;
    issue(&C_READ, MAPPED, 0, 0);
    return 1;
}

static int configure_chip(void) {
    static const struct cmd reset_enable = {0x66, 1, 0, 0, 0, 0, 0};
    static const struct cmd reset = {0x99, 1, 0, 0, 0, 0, 0};
#if defined(OCTAL_DTR)
    /* A chip left in DTR OPI by a previous run hears only the octal reset. */
    static const struct cmd opi_reset_enable = {OP(0x66), 8, 0, 0, 0, 0, 1};
    static const struct cmd opi_reset = {OP(0x99), 8, 0, 0, 0, 0, 1};
    if (!send(&opi_reset_enable, 0, 0, 0) || !send(&opi_reset, 0, 0, 0)) return 0;
#endif
    if (!send(&reset_enable, 0, 0, 0) || !send(&reset, 0, 0, 0)) return 0;
    static const struct cmd spi_wren = {0x06, 1, 0, 0, 0, 0, 0};
    static const struct cmd spi_rdsr = {0x05, 1, 0, 0, 1, 0, 0};
    if (!poll(&spi_rdsr, 0x01u, 0x00u, 1)) return 0;
#if defined(QE_MACRONIX)
    static const struct cmd wrsr = {0x01, 1, 0, 0, 1, 0, 0};
    static const uint8_t qe[2] = {0x40, 0x00};            /* SR.QE, CR: default dummy cycles */
    if (!send(&spi_wren, 0, 0, 0) || !send(&wrsr, 0, qe, 2)) return 0;
    if (!poll(&spi_rdsr, 0x01u, 0x00u, 1)) return 0;
#elif defined(QE_WINBOND)
    static const struct cmd wrsr2 = {0x31, 1, 0, 0, 1, 0, 0};
    static const uint8_t qe = 0x02;                       /* SR2.QE */
    if (!send(&spi_wren, 0, 0, 0) || !send(&wrsr2, 0, &qe, 1)) return 0;
    if (!poll(&spi_rdsr, 0x01u, 0x00u, 1)) return 0;
#endif
#if defined(ENTER_4BYTE)
    static const struct cmd en4b = {0xB7, 1, 0, 0, 0, 0, 0};
    if (!send(&en4b, 0, 0, 0)) return 0;
#endif
#if defined(OCTAL_DTR)
    static const struct cmd wrcr2 = {0x72, 1, 1, 4, 1, 0, 0};
    static const uint8_t dummy6 = 0x07, dopi = 0x02;      /* CR2 300h: DC = 6 cycles; 0: DOPI */
    if (!send(&spi_wren, 0, 0, 0) || !send(&wrcr2, 0x300u, &dummy6, 1)) return 0;
    if (!send(&spi_wren, 0, 0, 0) || !send(&wrcr2, 0x000u, &dopi, 1)) return 0;
    if (!wait_ready()) return 0;                          /* first command in 8D-8D-8D */
#endif
    return 1;
}

/* ---- exported functions ------------------------------------------------------------------------ */
int Init(void) {
    RCC_GPIO_ENR |= GPIO_BITS;
    for (uint32_t i = 0; i < sizeof PINS / sizeof PINS[0]; i++) {
        const struct pin *p = &PINS[i];
        uint32_t two = 2u * p->pin, four = 4u * (p->pin & 7u);
        REG32(p->gpio + 0x00u) = (REG32(p->gpio + 0x00u) & ~(3u << two)) | 2u << two;
        REG32(p->gpio + 0x08u) |= 3u << two;                 /* very high speed */
        uint32_t afr = p->gpio + (p->pin < 8u ? 0x20u : 0x24u);
        REG32(afr) = (REG32(afr) & ~(0xFu << four)) | (uint32_t)p->af << four;
    }
    RCC_XSPI_ENR |= RCC_XSPI_BIT;
    RCC_XSPI_RSTR |= RCC_RSTR_BIT;
    RCC_XSPI_RSTR &= ~RCC_RSTR_BIT;
#if defined(BUS_QUADSPI)
    CR = 1u << 24 | 3u << 8;                                /* PRESCALER 1, FTHRES 4 */
    DCR = size_code() << 16 | 1u << 8;                      /* FSIZE, CSHT */
#else
    DCR1 = size_code() << 16 | 1u << 8;                     /* DEVSIZE, CSHT; MTYP Micron */
    DCR2 = 1u;                                              /* prescaler */
    CR = 3u << 8;                                           /* FTHRES 4 */
#endif
    CR |= CR_EN;
    if (!configure_chip()) return 0;
    return map();
}

static int program(uint32_t offset, const uint8_t *data, uint32_t n) {
#if defined(OCTAL_DTR)
    /* DTR moves two bytes a clock: whole pairs from an even address, padded with 0xFF (which
     * leaves a cell as it is). */
    static uint8_t stage[PAGE + 2];
    uint32_t start = offset & ~1u, end = (offset + n + 1u) & ~1u;
    stage[0] = 0xFF;
    stage[end - start - 1u] = 0xFF;
    memcpy(stage + (offset - start), data, n);
    offset = start;
    n = end - start;
    data = stage;
#endif
    return write_enable() && send(&C_PROGRAM, offset, data, n) && wait_ready();
}

int Write(uint32_t address, uint32_t size, uint8_t *buffer) {
    uint32_t offset = address - WINDOW;
    while (size) {
        uint32_t chunk = PAGE - (offset % PAGE);
        if (chunk > size) chunk = size;
        if (!program(offset, buffer, chunk)) return 0;
        offset += chunk;
        buffer += chunk;
        size -= chunk;
    }
    return map();
}

int SectorErase(uint32_t start, uint32_t end) {
    uint32_t first = (start - WINDOW) & ~(SECTOR - 1u);
    uint32_t last = (end - WINDOW) & ~(SECTOR - 1u);
    for (uint32_t s = first; s <= last && s < DEVICE_SIZE; s += SECTOR) {
        if (!write_enable() || !send(&C_ERASE, s, 0, 0) || !wait_ready()) return 0;
    }
    return map();
}

int MassErase(uint32_t parallelism) {
    (void)parallelism;
    if (!write_enable() || !send(&C_CHIP_ERASE, 0, 0, 0) || !wait_ready()) return 0;
    return map();
}

int Read(uint32_t address, uint32_t size, uint8_t *buffer) {
    if (FMODE_NOW != MAPPED && !map()) return 0;
    memcpy(buffer, (const void *)address, size);
    return 1;
}

uint32_t CheckSum(uint32_t start, uint32_t size, uint32_t init) {
    if (FMODE_NOW != MAPPED && !map()) return init;
    const volatile uint8_t *p = (const volatile uint8_t *)start;
    for (uint32_t i = 0; i < size; i++) init += p[i];
    return init;
}

/* ST's convention: the byte sum of the verified span in the upper word, and in the lower word
 * 0 when the memory equals the buffer, else the address of the first difference. */
uint64_t Verify(uint32_t address, uint32_t buffer, uint32_t words, uint32_t misalign) {
    uint32_t size = words * 4u;
    uint32_t head = misalign & 0xFu, tail = (misalign >> 16) & 0xFu;
    uint32_t sum = CheckSum(address + head, size - head - tail, 0);
    const volatile uint8_t *mem = (const volatile uint8_t *)address;
    const uint8_t *ram = (const uint8_t *)buffer;
    for (uint32_t i = 0; i < size; i++) {
        if (mem[i] != ram[i]) return ((uint64_t)sum << 32) | (address + i);
    }
    return (uint64_t)sum << 32;
}
