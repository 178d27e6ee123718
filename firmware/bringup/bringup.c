/* Bring-up test program: the start-up sequence of a HAL-based loader or application, run step
 * by step with bounded waits, its outcome written to `hil_record` (layout in bringup.h). */
#include "bringup.h"

__attribute__((section(".hil_record"), used)) volatile struct hil_record hil_record;

static void step_result(enum step step, int ok)
{
    if (ok) {
        hil_record.steps |= 1u << step;
    } else if (hil_record.first_fail == 0) {
        hil_record.first_fail = (uint32_t)step + 1u;
    }
}

/* TIMx global interrupt: count update events, clearing UIF (rc_w0) as HAL does. */
void TIMER_IRQ_HANDLER(void)
{
    if (REG(TIM_SR(TIMER_BASE)) & TIM_SR_UIF) {
        REG(TIM_SR(TIMER_BASE)) = ~TIM_SR_UIF;
        hil_record.irq_count++;
    }
    __asm volatile("dsb" ::: "memory"); /* the flag is clear before the handler returns */
}

static int timer_interrupts(void)
{
    const uint32_t nvic_bit = 1u << (TIMER_IRQ & 31);

    timer_clock_on();
    REG(TIM_CR1(TIMER_BASE)) = 0; /* up-counting, no ARR preload, counter stopped */
    REG(TIM_PSC(TIMER_BASE)) = TIMER_PSC_VALUE;
    REG(TIM_ARR(TIMER_BASE)) = TIMER_ARR;
    REG(TIM_EGR(TIMER_BASE)) = TIM_EGR_UG; /* load PSC now (HAL_TIM_Base_Init) ... */
    REG(TIM_SR(TIMER_BASE)) = ~TIM_SR_UIF; /* ... and drop the UIF that UG set */
    REG(TIM_DIER(TIMER_BASE)) |= TIM_DIER_UIE;
    REG(NVIC_ISER(TIMER_IRQ / 32)) = nvic_bit;
    REG(TIM_CR1(TIMER_BASE)) |= TIM_CR1_CEN;

    for (uint32_t i = 0; i < TIMER_TRIES && hil_record.irq_count < TIMER_TARGET; i++) {
    }

    REG(TIM_CR1(TIMER_BASE)) &= ~TIM_CR1_CEN;
    REG(TIM_DIER(TIMER_BASE)) &= ~TIM_DIER_UIE;
    REG(NVIC_ICER(TIMER_IRQ / 32)) = nvic_bit;
    __asm volatile("dsb\n isb" ::: "memory");
    return hil_record.irq_count >= TIMER_TARGET;
}

/* HAL_GPIO_Init for one alternate-function push-pull pin, very high speed, no pull. */
static int pin_alternate_function(void)
{
    const uint32_t shift2 = 2u * PIN_NUMBER;
    const uint32_t shift4 = 4u * (PIN_NUMBER & 7u);

    pin_port_clock_on();
    rmw(GPIO_OSPEEDR(PIN_PORT_BASE), 3u << shift2, 3u << shift2);
    rmw(GPIO_OTYPER(PIN_PORT_BASE), 1u << PIN_NUMBER, 0);
    rmw(GPIO_PUPDR(PIN_PORT_BASE), 3u << shift2, 0);
    rmw(GPIO_AFR(PIN_PORT_BASE, PIN_NUMBER), 0xFu << shift4, (uint32_t)PIN_AF << shift4);
    rmw(GPIO_MODER(PIN_PORT_BASE), 3u << shift2, 2u << shift2);

    uint32_t moder = REG(GPIO_MODER(PIN_PORT_BASE));
    uint32_t afr = REG(GPIO_AFR(PIN_PORT_BASE, PIN_NUMBER));
    hil_record.moder = moder;
    hil_record.afr = afr;
    return ((moder >> shift2) & 3u) == 2u && ((afr >> shift4) & 0xFu) == (uint32_t)PIN_AF;
}

int main(void)
{
    hil_record.magic = HIL_MAGIC;
    hil_record.steps = 0;
    hil_record.irq_count = 0;
    hil_record.moder = 0;
    hil_record.afr = 0;
    hil_record.status = STATUS_RUNNING;
    hil_record.stage = 0;
    hil_record.pin = ((uint32_t)PIN_PORT << 16) | ((uint32_t)PIN_NUMBER << 8) | (uint32_t)PIN_AF;
    hil_record.fault_pc = 0;
    hil_record.sysclk_hz = SYSCLK_HZ;
    hil_record.timer = ((uint32_t)TIMER_NUMBER << 16) | (uint32_t)TIMER_IRQ;
    hil_record.first_fail = 0;

    /* SystemClock_Config order: PWR (supply, voltage scaling), oscillators and PLL
     * (HAL_RCC_OscConfig), flash latency then SYSCLK switch (HAL_RCC_ClockConfig). Every step
     * runs even if an earlier one failed, so the record shows all of them. */
    hil_record.stage = STEP_PWR + 1u;
    int power = power_scale();
    hil_record.stage = STEP_OSC + 1u;
    step_result(STEP_OSC, osc_on());
    hil_record.stage = STEP_PLL + 1u;
    step_result(STEP_PLL, pll_on());
    hil_record.stage = STEP_PWR + 1u;
    step_result(STEP_PWR, power_ready() && power);
    hil_record.stage = STEP_FLASH + 1u;
    step_result(STEP_FLASH, flash_latency());
    hil_record.stage = STEP_SYSCLK + 1u;
    step_result(STEP_SYSCLK, sysclk_to_pll());
    hil_record.stage = STEP_TIMER + 1u;
    step_result(STEP_TIMER, timer_interrupts());
    hil_record.stage = STEP_GPIO + 1u;
    step_result(STEP_GPIO, pin_alternate_function());

    hil_record.stage = 0;
    hil_record.status = STATUS_DONE;
    for (;;) {
        __asm volatile("bkpt #0");
    }
}

/* Any other exception or interrupt: record which one and where, then stop. */
__attribute__((used)) void fault_record(const uint32_t *frame)
{
    uint32_t ipsr;
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    hil_record.magic = HIL_MAGIC;
    hil_record.status = STATUS_FAULT | (ipsr & 0x1FFu);
    hil_record.fault_pc = frame[6];
    for (;;) {
        __asm volatile("bkpt #1");
    }
}
