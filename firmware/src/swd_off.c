/* swd_off: firmware that takes PA13/PA14 (SWDIO/SWCLK) as plain outputs at start, the classic
 * way to lock a debugger out. Only connect-under-reset reaches the part afterwards: with NRST
 * held the firmware never runs, so the pins keep their reset function (AF0, SWD). */
#include "part.h"

volatile uint32_t toggles;

int main(void)
{
#if defined(PART_G071)
    RCC_IOPENR |= 1u << 0; /* GPIOA */
#else
    RCC_AHB4ENR |= 1u << 0; /* GPIOA */
#endif
    GPIOA_MODER = (GPIOA_MODER & ~(0xFu << 26)) | (0x5u << 26); /* PA13/PA14: outputs */
    for (;;) {
        GPIOA_ODR ^= 3u << 13;
        toggles++;
    }
}
