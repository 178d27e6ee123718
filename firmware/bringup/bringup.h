/* Common definitions for the bring-up test firmware (firmware/bringup).
 *
 * The program does what a HAL-based loader or application does at start-up: flash wait
 * states, voltage scaling, oscillator + PLL as SYSCLK, a timer interrupt, one pin in
 * alternate-function mode. Each family header (family_*.h, picked by family.h) supplies the
 * register addresses and the steps for its part; bringup.c runs them in HAL order and writes
 * the result record below.
 *
 * Result record: `hil_record`, linker section .hil_record, placed at the start of the part's
 * first SRAM + 0x100 (0x20000100 on every part built here; ld/common.ld asserts it).
 *
 *   offset  field      meaning
 *   0x00    magic      0x48494C31 ('HIL1'), written first
 *   0x04    steps      bitmask of steps that passed (STEP_* bit numbers below)
 *   0x08    irq_count  timer update interrupts counted by the ISR
 *   0x0C    moder      read-back GPIOx_MODER of the alternate-function pin's port
 *   0x10    afr        read-back GPIOx_AFRL (pin 0-7) or GPIOx_AFRH (pin 8-15) of that port
 *   0x14    status     0 running, 1 done (then `bkpt #0`), 0xFA000000 | IPSR on a fault
 *   0x18    stage      STEP_* + 1 of the step being executed (0 before the first step)
 *   0x1C    pin        port index (A=0) << 16 | pin number << 8 | AF number
 *   0x20    fault_pc   stacked PC when status is a fault, else 0
 *   0x24    sysclk_hz  SYSCLK frequency the clock set-up aims for
 *   0x28    timer      timer number << 16 | its IRQ number
 *   0x2C    first_fail STEP_* + 1 of the first step that failed (0 if none)
 */
#ifndef BRINGUP_H
#define BRINGUP_H
#include <stdint.h>

#define REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

#define HIL_MAGIC 0x48494C31u
#define STATUS_RUNNING 0u
#define STATUS_DONE 1u
#define STATUS_FAULT 0xFA000000u

enum step {
    STEP_FLASH = 0,  /* ACR LATENCY written and read back */
    STEP_PWR = 1,    /* voltage scaling (and supply / boost / over-drive) ready */
    STEP_OSC = 2,    /* HSI (MSI on U5) on and ready */
    STEP_PLL = 3,    /* PLL configured, on, PLLRDY */
    STEP_SYSCLK = 4, /* SW = PLL and SWS shows the PLL */
    STEP_TIMER = 5,  /* TIMER_TARGET update interrupts counted */
    STEP_GPIO = 6,   /* MODER/AFR read back with the AF set-up */
    STEP_COUNT = 7,
};
#define STEPS_ALL ((1u << STEP_COUNT) - 1u)

struct hil_record {
    uint32_t magic;
    uint32_t steps;
    uint32_t irq_count;
    uint32_t moder;
    uint32_t afr;
    uint32_t status;
    uint32_t stage;
    uint32_t pin;
    uint32_t fault_pc;
    uint32_t sysclk_hz;
    uint32_t timer;
    uint32_t first_fail;
};
extern volatile struct hil_record hil_record;

/* Loop bounds: nothing waits forever. A ready flag gets READY_TRIES polls (HAL allows 2 ms
 * or more; this is several ms even at 400 MHz); the timer gets TIMER_TRIES polls of the
 * counter, far more than TIMER_TARGET periods of 100 us at any clock set here. */
#define READY_TRIES 100000u
#define TIMER_TRIES 2000000u
#define TIMER_TARGET 5u
#define TIMER_TICK_HZ 1000000u /* PSC makes the counter tick at 1 MHz */
#define TIMER_ARR 99u          /* -> an update every 100 us (10 kHz) */

/* Poll `addr` until (value & mask) == want, at most READY_TRIES reads. 1 when it got there. */
static inline int wait_bits(uint32_t addr, uint32_t mask, uint32_t want)
{
    for (uint32_t i = 0; i < READY_TRIES; i++) {
        if ((REG(addr) & mask) == want) {
            return 1;
        }
    }
    return 0;
}

static inline void rmw(uint32_t addr, uint32_t clear, uint32_t set)
{
    REG(addr) = (REG(addr) & ~clear) | set;
}

/* Peripheral clock enable followed by a read-back, as the HAL __HAL_RCC_xxx_CLK_ENABLE macros
 * do, so the clock is running before the peripheral is touched. */
static inline void clock_enable(uint32_t addr, uint32_t bit)
{
    REG(addr) |= bit;
    (void)REG(addr);
}

/* Set FLASH_ACR.LATENCY and read it back until it shows the new value (HAL_RCC_ClockConfig). */
static inline int flash_set_latency(uint32_t acr, uint32_t mask, uint32_t value)
{
    rmw(acr, mask, value);
    return wait_bits(acr, mask, value);
}

/* Timer register offsets, the same on every STM32 general-purpose and basic timer. */
#define TIM_CR1(b) ((b) + 0x00u)
#define TIM_DIER(b) ((b) + 0x0Cu)
#define TIM_SR(b) ((b) + 0x10u)
#define TIM_EGR(b) ((b) + 0x14u)
#define TIM_CNT(b) ((b) + 0x24u)
#define TIM_PSC(b) ((b) + 0x28u)
#define TIM_ARR(b) ((b) + 0x2Cu)
#define TIM_CR1_CEN (1u << 0)
#define TIM_DIER_UIE (1u << 0)
#define TIM_SR_UIF (1u << 0)
#define TIM_EGR_UG (1u << 0)

/* GPIO register offsets (all families built here use the same GPIO block). */
#define GPIO_MODER(b) ((b) + 0x00u)
#define GPIO_OTYPER(b) ((b) + 0x04u)
#define GPIO_OSPEEDR(b) ((b) + 0x08u)
#define GPIO_PUPDR(b) ((b) + 0x0Cu)
#define GPIO_AFR(b, pin) ((b) + 0x20u + 4u * ((pin) >> 3))

/* Cortex-M system registers. */
#define NVIC_ISER(n) (0xE000E100u + 4u * (n))
#define NVIC_ICER(n) (0xE000E180u + 4u * (n))
#define SCB_VTOR 0xE000ED08u
#define SCB_CPACR 0xE000ED88u

/* Each family header provides, for its part:
 *   N_IRQ, HAS_FPU, SYSCLK_HZ
 *   TIMER_BASE, TIMER_NUMBER, TIMER_IRQ, TIMER_IRQ_HANDLER, TIMER_CLOCK_HZ
 *   PIN_PORT_BASE, PIN_PORT (0 = A), PIN_NUMBER, PIN_AF
 *   static int power_scale(void)    step 2, before the oscillators (PWR clock, VOS)
 *   static int power_ready(void)    step 2, after PLLRDY (F4/F7 VOSRDY, F7 over-drive)
 *   static int osc_on(void)         step 3 (HSI / MSI on, ready)
 *   static int pll_on(void)         step 3 (PLL configured, on, PLLRDY)
 *   static int flash_latency(void)  step 1
 *   static int sysclk_to_pll(void)  step 3 (bus prescalers, SW, SWS)
 *   static void timer_clock_on(void), static void pin_port_clock_on(void)
 */
#include "family.h"

#define TIMER_PSC_VALUE (TIMER_CLOCK_HZ / TIMER_TICK_HZ - 1u)

#endif
