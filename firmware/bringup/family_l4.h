/* STM32L4 (RM0351) and STM32L4+ (RM0432). Both: HSI16 -> main PLL, R output as SYSCLK.
 *   STM32L496AG: PLL (M=1, N=10, R=2) = 80 MHz, voltage range 1, 4 wait states.
 *                Pin: PA3 AF10 (QUADSPI_CLK, as on the 32L496GDISCOVERY).
 *   STM32L4R5ZI: PLL (M=2, N=30, R=2) = 120 MHz, range 1 boost (R1MODE = 0), 5 wait states;
 *                the switch goes through AHB /2 as HAL_RCC_ClockConfig does above 80 MHz.
 *                Pin: PB10 AF10 (OCTOSPIM_P1_CLK).
 * APB1/APB2 = SYSCLK (timers = SYSCLK). Timer: TIM2 (IRQ 28). */
#define HAS_FPU 1

#define RCC_BASE 0x40021000u
#define RCC_CR (RCC_BASE + 0x00u)
#define RCC_CFGR (RCC_BASE + 0x08u)
#define RCC_PLLCFGR (RCC_BASE + 0x0Cu)
#define RCC_AHB2ENR (RCC_BASE + 0x4Cu)
#define RCC_APB1ENR1 (RCC_BASE + 0x58u)
#define RCC_CR_HSION (1u << 8)
#define RCC_CR_HSIRDY (1u << 10)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_APB1ENR1_TIM2EN (1u << 0)
#define RCC_APB1ENR1_PWREN (1u << 28)

#define PWR_CR1 0x40007000u
#define PWR_SR2 0x40007014u
#define PWR_CR5 0x40007080u /* L4+ only */
#define PWR_CR1_VOS (3u << 9)
#define PWR_CR1_VOS_RANGE1 (1u << 9)
#define PWR_SR2_VOSF (1u << 10)
#define PWR_CR5_R1MODE (1u << 8) /* 0 = range 1 boost mode */

#define FLASH_ACR 0x40022000u
#define FLASH_ACR_CACHES ((1u << 8) | (1u << 9) | (1u << 10)) /* PRFTEN, ICEN, DCEN */

#define TIMER_BASE 0x40000000u /* TIM2 */
#define TIMER_NUMBER 2
#define TIMER_IRQ 28
#define TIMER_IRQ_HANDLER TIM2_IRQHandler

#if defined(PART_STM32L496AG)
#define N_IRQ 91
#define SYSCLK_HZ 80000000u
#define PLL_M 1u
#define PLL_N 10u
#define FLASH_ACR_LATENCY 7u
#define FLASH_WS 4u
#define PIN_PORT_BASE 0x48000000u /* GPIOA */
#define PIN_PORT 0
#define PIN_NUMBER 3
#define PIN_AF 10
#else /* STM32L4R5ZI */
#define N_IRQ 95
#define SYSCLK_HZ 120000000u
#define PLL_M 2u
#define PLL_N 30u
#define FLASH_ACR_LATENCY 0xFu
#define FLASH_WS 5u
#define PIN_PORT_BASE 0x48000400u /* GPIOB */
#define PIN_PORT 1
#define PIN_NUMBER 10
#define PIN_AF 10
#endif
#define TIMER_CLOCK_HZ SYSCLK_HZ

/* HAL_PWREx_ControlVoltageScaling: range 1 (L4) or range 1 boost (L4+), wait VOSF clear. */
static inline int power_scale(void)
{
    clock_enable(RCC_APB1ENR1, RCC_APB1ENR1_PWREN);
#if defined(PART_STM32L4R5ZI)
    REG(PWR_CR5) &= ~PWR_CR5_R1MODE;
#endif
    rmw(PWR_CR1, PWR_CR1_VOS, PWR_CR1_VOS_RANGE1);
    return wait_bits(PWR_SR2, PWR_SR2_VOSF, 0);
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
    REG(RCC_CR) &= ~RCC_CR_PLLON;
    if (!wait_bits(RCC_CR, RCC_CR_PLLRDY, 0)) {
        return 0;
    }
    /* PLLSRC=HSI16 (10) [1:0], PLLM=M-1 [6:4] (L4) / [7:4] (L4+), PLLN [14:8], PLLQ=/2 (00)
     * [22:21], PLLREN [24], PLLR=/2 (00) [26:25]. */
    REG(RCC_PLLCFGR) = (2u << 0) | ((PLL_M - 1u) << 4) | (PLL_N << 8) | (1u << 24);
    REG(RCC_CR) |= RCC_CR_PLLON;
    return wait_bits(RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY);
}

static inline int flash_latency(void)
{
    REG(FLASH_ACR) |= FLASH_ACR_CACHES;
    return flash_set_latency(FLASH_ACR, FLASH_ACR_LATENCY, FLASH_WS);
}

static inline int sysclk_to_pll(void)
{
    /* PPRE1 [10:8] and PPRE2 [13:11] = /1; HPRE [7:4] /1 (L4) or /2 during the switch (L4+). */
#if SYSCLK_HZ > 80000000u
    rmw(RCC_CFGR, (0xFu << 4) | (7u << 8) | (7u << 11), 8u << 4);
#else
    rmw(RCC_CFGR, (0xFu << 4) | (7u << 8) | (7u << 11), 0);
#endif
    rmw(RCC_CFGR, 3u << 0, 3u << 0);                /* SW = PLL (11) */
    int ok = wait_bits(RCC_CFGR, 3u << 2, 3u << 2); /* SWS [3:2] = PLL */
    rmw(RCC_CFGR, 0xFu << 4, 0);
    return ok;
}

static inline void timer_clock_on(void)
{
    clock_enable(RCC_APB1ENR1, RCC_APB1ENR1_TIM2EN);
}

static inline void pin_port_clock_on(void)
{
    clock_enable(RCC_AHB2ENR, 1u << PIN_PORT); /* GPIOxEN: bit = port index */
}
