/* STM32U545RE (RM0456), non-secure aliases (TrustZone disabled, TZEN = 0).
 * MSIS 4 MHz -> PLL1 (M=1, N=80, R=2) = 160 MHz, voltage range 1 with the EPOD booster
 * (BOOSTEN), 4 wait states, APB1/APB2 = 160 MHz (timers 160 MHz). The switch goes through
 * AHB /2 as HAL_RCC_ClockConfig does above 80 MHz.
 * Timer: TIM2 (IRQ 45). Pin: PA9 AF7 (USART1_TX, the NUCLEO-U545RE-Q virtual COM port). */
#define N_IRQ 126
#define HAS_FPU 1
#define SYSCLK_HZ 160000000u

#define RCC_BASE 0x46020C00u
#define RCC_CR (RCC_BASE + 0x00u)
#define RCC_CFGR1 (RCC_BASE + 0x1Cu)
#define RCC_CFGR2 (RCC_BASE + 0x20u)
#define RCC_PLL1CFGR (RCC_BASE + 0x28u)
#define RCC_PLL1DIVR (RCC_BASE + 0x34u)
#define RCC_AHB2ENR1 (RCC_BASE + 0x8Cu)
#define RCC_AHB3ENR (RCC_BASE + 0x94u)
#define RCC_APB1ENR1 (RCC_BASE + 0x9Cu)
#define RCC_CR_MSISON (1u << 0)
#define RCC_CR_MSISRDY (1u << 2)
#define RCC_CR_PLL1ON (1u << 24)
#define RCC_CR_PLL1RDY (1u << 25)
#define RCC_AHB3ENR_PWREN (1u << 2)
#define RCC_APB1ENR1_TIM2EN (1u << 0)
#define RCC_AHB2ENR1_GPIOAEN (1u << 0)

#define PWR_VOSR 0x4602080Cu
#define PWR_VOSR_BOOSTRDY (1u << 14)
#define PWR_VOSR_VOSRDY (1u << 15)
#define PWR_VOSR_VOS (3u << 16) /* 11 = range 1 */
#define PWR_VOSR_BOOSTEN (1u << 18)

#define FLASH_ACR 0x40022000u
#define FLASH_ACR_LATENCY 0xFu
#define FLASH_ACR_PRFTEN (1u << 8)

#define TIMER_BASE 0x40000000u /* TIM2 */
#define TIMER_NUMBER 2
#define TIMER_IRQ 45
#define TIMER_IRQ_HANDLER TIM2_IRQHandler
#define TIMER_CLOCK_HZ 160000000u

#define PIN_PORT_BASE 0x42020000u /* GPIOA */
#define PIN_PORT 0
#define PIN_NUMBER 9
#define PIN_AF 7

/* HAL_PWREx_ControlVoltageScaling(PWR_REGULATOR_VOLTAGE_SCALE1): VOS + BOOSTEN, wait VOSRDY
 * and BOOSTRDY. */
static inline int power_scale(void)
{
    clock_enable(RCC_AHB3ENR, RCC_AHB3ENR_PWREN);
    rmw(PWR_VOSR, PWR_VOSR_VOS | PWR_VOSR_BOOSTEN, PWR_VOSR_VOS | PWR_VOSR_BOOSTEN);
    if (!wait_bits(PWR_VOSR, PWR_VOSR_VOSRDY, PWR_VOSR_VOSRDY)) {
        return 0;
    }
    return wait_bits(PWR_VOSR, PWR_VOSR_BOOSTRDY, PWR_VOSR_BOOSTRDY);
}

static inline int power_ready(void)
{
    return 1;
}

static inline int osc_on(void)
{
    REG(RCC_CR) |= RCC_CR_MSISON;
    return wait_bits(RCC_CR, RCC_CR_MSISRDY, RCC_CR_MSISRDY);
}

static inline int pll_on(void)
{
    REG(RCC_CR) &= ~RCC_CR_PLL1ON;
    if (!wait_bits(RCC_CR, RCC_CR_PLL1RDY, 0)) {
        return 0;
    }
    /* PLL1SRC=MSIS (01) [1:0], PLL1RGE=4-8 MHz (00) [3:2], PLL1M=/1 (0) [11:8],
     * PLL1MBOOST=/1 (0) [15:12] (EPOD input 4 MHz), PLL1REN [18]. */
    REG(RCC_PLL1CFGR) = (1u << 0) | (0u << 2) | (0u << 8) | (0u << 12) | (1u << 18);
    /* PLL1N=80 (79) [8:0], PLL1P=/2 (1) [15:9], PLL1Q=/2 (1) [22:16], PLL1R=/2 (1) [30:24]. */
    REG(RCC_PLL1DIVR) = (79u << 0) | (1u << 9) | (1u << 16) | (1u << 24);
    REG(RCC_CR) |= RCC_CR_PLL1ON;
    return wait_bits(RCC_CR, RCC_CR_PLL1RDY, RCC_CR_PLL1RDY);
}

static inline int flash_latency(void)
{
    REG(FLASH_ACR) |= FLASH_ACR_PRFTEN;
    return flash_set_latency(FLASH_ACR, FLASH_ACR_LATENCY, 4u);
}

static inline int sysclk_to_pll(void)
{
    /* HPRE [3:0] /2 for the transition, PPRE1 [6:4] and PPRE2 [10:8] /1. */
    rmw(RCC_CFGR2, 0xFu | (7u << 4) | (7u << 8), 8u);
    rmw(RCC_CFGR1, 3u << 0, 3u << 0);                /* SW = PLL1 (11) */
    int ok = wait_bits(RCC_CFGR1, 3u << 2, 3u << 2); /* SWS [3:2] = PLL1 */
    rmw(RCC_CFGR2, 0xFu, 0);                         /* AHB /1 */
    return ok;
}

static inline void timer_clock_on(void)
{
    clock_enable(RCC_APB1ENR1, RCC_APB1ENR1_TIM2EN);
}

static inline void pin_port_clock_on(void)
{
    clock_enable(RCC_AHB2ENR1, RCC_AHB2ENR1_GPIOAEN);
}
