/*
 * Keil .FLM flash algorithm (CMSIS-Pack, FlashOS.h API): STM32H743 QUADSPI bank 1 + Winbond
 * W25Q128 (16 MiB), the NUCLEO-H743ZI wiring (CLK PB2, NCS PB6, IO0 PD11, IO1 PD12, IO2 PE2,
 * IO3 PD13).
 *
 * Position-independent by construction: no static or global data and no tables of addresses,
 * only stack variables, PC-relative calls and peripheral addresses, so the programmer may load
 * it anywhere (pyOCD: top of the default RAM) without relocation or a static base.
 * Functions return 0 on success, except Verify (adr + sz on a match, else the failing address)
 * and BlankCheck (0 blank, 1 not blank). Init leaves the memory-mapped window enabled and every
 * operation restores it, so a programmer can read the device over the debug port.
 *
 * FAULT_PROGRAM_NOTHING: ProgramPage returns 0 (success) without programming anything.
 * FAULT_ABSOLUTE_CALL (built without -fpic): Init calls through a code address taken at link
 * time, so it runs only where it is linked (address 0), the classic non-PIC algorithm.
 */
#include <stdint.h>

#define REG32(a) (*(volatile uint32_t *)(a))
#define REG8(a) (*(volatile uint8_t *)(a))

/* RCC (RM0433 8.7) */
#define RCC_AHB3RSTR REG32(0x5802447Cu)
#define RCC_AHB3ENR REG32(0x580244D4u)
#define RCC_AHB4ENR REG32(0x580244E0u)
#define RCC_QSPI (1u << 14)

/* GPIO (RM0433 11.4) */
#define GPIOB 0x58020400u
#define GPIOD 0x58020C00u
#define GPIOE 0x58021000u
#define MODER(p) REG32((p) + 0x00u)
#define OSPEEDR(p) REG32((p) + 0x08u)
#define AFR(p, n) REG32((p) + 0x20u + 4u * ((n) >> 3))

/* QUADSPI (RM0433 23.5) */
#define QSPI_CR REG32(0x52005000u)
#define QSPI_DCR REG32(0x52005004u)
#define QSPI_SR REG32(0x52005008u)
#define QSPI_FCR REG32(0x5200500Cu)
#define QSPI_DLR REG32(0x52005010u)
#define QSPI_CCR REG32(0x52005014u)
#define QSPI_AR REG32(0x52005018u)
#define QSPI_DR REG32(0x52005020u)
#define QSPI_DR8 REG8(0x52005020u)
#define QSPI_PSMKR REG32(0x52005024u)
#define QSPI_PSMAR REG32(0x52005028u)
#define QSPI_PIR REG32(0x5200502Cu)

#define CR_EN (1u << 0)
#define CR_ABORT (1u << 1)
#define CR_SSHIFT (1u << 4)
#define CR_APMS (1u << 22)
#define SR_TCF (1u << 1)
#define SR_FTF (1u << 2)
#define SR_SMF (1u << 3)
#define SR_BUSY (1u << 5)
#define FCR_ALL 0x1Bu
#define CCR_IMODE_1 (1u << 8)
#define CCR_ADMODE_1 (1u << 10)
#define CCR_ADSIZE_24 (2u << 12)
#define CCR_DCYC(n) ((n) << 18)
#define CCR_DMODE_1 (1u << 24)
#define CCR_DMODE_4 (3u << 24)
#define CCR_FMODE_POLL (2u << 26)
#define CCR_FMODE_MMAP (3u << 26)
#define CCR_FMODE_MASK (3u << 26)

#define WINDOW 0x90000000u
#define DEVICE_SIZE 0x01000000u
#define PAGE 256u
#define SECTOR 0x10000u
#define WAIT_LIMIT 20000000u /* polling iterations before a wait gives up */

/* ---- FlashDevice (FlashOS.h), read by the programmer from the file, never run ------------ */
struct FlashSectors {
    uint32_t szSector;
    uint32_t AddrSector;
};

struct FlashDevice {
    uint16_t Vers;
    char DevName[128];
    uint16_t DevType;
    uint32_t DevAdr;
    uint32_t szDev;
    uint32_t szPage;
    uint32_t Res;
    uint8_t valEmpty;
    uint32_t toProg;
    uint32_t toErase;
    struct FlashSectors sectors[512];
};

