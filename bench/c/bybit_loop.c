/* The by-bit loop alone, in C with AVX-512 intrinsics: how fast could a block's
 * sums run in float32 lanes? (issue 12; bench/RESULTS.md, "Float32 rows: a float32
 * lane table"). Run through ``python -m bench.bybit_loop``, which writes the bit
 * groups of the default model's hyperplanes (gptr int64, gidx int32, gsgn float64:
 * ``Hyperplanes.block_cache``) to DIR and compiles this with gcc -O3 -march=native.
 *
 * The same entries, the same loop shape as ``pnet.kernels.projection.group_bits``
 * (8 registers, entries interleaved, a > 0 mask per bit), over a table of random
 * values already filled (no table fill, no packing): 10,000 rows as
 *   f64     1,250 blocks of 8 rows, float64 table (n, 8): today's float rows;
 *   f32w    1,250 blocks of 8 rows, float32 table widened to float64 at each load
 *           (float32 rows since 028484d);
 *   f32x16  625 blocks of 16 rows in one <16 x float> register (uint8 rows since
 *           the 16-lane table; float rows only with a versioned float32 LSH);
 *   f32h    625 blocks of 16 rows as two 8-lane float32 halves (uint8 rows before).
 * Best of 15 rounds each, interleaved. */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long n_groups, n_entries, n_features;
