/* STM32H7, three lines with different PWR/RCC/FLASH details:
 *   STM32H743ZI (RM0433, H742/743/750/753): LDO supply, D3CR VOS scale 1 (11); HSI 64 MHz ->
 *       PLL1 (M=4, N=50, P=2) = 400 MHz; AXI/AHB 200 MHz, APB 100 MHz (timers 200 MHz);
 *       2 wait states, WRHIGHFREQ = 2. Pin: PB2 AF9 (QUADSPI_CLK, NUCLEO-H743ZI).
 *   STM32H723ZG (RM0468, H72x/H73x): same register map as RM0433 for this program; D3CR VOS
 *       scale 1 is 11 here too (scale 0 is 00 on this line). Same clocks as the H743.
 *       Pin: PF10 AF9 (OCTOSPIM_P1_CLK).
 *   STM32H7B3LI (RM0455, H7A3/B3): CD/SRD domains: PWR_SRDCR VOS0 (11); HSI 64 MHz -> PLL1
 *       (M=4, N=35, P=2) = 280 MHz; AHB 280 MHz, APB 140 MHz (timers 280 MHz); 6 wait
 *       states. Pin: PB2 AF9 (OCTOSPIM_P1_CLK).
 * All: RCC at 0x58024400 (CR: HSIRDY is bit 2), PLL1 registers PLLCKSELR/PLLCFGR/PLL1DIVR,
 * AHB4ENR at 0xE0, APB1LENR at 0xE8, FLASH_ACR at 0x52002000.
 * Timer: TIM2 (IRQ 28). */
#define HAS_FPU 1
#define TIMER_BASE 0x40000000u /* TIM2 */
#define TIMER_NUMBER 2
#define TIMER_IRQ 28
#define TIMER_IRQ_HANDLER TIM2_IRQHandler

#define RCC_BASE 0x58024400u
#define RCC_CR (RCC_BASE + 0x00u)
#define RCC_CFGR (RCC_BASE + 0x10u)
#define RCC_D1CFGR (RCC_BASE + 0x18u) /* CDCFGR1 on H7A3/B3: same fields */
#define RCC_D2CFGR (RCC_BASE + 0x1Cu) /* CDCFGR2 */
#define RCC_D3CFGR (RCC_BASE + 0x20u) /* SRDCFGR */
#define RCC_PLLCKSELR (RCC_BASE + 0x28u)
#define RCC_PLLCFGR (RCC_BASE + 0x2Cu)
#define RCC_PLL1DIVR (RCC_BASE + 0x30u)
#define RCC_AHB4ENR (RCC_BASE + 0xE0u)
#define RCC_APB1LENR (RCC_BASE + 0xE8u)
#define RCC_CR_HSION (1u << 0)
#define RCC_CR_HSIRDY (1u << 2)
#define RCC_CR_PLL1ON (1u << 24)
#define RCC_CR_PLL1RDY (1u << 25)
#define RCC_APB1LENR_TIM2EN (1u << 0)

#define PWR_BASE 0x58024800u
#define PWR_CSR1 (PWR_BASE + 0x04u)
#define PWR_CR3 (PWR_BASE + 0x0Cu)
#define PWR_VOSCR (PWR_BASE + 0x18u) /* D3CR (H743, H723) / SRDCR (H7B3) */
#define PWR_CSR1_ACTVOSRDY (1u << 13)
#define PWR_CR3_SUPPLY 7u /* BYPASS [0], LDOEN [1], SCUEN (H743) / SMPSEN (H7B3) [2] */
#define PWR_CR3_LDOEN (1u << 1)
#define PWR_VOSCR_VOS (3u << 14)
#define PWR_VOSCR_VOSRDY (1u << 13)

#define FLASH_ACR 0x52002000u
#define FLASH_ACR_LATENCY 0xFu
#define FLASH_ACR_WRHIGHFREQ (3u << 4)

