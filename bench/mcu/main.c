/* Firmware main for bench/mcu.py: predicts the rows of rows.h (row_t: float, or
 * uint8_t for a model exported with input_type='uint8') with the exported model
 * and prints, through semihosting, one class index per line, then the SysTick
 * ticks spent in pnet_predict and the stack high-water mark. With -DPNET_STUB it
 * links a stub instead of the model (the baseline that bench/mcu.py subtracts to get
 * the model's own flash).
 *
 * SysTick (the Cortex-M timer at 0xE000E010) counts down from 2**24 - 1 at the
 * processor clock. Under QEMU with -icount shift=0 every instruction advances the
 * virtual clock by 1 ns, so a tick of mps2-an386's 25 MHz clock is 40 instructions:
 * an instruction count, not a cycle count. */
#include <stdint.h>

#include "rows.h"

void semihost_print(const char *text);
uint32_t stack_high_water(void);

#ifdef PNET_STUB
/* The baseline reads the rows and runs no model. Float rows: a float compare (its
 * libgcc routine is in the baseline); uint8 rows: an integer compare, so that the
 * uint8 models' flash counts every floating-point routine they pull in. */
static int pnet_predict(const row_t *x)
{
    return x[0] > (row_t)0.5f; /* 0.5f, or 0 for uint8_t */
}
#else
#include "pnet_model.h"
#endif

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_MASK 0xFFFFFFu

static void print_uint(uint32_t value)
{
    char text[12];
    int i = 10;
    text[11] = '\0';
    text[10] = '\n';
    do {
        text[--i] = (char)('0' + value % 10u);
        value /= 10u;
    } while (value);
    semihost_print(text + i);
}

int main(void)
{
    uint32_t i, ticks = 0;
    SYST_RVR = SYST_MASK;
    SYST_CVR = 0;
    SYST_CSR = 5u; /* enabled, processor clock, no interrupt */
    for (i = 0; i < N_ROWS; i++) {
        uint32_t start = SYST_CVR;
        int index = pnet_predict(rows[i]);
        ticks += (start - SYST_CVR) & SYST_MASK; /* one row is far below 2**24 ticks */
        print_uint((uint32_t)index);
    }
    semihost_print("ticks ");
    print_uint(ticks);
    semihost_print("stack ");
    print_uint(stack_high_water());
    return 0;
}
