/* ---- pnet runtime, part 2: the formulas of pnet's kernels, once, in C99 ----------
 *
 * Pasted by pnet.export_c after the model's constants (pnet_model.c), before the
 * API for the model's input (part 3: pnet_api_dense.c or pnet_api_text.c); every
 * formula names the Python function it mirrors. Reads the configuration macros
 * and the arrays the generator wrote above it:
 *
 *   PNET_SEED_KEY, PNET_PROJECTION (PNET_TERNARY | PNET_GAUSSIAN | PNET_SPARSE_SIGN |
 *                           PNET_LOCAL: ternary entries inside each bit's window)
 *   PNET_THRESHOLD          ternary, local: density * 2**53
 *   PNET_IMAGE_HEIGHT, PNET_IMAGE_WIDTH, PNET_WINDOW_KMIN, PNET_WINDOW_KMAX,
 *   PNET_WINDOW_KEY         local: the image, the window sides, the window stream's key
 *   PNET_N_ENTRIES          sparse_sign: E, the non-zero entries of every feature
 *   PNET_HYPERPLANE_TABLE   1: per-feature lists of +1 and -1 bits as const tables
 *   PNET_SUM_BITS           the sums on the stack at once without tables: 64 (one
 *                           word) or PNET_N_BITS (all; sparse_sign draws once)
 *   PNET_WEIGHT_BITS        32 (float32), 8 (int8), 4 (int4) or 2 (ternary)
 *   PNET_N_LAYERS, PNET_MAX_WIDTH, PNET_ACTIVATION, pnet_layers[]
 *
 *   PNET_INPUT_U8           1: dense rows of uint8 (pnet_input_t), 0: of float32
 *   PNET_INTEGER_SUMS       1: the projection sums are int32 (uint8 rows, +-1 entries:
 *                           export_c._integer_sums decides), 0: float or double
 *   PNET_FLOAT_SUMS         1: the model's sums are float32 (Hyperplanes' sums;
 *                           +-1 entries), 0: float64
 *
 * Bit-exactness (see pnet_model.h): float64 sums stay double, float32 sums float, every product
 * that is followed by an addition goes through pnet_mul / pnet_mulf (a volatile
 * store: no fused multiply-add), sums run in pnet's fixed orders.
 */

#if defined(__FLT_EVAL_METHOD__) && __FLT_EVAL_METHOD__ != 0
#error "pnet needs FLT_EVAL_METHOD == 0 (float in float, double in double): x87 is not supported"
#endif
#if defined(__FAST_MATH__)
#error "pnet must not be compiled with -ffast-math (it reorders sums and flushes subnormals)"
#endif

/* The type of the projection sums <x, r_k>: the model's, as pnet's kernels: float
 * for float32 sums (PNET_FLOAT_SUMS; +-1 entries, each term x or -x, each addition
 * rounded to float once), double for float64 sums; for uint8 rows and +-1 entries
 * (ternary, sparse_sign, local: PNET_INTEGER_SUMS) int32_t, in which
 * every partial sum is an integer of magnitude <= 255 * PNET_N_FEATURES < 2**31
 * (pnet.export_c checks the bound), exact as it is in double, and in float below 2**24
 * (pnet's kernels take float32 sums of uint8 rows only there): the same sums, so the
 * same bits, with no floating point (a Cortex-M4 has no double in hardware).
 * Gaussian entries keep double sums of the bytes' values. */
#if PNET_INTEGER_SUMS
typedef int32_t pnet_sum;
#elif PNET_FLOAT_SUMS
typedef float pnet_sum;
#else
typedef double pnet_sum;
#endif

/* a * b rounded to its type before anything is added to it: the volatile store
 * forbids the FMA contraction that -ffp-contract=fast (gcc's default in GNU mode)
 * would otherwise apply, so the sum sees the same rounded product as numba's. */
#if PNET_PROJECTION == PNET_GAUSSIAN
static double pnet_mul(double a, double b)
{
    volatile double p = a * b;
    return p;
}
#endif

#if PNET_WEIGHT_BITS != 32 || PNET_N_LAYERS > 1
static float pnet_mulf(float a, float b)
{
    volatile float p = a * b;
    return p;
}
#endif

/* -- hyperplane entries (pnet.kernels.hashing) ------------------------------------ */
#define PNET_GOLDEN UINT64_C(0x9E3779B97F4A7C15)

#if !PNET_HYPERPLANE_TABLE || PNET_TEXT
/* mix64: the splitmix64 finaliser */
static uint64_t pnet_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* feature_key(key, j) */
static uint64_t pnet_feature_key(uint64_t feature)
{
    return pnet_mix64(PNET_SEED_KEY ^ feature);
}

/* entry_hash(fkey, k) = mix64(fkey + (k + 1) * GOLDEN): draw k of the feature's stream */
static uint64_t pnet_entry_hash(uint64_t fkey, uint64_t k)
{
    return pnet_mix64(fkey + (k + 1u) * PNET_GOLDEN);
}

