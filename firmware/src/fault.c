/* fault: read an unmapped address; the HardFault handler prints the stacked PC (and, on
 * ARMv7-M parts, CFSR and BFAR) on the UART, then stops on a breakpoint. */
#include "part.h"

volatile uint32_t sink;

void hardfault_report(uint32_t *frame)
{
    uart_puts("HardFault pc=0x");
    uart_hex(frame[6]);
#if !defined(PART_G071) /* ARMv6-M has no CFSR/BFAR */
    uart_puts(" cfsr=0x");
    uart_hex(SCB_CFSR);
    uart_puts(" bfar=0x");
    uart_hex(SCB_BFAR);
#endif
    uart_putc('\n');
    for (;;) {
        __asm volatile("bkpt #0x0F");
    }
}

__attribute__((naked)) void HardFault_Handler(void)
{
    __asm volatile("movs r0, #4\n"
                   "mov r1, lr\n"
                   "tst r0, r1\n"
                   "beq 1f\n"
                   "mrs r0, psp\n"
                   "b hardfault_report\n"
                   "1: mrs r0, msp\n"
                   "b hardfault_report\n");
}

int main(void)
{
    clock_init();
    uart_init();
    uart_puts("fault test on " PART_NAME "\n");
    sink = *(volatile uint32_t *)UNMAPPED_ADDR;
    uart_puts("no fault\n");
    return 0;
}
