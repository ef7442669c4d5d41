/* Firmware main for bench/mcu.py: predicts the rows of rows.h with the exported
 * model and prints, through semihosting, one class index per line, then the stack
 * high-water mark. With -DPNET_STUB it links a stub instead of the model (the
 * baseline that bench/mcu.py subtracts to get the model's own flash). */
#include <stdint.h>

#include "rows.h"

void semihost_print(const char *text);
uint32_t stack_high_water(void);

#ifdef PNET_STUB
static int pnet_predict(const float *x)
{
    return x[0] > 0.5f;
}
#else
#include "pnet_model.h"
#endif

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
    uint32_t i;
    for (i = 0; i < N_ROWS; i++)
        print_uint((uint32_t)pnet_predict(rows[i]));
    semihost_print("stack ");
    print_uint(stack_high_water());
    return 0;
}
