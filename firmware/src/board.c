/* Clock tree and UART bring-up, polling the ready flags as production start-up code does. */
#include "part.h"

void clock_init(void)
{
#if defined(PART_G071)
    /* HSI16 -> PLL (M=1, N=8, R=2) = 64 MHz; 2 flash wait states. */
    RCC_CR |= 1u << 8; /* HSION */
    while (!(RCC_CR & (1u << 10))) {
    }
    RCC_PLLCFGR = (2u << 0) | (0u << 4) | (8u << 8) | (1u << 28) | (1u << 29);
    RCC_CR |= 1u << 24; /* PLLON */
    while (!(RCC_CR & (1u << 25))) {
    }
    FLASH_ACR = (FLASH_ACR & ~7u) | 2u;
    RCC_CFGR = (RCC_CFGR & ~7u) | 2u; /* SW = PLLRCLK */
    while (((RCC_CFGR >> 3) & 7u) != 2u) {
    }
#else
    /* LDO supply, VOS1; HSI 64 MHz -> PLL1 (M=32, N=64, P=2) = 64 MHz; 2 wait states. */
    PWR_CR3 = (PWR_CR3 & ~7u) | 2u; /* LDOEN */
    PWR_D3CR = 3u << 14;             /* VOS1 */
    while (!(PWR_D3CR & (1u << 13))) {
    }
    RCC_CR |= 1u << 0; /* HSION */
    while (!(RCC_CR & (1u << 2))) {
    }
    RCC_PLLCKSELR = (0u << 0) | (32u << 4);
    RCC_PLL1DIVR = (63u << 0) | (1u << 9);
    RCC_PLLCFGR = (1u << 16);
    RCC_CR |= 1u << 24; /* PLL1ON */
    while (!(RCC_CR & (1u << 25))) {
    }
    FLASH_ACR = (FLASH_ACR & ~0xFu) | 2u;
    RCC_CFGR = (RCC_CFGR & ~7u) | 3u; /* SW = PLL1 */
    while (((RCC_CFGR >> 3) & 7u) != 3u) {
    }
    SCB_CPACR |= 0xFu << 20; /* CP10/CP11 full access: FPU on */
    __asm volatile("dsb\n isb");
#endif
}

void uart_init(void)
{
#if defined(PART_G071)
    RCC_IOPENR |= 1u << 0;   /* GPIOA */
    RCC_APBENR1 |= 1u << 17; /* USART2 */
    GPIOA_MODER = (GPIOA_MODER & ~(0xFu << 4)) | (0xAu << 4); /* PA2/PA3 alternate */
    GPIOA_AFRL = (GPIOA_AFRL & ~(0xFFu << 8)) | (0x11u << 8);  /* AF1 */
#else
    RCC_AHB4ENR |= 1u << 0; /* GPIOA */
    RCC_APB2ENR |= 1u << 4; /* USART1 */
#endif
    UART_BRR = CORE_HZ / 115200u;
    UART_CR1 = (1u << 0) | (1u << 2) | (1u << 3); /* UE, RE, TE */
}

void uart_putc(char c)
{
    while (!(UART_ISR & (1u << 7))) { /* TXE */
    }
    UART_TDR = (uint8_t)c;
}

void uart_puts(const char *s)
{
    while (*s) {
        uart_putc(*s++);
    }
}

void uart_hex(uint32_t v)
{
    static const char digits[] = "0123456789ABCDEF";
    for (int i = 28; i >= 0; i -= 4) {
        uart_putc(digits[(v >> i) & 0xFu]);
    }
}

void uart_dec(uint32_t v)
{
    char buf[11];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n) {
        uart_putc(buf[--n]);
    }
}
