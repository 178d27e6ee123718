/* uint32_t regcheck(uint32_t loops): fill r0-r3, r12 (and s0, s15 with an FPU) with patterns,
 * spin, and compare after every iteration; returns the number of mismatches seen.
 * A naked C function rather than a .S file so the build stays byte-reproducible. */
#include <stdint.h>

__attribute__((naked)) uint32_t regcheck(uint32_t loops)
{
    (void)loops;
    __asm volatile(
        ".syntax unified\n"
        "push {r4-r7, lr}\n"
        "mov r4, r0\n"
        "movs r5, #0\n"
#ifdef __ARM_FP
        "vpush {s16}\n"
        "ldr r6, =0x3FC00000\n"
        "vmov s0, r6\n"
        "vmov s15, r6\n"
#endif
        "1:\n"
        "ldr r0, =0x11111111\n"
        "ldr r1, =0x22222222\n"
        "ldr r2, =0x33333333\n"
        "ldr r3, =0x44444444\n"
        "ldr r6, =0x55555555\n"
        "mov r12, r6\n"
        "nop\n"
        "nop\n"
        "nop\n"
        "nop\n"
        "ldr r6, =0x11111111\n"
        "cmp r0, r6\n"
        "bne 2f\n"
        "ldr r6, =0x22222222\n"
        "cmp r1, r6\n"
        "bne 2f\n"
        "ldr r6, =0x33333333\n"
        "cmp r2, r6\n"
        "bne 2f\n"
        "ldr r6, =0x44444444\n"
        "cmp r3, r6\n"
        "bne 2f\n"
        "ldr r6, =0x55555555\n"
        "mov r7, r12\n"
        "cmp r7, r6\n"
        "bne 2f\n"
#ifdef __ARM_FP
        "vmov r7, s0\n"
        "ldr r6, =0x3FC00000\n"
        "cmp r7, r6\n"
        "bne 2f\n"
        "vmov r7, s15\n"
        "cmp r7, r6\n"
        "bne 3f\n"
        "vmov s0, r6\n"
#endif
        "b 4f\n"
        "2:\n"
        "adds r5, r5, #1\n"
#ifdef __ARM_FP
        "b 4f\n"
        "3:\n"
        "adds r5, r5, #1\n"
        "vmov s15, r6\n"
#endif
        "4:\n"
        "subs r4, r4, #1\n"
        "bne 1b\n"
        "mov r0, r5\n"
#ifdef __ARM_FP
        "vpop {s16}\n"
#endif
        "pop {r4-r7, pc}\n"
        ".ltorg\n"
    );
}
