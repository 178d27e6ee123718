/* Vector table and reset handler for the bring-up program. */
#include "bringup.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);
void Reset_Handler(void);
void Default_Handler(void);
void TIMER_IRQ_HANDLER(void);

__attribute__((section(".isr_vector"), used)) void (*const vector_table[16 + N_IRQ])(void) = {
    [0] = (void (*)(void))&_estack,
    [1] = Reset_Handler,
    [2 ... 15] = Default_Handler,
    [16 ... 16 + TIMER_IRQ - 1] = Default_Handler,
    [16 + TIMER_IRQ] = TIMER_IRQ_HANDLER,
    [16 + TIMER_IRQ + 1 ... 16 + N_IRQ - 1] = Default_Handler,
};

void Reset_Handler(void)
{
    /* SystemInit: vector table at the flash base, FPU access (CP10/CP11) where there is one. */
    REG(SCB_VTOR) = 0x08000000u;
#if HAS_FPU
    REG(SCB_CPACR) |= 0xFu << 20;
#endif
    __asm volatile("dsb\n isb" ::: "memory");
    uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0;
    }
    main();
    for (;;) {
        __asm volatile("bkpt #0xEE");
    }
}

/* Hand the exception frame (on MSP: this program never uses PSP) to fault_record. */
__attribute__((naked)) void Default_Handler(void)
{
    __asm volatile("mrs r0, msp\n"
                   "ldr r1, =fault_record\n"
                   "bx r1\n");
}
