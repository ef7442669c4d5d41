/* pnet_check_main.c: a host harness for an exported model (tests, bench/mcu.py).
 *
 *   cc -std=c99 -DPNET_PROBA pnet_model.c pnet_check_main.c -lm -o pnet_check
 *   pnet_check < rows.f32 > out.bin        binary in, binary out
 *   pnet_check --time N < rows.f32         seconds per pnet_predict call, N rounds
 *   pnet_check --labels                    the class labels, one a line
 *
 * Input: rows of PNET_N_FEATURES little-endian float32. Output per row:
 * PNET_N_WORDS uint64 (pnet_bits), PNET_N_CLASSES float32 (pnet_logits),
 * PNET_N_CLASSES float64 (pnet_proba), one int32 (pnet_predict), native order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pnet_model.h"

#ifndef PNET_PROBA
#error "compile pnet_check_main.c and pnet_model.c with -DPNET_PROBA"
#endif

static float *read_rows(size_t *n_rows)
{
    size_t cap = 1024, n = 0, row = PNET_N_FEATURES;
    float *x = malloc(cap * row * sizeof *x);
    while (x && fread(x + n * row, sizeof *x, row, stdin) == row) {
        if (++n == cap) {
            float *grown = realloc(x, 2 * cap * row * sizeof *x);
            if (!grown)
                free(x);
            x = grown;
            cap *= 2;
        }
    }
    *n_rows = n;
    return x;
}

static int run_all(const float *x, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        const float *row = x + i * PNET_N_FEATURES;
        uint64_t words[PNET_N_WORDS];
        float logits[PNET_N_CLASSES];
        double proba[PNET_N_CLASSES];
        int32_t label;
        pnet_bits(row, words);
        pnet_logits(row, logits);
        pnet_proba(row, proba);
        label = pnet_predict(row);
        fwrite(words, sizeof words, 1, stdout);
        fwrite(logits, sizeof logits, 1, stdout);
        fwrite(proba, sizeof proba, 1, stdout);
        fwrite(&label, sizeof label, 1, stdout);
    }
    return 0;
}

/* median over rounds of the mean time of one pnet_predict over all rows */
static int run_timing(const float *x, size_t n, int rounds)
{
    double *per_row = malloc((size_t)rounds * sizeof *per_row), best;
    volatile int sink = 0;
    int r, s, t;
    size_t i;
    if (!per_row || n == 0)
        return 1;
    for (r = 0; r < rounds; r++) {
        clock_t start = clock();
        for (i = 0; i < n; i++)
            sink += pnet_predict(x + i * PNET_N_FEATURES);
        per_row[r] = (double)(clock() - start) / CLOCKS_PER_SEC / (double)n;
    }
    for (s = 1; s < rounds; s++) /* insertion sort: rounds is small */
        for (t = s; t > 0 && per_row[t] < per_row[t - 1]; t--) {
            best = per_row[t];
            per_row[t] = per_row[t - 1];
            per_row[t - 1] = best;
        }
    printf("%.9g\n", per_row[rounds / 2]);
    free(per_row);
    return sink < 0 ? 0 : 0;
}

int main(int argc, char **argv)
{
    size_t n;
    float *x;
    int status;
    if (argc == 2 && strcmp(argv[1], "--labels") == 0) {
        for (status = 0; status < PNET_N_CLASSES; status++)
            printf("%s\n", pnet_class_labels[status]);
        return 0;
    }
    x = read_rows(&n);
    if (!x)
        return 2;
    if (argc == 3 && strcmp(argv[1], "--time") == 0)
        status = run_timing(x, n, atoi(argv[2]));
    else
        status = run_all(x, n);
    free(x);
    return status;
}