#if defined(PART_STM32H7B3LI)
#define N_IRQ 155
#define SYSCLK_HZ 280000000u
#define PLL1_N 35u
#define HPRE_DIV 0u                /* AHB = SYSCLK */
#define FLASH_ACR_VALUE 6u         /* VOS0, 280 MHz */
#define FLASH_ACR_MASK FLASH_ACR_LATENCY
#define TIMER_CLOCK_HZ 280000000u  /* APB1 /2 -> timers 2 x 140 MHz */
#define PIN_PORT_BASE 0x58020400u  /* GPIOB */
#define PIN_PORT 1
#define PIN_NUMBER 2
#define PIN_AF 9
#else /* STM32H743ZI, STM32H723ZG */
#define SYSCLK_HZ 400000000u
#define PLL1_N 50u
#define HPRE_DIV 8u                /* AHB/AXI = SYSCLK / 2 */
#define FLASH_ACR_VALUE (2u | (2u << 4)) /* VOS1, AXI 200 MHz: 2 WS, WRHIGHFREQ 2 */
#define FLASH_ACR_MASK (FLASH_ACR_LATENCY | FLASH_ACR_WRHIGHFREQ)
#define TIMER_CLOCK_HZ 200000000u  /* APB1 100 MHz -> timers 200 MHz */
#if defined(PART_STM32H743ZI)
#define N_IRQ 150
#define PIN_PORT_BASE 0x58020400u  /* GPIOB */
#define PIN_PORT 1
#define PIN_NUMBER 2
#define PIN_AF 9
#else
#define N_IRQ 163
#define PIN_PORT_BASE 0x58021400u  /* GPIOF */
#define PIN_PORT 5
#define PIN_NUMBER 10
#define PIN_AF 9
#endif
#endif

/* HAL_PWREx_ConfigSupply(PWR_LDO_SUPPLY): LDOEN, wait ACTVOSRDY; then
 * HAL_PWREx_ControlVoltageScaling: VOS (scale 1, or VOS0 on H7B3), wait VOSRDY. */
static inline int power_scale(void)
{
    rmw(PWR_CR3, PWR_CR3_SUPPLY, PWR_CR3_LDOEN);
    if (!wait_bits(PWR_CSR1, PWR_CSR1_ACTVOSRDY, PWR_CSR1_ACTVOSRDY)) {
        return 0;
    }
    rmw(PWR_VOSCR, PWR_VOSCR_VOS, PWR_VOSCR_VOS);
    return wait_bits(PWR_VOSCR, PWR_VOSCR_VOSRDY, PWR_VOSCR_VOSRDY);
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
    /* PLLSRC=HSI (00) [1:0], DIVM1=4 [9:4] -> 16 MHz reference. */
    rmw(RCC_PLLCKSELR, 3u | (0x3Fu << 4), 4u << 4);
    /* PLL1N [8:0] = N-1, PLL1P [15:9] = /2 (1), PLL1Q [22:16] = /4 (3), PLL1R [30:24] = /2 (1). */
    REG(RCC_PLL1DIVR) = ((PLL1_N - 1u) << 0) | (1u << 9) | (3u << 16) | (1u << 24);
    /* PLL1FRACEN=0 [0], PLL1VCOSEL=wide (0) [1], PLL1RGE=8-16 MHz (11) [3:2],
     * DIVP1EN/DIVQ1EN/DIVR1EN [18:16]. */
    rmw(RCC_PLLCFGR, 0xFu | (7u << 16), (3u << 2) | (7u << 16));
    REG(RCC_CR) |= RCC_CR_PLL1ON;
    return wait_bits(RCC_CR, RCC_CR_PLL1RDY, RCC_CR_PLL1RDY);
}

static inline int flash_latency(void)
{
    return flash_set_latency(FLASH_ACR, FLASH_ACR_MASK, FLASH_ACR_VALUE);
}

static inline int sysclk_to_pll(void)
{
    /* D1CFGR: D1CPRE [11:8] /1, D1PPRE [6:4] /2 (100), HPRE [3:0]; D2CFGR: D2PPRE1 [6:4],
     * D2PPRE2 [10:8] /2; D3CFGR: D3PPRE [6:4] /2. */
    rmw(RCC_D1CFGR, (0xFu << 8) | (7u << 4) | 0xFu, (4u << 4) | HPRE_DIV);
    rmw(RCC_D2CFGR, (7u << 4) | (7u << 8), (4u << 4) | (4u << 8));
    rmw(RCC_D3CFGR, 7u << 4, 4u << 4);
    rmw(RCC_CFGR, 7u << 0, 3u << 0);              /* SW = PLL1 (011) [2:0] */
    return wait_bits(RCC_CFGR, 7u << 3, 3u << 3); /* SWS [5:3] = PLL1 */
}

static inline void timer_clock_on(void)
{
    clock_enable(RCC_APB1LENR, RCC_APB1LENR_TIM2EN);
}

static inline void pin_port_clock_on(void)
{
    clock_enable(RCC_AHB4ENR, 1u << PIN_PORT); /* GPIOxEN: bit = port index */
}
