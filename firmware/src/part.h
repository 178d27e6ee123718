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

/* Bootloader entry and SWD pins (jump.c, swd_off.c). */
#if defined(PART_G071)
#define RCC_APBENR2 REG(RCC_BASE + 0x40)
#define RCC_APBENR2_SYSCFGEN (1u << 0)
#define SYSCFG_CFGR1 REG(0x40010000u) /* MEM_MODE [1:0]: 01 = system memory at 0 */
#define SYSMEM_BASE 0x1FFF0000u
#define BOOTLOADER_VECTORS 0x1FFF0000u /* AN2606: G07x bootloader vector table */
#define GPIOA_ODR REG(0x50000014u)
#else
#define SYSMEM_BASE 0x1FF00000u
#define BOOTLOADER_VECTORS 0x1FF09800u /* AN2606: the documented H74x/H75x jump entry */
#define GPIOA_ODR REG(0x58020014u)
#endif
#define UART_RDR REG(UART_BASE + 0x24)
#define NVIC_ICER(n) REG(0xE000E180u + 4u * (n))
#define NVIC_ICPR(n) REG(0xE000E280u + 4u * (n))
#endif
