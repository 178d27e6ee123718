/* STM32F769NI (RM0410). HSI 16 MHz -> PLL (M=8, N=216, P=2, Q=9) = 216 MHz, VOS scale 1 with
 * over-drive (required above 180 MHz), 7 wait states, APB1 = 54 MHz (timers x2 = 108 MHz),
 * APB2 = 108 MHz.
 * Timer: TIM2 (IRQ 28). Pin: PB2 AF9 (QUADSPI_CLK, as on the STM32F769I-DISCO). */
#define N_IRQ 110
#define HAS_FPU 1
#define SYSCLK_HZ 216000000u

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
#define RCC_AHB1ENR_GPIOBEN (1u << 1)

#define PWR_CR1 0x40007000u
#define PWR_CSR1 0x40007004u
#define PWR_CR1_VOS (3u << 14) /* 11 = scale 1 */
#define PWR_CR1_ODEN (1u << 16)
#define PWR_CR1_ODSWEN (1u << 17)
#define PWR_CSR1_VOSRDY (1u << 14)
#define PWR_CSR1_ODRDY (1u << 16)
#define PWR_CSR1_ODSWRDY (1u << 17)

#define FLASH_ACR 0x40023C00u
#define FLASH_ACR_LATENCY 0xFu
#define FLASH_ACR_PRFTEN (1u << 8)

#define TIMER_BASE 0x40000000u /* TIM2 */
#define TIMER_NUMBER 2
#define TIMER_IRQ 28
#define TIMER_IRQ_HANDLER TIM2_IRQHandler
#define TIMER_CLOCK_HZ 108000000u /* APB1 prescaler 4 -> timer clock 2 x 54 MHz */

#define PIN_PORT_BASE 0x40020400u /* GPIOB */
#define PIN_PORT 1
#define PIN_NUMBER 2
#define PIN_AF 9

static inline int power_scale(void)
{
    clock_enable(RCC_APB1ENR, RCC_APB1ENR_PWREN);
    rmw(PWR_CR1, PWR_CR1_VOS, PWR_CR1_VOS); /* scale 1; applied once the PLL runs */
    return 1;
}

/* After PLLRDY: VOSRDY, then HAL_PWREx_EnableOverDrive (ODEN/ODRDY, ODSWEN/ODSWRDY). */
static inline int power_ready(void)
{
    if (!wait_bits(PWR_CSR1, PWR_CSR1_VOSRDY, PWR_CSR1_VOSRDY)) {
        return 0;
    }
    REG(PWR_CR1) |= PWR_CR1_ODEN;
    if (!wait_bits(PWR_CSR1, PWR_CSR1_ODRDY, PWR_CSR1_ODRDY)) {
        return 0;
    }
    REG(PWR_CR1) |= PWR_CR1_ODSWEN;
    return wait_bits(PWR_CSR1, PWR_CSR1_ODSWRDY, PWR_CSR1_ODSWRDY);
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
    /* PLLM=8 [5:0], PLLN=216 [14:6], PLLP=/2 (00) [17:16], PLLSRC=HSI (0) [22], PLLQ=9 [27:24],
     * PLLR=2 [30:28] (DSI clock, reset value). */
    REG(RCC_PLLCFGR) = (8u << 0) | (216u << 6) | (0u << 16) | (0u << 22) | (9u << 24) | (2u << 28);
    REG(RCC_CR) |= RCC_CR_PLLON;
    return wait_bits(RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY);
}

static inline int flash_latency(void)
{
    REG(FLASH_ACR) |= FLASH_ACR_PRFTEN;
    return flash_set_latency(FLASH_ACR, FLASH_ACR_LATENCY, 7u);
}

static inline int sysclk_to_pll(void)
{
    /* HPRE=/1 [7:4], PPRE1=/4 (101) [12:10], PPRE2=/2 (100) [15:13], then SW=PLL (10). */
    rmw(RCC_CFGR, (0xFu << 4) | (7u << 10) | (7u << 13), (5u << 10) | (4u << 13));
    rmw(RCC_CFGR, 3u << 0, 2u << 0);
    return wait_bits(RCC_CFGR, 3u << 2, 2u << 2); /* SWS [3:2] = PLL */
}

static inline void timer_clock_on(void)
{
    clock_enable(RCC_APB1ENR, RCC_APB1ENR_TIM2EN);
}

static inline void pin_port_clock_on(void)
{
    clock_enable(RCC_AHB1ENR, RCC_AHB1ENR_GPIOBEN);
}
