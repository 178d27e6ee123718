/*
 * STM32H7 QUADSPI external loader (STM32CubeProgrammer .stldr calling convention).
 *
 * One source, two boards, selected at build time:
 *   LOADER_W25Q128     NUCLEO-H743ZI + Winbond W25Q128 (16 MiB, single flash, 3-byte address)
 *   LOADER_MT25TL01G   STM32H750B-DK + MT25TL01G twin die in dual-flash mode (2 x 64 MiB,
 *                      4-byte address commands, even bytes in bank 1, odd bytes in bank 2)
 * and FAULT_* macros that reproduce loader bugs seen in the field (see Makefile).
 *
 * The driver follows the register sequences of ST's HAL (HAL_QSPI_Command, _Transmit,
 * _AutoPolling, _MemoryMapped) at register level, RM0433 chapter 23. Every wait is bounded:
 * a loader that hangs is worse than one that fails.
 */
#include <stdint.h>

#define REG32(a) (*(volatile uint32_t *)(a))
#define REG8(a) (*(volatile uint8_t *)(a))

/* RCC (RM0433 8.7) */
#define RCC_BASE 0x58024400u
#define RCC_AHB3RSTR REG32(RCC_BASE + 0x7Cu)
#define RCC_AHB3ENR REG32(RCC_BASE + 0xD4u)
#define RCC_AHB4ENR REG32(RCC_BASE + 0xE0u)
#define RCC_QSPI (1u << 14)

/* GPIOB: PB2 = CLK (AF9), PB6 = BK1_NCS (AF10) */
#define GPIOB_BASE 0x58020400u
#define GPIO_MODER(b) REG32((b) + 0x00u)
#define GPIO_OSPEEDR(b) REG32((b) + 0x08u)
#define GPIO_AFRL(b) REG32((b) + 0x20u)

/* QUADSPI (RM0433 23.5) */
#define QSPI_BASE 0x52005000u
#define QSPI_CR REG32(QSPI_BASE + 0x00u)
#define QSPI_DCR REG32(QSPI_BASE + 0x04u)
#define QSPI_SR REG32(QSPI_BASE + 0x08u)
#define QSPI_FCR REG32(QSPI_BASE + 0x0Cu)
#define QSPI_DLR REG32(QSPI_BASE + 0x10u)
#define QSPI_CCR REG32(QSPI_BASE + 0x14u)
#define QSPI_AR REG32(QSPI_BASE + 0x18u)
#define QSPI_DR REG32(QSPI_BASE + 0x20u)
#define QSPI_DR8 REG8(QSPI_BASE + 0x20u)
#define QSPI_PSMKR REG32(QSPI_BASE + 0x24u)
#define QSPI_PSMAR REG32(QSPI_BASE + 0x28u)
#define QSPI_PIR REG32(QSPI_BASE + 0x2Cu)

#define CR_EN (1u << 0)
#define CR_ABORT (1u << 1)
#define CR_SSHIFT (1u << 4)
#define CR_DFM (1u << 6)
#define CR_FTHRES(n) (((n) - 1u) << 8)
#define CR_APMS (1u << 22)
#define CR_PRESCALER(n) ((n) << 24)
#define SR_TCF (1u << 1)
#define SR_FTF (1u << 2)
#define SR_SMF (1u << 3)
#define SR_BUSY (1u << 5)
#define FCR_ALL 0x1Bu

#define CCR_IMODE_1 (1u << 8)
#define CCR_ADMODE_1 (1u << 10)
#define CCR_ADSIZE(bytes) (((bytes) - 1u) << 12)
#define CCR_DCYC(n) ((n) << 18)
#define CCR_DMODE_1 (1u << 24)
#define CCR_DMODE_4 (3u << 24)
#define CCR_FMODE_WRITE (0u << 26)
#define CCR_FMODE_READ (1u << 26)
#define CCR_FMODE_POLL (2u << 26)
#define CCR_FMODE_MMAP (3u << 26)

#define WINDOW 0x90000000u
#define WAIT_LIMIT 20000000u /* polling iterations before a wait gives up */

