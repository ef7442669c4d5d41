/* Test driver of pnet/c/textfront.c (tests/test_c_textfront.py): compiled with the
 * configuration macros on the command line (-include of textfront_defines' output).
 *
 * `driver rows`: reads texts from stdin, each a 4-byte little-endian length and its
 * bytes, and prints one line per text: the return value of pnet_tf_row, then each
 * id and the bits of its float32 value in hex. Prints "overflow" instead if the
 * call wrote past PNET_TF_MAX_FEATURES (a guard zone after the buffers).
 * `driver lower`: prints "c lower(c)" in hex for every code point the table changes.
 * `driver max`: prints PNET_TF_MAX_FEATURES.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textfront.c"

#ifndef GUARD
#define GUARD 64 /* -DGUARD=0 for exactly sized buffers, e.g. under -fsanitize=address */
#endif
#define MAX_INPUT (1 << 22)

static uint64_t ids[PNET_TF_MAX_FEATURES + GUARD];
static float values[PNET_TF_MAX_FEATURES + GUARD];
static char text[MAX_INPUT];

static int guard_intact(void)
{
    size_t i;
    for (i = PNET_TF_MAX_FEATURES; i < PNET_TF_MAX_FEATURES + GUARD; i++)
        if (ids[i] != UINT64_C(0xA5A5A5A5A5A5A5A5) || values[i] != -7.0f)
            return 0;
    return 1;
}

static int rows(void)
{
    unsigned char len[4];
    size_t i;
    while (fread(len, 1, 4, stdin) == 4) {
        size_t n = (size_t)len[0] | (size_t)len[1] << 8 | (size_t)len[2] << 16
                   | (size_t)len[3] << 24;
        int u;
        if (n > MAX_INPUT || fread(text, 1, n, stdin) != n)
            return 1;
        for (i = PNET_TF_MAX_FEATURES; i < PNET_TF_MAX_FEATURES + GUARD; i++) {
            ids[i] = UINT64_C(0xA5A5A5A5A5A5A5A5);
            values[i] = -7.0f;
        }
        u = pnet_tf_row(text, n, ids, values);
        if (!guard_intact()) {
            printf("overflow\n");
            continue;
        }
        printf("%d", u);
        for (i = 0; u > 0 && i < (size_t)u; i++) {
            uint32_t bits;
            memcpy(&bits, &values[i], sizeof bits);
            printf(" %016llx:%08lx", (unsigned long long)ids[i], (unsigned long)bits);
        }
        printf("\n");
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "rows") == 0)
        return rows();
    if (argc == 2 && strcmp(argv[1], "max") == 0) {
        printf("%ld\n", (long)PNET_TF_MAX_FEATURES);
        return 0;
    }
#if PNET_TF_LOWERCASE
    if (argc == 2 && strcmp(argv[1], "lower") == 0) {
        uint32_t c;
        for (c = 0; c < 0x110000; c++)
            if (pnet_tf_lower(c) != c)
                printf("%lx %lx\n", (unsigned long)c, (unsigned long)pnet_tf_lower(c));
        return 0;
    }
#endif
    fprintf(stderr, "usage: %s rows|max|lower\n", argv[0]);
    return 2;
}
