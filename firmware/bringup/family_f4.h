/* STM32F411CE (RM0383). HSI 16 MHz -> PLL (M=16, N=200, P=2) = 100 MHz, VOS scale 1,
 * 3 wait states, APB1 = 50 MHz (timers x2 = 100 MHz), APB2 = 100 MHz.
 * Timer: TIM2 (IRQ 28). Pin: PA2 AF7 (USART2_TX, the NUCLEO-F411RE virtual COM port). */
#define N_IRQ 86
#define HAS_FPU 1
#define SYSCLK_HZ 100000000u

#define RCC_BASE 0x40023800u
#define RCC_CR (RCC_BASE + 0x00u)
#define RCC_PLLCFGR (RCC_BASE + 0x04u)
#define RCC_CFGR (RCC_BASE + 0x08u)
#define RCC_AHB1ENR (RCC_BASE + 0x30u)
#define RCC_APB1ENR (RCC_BASE + 0x40u)
#define RCC_CR_HSION (1u << 0)
#define RCC_CR_HSIRDY (1u << 1)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_APB1ENR_TIM2EN (1u << 0)
#define RCC_APB1ENR_PWREN (1u << 28)
#define RCC_AHB1ENR_GPIOAEN (1u << 0)

#define PWR_CR 0x40007000u
#define PWR_CSR 0x40007004u
#define PWR_CR_VOS (3u << 14) /* 11 = scale 1 */
#define PWR_CSR_VOSRDY (1u << 14)

#define FLASH_ACR 0x40023C00u
#define FLASH_ACR_LATENCY 0xFu
#define FLASH_ACR_CACHES ((1u << 8) | (1u << 9) | (1u << 10)) /* PRFTEN, ICEN, DCEN */

#define TIMER_BASE 0x40000000u /* TIM2 */
#define TIMER_NUMBER 2
#define TIMER_IRQ 28
#define TIMER_IRQ_HANDLER TIM2_IRQHandler
#define TIMER_CLOCK_HZ 100000000u /* APB1 prescaler 2 -> timer clock 2 x 50 MHz */

#define PIN_PORT_BASE 0x40020000u /* GPIOA */
#define PIN_PORT 0
#define PIN_NUMBER 2
#define PIN_AF 7

static inline int power_scale(void)
{
    clock_enable(RCC_APB1ENR, RCC_APB1ENR_PWREN);
    rmw(PWR_CR, PWR_CR_VOS, PWR_CR_VOS); /* scale 1; applied once the PLL runs */
    return 1;
}

static inline int power_ready(void)
{
    return wait_bits(PWR_CSR, PWR_CSR_VOSRDY, PWR_CSR_VOSRDY);
}

static inline int osc_on(void)
{
    REG(RCC_CR) |= RCC_CR_HSION;
    return wait_bits(RCC_CR, RCC_CR_HSIRDY, RCC_CR_HSIRDY);
}

static inline int pll_on(void)
{
    REG(RCC_CR) &= ~RCC_CR_PLLON;
    if (!wait_bits(RCC_CR, RCC_CR_PLLRDY, 0)) {
        return 0;
    }
    /* PLLM=16 [5:0], PLLN=200 [14:6], PLLP=/2 (00) [17:16], PLLSRC=HSI (0) [22], PLLQ=4 [27:24];
     * bits 31:28 kept (reserved on F411). */
    REG(RCC_PLLCFGR) = (REG(RCC_PLLCFGR) & 0xF0000000u) | (16u << 0) | (200u << 6) | (0u << 16) |
                       (0u << 22) | (4u << 24);
    REG(RCC_CR) |= RCC_CR_PLLON;
    return wait_bits(RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY);
}

static inline int flash_latency(void)
{
    REG(FLASH_ACR) |= FLASH_ACR_CACHES;
    return flash_set_latency(FLASH_ACR, FLASH_ACR_LATENCY, 3u);
}

static inline int sysclk_to_pll(void)
{
    /* HPRE=/1 [7:4], PPRE1=/2 (100) [12:10], PPRE2=/1 [15:13], then SW=PLL (10) [1:0]. */
    rmw(RCC_CFGR, (0xFu << 4) | (7u << 10) | (7u << 13), (4u << 10));
    rmw(RCC_CFGR, 3u << 0, 2u << 0);
    return wait_bits(RCC_CFGR, 3u << 2, 2u << 2); /* SWS [3:2] = PLL */
}

static inline void timer_clock_on(void)
{
    clock_enable(RCC_APB1ENR, RCC_APB1ENR_TIM2EN);
}

static inline void pin_port_clock_on(void)
{
    clock_enable(RCC_AHB1ENR, RCC_AHB1ENR_GPIOAEN);
}
