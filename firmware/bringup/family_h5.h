/* STM32H563ZI (RM0481), non-secure aliases (TrustZone disabled, TZEN = 0).
 * HSI 64 MHz / HSIDIV 2 (reset value) = 32 MHz -> PLL1 (M=8, N=125, P=2) = 250 MHz, VOS0,
 * 5 wait states with WRHIGHFREQ = 2, APB1/2/3 = 250 MHz (timers 250 MHz).
 * Timer: TIM2 (IRQ 45). Pin: PF10 AF9 (OCTOSPI1_CLK). */
#define N_IRQ 131
#define HAS_FPU 1
#define SYSCLK_HZ 250000000u

#define RCC_BASE 0x44020C00u
#define RCC_CR (RCC_BASE + 0x00u)
#define RCC_CFGR1 (RCC_BASE + 0x1Cu)
#define RCC_CFGR2 (RCC_BASE + 0x20u)
#define RCC_PLL1CFGR (RCC_BASE + 0x28u)
#define RCC_PLL1DIVR (RCC_BASE + 0x34u)
#define RCC_AHB2ENR (RCC_BASE + 0x8Cu)
#define RCC_APB1LENR (RCC_BASE + 0x9Cu)
#define RCC_CR_HSION (1u << 0)
#define RCC_CR_HSIRDY (1u << 1)
#define RCC_CR_PLL1ON (1u << 24)
#define RCC_CR_PLL1RDY (1u << 25)
#define RCC_APB1LENR_TIM2EN (1u << 0)
#define RCC_AHB2ENR_GPIOFEN (1u << 5)

#define PWR_VOSCR 0x44020810u
#define PWR_VOSSR 0x44020814u
#define PWR_VOSCR_VOS (3u << 4) /* 11 = VOS0 */
#define PWR_VOSSR_VOSRDY (1u << 3)

#define FLASH_ACR 0x40022000u
#define FLASH_ACR_LATENCY 0xFu
#define FLASH_ACR_WRHIGHFREQ (3u << 4)
#define FLASH_ACR_PRFTEN (1u << 8)

#define TIMER_BASE 0x40000000u /* TIM2 */
#define TIMER_NUMBER 2
#define TIMER_IRQ 45
#define TIMER_IRQ_HANDLER TIM2_IRQHandler
#define TIMER_CLOCK_HZ 250000000u

#define PIN_PORT_BASE 0x42021400u /* GPIOF */
#define PIN_PORT 5
#define PIN_NUMBER 10
#define PIN_AF 9

/* HAL_PWREx_ControlVoltageScaling(PWR_REGULATOR_VOLTAGE_SCALE0): VOS, wait VOSRDY. */
static inline int power_scale(void)
{
    rmw(PWR_VOSCR, PWR_VOSCR_VOS, PWR_VOSCR_VOS);
    return wait_bits(PWR_VOSSR, PWR_VOSSR_VOSRDY, PWR_VOSSR_VOSRDY);
}

static inline int power_ready(void)
{
    return 1;
}

static inline int osc_on(void)
{
    REG(RCC_CR) |= RCC_CR_HSION;
    return wait_bits(RCC_CR, RCC_CR_HSIRDY, RCC_CR_HSIRDY);
}

static inline int pll_on(void)
{
    REG(RCC_CR) &= ~RCC_CR_PLL1ON;
    if (!wait_bits(RCC_CR, RCC_CR_PLL1RDY, 0)) {
        return 0;
    }
    /* PLL1SRC=HSI (01) [1:0], PLL1RGE=4-8 MHz (10) [3:2], PLL1VCOSEL=wide (0) [5],
     * PLL1M=8 [13:8], PLL1PEN [16]. */
    REG(RCC_PLL1CFGR) = (1u << 0) | (2u << 2) | (8u << 8) | (1u << 16);
    /* PLL1N=125 (124) [8:0], PLL1P=/2 (1) [15:9], PLL1Q=/2 (1) [22:16], PLL1R=/2 (1) [30:24]. */
    REG(RCC_PLL1DIVR) = (124u << 0) | (1u << 9) | (1u << 16) | (1u << 24);
    REG(RCC_CR) |= RCC_CR_PLL1ON;
    return wait_bits(RCC_CR, RCC_CR_PLL1RDY, RCC_CR_PLL1RDY);
}

static inline int flash_latency(void)
{
    rmw(FLASH_ACR, FLASH_ACR_WRHIGHFREQ, (2u << 4) | FLASH_ACR_PRFTEN);
    return flash_set_latency(FLASH_ACR, FLASH_ACR_LATENCY, 5u);
}

static inline int sysclk_to_pll(void)
{
    /* HPRE [3:0], PPRE1 [6:4], PPRE2 [10:8], PPRE3 [14:12] = /1, then SW = PLL1 (11). */
    rmw(RCC_CFGR2, 0xFu | (7u << 4) | (7u << 8) | (7u << 12), 0);
    rmw(RCC_CFGR1, 3u << 0, 3u << 0);
    return wait_bits(RCC_CFGR1, 3u << 3, 3u << 3); /* SWS [4:3] = PLL1 */
}

static inline void timer_clock_on(void)
{
    clock_enable(RCC_APB1LENR, RCC_APB1LENR_TIM2EN);
}

static inline void pin_port_clock_on(void)
{
    clock_enable(RCC_AHB2ENR, RCC_AHB2ENR_GPIOFEN);
}
