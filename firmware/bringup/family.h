/* Picks the family header for the part the Makefile builds (-DPART_<name>). */
#if defined(PART_STM32F411CE)
#include "family_f4.h"
#elif defined(PART_STM32F769NI)
#include "family_f7.h"
#elif defined(PART_STM32G0B1RE)
#include "family_g0.h"
#elif defined(PART_STM32G474RE)
#include "family_g4.h"
#elif defined(PART_STM32H563ZI)
#include "family_h5.h"
#elif defined(PART_STM32H743ZI) || defined(PART_STM32H723ZG) || defined(PART_STM32H7B3LI)
#include "family_h7.h"
#elif defined(PART_STM32L496AG) || defined(PART_STM32L4R5ZI)
#include "family_l4.h"
#elif defined(PART_STM32L552ZE)
#include "family_l5.h"
#elif defined(PART_STM32U545RE)
#include "family_u5.h"
#else
#error "no family header for this part: define PART_<name> (see Makefile)"
#endif
