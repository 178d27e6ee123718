/* Register addresses and clock set-up constants per part (RM0444 for G0, RM0433 for H7). */
#ifndef PART_H
#define PART_H
#include <stdint.h>

#define REG(addr) (*(volatile uint32_t *)(addr))

#if defined(PART_G071)
#define PART_NAME "STM32G071RB"
#define RCC_BASE 0x40021000u
#define RCC_CR REG(RCC_BASE + 0x00)
#define RCC_CFGR REG(RCC_BASE + 0x08)
#define RCC_PLLCFGR REG(RCC_BASE + 0x0C)
#define RCC_IOPENR REG(RCC_BASE + 0x34)
#define RCC_APBENR1 REG(RCC_BASE + 0x3C)
#define FLASH_ACR REG(0x40022000u)
#define GPIOA_MODER REG(0x50000000u)
#define GPIOA_AFRL REG(0x50000020u)
#define UART_BASE 0x40004400u /* USART2, the ST-LINK virtual COM port on NUCLEO-G071RB */
#define UNMAPPED_ADDR 0x60000000u /* no FSMC on G071: the bus answers with an error */
#define N_IRQ 32
#elif defined(PART_H743)
#define PART_NAME "STM32H743ZI"
#define RCC_BASE 0x58024400u
#define RCC_CR REG(RCC_BASE + 0x00)
#define RCC_CFGR REG(RCC_BASE + 0x10)
#define RCC_PLLCKSELR REG(RCC_BASE + 0x28)
#define RCC_PLLCFGR REG(RCC_BASE + 0x2C)
#define RCC_PLL1DIVR REG(RCC_BASE + 0x30)
#define RCC_AHB4ENR REG(RCC_BASE + 0xE0)
#define RCC_APB2ENR REG(RCC_BASE + 0xF0)
#define PWR_CR3 REG(0x58024800u + 0x0C)
#define PWR_D3CR REG(0x58024800u + 0x18)
#define FLASH_ACR REG(0x52002000u)
#define GPIOA_MODER REG(0x58020000u)
#define UART_BASE 0x40011000u /* USART1 */
#define UNMAPPED_ADDR 0xD0000000u /* FMC SDRAM bank 2, FMC not enabled */
#define N_IRQ 150
#else
#error "define PART_G071 or PART_H743"
#endif

#define UART_CR1 REG(UART_BASE + 0x00)
#define UART_BRR REG(UART_BASE + 0x0C)
#define UART_ISR REG(UART_BASE + 0x1C)
#define UART_TDR REG(UART_BASE + 0x28)

#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)
#define SCB_CFSR REG(0xE000ED28u)
#define SCB_BFAR REG(0xE000ED38u)
#define SCB_CPACR REG(0xE000ED88u)

#define CORE_HZ 64000000u
#define TICK_HZ 10000u /* 100 us SysTick period */

void clock_init(void);
void uart_init(void);
void uart_putc(char c);
void uart_puts(const char *s);
void uart_hex(uint32_t v);
void uart_dec(uint32_t v);
#endif