#if defined(LOADER_MT25TL01G)
#define DEVICE_NAME "MT25TL01G_STM32H750B-DK"
#define DUAL 1
#define ADDR_BYTES 4u
#define FSIZE 26u              /* 2^(26+1) = 128 MiB */
#define DEVICE_SIZE 0x08000000u
#define PAGE 512u              /* one 256-byte page in each die */
#define SECTOR 0x20000u        /* one 64 KiB block in each die */
#define CMD_READ 0x6Cu         /* 1-1-4 quad output fast read, 4-byte address */
#define CMD_PROGRAM 0x34u      /* 1-1-4 quad input page program, 4-byte address */
#define CMD_ERASE 0xDCu        /* 64 KiB block erase, 4-byte address */
#elif defined(LOADER_W25Q128)
#define DEVICE_NAME "W25Q128_NUCLEO-H743ZI"
#define DUAL 0
#define ADDR_BYTES 3u
#define FSIZE 23u              /* 2^(23+1) = 16 MiB */
#define DEVICE_SIZE 0x01000000u
#define PAGE 256u
#define SECTOR 0x10000u
#define CMD_READ 0x6Bu         /* 1-1-4 quad output fast read */
#define CMD_PROGRAM 0x32u      /* 1-1-4 quad input page program */
#define CMD_ERASE 0xD8u        /* 64 KiB block erase */
#else
#error "define LOADER_W25Q128 or LOADER_MT25TL01G"
#endif

#if DUAL
#define STATUS_BYTES 2u
#define WIP_MASK 0x0101u
#define WEL_MASK 0x0202u
#else
#define STATUS_BYTES 1u
#define WIP_MASK 0x01u
#define WEL_MASK 0x02u
#endif

/* ---- StorageInfo: what STM32CubeProgrammer shows and how it splits the device ------------ */
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

#if defined(FAULT_PAGE_16)
#define INFO_PAGE 16u                               /* a typo: no NOR chip has 16-byte pages */
#elif defined(FAULT_PAGE_8K)
#define INFO_PAGE 0x2000u                           /* the sector size given as the page */
#else
#define INFO_PAGE PAGE
#endif

__attribute__((section(".Dev_info"), used)) const struct StorageInfo StorageInfo = {
    DEVICE_NAME,
    3, /* NOR_FLASH */
    WINDOW,
    DEVICE_SIZE,
    INFO_PAGE,
    0xFF,
    {{DEVICE_SIZE / SECTOR, SECTOR}, {0, 0}},
};

/* ---- freestanding helpers ------------------------------------------------------------------ */
void *memset(void *dst, int value, uint32_t n);
void *memcpy(void *dst, const void *src, uint32_t n);

void *memset(void *dst, int value, uint32_t n) {
    volatile uint8_t *d = dst;
    while (n--) *d++ = (uint8_t)value;
    return dst;
}

void *memcpy(void *dst, const void *src, uint32_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    while (n && ((uint32_t)s & 3u)) { *d++ = *s++; n--; }
    if (!((uint32_t)d & 3u)) {
        while (n >= 16u) {
            uint32_t *d4 = (uint32_t *)(void *)d;
            const uint32_t *s4 = (const uint32_t *)(const void *)s;
            d4[0] = s4[0]; d4[1] = s4[1]; d4[2] = s4[2]; d4[3] = s4[3];
            d += 16; s += 16; n -= 16u;
        }
    }
    while (n--) *d++ = *s++;
    return dst;
}

#if defined(FAULT_INIT_HANGS)
/* Set by an interrupt handler this loader never enables. */
static volatile uint32_t chip_ready_irq;
#endif
#if defined(FAULT_FIRST_BUFFER)
static uint32_t bytes_served;
#endif
#if defined(FAULT_READ_NEEDS_INIT)
static uint32_t mapped_by_init;
#endif
#if defined(FAULT_READ_BEFORE_INIT)
static uint32_t init_done; /* set by Init only: a Read before any Init serves zeros */
#endif
#if defined(FAULT_ERASE_AFTER_READ)
/* Set while the window is mapped by a Read's accesses: on silicon the controller then stays
 * BUSY (prefetching) until an abort, and the commands of an erase that does not abort first
 * are dropped. Init, Write and MassErase reconfigure the controller and clear it. */
static uint32_t read_left_mapped;
#endif

static uint8_t stage[PAGE + 2];
#if defined(FAULT_WRONG_RAM)
/* A large static work area: harmless on an F7 with 512 KiB at 0x20000000, too big for the
 * 128 KiB DTCM an H7 has there. */