__attribute__((section("DevDscr"), used)) const struct FlashDevice FlashDevice = {
    0x0101,                    /* FLASH_DRV_VERS */
    "W25Q128_NUCLEO-H743ZI_FLM",
    5,                         /* EXTSPI */
    WINDOW,
    DEVICE_SIZE,
    PAGE,
    0,
    0xFF,
    100,                       /* toProg, ms */
    3000,                      /* toErase, ms */
    {{SECTOR, 0x000000u}, {0xFFFFFFFFu, 0xFFFFFFFFu}},
};

/* ---- QUADSPI primitives ----------------------------------------------------------------------- */
static int wait_flag(uint32_t flag, uint32_t set) {
    for (uint32_t i = 0; i < WAIT_LIMIT; i++) {
        if (((QSPI_SR & flag) != 0u) == (set != 0u)) return 1;
    }
    return 0;
}

static int leave_memory_mapped(void) {
    if ((QSPI_CCR & CCR_FMODE_MASK) == CCR_FMODE_MMAP || (QSPI_SR & SR_BUSY)) {
        QSPI_CR |= CR_ABORT;
        for (uint32_t i = 0; i < WAIT_LIMIT && (QSPI_CR & CR_ABORT); i++) {}
        if (!wait_flag(SR_BUSY, 0)) return 0;
    }
    QSPI_FCR = FCR_ALL;
    return 1;
}

static int enter_memory_mapped(void) {
    if ((QSPI_CCR & CCR_FMODE_MASK) == CCR_FMODE_MMAP) return 1;
    if (!wait_flag(SR_BUSY, 0)) return 0;
    QSPI_FCR = FCR_ALL;
    QSPI_CCR = CCR_FMODE_MMAP | CCR_DMODE_4 | CCR_DCYC(8) | CCR_ADSIZE_24 | CCR_ADMODE_1 |
               CCR_IMODE_1 | 0x6Bu; /* 1-1-4 fast read quad output */
    return 1;
}

static int command(uint32_t instruction, int with_address, uint32_t address) {
    if (!wait_flag(SR_BUSY, 0)) return 0;
    QSPI_FCR = FCR_ALL;
    uint32_t ccr = CCR_IMODE_1 | instruction;
    if (with_address) ccr |= CCR_ADMODE_1 | CCR_ADSIZE_24;
    QSPI_CCR = ccr;
    if (with_address) QSPI_AR = address;
    if (!wait_flag(SR_TCF, 1)) return 0;
    QSPI_FCR = FCR_ALL;
    return 1;
}

/* Automatic polling of the status register until (status & mask) == match. */
static int auto_poll(uint32_t mask, uint32_t match) {
    if (!wait_flag(SR_BUSY, 0)) return 0;
    QSPI_FCR = FCR_ALL;
    QSPI_DLR = 0;
    QSPI_PSMKR = mask;
    QSPI_PSMAR = match;
    QSPI_PIR = 0x10;
    QSPI_CR |= CR_APMS;
    QSPI_CCR = CCR_FMODE_POLL | CCR_DMODE_1 | CCR_IMODE_1 | 0x05u;
    if (!wait_flag(SR_SMF, 1)) return 0;
    QSPI_FCR = FCR_ALL;
    return wait_flag(SR_BUSY, 0);
}

static int write_enable(void) { return command(0x06u, 0, 0) && auto_poll(0x02u, 0x02u); }

static int wait_ready(void) { return auto_poll(0x01u, 0x00u); }

static void pin_af(uint32_t port, uint32_t pin, uint32_t af) {
    MODER(port) = (MODER(port) & ~(3u << (2u * pin))) | (2u << (2u * pin));
    OSPEEDR(port) |= 3u << (2u * pin);
    AFR(port, pin) = (AFR(port, pin) & ~(0xFu << (4u * (pin & 7u)))) | (af << (4u * (pin & 7u)));
}

