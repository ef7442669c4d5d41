/* ---- pnet runtime, part 3 (dense input): the public API of pnet_model.h ---------
 * Pasted by pnet.export_c after pnet_runtime.c for a model of dense rows.
 */

/* -- dense rows to packed bits (projection.dense_sums with signed_lists_add /
 *    table_add, or hashed_sums) ------------------------------------------------------ */
#if PNET_HYPERPLANE_TABLE
#if PNET_PROJECTION == PNET_SPARSE_SIGN
/* E entries per feature: feature j's are pnet_list_bits[j * E .. (j + 1) * E), the
 * first pnet_list_positives[j] of them with sign +1 */
#define PNET_LIST_START(j) ((uint32_t)(j) * PNET_N_ENTRIES)
#define PNET_LIST_SPLIT(j) (PNET_LIST_START(j) + pnet_list_positives[j])
#else
#define PNET_LIST_START(j) ((uint32_t)pnet_list_start[j])
#define PNET_LIST_SPLIT(j) ((uint32_t)pnet_list_split[j])
#endif
/* All T*d sums at once from the lists: feature j's +1 bits are
 * pnet_list_bits[PNET_LIST_START(j) .. PNET_LIST_SPLIT(j)), its -1 bits
 * [PNET_LIST_SPLIT(j) .. PNET_LIST_START(j + 1)). Features ascending, zeros skipped.
 * A feature's bits are distinct, so adding its +1 entries before its -1 entries
 * gives every sum the same additions in the same order as table_add. */
void pnet_bits(const pnet_input_t *x, uint64_t *words)
{
    pnet_sum acc[PNET_N_BITS];
    uint32_t j, p, k;
    for (k = 0; k < PNET_N_BITS; k++)
        acc[k] = 0;
    for (j = 0; j < PNET_N_FEATURES; j++) {
        pnet_sum v = x[j];
        if (v != 0) {
            uint32_t split = PNET_LIST_SPLIT(j), stop = PNET_LIST_START(j + 1);
            for (p = PNET_LIST_START(j); p < split; p++)
                acc[pnet_list_bits[p]] += v;
            for (p = split; p < stop; p++)
                acc[pnet_list_bits[p]] -= v;
        }
    }
    pnet_pack_words(acc, 0, PNET_N_BITS, words);
}
#elif PNET_PROJECTION == PNET_LOCAL
/* PNET_SUM_BITS sums at a time, each bit over its own window only: its pixels in
 * row-major order are ascending feature ids, so each sum <x, r_k> gets the same
 * additions in the same order as the lists of the dense kernels (ternary entries
 * hashed on the fly, zero pixels and zero entries skipped). */
void pnet_bits(const pnet_input_t *x, uint64_t *words)
{
    pnet_sum acc[PNET_SUM_BITS];
    uint32_t b, first, row, col, top, left, side;
    for (first = 0; first < PNET_N_BITS; first += PNET_SUM_BITS) {
        uint32_t count = pnet_block_count(first);
        for (b = 0; b < count; b++) {
            pnet_sum sum = 0;
            pnet_window(first + b, &top, &left, &side);
            for (row = top; row < top + side; row++)
                for (col = left; col < left + side; col++) {
                    uint32_t j = row * PNET_IMAGE_WIDTH + col;
                    pnet_sum v = x[j];
                    if (v != 0) {
                        uint64_t h = pnet_entry_hash(pnet_feature_key(j), first + b);
                        if ((h >> 11) < PNET_THRESHOLD)
                            sum += (h & 1u) ? v : -v;
                    }
                }
            acc[b] = sum;
        }
        pnet_pack_words(acc, first, count, words);
    }
}
#else
/* PNET_SUM_BITS sums at a time (one word of 64, or all): each sum <x, r_k> is still
 * accumulated over the features in ascending order, so the order of the blocks
 * changes nothing. Entries are hashed on the fly: no table in flash. */
void pnet_bits(const pnet_input_t *x, uint64_t *words)
{
    pnet_sum acc[PNET_SUM_BITS];
    uint32_t j, b, first;
    for (first = 0; first < PNET_N_BITS; first += PNET_SUM_BITS) {
        uint32_t count = pnet_block_count(first);
        for (b = 0; b < count; b++)
            acc[b] = 0;
        for (j = 0; j < PNET_N_FEATURES; j++)
            if (x[j] != 0)
                pnet_add_feature(j, x[j], first, count, acc);
        pnet_pack_words(acc, first, count, words);
    }
}
#endif

#if PNET_INPUT_U8
/* bytes are always finite */
static int pnet_all_finite(const pnet_input_t *x)
{
    (void)x;
    return 1;
}
#else
/* the finite test of projection.dense_sums, without math.h: x - x is 0 for a
 * finite x, NaN otherwise
 * (no early exit: a loop the compiler can vectorise) */
static int pnet_all_finite(const pnet_input_t *x)
{
    uint32_t j;
    int finite = 1;
    for (j = 0; j < PNET_N_FEATURES; j++)
        finite &= x[j] - x[j] == 0.0f;
    return finite;
}
#endif

void pnet_logits(const pnet_input_t *x, float *out)
{
    uint64_t words[PNET_N_WORDS];
    pnet_bits(x, words);
    pnet_logits_of_bits(words, out);
}

int pnet_predict(const pnet_input_t *x)
{
    float z[PNET_N_CLASSES];
    if (!pnet_all_finite(x))
        return -1;
    pnet_logits(x, z);
    return pnet_first_max(z);
}

#ifdef PNET_PROBA
int pnet_proba(const pnet_input_t *x, double *out)
{
    float z[PNET_N_CLASSES];
    if (!pnet_all_finite(x))
        return -1;
    pnet_logits(x, z);
    pnet_softmax(z, out);
    return pnet_first_max(z);
}
#endif
