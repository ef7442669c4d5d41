/* pnet_check_main.c: a host harness for an exported model (tests, bench/mcu.py).
 *
 *   cc -std=c99 -DPNET_PROBA pnet_model.c pnet_check_main.c -lm -o pnet_check
 *   pnet_check < rows.bin > out.bin        binary in, binary out
 *   pnet_check --time N < rows.bin         seconds per predict call, median of N passes
 *   pnet_check --labels                    the class labels, one a line
 *
 * Input, a dense model: rows of PNET_N_FEATURES pnet_input_t (float32, or uint8 for
 * an export with input_type='uint8'); a text model: texts, each a
 * uint32 byte count and its bytes (native byte order). Output per row:
 * PNET_N_WORDS uint64 (bits), PNET_N_CLASSES float32 (logits), PNET_N_CLASSES
 * float64 (probabilities), one int32 (the predicted index, -1 for a rejected row);
 * bits, logits and probabilities are zeros for a rejected row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pnet_model.h"

#ifndef PNET_PROBA
#error "compile pnet_check_main.c and pnet_model.c with -DPNET_PROBA"
#endif

typedef struct {
    const char *data; /* pnet_input_t values or UTF-8 bytes */
    size_t size;      /* bytes */
} row_t;

/* the whole of stdin */
static char *read_all(size_t *size)
{
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, stdin)) > 0) {
        n += got;
        if (n == cap) {
            char *grown = realloc(buf, 2 * cap);
            if (!grown)
                free(buf);
            buf = grown;
            cap *= 2;
        }
    }
    *size = n;
    return buf;
}

/* split the input into rows; returns how many (rows allocated here) */
static size_t split_rows(const char *buf, size_t size, row_t **rows)
{
    size_t n = 0, pos = 0;
#ifdef PNET_MAX_TEXT_BYTES
    size_t most = size / 4 + 1; /* a text takes at least its 4-byte length */
#else
    size_t most = size / sizeof(pnet_input_t[PNET_N_FEATURES]) + 1;
#endif
    *rows = malloc(most * sizeof **rows);
    if (!*rows)
        return 0;
#ifdef PNET_MAX_TEXT_BYTES
    while (pos + 4 <= size) {
        uint32_t len;
        memcpy(&len, buf + pos, 4);
        if (pos + 4 + len > size)
            break;
        (*rows)[n].data = buf + pos + 4;
        (*rows)[n++].size = len;
        pos += 4 + (size_t)len;
    }
#else
    for (; pos + sizeof(pnet_input_t[PNET_N_FEATURES]) <= size;
         pos += sizeof(pnet_input_t[PNET_N_FEATURES])) {
        (*rows)[n].data = buf + pos;
        (*rows)[n++].size = sizeof(pnet_input_t[PNET_N_FEATURES]);
    }
#endif
    return n;
}

/* the model's four functions on one row (a dense row is copied: alignment) */
static int32_t run_row(row_t row, uint64_t *words, float *logits, double *proba)
{
#ifdef PNET_MAX_TEXT_BYTES
    if (pnet_bits_text(row.data, row.size, words) < 0)
        return -1;
    pnet_logits_text(row.data, row.size, logits);
    pnet_proba_text(row.data, row.size, proba);
    return pnet_predict_text(row.data, row.size);
#else
    pnet_input_t x[PNET_N_FEATURES];
    memcpy(x, row.data, sizeof x);
    pnet_bits(x, words);
    pnet_logits(x, logits);
    pnet_proba(x, proba);
    return pnet_predict(x);
#endif
}

static int predict_row(row_t row)
{
#ifdef PNET_MAX_TEXT_BYTES
    return pnet_predict_text(row.data, row.size);
#else
    return pnet_predict((const pnet_input_t *)(const void *)row.data);
#endif
}

static int run_all(const row_t *rows, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        uint64_t words[PNET_N_WORDS] = {0};
        float logits[PNET_N_CLASSES] = {0};
        double proba[PNET_N_CLASSES] = {0};
        int32_t index = run_row(rows[i], words, logits, proba);
        fwrite(words, sizeof words, 1, stdout);
        fwrite(logits, sizeof logits, 1, stdout);
        fwrite(proba, sizeof proba, 1, stdout);
        fwrite(&index, sizeof index, 1, stdout);
    }
    return 0;
}

/* median over passes of the mean seconds of one predict call over all rows */
static int run_timing(const row_t *rows, size_t n, int passes)
{
    double *per_row = malloc((size_t)(passes > 0 ? passes : 1) * sizeof *per_row), swap;
    volatile int sink = 0;
    int p, s, t;
    size_t i;
    if (!per_row || n == 0 || passes < 1)
        return 1;
    for (p = 0; p < passes; p++) {
        clock_t start = clock();
        for (i = 0; i < n; i++)
            sink += predict_row(rows[i]);
        per_row[p] = (double)(clock() - start) / CLOCKS_PER_SEC / (double)n;
    }
    for (s = 1; s < passes; s++) /* insertion sort: passes is small */
        for (t = s; t > 0 && per_row[t] < per_row[t - 1]; t--) {
            swap = per_row[t];
            per_row[t] = per_row[t - 1];
            per_row[t - 1] = swap;
        }
    printf("%.9g\n", per_row[passes / 2]);
    free(per_row);
    return 0;
}

int main(int argc, char **argv)
{
    size_t size, n;
    char *buf;
    row_t *rows;
    int status, c;
    if (argc == 2 && strcmp(argv[1], "--labels") == 0) {
        for (c = 0; c < PNET_N_CLASSES; c++)
            printf("%s\n", pnet_class_labels[c]);
        return 0;
    }
    buf = read_all(&size);
    if (!buf)
        return 2;
    n = split_rows(buf, size, &rows);
    if (!rows)
        return 2;
    if (argc == 3 && strcmp(argv[1], "--time") == 0)
        status = run_timing(rows, n, atoi(argv[2]));
    else
        status = run_all(rows, n);
    free(rows);
    free(buf);
    return status;
}
