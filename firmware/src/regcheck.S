/* uint32_t regcheck(uint32_t loops): fill r0-r3, r12 (and s0-s15 with an FPU) with patterns,
 * spin, and compare after every iteration; returns the number of mismatches seen. */
    .syntax unified
    .thumb
    .text
    .global regcheck
    .type regcheck, %function
regcheck:
    push {r4-r7, lr}
    mov r4, r0          /* loop counter */
    movs r5, #0         /* mismatches */
#ifdef __ARM_FP
    vpush {s16}
    ldr r6, =0x3FC00000 /* 1.5f */
    vmov s0, r6
    vmov s15, r6
#endif
1:
    ldr r0, =0x11111111
    ldr r1, =0x22222222
    ldr r2, =0x33333333
    ldr r3, =0x44444444
    ldr r6, =0x55555555
    mov r12, r6
    nop
    nop
    nop
    nop
    ldr r6, =0x11111111
    cmp r0, r6
    bne 2f
    ldr r6, =0x22222222
    cmp r1, r6
    bne 2f
    ldr r6, =0x33333333
    cmp r2, r6
    bne 2f
    ldr r6, =0x44444444
    cmp r3, r6
    bne 2f
    ldr r6, =0x55555555
    mov r7, r12
    cmp r7, r6
    bne 2f
#ifdef __ARM_FP
    vmov r7, s0
    ldr r6, =0x3FC00000
    cmp r7, r6
    bne 2f
    vmov r7, s15
    cmp r7, r6
    bne 3f
    vmov s0, r6
#endif
    b 4f
2:
    adds r5, r5, #1
#ifdef __ARM_FP
    b 4f
3:
    adds r5, r5, #1
    vmov s15, r6
#endif
4:
    subs r4, r4, #1
    bne 1b
    mov r0, r5
#ifdef __ARM_FP
    vpop {s16}
#endif
    pop {r4-r7, pc}
    .ltorg
