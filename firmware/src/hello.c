/* hello: clocks, SysTick counter, greeting and periodic "tick N" lines on the board UART.
 * The main loop also checks that exception entry/return preserves the caller-saved registers
 * (and, on parts with an FPU, s0-s15) while SysTick interrupts keep arriving. */
#include "part.h"

volatile uint32_t ticks;
volatile uint32_t regcheck_runs;
volatile uint32_t regcheck_fail;
#if defined(PART_H743)
volatile float fp_acc;
#endif

void SysTick_Handler(void)
{
    ticks++;
    /* Clobber what the hardware stacks, so a broken frame is noticed by main. */
    __asm volatile("movs r0, #0\n movs r1, #0\n movs r2, #0\n movs r3, #0\n mov r12, r0"
                   ::: "r0", "r1", "r2", "r3", "r12");
#if defined(PART_H743)
    fp_acc = fp_acc + 0.5f;
    __asm volatile("vmov s0, r0\n vmov s1, r0\n vmov s15, r0" ::: "r0", "s0", "s1", "s15");
#endif
}

uint32_t regcheck(uint32_t loops); /* regcheck.S: 0 when registers survived */

int main(void)
{
    clock_init();
    uart_init();
    uart_puts("hello from " PART_NAME "\n");
    SYST_RVR = CORE_HZ / TICK_HZ - 1u;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* processor clock, TICKINT, ENABLE */
    uint32_t next = 100;
    for (;;) {
        regcheck_fail += regcheck(200);
        regcheck_runs++;
        if (ticks >= next) {
            uart_puts("tick ");
            uart_dec(next);
            uart_putc('\n');
            next += 100;
        }
    }
}
