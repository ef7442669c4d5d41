/* ---- pnet runtime, part 3 (text input): the public API of pnet_model.h ---------
 * Pasted by pnet.export_c after pnet_runtime.c and textfront.c (the text front:
 * pnet_tf_row, a UTF-8 text to its canonical CSR row) for a text model.
 */

/* The packed bits of a canonical CSR row (ids ascending, unique): hashed_sums
 * PNET_SUM_BITS bits at a time (one word of 64, or all), each sum over the row's
 * features in ascending order, zero values skipped, as Hyperplanes.project_csr. */
static void pnet_row_bits(const uint64_t *ids, const float *values, int m, uint64_t *words)
{
    pnet_sum acc[PNET_SUM_BITS];
    uint32_t b, first;
    int p;
    for (first = 0; first < PNET_N_BITS; first += PNET_SUM_BITS) {
        uint32_t count = pnet_block_count(first);
        for (b = 0; b < count; b++)
            acc[b] = 0;
        for (p = 0; p < m; p++)
            if (values[p] != 0.0f)
                pnet_add_feature(ids[p], values[p], first, count, acc);
        pnet_pack_words(acc, first, count, words);
    }
}

int pnet_bits_text(const char *utf8, size_t n_bytes, uint64_t *words)
{
    uint64_t ids[PNET_TF_MAX_FEATURES];
    float values[PNET_TF_MAX_FEATURES];
    int m = pnet_tf_row(utf8, n_bytes, ids, values);
    if (m < 0)
        return -1;
    pnet_row_bits(ids, values, m, words);
    return 0;
}

int pnet_logits_text(const char *utf8, size_t n_bytes, float *out)
{
    uint64_t words[PNET_N_WORDS];
    if (pnet_bits_text(utf8, n_bytes, words) < 0)
        return -1;
    pnet_logits_of_bits(words, out);
    return 0;
}

int pnet_predict_text(const char *utf8, size_t n_bytes)
{
    float z[PNET_N_CLASSES];
    if (pnet_logits_text(utf8, n_bytes, z) < 0)
        return -1;
    return pnet_first_max(z);
}

#ifdef PNET_PROBA
int pnet_proba_text(const char *utf8, size_t n_bytes, double *out)
{
    float z[PNET_N_CLASSES];
    if (pnet_logits_text(utf8, n_bytes, z) < 0)
        return -1;
    pnet_softmax(z, out);
    return pnet_first_max(z);
}
#endif
