/* STM32L552ZE (RM0438), non-secure aliases (TrustZone disabled, TZEN = 0).
 * HSI16 -> PLL (M=4, N=55, R=2) = 110 MHz, voltage range 0, 5 wait states, APB1/APB2 = 110 MHz
 * (timers 110 MHz). The switch goes through AHB /2 as HAL_RCC_ClockConfig does above 80 MHz.
 * Timer: TIM2 (IRQ 45). Pin: PA3 AF10 (OCTOSPI1_CLK, as on the STM32L552E-EV). */
#define N_IRQ 108
#define HAS_FPU 1
#define SYSCLK_HZ 110000000u

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
#define RCC_AHB2ENR_GPIOAEN (1u << 0)

#define PWR_CR1 0x40007000u
#define PWR_SR2 0x40007014u
#define PWR_CR1_VOS (3u << 9) /* 00 = range 0 */
#define PWR_SR2_VOSF (1u << 10)

#define FLASH_ACR 0x40022000u
#define FLASH_ACR_LATENCY 0xFu

#define TIMER_BASE 0x40000000u /* TIM2 */
#define TIMER_NUMBER 2
#define TIMER_IRQ 45
#define TIMER_IRQ_HANDLER TIM2_IRQHandler
#define TIMER_CLOCK_HZ 110000000u

#define PIN_PORT_BASE 0x42020000u /* GPIOA */
#define PIN_PORT 0
#define PIN_NUMBER 3
#define PIN_AF 10

/* HAL_PWREx_ControlVoltageScaling(PWR_REGULATOR_VOLTAGE_SCALE0): VOS, wait VOSF clear. */
static inline int power_scale(void)
{
    clock_enable(RCC_APB1ENR1, RCC_APB1ENR1_PWREN);
    rmw(PWR_CR1, PWR_CR1_VOS, 0);
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
    /* PLLSRC=HSI16 (10) [1:0], PLLM=/4 (0011) [7:4], PLLN=55 [14:8], PLLQ=/2 [22:21],
     * PLLREN [24], PLLR=/2 (00) [26:25]. */
    REG(RCC_PLLCFGR) = (2u << 0) | (3u << 4) | (55u << 8) | (1u << 24);
    REG(RCC_CR) |= RCC_CR_PLLON;
    return wait_bits(RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY);
}

static inline int flash_latency(void)
{
    return flash_set_latency(FLASH_ACR, FLASH_ACR_LATENCY, 5u);
}

static inline int sysclk_to_pll(void)
{
    rmw(RCC_CFGR, (0xFu << 4) | (7u << 8) | (7u << 11), 8u << 4); /* AHB /2, APB1/APB2 /1 */
    rmw(RCC_CFGR, 3u << 0, 3u << 0);                                /* SW = PLL (11) */
    int ok = wait_bits(RCC_CFGR, 3u << 2, 3u << 2);                 /* SWS [3:2] = PLL */
    rmw(RCC_CFGR, 0xFu << 4, 0);                                    /* AHB /1 */
    return ok;
}

static inline void timer_clock_on(void)
{
    clock_enable(RCC_APB1ENR1, RCC_APB1ENR1_TIM2EN);
}

static inline void pin_port_clock_on(void)
{
    clock_enable(RCC_AHB2ENR, RCC_AHB2ENR_GPIOAEN);
}