static uint8_t work_area[192 * 1024] __attribute__((used));
#endif

/* ---- QUADSPI primitives ---------------------------------------------------------------------- */
static int wait_flag(uint32_t flag, uint32_t set) {
    for (uint32_t i = 0; i < WAIT_LIMIT; i++) {
        if (((QSPI_SR & flag) != 0u) == (set != 0u)) return 1;
    }
    return 0;
}

static int leave_memory_mapped(void) {
#if defined(FAULT_ERASE_AFTER_READ)
    read_left_mapped = 0;
#endif
    if ((QSPI_CCR & (3u << 26)) == CCR_FMODE_MMAP || (QSPI_SR & SR_BUSY)) {
        QSPI_CR |= CR_ABORT;
        for (uint32_t i = 0; i < WAIT_LIMIT && (QSPI_CR & CR_ABORT); i++) {}
        if (!wait_flag(SR_BUSY, 0)) return 0;
    }
    QSPI_FCR = FCR_ALL;
    return 1;
}

/* Instruction (and address) without data: WREN, erase, reset. */
static int command(uint32_t instruction, int with_address, uint32_t address) {
    if (!wait_flag(SR_BUSY, 0)) return 0;
    QSPI_FCR = FCR_ALL;
    uint32_t ccr = CCR_FMODE_WRITE | CCR_IMODE_1 | instruction;
    if (with_address) ccr |= CCR_ADMODE_1 | CCR_ADSIZE(ADDR_BYTES);
    QSPI_CCR = ccr;
    if (with_address) QSPI_AR = address;
    if (!wait_flag(SR_TCF, 1)) return 0;
    QSPI_FCR = FCR_ALL;
    return 1;
}

/* Automatic status polling until (status & mask) == match, as HAL_QSPI_AutoPolling. */
static int auto_poll(uint32_t instruction, uint32_t mask, uint32_t match) {
    if (!wait_flag(SR_BUSY, 0)) return 0;
    QSPI_FCR = FCR_ALL;
    QSPI_DLR = STATUS_BYTES - 1u;
    QSPI_PSMKR = mask;
    QSPI_PSMAR = match;
    QSPI_PIR = 0x10;
    QSPI_CR |= CR_APMS;
    QSPI_CCR = CCR_FMODE_POLL | CCR_DMODE_1 | CCR_IMODE_1 | instruction;
    if (!wait_flag(SR_SMF, 1)) return 0;
    QSPI_FCR = FCR_ALL;
    return wait_flag(SR_BUSY, 0);
}

static int write_enable(void) {
    return command(0x06, 0, 0) && auto_poll(0x05, WEL_MASK, WEL_MASK);
}

static int wait_ready(void) {
    return auto_poll(0x05, WIP_MASK, 0);
}

#if defined(FAULT_NO_READ)
#define MAP_AFTER_OPERATIONS 0 /* erase and write leave the window unmapped */
#else
#define MAP_AFTER_OPERATIONS 1
#endif

static int enter_memory_mapped(void) {
    if (!wait_flag(SR_BUSY, 0)) return 0;
    QSPI_FCR = FCR_ALL;
    QSPI_CCR = CCR_FMODE_MMAP | CCR_DMODE_4 | CCR_DCYC(8) | CCR_ADSIZE(ADDR_BYTES) |
               CCR_ADMODE_1 | CCR_IMODE_1 | CMD_READ;
    return 1;
}