static int64_t *gptr;   /* group g's entries: gptr[g] .. gptr[g + 1], 8 bits interleaved */
static int32_t *gidx;   /* an entry's feature (n_features: the zero row) */
static double *gsgn;    /* its sign, +-1 */
static float *gsgn32;   /* the same signs in float32 */
static uint8_t masks[2][1024];  /* a mask byte per bit (and per half of 16 rows) */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* The whole file `name` as items of `size` bytes, 64-byte aligned; *count items. */
static void *read_all(const char *name, long *count, int size)
{
    FILE *f = fopen(name, "rb");
    if (!f) {
        perror(name);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    *count = ftell(f) / size;
    rewind(f);
    void *data = aligned_alloc(64, (*count * size + 63) / 64 * 64);
    if (fread(data, size, *count, f) != (size_t)*count) {
        perror(name);
        exit(1);
    }
    fclose(f);
    return data;
}

/* f64: float64 table (n + 1, 8), 8 rows a block (float64 rows). */
__attribute__((noinline)) static void f64(const double *table)
{
    for (long g = 0; g < n_groups; g++) {
        __m512d a[8];
        for (int b = 0; b < 8; b++) a[b] = _mm512_setzero_pd();
        for (long p = gptr[g]; p < gptr[g + 1]; p += 8)
            for (int b = 0; b < 8; b++)
                a[b] = _mm512_fmadd_pd(_mm512_load_pd(table + 8 * (long)gidx[p + b]),
                                       _mm512_set1_pd(gsgn[p + b]), a[b]);
        for (int b = 0; b < 8; b++)
            masks[0][8 * g + b] = _mm512_cmp_pd_mask(a[b], _mm512_setzero_pd(), _CMP_GT_OQ);
    }
}

/* f32w: float32 table (n + 1, 8) widened to float64 at each load, 8 rows (float32 rows). */
__attribute__((noinline)) static void f32w(const float *table)
{
    for (long g = 0; g < n_groups; g++) {
        __m512d a[8];
        for (int b = 0; b < 8; b++) a[b] = _mm512_setzero_pd();
        for (long p = gptr[g]; p < gptr[g + 1]; p += 8)
            for (int b = 0; b < 8; b++)
                a[b] = _mm512_fmadd_pd(
                    _mm512_cvtps_pd(_mm256_load_ps(table + 8 * (long)gidx[p + b])),
                    _mm512_set1_pd(gsgn[p + b]), a[b]);
        for (int b = 0; b < 8; b++)
            masks[0][8 * g + b] = _mm512_cmp_pd_mask(a[b], _mm512_setzero_pd(), _CMP_GT_OQ);
    }
}

/* f32x16: float32 table (n + 1, 16), 16 rows in one register (uint8 rows). */
__attribute__((noinline)) static void f32x16(const float *table)
{
    for (long g = 0; g < n_groups; g++) {
        __m512 a[8];
        for (int b = 0; b < 8; b++) a[b] = _mm512_setzero_ps();
        for (long p = gptr[g]; p < gptr[g + 1]; p += 8)
            for (int b = 0; b < 8; b++)
                a[b] = _mm512_fmadd_ps(_mm512_load_ps(table + 16 * (long)gidx[p + b]),
                                       _mm512_set1_ps(gsgn32[p + b]), a[b]);
        for (int b = 0; b < 8; b++) {
            __mmask16 m = _mm512_cmp_ps_mask(a[b], _mm512_setzero_ps(), _CMP_GT_OQ);
            masks[0][8 * g + b] = m;
            masks[1][8 * g + b] = m >> 8;
        }
    }
}

/* f32h: two float32 tables (n + 1, 8), 16 rows as two 8-lane halves (uint8 rows before). */
__attribute__((noinline)) static void f32h(const float *t0, const float *t1)
{
    for (long g = 0; g < n_groups; g++) {
        __m256 a[8], c[8];
        for (int b = 0; b < 8; b++) a[b] = c[b] = _mm256_setzero_ps();
        for (long p = gptr[g]; p < gptr[g + 1]; p += 8)
            for (int b = 0; b < 8; b++) {
                __m256 s = _mm256_set1_ps(gsgn32[p + b]);
                long k = 8 * (long)gidx[p + b];
                a[b] = _mm256_fmadd_ps(_mm256_load_ps(t0 + k), s, a[b]);
                c[b] = _mm256_fmadd_ps(_mm256_load_ps(t1 + k), s, c[b]);
            }
        for (int b = 0; b < 8; b++) {
            masks[0][8 * g + b] = _mm256_cmp_ps_mask(a[b], _mm256_setzero_ps(), _CMP_GT_OQ);
            masks[1][8 * g + b] = _mm256_cmp_ps_mask(c[b], _mm256_setzero_ps(), _CMP_GT_OQ);
        }
    }
}

static double random_value(void) { return rand() / (double)RAND_MAX - 0.5; }

int main(int argc, char **argv)
{
    if (argc < 3 || chdir(argv[1])) {
        fprintf(stderr, "usage: bybit_loop DIR N_FEATURES\n");
        return 1;
    }
    n_features = atol(argv[2]);
    long n_ptr;
    gptr = read_all("gptr.bin", &n_ptr, 8);
    n_groups = n_ptr - 1;
    if (8 * n_groups > 1024) {
        fprintf(stderr, "at most 1,024 bits\n");
        return 1;
    }
    gidx = read_all("gidx.bin", &n_entries, 4);
    gsgn = read_all("gsgn.bin", &n_entries, 8);
    gsgn32 = aligned_alloc(64, (n_entries * 4 + 63) / 64 * 64);
    for (long i = 0; i < n_entries; i++) gsgn32[i] = gsgn[i];

    long rows = n_features + 1;  /* the last row is the zero row of the padding */
    double *t64 = aligned_alloc(64, rows * 64);
    float *t32 = aligned_alloc(64, rows * 32), *t16 = aligned_alloc(64, rows * 64);
    float *h0 = aligned_alloc(64, rows * 32), *h1 = aligned_alloc(64, rows * 32);
    srand(1);
    for (long i = 0; i < rows * 8; i++) t64[i] = t32[i] = h0[i] = h1[i] = random_value();
    for (long i = 0; i < rows * 16; i++) t16[i] = random_value();

    double best[4] = {1e9, 1e9, 1e9, 1e9};
    unsigned sink = 0;
    for (int round = 0; round < 15; round++) {  /* 10,000 rows: 1,250 blocks of 8, 625 of 16 */
        double t = now();
        for (int k = 0; k < 1250; k++) f64(t64);
        t = now() - t; if (t < best[0]) best[0] = t; sink += masks[0][3];
        t = now();
        for (int k = 0; k < 1250; k++) f32w(t32);
        t = now() - t; if (t < best[1]) best[1] = t; sink += masks[0][3];
        t = now();
        for (int k = 0; k < 625; k++) f32x16(t16);
        t = now() - t; if (t < best[2]) best[2] = t; sink += masks[0][3];
        t = now();
        for (int k = 0; k < 625; k++) f32h(h0, h1);
        t = now() - t; if (t < best[3]) best[3] = t; sink += masks[0][3];
    }
    printf("10,000 rows, by-bit loop only (%ld entries a block): f64 table 8 rows %.2f ms | "
           "f32 table widened 8 rows %.2f ms | f32 16 lanes %.2f ms | "
           "f32 2x8 halves %.2f ms (%u)\n", n_entries, best[0] * 1e3, best[1] * 1e3,
           best[2] * 1e3, best[3] * 1e3, sink & 1);
    return 0;
}