#if PNET_PROJECTION == PNET_GAUSSIAN
/* gaussian_entry: Box-Muller on the two 32-bit halves of h (libm log, cos, sqrt) */
static double pnet_gaussian_entry(uint64_t h)
{
    double u1 = ((double)(h >> 32) + 1.0) * 2.3283064365386963e-10; /* (0, 1] */
    double u2 = (double)(h & UINT64_C(0xFFFFFFFF)) * 2.3283064365386963e-10; /* [0, 1) */
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
#endif

#if PNET_PROJECTION == PNET_SPARSE_SIGN
#if PNET_N_ENTRIES < 1 || PNET_N_ENTRIES > PNET_N_BITS
#error "pnet: sparse_sign needs 1 <= PNET_N_ENTRIES <= PNET_N_BITS"
#endif
/* acc[b] += x * r_k[feature] for the bits k = first + b, b < count (hashed_sums, one
 * feature, kind SPARSE_SIGN): the feature's PNET_N_ENTRIES entries as
 * sparse_sign_entries draws them: draw t = 0, 1, ... names bit
 * k = ((h >> 32) * n_bits) >> 32 with sign +1 if h & 1, else -1 (h = entry_hash(fkey,
 * t)); a bit already drawn (seen) is skipped. All of them are drawn whatever first
 * and count (a skip depends on every earlier draw); those outside the bits asked for
 * are dropped: once per block of PNET_SUM_BITS sums, so once per feature when all
 * sums are held (all_sums=True). Entries are +-1, so the product is x or -x, exact. */
static void pnet_add_feature(uint64_t feature, pnet_sum x, uint32_t first, uint32_t count,
                             pnet_sum *acc)
{
    uint64_t seen[PNET_N_WORDS]; /* the bits drawn so far */
    uint64_t fkey = pnet_feature_key(feature), t;
    uint32_t found = 0, w;
    for (w = 0; w < PNET_N_WORDS; w++)
        seen[w] = 0;
    for (t = 0; found < PNET_N_ENTRIES; t++) {
        uint64_t h = pnet_entry_hash(fkey, t);
        uint32_t k = (uint32_t)(((h >> 32) * (uint64_t)PNET_N_BITS) >> 32);
        uint64_t mask = (uint64_t)1 << (k & 63u);
        if (seen[k >> 6] & mask)
            continue;
        seen[k >> 6] |= mask;
        found++;
        if (k - first < count) /* first <= k < first + count (unsigned wrap-around) */
            acc[k - first] += (h & 1u) ? x : -x;
    }
}
#elif PNET_PROJECTION == PNET_LOCAL
/* window_of: bit k's window, the square of side kmin + f0 % (kmax - kmin + 1) at top
 * f1 % (height - side + 1), left f2 % (width - side + 1), f0, f1, f2 the three 21-bit
 * fields of h = entry_hash(window key, k). pnet_bits (pnet_api_dense.c) sums each
 * bit over its window's pixels only. */
static void pnet_window(uint32_t k, uint32_t *top, uint32_t *left, uint32_t *side)
{
    uint64_t h = pnet_entry_hash(PNET_WINDOW_KEY, k);
    *side = PNET_WINDOW_KMIN + (uint32_t)(h & 0x1FFFFFu)
                               % (PNET_WINDOW_KMAX - PNET_WINDOW_KMIN + 1u);
    *top = (uint32_t)((h >> 21) & 0x1FFFFFu) % (PNET_IMAGE_HEIGHT - *side + 1u);
    *left = (uint32_t)((h >> 42) & 0x1FFFFFu) % (PNET_IMAGE_WIDTH - *side + 1u);
}
#else
/* acc[b] += x * r_k[feature] for the bits k = first + b, b < count (hashed_sums, one
 * feature): ternary entries are +-1 or 0, so the product is x or -x, exact. */
static void pnet_add_feature(uint64_t feature, pnet_sum x, uint32_t first, uint32_t count,
                             pnet_sum *acc)
{
    uint64_t fkey = pnet_feature_key(feature);
    uint32_t b;
    for (b = 0; b < count; b++) {
        uint64_t h = pnet_entry_hash(fkey, first + b);
#if PNET_PROJECTION == PNET_TERNARY
        if ((h >> 11) < PNET_THRESHOLD)
            acc[b] += (h & 1u) ? x : -x;
#else
        acc[b] += pnet_mul(x, pnet_gaussian_entry(h));
#endif
    }
}
#endif
#endif

/* bit b of the word: acc[b] > 0, strictly (pack_row) */
static uint64_t pnet_pack(const pnet_sum *acc, uint32_t count)
{
    uint64_t word = 0;
    uint32_t b;
    for (b = 0; b < count; b++)
        word |= (uint64_t)(acc[b] > 0) << b;
    return word;
}

/* words[(first + b) / 64] = the bits of acc[b], b < count, 64 a word (pack_row; first
 * a multiple of 64) */
static void pnet_pack_words(const pnet_sum *acc, uint32_t first, uint32_t count,
                            uint64_t *words)
{
    uint32_t b;
    for (b = 0; b < count; b += 64u)
        words[(first + b) >> 6] = pnet_pack(acc + b, count - b < 64u ? count - b : 64u);
}

#if !PNET_HYPERPLANE_TABLE
/* the sums held in a block of at most PNET_SUM_BITS from bit first on */
static uint32_t pnet_block_count(uint32_t first)
{
    return PNET_N_BITS - first < PNET_SUM_BITS ? PNET_N_BITS - first : PNET_SUM_BITS;
}
#endif

/* -- the first layer on the set bits (bits.gather_add / plane_add_int8: the same
 *    exact integer sum, here added weight by weight from the stored values) ------- */
static void pnet_first_layer(const uint64_t *words, float *z)
{
    const pnet_layer *L = &pnet_layers[0];
    uint32_t k, c;
#if PNET_WEIGHT_BITS == 32
    for (c = 0; c < L->fan_out; c++)
        z[c] = L->bias[c];
    for (k = 0; k < PNET_N_BITS; k++)
        if ((words[k >> 6] >> (k & 63u)) & 1u)
            for (c = 0; c < L->fan_out; c++)
                z[c] += L->w[k * L->fan_out + c];
#else
    int32_t iacc[PNET_MAX_WIDTH]; /* exact: |sum| <= 127 * n_bits */
    for (c = 0; c < L->fan_out; c++)
        iacc[c] = 0;
    for (k = 0; k < PNET_N_BITS; k++)
        if ((words[k >> 6] >> (k & 63u)) & 1u)
            for (c = 0; c < L->fan_out; c++)
                iacc[c] += pnet_q(L->w, k * L->fan_out + c);
    for (c = 0; c < L->fan_out; c++)
        z[c] = pnet_mulf((float)iacc[c], L->scale[c]) + L->bias[c];
#endif
}

/* -- later layers (network.hidden_row): z = act(a) @ W + b ---------------------------- */
#if PNET_N_LAYERS > 1
/* activate: in place, PNET_ACTIVATION 0 identity, 1 relu, 2 tanh, 3 logistic */
static void pnet_activate(float *a, uint32_t n)
{
#if PNET_ACTIVATION == 0
    (void)a;
    (void)n;
#else
    uint32_t k;
    for (k = 0; k < n; k++) {
#if PNET_ACTIVATION == 1
        if (a[k] < 0.0f)
            a[k] = 0.0f;
#elif PNET_ACTIVATION == 2
        a[k] = tanhf(a[k]);
#elif PNET_ACTIVATION == 3
        a[k] = 1.0f / (1.0f + expf(-a[k]));
#endif
    }
#endif
}

/* W[k, c] in float32: dequantised as pnet._quantize.dequantize, float32(q) * scale */
static float pnet_weight(const pnet_layer *L, uint32_t k, uint32_t c)
{
#if PNET_WEIGHT_BITS == 32
    return L->w[k * L->fan_out + c];
#else
    return (float)pnet_q(L->w, k * L->fan_out + c) * L->scale[c];
#endif
}

/* dense_row: z[c] = b[c]; z[c] += a[k] * W[k, c] for k ascending, a[k] != 0 */
static void pnet_dense_row(const pnet_layer *L, const float *a, float *z)
{
    uint32_t k, c;
    for (c = 0; c < L->fan_out; c++)
        z[c] = L->bias[c];
    for (k = 0; k < L->fan_in; k++)
        if (a[k] != 0.0f)
            for (c = 0; c < L->fan_out; c++)
                z[c] += pnet_mulf(a[k], pnet_weight(L, k, c));
}
#endif

/* -- the network on packed bits --------------------------------------------------------- */
static void pnet_logits_of_bits(const uint64_t *words, float *out)
{
#if PNET_N_LAYERS == 1
    pnet_first_layer(words, out);
#else
    float buf[2][PNET_MAX_WIDTH];
    uint32_t i;
    pnet_first_layer(words, buf[0]);
    for (i = 1; i < PNET_N_LAYERS; i++) {
        const pnet_layer *L = &pnet_layers[i];
        float *a = buf[(i - 1) & 1u];
        pnet_activate(a, L->fan_in);
        pnet_dense_row(L, a, i + 1 == PNET_N_LAYERS ? out : buf[i & 1u]);
    }
#endif
}

/* compact.first_max: the first largest logit (numpy's argmax) */
static int pnet_first_max(const float *z)
{
    int best = 0, c;
    for (c = 1; c < PNET_N_CLASSES; c++)
        if (z[c] > z[best])
            best = c;
    return best;
}

#ifdef PNET_PROBA
/* losses.softmax in double: exp(z - max) / sum (the sum in ascending class order) */
static void pnet_softmax(const float *z, double *out)
{
    double top = z[0], total = 0.0;
    int c;
    for (c = 1; c < PNET_N_CLASSES; c++)
        if (z[c] > top)
            top = z[c];
    for (c = 0; c < PNET_N_CLASSES; c++) {
        out[c] = exp((double)z[c] - top);
        total += out[c];
    }
    for (c = 0; c < PNET_N_CLASSES; c++)
        out[c] /= total;
}
#endif
