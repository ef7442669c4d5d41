/* Minimal Cortex-M startup for bench/mcu.py under QEMU: a vector table, a reset
 * handler that enables the FPU (hard-float builds), zeroes .bss, paints the stack (to measure its high-water mark) and
 * calls main, and ARM semihosting calls (bkpt 0xAB) to print and to exit. No C
 * library, so the firmware's size is the model's plus this file's. */
#include <stdint.h>

extern uint32_t __bss_start, __bss_end, __stack_bottom, __stack_top;
int main(void);
void reset_handler(void);

#define STACK_PAINT 0xDEADBEEFu

__attribute__((section(".vectors"), used))
static void (*const vectors[2])(void) = {(void (*)(void))&__stack_top, reset_handler};

static int semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void semihost_print(const char *text)
{
    semihost(0x04, text); /* SYS_WRITE0 */
}

/* bytes of stack ever used: the painted words below the current frame that changed */
uint32_t stack_high_water(void)
{
    uint32_t *p = &__stack_bottom;
    while (p < &__stack_top && *p == STACK_PAINT)
        p++;
    return (uint32_t)((char *)&__stack_top - (char *)p);
}

void semihost_exit(int status)
{
    uint32_t block[2] = {0x20026u, (uint32_t)status}; /* ADP_Stopped_ApplicationExit */
    semihost(0x20, block);                            /* SYS_EXIT_EXTENDED */
    for (;;)
        ;
}

void reset_handler(void)
{
    uint32_t *p;
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
#ifdef __ARM_FP
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* CPACR: enable the FPU */
    __asm__ volatile("dsb\n\tisb");
#endif
    for (p = &__bss_start; p < &__bss_end; p++)
        *p = 0;
    for (p = &__stack_bottom; p < sp - 16; p++) /* below the current frame */
        *p = STACK_PAINT;
    semihost_exit(main());
}