/* Program within one page; the caller splits at page boundaries. */
static int program_page(uint32_t offset, const uint8_t *data, uint32_t size) {
#if DUAL
    /* Dual-flash transfers are whole byte pairs: pad an odd start or end with 0xFF, which
     * leaves the neighbouring cell unchanged (programming only clears bits). */
    uint32_t start = offset & ~1u;
    uint32_t end = (offset + size + 1u) & ~1u;
    memset(stage, 0xFF, end - start);
    memcpy(stage + (offset - start), data, size);
    offset = start;
    size = end - start;
    data = stage;
#else
    (void)stage;
#endif
    if (!write_enable()) return 0;
    if (!wait_flag(SR_BUSY, 0)) return 0;
    QSPI_FCR = FCR_ALL;
    QSPI_DLR = size - 1u;
    QSPI_CCR = CCR_FMODE_WRITE | CCR_DMODE_4 | CCR_ADSIZE(ADDR_BYTES) | CCR_ADMODE_1 |
               CCR_IMODE_1 | CMD_PROGRAM;
    QSPI_AR = offset;
    uint32_t i = 0;
    while (i < size) {
        if (!wait_flag(SR_FTF, 1)) return 0;
        if (size - i >= 4u) {
            uint32_t w = (uint32_t)data[i] | ((uint32_t)data[i + 1] << 8) |
                         ((uint32_t)data[i + 2] << 16) | ((uint32_t)data[i + 3] << 24);
            QSPI_DR = w;
            i += 4u;
        } else {
            QSPI_DR8 = data[i];
            i += 1u;
        }
    }
    if (!wait_flag(SR_TCF, 1)) return 0;
    QSPI_FCR = FCR_ALL;
    return wait_ready();
}

static int configure_memory(void) {
    /* Software reset of the memory: leaves QPI / 4-byte modes a previous user set. */
    if (!command(0x66, 0, 0) || !command(0x99, 0, 0)) return 0;
    return wait_ready();
}

#if defined(FAULT_WRONG_BASE)
/* Called through a pointer holding its link address: wherever the image is loaded, the call
 * goes to where it was linked. */
static int (*volatile configure_hook)(void) = configure_memory;
#define CONFIGURE() configure_hook()
#else
#define CONFIGURE() configure_memory()
#endif

static int finish(void) {
#if MAP_AFTER_OPERATIONS
    return enter_memory_mapped();
#else
    return 1;
#endif
}

/* ---- exported functions ---------------------------------------------------------------------- */
int Init(void) {
#if defined(FAULT_INIT_HANGS)
    while (!chip_ready_irq) {}
#endif
#if defined(FAULT_WRONG_RAM)
    work_area[0] = 1;
#endif
    RCC_AHB4ENR |= (1u << 1);                       /* GPIOB clock */
    GPIO_MODER(GPIOB_BASE) = (GPIO_MODER(GPIOB_BASE) & ~((3u << 4) | (3u << 12))) |
                             (2u << 4) | (2u << 12);
    GPIO_OSPEEDR(GPIOB_BASE) |= (3u << 4) | (3u << 12);
    GPIO_AFRL(GPIOB_BASE) = (GPIO_AFRL(GPIOB_BASE) & ~((0xFu << 8) | (0xFu << 24))) |
                            (9u << 8) | (10u << 24);
    RCC_AHB3ENR |= RCC_QSPI;
    RCC_AHB3RSTR |= RCC_QSPI;                       /* __HAL_RCC_QSPI_FORCE_RESET */
    RCC_AHB3RSTR &= ~RCC_QSPI;

    QSPI_CR = CR_PRESCALER(1u) | CR_FTHRES(4u) | CR_SSHIFT | (DUAL ? CR_DFM : 0u);
    QSPI_DCR = (FSIZE << 16) | (1u << 8);           /* FSIZE, CSHT = 2 cycles */
    QSPI_CR |= CR_EN;

    if (!CONFIGURE()) return 0;
    if (!enter_memory_mapped()) return 0;
#if defined(FAULT_READ_NEEDS_INIT)
    mapped_by_init = 1;
#endif
#if defined(FAULT_READ_BEFORE_INIT)
    init_done = 1;
#endif
#if defined(FAULT_ERASE_AFTER_READ)
    read_left_mapped = 0;
#endif
    return 1;
}

int Write(uint32_t address, uint32_t size, uint8_t *buffer) {
    uint32_t offset = address - WINDOW;
#if defined(FAULT_WRITE_PARTIAL)
    size &= ~3u;                                    /* the tail of the buffer is dropped */
#endif
    if (!leave_memory_mapped()) return 0;
#if defined(FAULT_READ_NEEDS_INIT)
    mapped_by_init = 0;
#endif
    while (size) {
        uint32_t chunk = PAGE - (offset % PAGE);
        if (chunk > size) chunk = size;
        if (!program_page(offset, buffer, chunk)) return 0;
        offset += chunk;
        buffer += chunk;
        size -= chunk;
    }
    return finish();
}