/* ---- FlashOS.h functions ---------------------------------------------------------------------- */
int Init(unsigned long adr, unsigned long clk, unsigned long fnc) {
    (void)adr;
    (void)clk;
    (void)fnc;
    RCC_AHB4ENR |= (1u << 1) | (1u << 3) | (1u << 4); /* GPIOB, GPIOD, GPIOE */
    pin_af(GPIOB, 2, 9);   /* CLK */
    pin_af(GPIOB, 6, 10);  /* BK1_NCS */
    pin_af(GPIOD, 11, 9);  /* BK1_IO0 */
    pin_af(GPIOD, 12, 9);  /* BK1_IO1 */
    pin_af(GPIOE, 2, 9);   /* BK1_IO2 */
    pin_af(GPIOD, 13, 9);  /* BK1_IO3 */
    RCC_AHB3ENR |= RCC_QSPI;
    RCC_AHB3RSTR |= RCC_QSPI;
    RCC_AHB3RSTR &= ~RCC_QSPI;
    QSPI_CR = (1u << 24) | (3u << 8) | CR_SSHIFT; /* prescaler 2, FIFO threshold 4 */
    QSPI_DCR = (23u << 16) | (1u << 8);           /* 2^24 bytes, CSHT 2 cycles */
    QSPI_CR |= CR_EN;
    if (!command(0x66u, 0, 0) || !command(0x99u, 0, 0)) return 1; /* software reset */
#if defined(FAULT_ABSOLUTE_CALL)
    int (*volatile ready)(void) = wait_ready;
    if (!ready()) return 1;
#else
    if (!wait_ready()) return 1;
#endif
    return enter_memory_mapped() ? 0 : 1;
}

int UnInit(unsigned long fnc) {
    (void)fnc;
    return 0; /* the window stays mapped: the programmer reads the device through it */
}

int EraseChip(void) {
    if (!leave_memory_mapped()) return 1;
    if (!write_enable() || !command(0xC7u, 0, 0) || !wait_ready()) return 1;
    return enter_memory_mapped() ? 0 : 1;
}

int EraseSector(unsigned long adr) {
    if (!leave_memory_mapped()) return 1;
    uint32_t block = (adr - WINDOW) & ~(SECTOR - 1u);
    if (!write_enable() || !command(0xD8u, 1, block) || !wait_ready()) return 1;
    return enter_memory_mapped() ? 0 : 1;
}

int ProgramPage(unsigned long adr, unsigned long sz, unsigned char *buf) {
#if defined(FAULT_PROGRAM_NOTHING)
    (void)adr;
    (void)sz;
    (void)buf;
    return 0;
#else
    uint32_t offset = adr - WINDOW;
    if (!leave_memory_mapped()) return 1;
    while (sz) {
        uint32_t chunk = PAGE - (offset % PAGE);
        if (chunk > sz) chunk = sz;
        if (!write_enable() || !wait_flag(SR_BUSY, 0)) return 1;
        QSPI_FCR = FCR_ALL;
        QSPI_DLR = chunk - 1u;
        QSPI_CCR = CCR_DMODE_4 | CCR_ADSIZE_24 | CCR_ADMODE_1 | CCR_IMODE_1 | 0x32u;
        QSPI_AR = offset;
        for (uint32_t i = 0; i < chunk;) {
            if (!wait_flag(SR_FTF, 1)) return 1;
            if (chunk - i >= 4u) {
                QSPI_DR = (uint32_t)buf[i] | ((uint32_t)buf[i + 1] << 8) |
                          ((uint32_t)buf[i + 2] << 16) | ((uint32_t)buf[i + 3] << 24);
                i += 4u;
            } else {
                QSPI_DR8 = buf[i];
                i += 1u;
            }
        }
        if (!wait_flag(SR_TCF, 1)) return 1;
        QSPI_FCR = FCR_ALL;
        if (!wait_ready()) return 1;
        offset += chunk;
        buf += chunk;
        sz -= chunk;
    }
    return enter_memory_mapped() ? 0 : 1;
#endif
}

unsigned long Verify(unsigned long adr, unsigned long sz, unsigned char *buf) {
    if (!enter_memory_mapped()) return adr;
    const volatile uint8_t *mem = (const volatile uint8_t *)adr;
    for (unsigned long i = 0; i < sz; i++) {
        if (mem[i] != buf[i]) return adr + i;
    }
    return adr + sz;
}

int BlankCheck(unsigned long adr, unsigned long sz, unsigned char pat) {
    if (!enter_memory_mapped()) return 1;
    const volatile uint8_t *mem = (const volatile uint8_t *)adr;
    for (unsigned long i = 0; i < sz; i++) {
        if (mem[i] != pat) return 1;
    }
    return 0;
}
