/* jump: an application that enters the ROM bootloader when asked (ST's "ServiceBootJump").
 *
 * Trigger: the byte 'B' on the board UART (8E1, the ROM's framing, so one host port serves
 * both), or BOOT_REQUEST_MAGIC written to `boot_request` by a debugger. The application
 * answers "jumping to the bootloader" and then jumps.
 *
 * Built once per classic mistake (JUMP_MISTAKE), so a suite can check that each one is caught:
 *   jump_ok        de-init, stop SysTick, clear NVIC, SYSCFG clock + remap (G0), re-enable
 *                  interrupts, MSP and PC from the bootloader's vector table
 *   jump_primask   interrupts left disabled (PRIMASK set)
 *   jump_nosyscfg  G0: remap written without enabling the SYSCFG clock first
 *   jump_base      H7: vector table read at the system-memory base, not at 0x1FF09800
 *   jump_systick   SysTick left running with its interrupt enabled
 * Caches (H7) are never enabled by this firmware, so there is nothing to clean before the jump. */
#include "part.h"

#define MISTAKE_NONE 0
#define MISTAKE_PRIMASK 1
#define MISTAKE_NO_SYSCFG_CLOCK 2
#define MISTAKE_BASE 3
#define MISTAKE_SYSTICK 4
#ifndef JUMP_MISTAKE
#define JUMP_MISTAKE MISTAKE_NONE
#endif

#define BOOT_REQUEST_MAGIC 0xB007B007u
#define USART_CR1_8E1 ((1u << 12) | (1u << 10) | (1u << 3) | (1u << 2) | (1u << 0))

volatile uint32_t boot_request; /* a debugger writes BOOT_REQUEST_MAGIC here */
volatile uint32_t ticks;

void SysTick_Handler(void)
{
    ticks++;
}

/* Back to the reset clock (HSI), as HAL_RCC_DeInit does: the ROM sets up its own clocks. */
static void clock_deinit(void)
{
#if defined(PART_G071)
    RCC_CFGR &= ~7u; /* SW = HSISYS */
    while ((RCC_CFGR >> 3) & 7u) {
    }
#else
    RCC_CFGR &= ~7u; /* SW = HSI */
    while ((RCC_CFGR >> 3) & 7u) {
    }
#endif
    RCC_CR &= ~(1u << 24); /* PLL off */
}

static void __attribute__((noreturn)) jump_to_bootloader(void)
{
    __asm volatile("cpsid i" ::: "memory");
#if JUMP_MISTAKE != MISTAKE_SYSTICK
    SYST_CSR = 0;
    SYST_RVR = 0;
    SYST_CVR = 0;
#endif
    UART_CR1 = 0; /* peripheral de-init: the ROM configures its USART itself */
    clock_deinit();
    for (uint32_t i = 0; i < (N_IRQ + 31u) / 32u; i++) {
        NVIC_ICER(i) = 0xFFFFFFFFu;
        NVIC_ICPR(i) = 0xFFFFFFFFu;
    }
#if defined(PART_G071)
#if JUMP_MISTAKE != MISTAKE_NO_SYSCFG_CLOCK
    RCC_APBENR2 |= RCC_APBENR2_SYSCFGEN;
    (void)RCC_APBENR2; /* read back: the clock runs before SYSCFG is written */
#endif
    SYSCFG_CFGR1 = (SYSCFG_CFGR1 & ~3u) | 1u; /* MEM_MODE = system memory */
#endif
#if JUMP_MISTAKE != MISTAKE_PRIMASK
    __asm volatile("cpsie i" ::: "memory");
#endif
#if JUMP_MISTAKE == MISTAKE_BASE
    const volatile uint32_t *vectors = (const volatile uint32_t *)SYSMEM_BASE;
#else
    const volatile uint32_t *vectors = (const volatile uint32_t *)BOOTLOADER_VECTORS;
#endif
    uint32_t sp = vectors[0];
    uint32_t pc = vectors[1];
    __asm volatile("msr msp, %0\n bx %1" : : "r"(sp), "r"(pc) : "memory");
    __builtin_unreachable();
}

int main(void)
{
    clock_init();
    uart_init();
    UART_CR1 = 0;
    UART_CR1 = USART_CR1_8E1;
    SYST_RVR = CORE_HZ / TICK_HZ - 1u;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* a running HAL-style tick, as in any application */
    uart_puts("app " PART_NAME ": send 'B' to enter the bootloader\n");
    for (;;) {
        int asked = boot_request == BOOT_REQUEST_MAGIC;
        if (UART_ISR & (1u << 5)) { /* RXNE */
            asked |= (UART_RDR & 0xFFu) == 'B';
        }
        if (asked) {
            uart_puts("jumping to the bootloader\n");
            while (!(UART_ISR & (1u << 6))) { /* TC: last byte out before the de-init */
            }
            jump_to_bootloader();
        }
        __asm volatile("wfi"); /* idle until the next SysTick: the UART is polled per tick */
    }
}