int SectorErase(uint32_t start, uint32_t end) {
    uint32_t first = (start - WINDOW) & ~(SECTOR - 1u);
    uint32_t last = (end - WINDOW) & ~(SECTOR - 1u);
#if defined(FAULT_ERASE_WIDE)
    last += SECTOR;                                 /* off by one sector */
#endif
#if defined(FAULT_ERASE_AFTER_READ)
    /* No abort of the memory-mapped mode a Read left: the erase never reaches the chip, and
     * the loader reports success. */
    if (read_left_mapped && (QSPI_CCR & (3u << 26)) == CCR_FMODE_MMAP) return 1;
#endif
    if (!leave_memory_mapped()) return 0;
#if defined(FAULT_READ_NEEDS_INIT)
    mapped_by_init = 0;
#endif
    for (uint32_t block = first; block <= last && block < DEVICE_SIZE; block += SECTOR) {
#if defined(FAULT_ERASE_NO_WAIT)
        /* Returns while the chip is still erasing: the next command meets a busy chip. */
        if (!write_enable() || !command(CMD_ERASE, 1, block)) return 0;
#else
        if (!write_enable() || !command(CMD_ERASE, 1, block) || !wait_ready()) return 0;
#endif
    }
    return finish();
}

int MassErase(uint32_t parallelism) {
    (void)parallelism;
    if (!leave_memory_mapped()) return 0;
#if defined(FAULT_READ_NEEDS_INIT)
    mapped_by_init = 0;
#endif
    if (!write_enable() || !command(0xC7, 0, 0) || !wait_ready()) return 0;
    return finish();
}

#if !defined(FAULT_NO_READ)
int Read(uint32_t address, uint32_t size, uint8_t *buffer) {
#if defined(FAULT_READ_NEEDS_INIT)
    if (!mapped_by_init) {
        memset(buffer, 0, size);
        return 1;
    }
#elif defined(FAULT_READ_BEFORE_INIT)
    if (!init_done) {
        memset(buffer, 0, size);
        return 1;
    }
    if ((QSPI_CCR & (3u << 26)) != CCR_FMODE_MMAP) {
        if (!leave_memory_mapped() || !enter_memory_mapped()) return 0;
    }
#else
    if ((QSPI_CCR & (3u << 26)) != CCR_FMODE_MMAP) {
        if (!leave_memory_mapped() || !enter_memory_mapped()) return 0;
    }
#endif
#if defined(FAULT_ERASE_AFTER_READ)
    read_left_mapped = 1;
#endif
#if defined(FAULT_FIRST_BUFFER)
    if (bytes_served >= 0x7E000u) return 1;        /* later chunks are left untouched */
    bytes_served += size;
#endif
    memcpy(buffer, (const void *)address, size);
    return 1;
}
#endif

#if !defined(FAULT_FUNC_OUTSIDE)

uint32_t CheckSum(uint32_t start, uint32_t size, uint32_t init) {
    const volatile uint8_t *p = (const volatile uint8_t *)start;
    for (uint32_t i = 0; i < size; i++) init += p[i];
    return init;
}
#endif

#if defined(FAULT_FUNC_OUTSIDE)
/* CheckSum is exported at an address the Makefile gives (--defsym), outside the image. */
#define CHECKSUM_OF(a, n) 0u
#else
#define CHECKSUM_OF(a, n) CheckSum((a), (n), 0)
#endif

uint64_t Verify(uint32_t address, uint32_t buffer, uint32_t words, uint32_t misalign) {
    uint32_t size = words * 4u;
    uint32_t head = misalign & 0xFu;
    uint32_t tail = (misalign >> 16) & 0xFu;
    uint32_t sum = CHECKSUM_OF(address + head, size - head - tail);
    (void)head;
    (void)tail;
    const volatile uint8_t *mem = (const volatile uint8_t *)address;
    const uint8_t *ram = (const uint8_t *)buffer;
    for (uint32_t i = 0; i < size; i++) {
        if (mem[i] != ram[i]) return ((uint64_t)sum << 32) | (address + i);
    }
#if defined(FAULT_VERIFY_RETURNS_ONE)
    return ((uint64_t)sum << 32) | 1u;              /* "1 = success", as some loaders do */
#else
    return (uint64_t)sum << 32;
#endif
}
