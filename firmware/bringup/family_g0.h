/* STM32G0B1RE (RM0444). HSI16 -> PLL (M=1, N=8, R=2) = 64 MHz, voltage range 1, 2 wait
 * states, APB = 64 MHz (timers 64 MHz).
 * Timer: TIM2 (IRQ 15). Pin: PA2 AF1 (USART2_TX, the NUCLEO-G0B1RE virtual COM port). */
#define N_IRQ 32
#define HAS_FPU 0
#define SYSCLK_HZ 64000000u

#define RCC_BASE 0x40021000u
#define RCC_CR (RCC_BASE + 0x00u)
#define RCC_CFGR (RCC_BASE + 0x08u)
#define RCC_PLLCFGR (RCC_BASE + 0x0Cu)
#define RCC_IOPENR (RCC_BASE + 0x34u)
#define RCC_APBENR1 (RCC_BASE + 0x3Cu)
#define RCC_CR_HSION (1u << 8)
#define RCC_CR_HSIRDY (1u << 10)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_APBENR1_TIM2EN (1u << 0)
#define RCC_APBENR1_PWREN (1u << 28)
#define RCC_IOPENR_GPIOAEN (1u << 0)

#define PWR_CR1 0x40007000u
#define PWR_SR2 0x40007014u
#define PWR_CR1_VOS (3u << 9)
#define PWR_CR1_VOS_RANGE1 (1u << 9)
#define PWR_SR2_VOSF (1u << 10)

#define FLASH_ACR 0x40022000u
#define FLASH_ACR_LATENCY 7u
#define FLASH_ACR_CACHES ((1u << 8) | (1u << 9)) /* PRFTEN, ICEN */

#define TIMER_BASE 0x40000000u /* TIM2 */
#define TIMER_NUMBER 2
#define TIMER_IRQ 15
#define TIMER_IRQ_HANDLER TIM2_IRQHandler
#define TIMER_CLOCK_HZ 64000000u

#define PIN_PORT_BASE 0x50000000u /* GPIOA (IOPORT bus) */
#define PIN_PORT 0
#define PIN_NUMBER 2
#define PIN_AF 1

/* HAL_PWREx_ControlVoltageScaling(PWR_REGULATOR_VOLTAGE_SCALE1): VOS, wait VOSF clear. */
static inline int power_scale(void)
{
    clock_enable(RCC_APBENR1, RCC_APBENR1_PWREN);
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
    /* PLLSRC=HSI16 (10) [1:0], PLLM=/1 (000) [6:4], PLLN=8 [14:8], PLLP=/2 (00001) [21:17],
     * PLLQ=/2 (001) [27:25], PLLREN [28], PLLR=/2 (001) [31:29]. */
    REG(RCC_PLLCFGR) = (2u << 0) | (0u << 4) | (8u << 8) | (1u << 17) | (1u << 25) | (1u << 28) |
                       (1u << 29);
    REG(RCC_CR) |= RCC_CR_PLLON;
    return wait_bits(RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY);
}

static inline int flash_latency(void)
{
    REG(FLASH_ACR) |= FLASH_ACR_CACHES;
    return flash_set_latency(FLASH_ACR, FLASH_ACR_LATENCY, 2u);
}

static inline int sysclk_to_pll(void)
{
    /* HPRE=/1 [11:8], PPRE=/1 [14:12], then SW=PLLRCLK (010) [2:0]. */
    rmw(RCC_CFGR, (0xFu << 8) | (7u << 12), 0);
    rmw(RCC_CFGR, 7u << 0, 2u << 0);
    return wait_bits(RCC_CFGR, 7u << 3, 2u << 3); /* SWS [5:3] = PLLRCLK */
}

static inline void timer_clock_on(void)
{
    clock_enable(RCC_APBENR1, RCC_APBENR1_TIM2EN);
}

static inline void pin_port_clock_on(void)
{
    clock_enable(RCC_IOPENR, RCC_IOPENR_GPIOAEN);
}
