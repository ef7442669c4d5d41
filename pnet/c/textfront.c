/* ---- pnet text front, TEXT_FRONT_VERSION 1, in C99 ----------------------------------
 *
 * The text front of pnet.textfront (its module docstring is the specification; the
 * step numbers below are its steps), reproduced byte for byte: a UTF-8 text becomes
 * the canonical CSR row that TextFront.transform([utf8_bytes]) gives, the same ids
 * and the same float32 values bit for bit. A fragment: pnet.export_c pastes it into
 * pnet_model.c after the configuration macros below (pnet._c_textfront.
 * textfront_defines writes them from TextFront.to_dict()). Every name starts with
 * pnet_tf_; every function is static; nothing is global but const tables.
 *
 * Configuration (all required):
 *
 *   PNET_TF_VERSION                 1 (anything else is an #error)
 *   PNET_TF_LOWERCASE               1: the pinned lowercase table (step 2), 0: none
 *   PNET_TF_{WORD,CHAR,SKIP}_ON     1 if the family's weight is > 0, else 0
 *   PNET_TF_{WORD,CHAR,SKIP}_LO/HI  the n-gram (word, char) and skip ranges, inclusive
 *   PNET_TF_{WORD,CHAR,SKIP}_WEIGHT the weights as exact hex-float literals
 *   PNET_TF_{WORD,CHAR,SKIP}_SEED   the family seeds, UINT64_C(...) literals
 *   PNET_TF_COUNTS                  PNET_TF_RAW (0), PNET_TF_SQRT (1), PNET_TF_BINARY (2)
 *   PNET_TF_L2                      1: norm='l2', 0: norm=None
 *   PNET_MAX_TEXT_BYTES             the longest text (in bytes) pnet_tf_row takes
 *
 * Entry point:
 *
 *   static int pnet_tf_row(const char *utf8, size_t n_bytes, uint64_t *ids,
 *                          float *values);
 *
 * writes the text's ids (ascending, each once) and their values and returns how
 * many (0 for an empty or all-White_Space text); returns -1, writing nothing, when
 * n_bytes > PNET_MAX_TEXT_BYTES. ids and values must each have room for
 * PNET_TF_MAX_FEATURES items: both are also the working memory (every n-gram
 * occurrence goes to ids, its family to values, before they are sorted and
 * merged), so nothing of the text's size is on the stack.
 *
 * Memory. PNET_TF_MAX_FEATURES bounds the n-gram occurrences of any text of at
 * most N = PNET_MAX_TEXT_BYTES bytes. The text has T <= (N + 1) / 2 tokens of L
 * code points in all, L + T - 1 <= N (a code point takes at least one byte, tokens
 * are apart by at least one). A token of l code points has max(0, l + 3 - n)
 * <= l + max(0, 3 - n) character n-grams of each size n, so a text has at most
 * n_char * L + T * short character n-grams (n_char sizes n; short = the sum of
 * max(0, 3 - n): 2 for n = 1, 1 for n = 2), T * n_word word n-grams and T * n_skip
 * skip-grams: in all, with L <= N + 1 - T, at most
 *     n_char * (N + 1) + T_max * max(0, n_word + n_skip + short - n_char).
 * The caller's ids and values take 12 * PNET_TF_MAX_FEATURES bytes (defaults: word
 * 1..2, char 1..4, skip 1..1; N = 256: 1,284 features, 15,408 bytes; N = 1024:
 * 5,124 features, 61,488 bytes; a text of 256 bytes has at most 1,153 n-grams, e.g.
 * 'aa' and 127 times ' a'). pnet_tf_row itself uses
 * a fixed stack, independent of N: no arrays of the text's size, no recursion; a
 * few dozen scalars along a call chain at most 5 deep. Measured with gcc's
 * -fcallgraph-info=su (as tests/test_c_textfront.py does), the same for N = 16 and
 * N = 4096: x86-64 (gcc 12) 392 bytes at -O0, 272 to 304 at -O2, 264 at -Os;
 * Cortex-M4 (arm-none-eabi-gcc -mthumb) 272 at -O0, 168 to 176 at -Os, plus
 * libgcc's soft-float routines. Flash on Cortex-M4 at -Os: 4.7 KB of code and
 * tables, 2.9 KB of it the lowercase runs (1.7 KB in all with lowercase off).
 *
 * Exactness. Integers are uint64 (wrapping, as the spec's mod 2**64); the values
 * are double (IEEE binary64), every operation correctly rounded, in the spec's
 * order: products that are added to go through pnet_tf_mul, a volatile store, so
 * that -ffp-contract=fast cannot fuse them into an FMA (the spec allows an FMA only
 * where the product is exact; this keeps every product unfused). The final
 * (float) conversion is IEEE round-to-nearest-even. math.h's sqrt (correctly
 * rounded by IEEE 754 on every conforming platform) is used only for counts='sqrt'
 * or norm='l2': then math.h is included here and the program links with -lm where
 * the platform needs it. Refused at compile time: FLT_EVAL_METHOD != 0 (x87
 * without SSE computes doubles in extended precision) and -ffast-math. Weights so
 * small that every v*v underflows (below about 1e-162) make s = 0 and the values
 * +inf, where pnet.textfront raises ZeroDivisionError; weights so large that a
 * value overflows give the same inf / NaN / 0 bits as Python.
 */
#include <stddef.h>
#include <stdint.h>

#if !defined(PNET_TF_VERSION) || PNET_TF_VERSION != 1
#error "pnet text front: this C implements TEXT_FRONT_VERSION 1 (define PNET_TF_VERSION 1)"
#endif
#if !defined(PNET_MAX_TEXT_BYTES)
#error "pnet text front: define PNET_MAX_TEXT_BYTES, the longest text in bytes"
#endif
#if defined(__FLT_EVAL_METHOD__) && __FLT_EVAL_METHOD__ != 0
#error "pnet text front needs FLT_EVAL_METHOD == 0 (double in double): x87 is not supported"
#endif
#if defined(__FAST_MATH__)
#error "pnet text front must not be compiled with -ffast-math"
#endif

#define PNET_TF_RAW 0
#define PNET_TF_SQRT 1
#define PNET_TF_BINARY 2
#define PNET_TF_WORD 0 /* family codes, the order in which values are summed */
#define PNET_TF_CHAR 1
#define PNET_TF_SKIP 2

#if PNET_TF_COUNTS == PNET_TF_SQRT || PNET_TF_L2
#include <math.h>
#endif

/* -- bounds ---------------------------------------------------------------------------- */
#define PNET_TF_MAX_TOKENS ((PNET_MAX_TEXT_BYTES + 1) / 2)
#define PNET_TF_N_WORD (PNET_TF_WORD_ON ? PNET_TF_WORD_HI - PNET_TF_WORD_LO + 1 : 0)
#define PNET_TF_N_CHAR (PNET_TF_CHAR_ON ? PNET_TF_CHAR_HI - PNET_TF_CHAR_LO + 1 : 0)
#define PNET_TF_N_SKIP (PNET_TF_SKIP_ON ? PNET_TF_SKIP_HI - PNET_TF_SKIP_LO + 1 : 0)
/* sum of max(0, 3 - n) over the character n-gram sizes n */
#define PNET_TF_SHORT                                                                  \
    (PNET_TF_CHAR_ON ? (PNET_TF_CHAR_LO <= 1 ? 2 : 0)                                  \
                           + (PNET_TF_CHAR_LO <= 2 && PNET_TF_CHAR_HI >= 2 ? 1 : 0)    \
                     : 0)
#define PNET_TF_PER_TOKEN (PNET_TF_N_WORD + PNET_TF_N_SKIP + PNET_TF_SHORT - PNET_TF_N_CHAR)
/* Room the caller gives ids and values: the most n-gram occurrences of a text. */
#define PNET_TF_MAX_FEATURES                                                           \
    (PNET_TF_N_CHAR * (PNET_MAX_TEXT_BYTES + 1)                                        \
     + PNET_TF_MAX_TOKENS * (PNET_TF_PER_TOKEN > 0 ? PNET_TF_PER_TOKEN : 0))
#if PNET_TF_MAX_FEATURES > 2147483647
#error "pnet text front: PNET_MAX_TEXT_BYTES too large (the feature count must fit an int)"
#endif
/* the count must fit this platform's int too (16-bit int: at most 32,767 features) */
typedef char pnet_tf_count_fits_int[PNET_TF_MAX_FEATURES <= (unsigned)-1 / 2 ? 1 : -1];

/* -- step 5: the hash ------------------------------------------------------------------ */
/* mix64: the splitmix64 finaliser (pnet.kernels.hashing.mix64) */
static uint64_t pnet_tf_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* one FNV-1a step: h = (h ^ b) * the FNV-1a 64 prime */
static uint64_t pnet_tf_feed_byte(uint64_t h, uint32_t b)
{
    return (h ^ b) * UINT64_C(0x100000001B3);
}

/* feed the UTF-8 bytes (1 to 4) of the code point c (never a surrogate) */
static uint64_t pnet_tf_feed_code_point(uint64_t h, uint32_t c)
{
    if (c < 0x80)
        return pnet_tf_feed_byte(h, c);
    if (c < 0x800) {
        h = pnet_tf_feed_byte(h, 0xC0 | (c >> 6));
    } else {
        if (c < 0x10000) {
            h = pnet_tf_feed_byte(h, 0xE0 | (c >> 12));
        } else {
            h = pnet_tf_feed_byte(h, 0xF0 | (c >> 18));
            h = pnet_tf_feed_byte(h, 0x80 | ((c >> 12) & 0x3F));
        }
        h = pnet_tf_feed_byte(h, 0x80 | ((c >> 6) & 0x3F));
    }
    return pnet_tf_feed_byte(h, 0x80 | (c & 0x3F));
}

/* -- step 1: UTF-8 as Python's bytes.decode('utf-8', 'replace') ------------------------ */
/* The code point that starts at byte *pos of s[0:n] (*pos < n), moving *pos past it.
 * A lead byte C2..DF, E0..EF, F0..F4 takes 1, 2, 3 continuation bytes in 80..BF,
 * except the first after E0 (A0..BF), ED (80..9F), F0 (90..BF), F4 (80..8F). A
 * sequence cut short by a byte out of range (or by the end) is one U+FFFD, and the
 * next code point starts at that byte; any other byte 80..FF is one U+FFFD. */
static uint32_t pnet_tf_decode(const unsigned char *s, size_t n, size_t *pos)
{
    size_t i = *pos;
    uint32_t lead = s[i], c, lo = 0x80, hi = 0xBF;
    int need, k;
    *pos = i + 1;
    if (lead < 0x80)
        return lead;
    if (lead >= 0xC2 && lead <= 0xDF) {
        need = 1;
        c = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        need = 2;
        c = lead & 0x0F;
        if (lead == 0xE0)
            lo = 0xA0;
        else if (lead == 0xED)
            hi = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        need = 3;
        c = lead & 0x07;
        if (lead == 0xF0)
            lo = 0x90;
        else if (lead == 0xF4)
            hi = 0x8F;
    } else {
        return 0xFFFD;
    }
    for (k = 0; k < need; k++) {
        uint32_t b;
        if (*pos >= n)
            return 0xFFFD;
        b = s[*pos];
        if (b < lo || b > hi)
            return 0xFFFD;
        c = (c << 6) | (b & 0x3F);
        lo = 0x80;
        hi = 0xBF;
        *pos += 1;
    }
    return c;
}

/* -- step 2: the pinned lowercase table (pnet._lowercase.LOWERCASE_RUNS) --------------- */
#if PNET_TF_LOWERCASE
#define PNET_TF_N_LOWER_RUNS 182
/* c in first..last with (c - first) % stride == 0 becomes c + delta; sorted by first,
 * not overlapping. 182 x 16 = 2,912 bytes of flash. */
struct pnet_tf_run {
    uint32_t first, last, stride;
    int32_t delta;
};
static const struct pnet_tf_run pnet_tf_lower_runs[PNET_TF_N_LOWER_RUNS] = {
    {0x00041, 0x0005A, 1, 32}, {0x000C0, 0x000D6, 1, 32}, {0x000D8, 0x000DE, 1, 32},
    {0x00100, 0x0012E, 2, 1}, {0x00130, 0x00130, 1, -199}, {0x00132, 0x00136, 2, 1},
    {0x00139, 0x00147, 2, 1}, {0x0014A, 0x00176, 2, 1}, {0x00178, 0x00178, 1, -121},
    {0x00179, 0x0017D, 2, 1}, {0x00181, 0x00181, 1, 210}, {0x00182, 0x00184, 2, 1},
    {0x00186, 0x00186, 1, 206}, {0x00187, 0x00187, 1, 1}, {0x00189, 0x0018A, 1, 205},
    {0x0018B, 0x0018B, 1, 1}, {0x0018E, 0x0018E, 1, 79}, {0x0018F, 0x0018F, 1, 202},
    {0x00190, 0x00190, 1, 203}, {0x00191, 0x00191, 1, 1}, {0x00193, 0x00193, 1, 205},
    {0x00194, 0x00194, 1, 207}, {0x00196, 0x00196, 1, 211}, {0x00197, 0x00197, 1, 209},
    {0x00198, 0x00198, 1, 1}, {0x0019C, 0x0019C, 1, 211}, {0x0019D, 0x0019D, 1, 213},
    {0x0019F, 0x0019F, 1, 214}, {0x001A0, 0x001A4, 2, 1}, {0x001A6, 0x001A6, 1, 218},
    {0x001A7, 0x001A7, 1, 1}, {0x001A9, 0x001A9, 1, 218}, {0x001AC, 0x001AC, 1, 1},
    {0x001AE, 0x001AE, 1, 218}, {0x001AF, 0x001AF, 1, 1}, {0x001B1, 0x001B2, 1, 217},
    {0x001B3, 0x001B5, 2, 1}, {0x001B7, 0x001B7, 1, 219}, {0x001B8, 0x001B8, 1, 1},
    {0x001BC, 0x001BC, 1, 1}, {0x001C4, 0x001C4, 1, 2}, {0x001C5, 0x001C5, 1, 1},
    {0x001C7, 0x001C7, 1, 2}, {0x001C8, 0x001C8, 1, 1}, {0x001CA, 0x001CA, 1, 2},
    {0x001CB, 0x001DB, 2, 1}, {0x001DE, 0x001EE, 2, 1}, {0x001F1, 0x001F1, 1, 2},
    {0x001F2, 0x001F4, 2, 1}, {0x001F6, 0x001F6, 1, -97}, {0x001F7, 0x001F7, 1, -56},
    {0x001F8, 0x0021E, 2, 1}, {0x00220, 0x00220, 1, -130}, {0x00222, 0x00232, 2, 1},
    {0x0023A, 0x0023A, 1, 10795}, {0x0023B, 0x0023B, 1, 1}, {0x0023D, 0x0023D, 1, -163},
    {0x0023E, 0x0023E, 1, 10792}, {0x00241, 0x00241, 1, 1}, {0x00243, 0x00243, 1, -195},
    {0x00244, 0x00244, 1, 69}, {0x00245, 0x00245, 1, 71}, {0x00246, 0x0024E, 2, 1},
    {0x00370, 0x00372, 2, 1}, {0x00376, 0x00376, 1, 1}, {0x0037F, 0x0037F, 1, 116},
    {0x00386, 0x00386, 1, 38}, {0x00388, 0x0038A, 1, 37}, {0x0038C, 0x0038C, 1, 64},
    {0x0038E, 0x0038F, 1, 63}, {0x00391, 0x003A1, 1, 32}, {0x003A3, 0x003AB, 1, 32},
    {0x003CF, 0x003CF, 1, 8}, {0x003D8, 0x003EE, 2, 1}, {0x003F4, 0x003F4, 1, -60},
    {0x003F7, 0x003F7, 1, 1}, {0x003F9, 0x003F9, 1, -7}, {0x003FA, 0x003FA, 1, 1},
    {0x003FD, 0x003FF, 1, -130}, {0x00400, 0x0040F, 1, 80}, {0x00410, 0x0042F, 1, 32},
    {0x00460, 0x00480, 2, 1}, {0x0048A, 0x004BE, 2, 1}, {0x004C0, 0x004C0, 1, 15},
    {0x004C1, 0x004CD, 2, 1}, {0x004D0, 0x0052E, 2, 1}, {0x00531, 0x00556, 1, 48},
    {0x010A0, 0x010C5, 1, 7264}, {0x010C7, 0x010C7, 1, 7264}, {0x010CD, 0x010CD, 1, 7264},
    {0x013A0, 0x013EF, 1, 38864}, {0x013F0, 0x013F5, 1, 8}, {0x01C90, 0x01CBA, 1, -3008},
    {0x01CBD, 0x01CBF, 1, -3008}, {0x01E00, 0x01E94, 2, 1}, {0x01E9E, 0x01E9E, 1, -7615},
    {0x01EA0, 0x01EFE, 2, 1}, {0x01F08, 0x01F0F, 1, -8}, {0x01F18, 0x01F1D, 1, -8},
    {0x01F28, 0x01F2F, 1, -8}, {0x01F38, 0x01F3F, 1, -8}, {0x01F48, 0x01F4D, 1, -8},
    {0x01F59, 0x01F5F, 2, -8}, {0x01F68, 0x01F6F, 1, -8}, {0x01F88, 0x01F8F, 1, -8},
    {0x01F98, 0x01F9F, 1, -8}, {0x01FA8, 0x01FAF, 1, -8}, {0x01FB8, 0x01FB9, 1, -8},
    {0x01FBA, 0x01FBB, 1, -74}, {0x01FBC, 0x01FBC, 1, -9}, {0x01FC8, 0x01FCB, 1, -86},
    {0x01FCC, 0x01FCC, 1, -9}, {0x01FD8, 0x01FD9, 1, -8}, {0x01FDA, 0x01FDB, 1, -100},
    {0x01FE8, 0x01FE9, 1, -8}, {0x01FEA, 0x01FEB, 1, -112}, {0x01FEC, 0x01FEC, 1, -7},
    {0x01FF8, 0x01FF9, 1, -128}, {0x01FFA, 0x01FFB, 1, -126}, {0x01FFC, 0x01FFC, 1, -9},
    {0x02126, 0x02126, 1, -7517}, {0x0212A, 0x0212A, 1, -8383},
    {0x0212B, 0x0212B, 1, -8262}, {0x02132, 0x02132, 1, 28}, {0x02160, 0x0216F, 1, 16},
    {0x02183, 0x02183, 1, 1}, {0x024B6, 0x024CF, 1, 26}, {0x02C00, 0x02C2F, 1, 48},
    {0x02C60, 0x02C60, 1, 1}, {0x02C62, 0x02C62, 1, -10743}, {0x02C63, 0x02C63, 1, -3814},
    {0x02C64, 0x02C64, 1, -10727}, {0x02C67, 0x02C6B, 2, 1}, {0x02C6D, 0x02C6D, 1, -10780},
    {0x02C6E, 0x02C6E, 1, -10749}, {0x02C6F, 0x02C6F, 1, -10783},
    {0x02C70, 0x02C70, 1, -10782}, {0x02C72, 0x02C72, 1, 1}, {0x02C75, 0x02C75, 1, 1},
    {0x02C7E, 0x02C7F, 1, -10815}, {0x02C80, 0x02CE2, 2, 1}, {0x02CEB, 0x02CED, 2, 1},
    {0x02CF2, 0x02CF2, 1, 1}, {0x0A640, 0x0A66C, 2, 1}, {0x0A680, 0x0A69A, 2, 1},
    {0x0A722, 0x0A72E, 2, 1}, {0x0A732, 0x0A76E, 2, 1}, {0x0A779, 0x0A77B, 2, 1},
    {0x0A77D, 0x0A77D, 1, -35332}, {0x0A77E, 0x0A786, 2, 1}, {0x0A78B, 0x0A78B, 1, 1},
    {0x0A78D, 0x0A78D, 1, -42280}, {0x0A790, 0x0A792, 2, 1}, {0x0A796, 0x0A7A8, 2, 1},
    {0x0A7AA, 0x0A7AA, 1, -42308}, {0x0A7AB, 0x0A7AB, 1, -42319},
    {0x0A7AC, 0x0A7AC, 1, -42315}, {0x0A7AD, 0x0A7AD, 1, -42305},
    {0x0A7AE, 0x0A7AE, 1, -42308}, {0x0A7B0, 0x0A7B0, 1, -42258},
    {0x0A7B1, 0x0A7B1, 1, -42282}, {0x0A7B2, 0x0A7B2, 1, -42261},
    {0x0A7B3, 0x0A7B3, 1, 928}, {0x0A7B4, 0x0A7C2, 2, 1}, {0x0A7C4, 0x0A7C4, 1, -48},
    {0x0A7C5, 0x0A7C5, 1, -42307}, {0x0A7C6, 0x0A7C6, 1, -35384}, {0x0A7C7, 0x0A7C9, 2, 1},
    {0x0A7D0, 0x0A7D0, 1, 1}, {0x0A7D6, 0x0A7D8, 2, 1}, {0x0A7F5, 0x0A7F5, 1, 1},
    {0x0FF21, 0x0FF3A, 1, 32}, {0x10400, 0x10427, 1, 40}, {0x104B0, 0x104D3, 1, 40},
    {0x10570, 0x1057A, 1, 39}, {0x1057C, 0x1058A, 1, 39}, {0x1058C, 0x10592, 1, 39},
    {0x10594, 0x10595, 1, 39}, {0x10C80, 0x10CB2, 1, 64}, {0x118A0, 0x118BF, 1, 32},
    {0x16E40, 0x16E5F, 1, 32}, {0x1E900, 0x1E921, 1, 34}
};

/* c lowercased: the last run with first <= c, by binary search (skipped below the
 * second run: ASCII and most of Latin-1 can only be in the first, A..Z) */
static uint32_t pnet_tf_lower(uint32_t c)
{
    size_t lo = 0, hi = PNET_TF_N_LOWER_RUNS, mid;
    const struct pnet_tf_run *run;
    if (c < pnet_tf_lower_runs[1].first)
        hi = 1;
    while (hi - lo > 1) {
        mid = (lo + hi) / 2;
        if (pnet_tf_lower_runs[mid].first <= c)
            lo = mid;
        else
            hi = mid;
    }
    run = &pnet_tf_lower_runs[lo];
    if (c >= run->first && c <= run->last && (c - run->first) % run->stride == 0)
        return c + (uint32_t)run->delta; /* mod 2**32: a negative delta subtracts */
    return c;
}
#endif

/* The next normalised code point of the text (steps 1 and 2) at byte *pos, moving
 * *pos past it. UTF-8 never decodes to a surrogate, so no U+D800..U+DFFF step. */
static uint32_t pnet_tf_next(const unsigned char *s, size_t n, size_t *pos)
{
    uint32_t c = pnet_tf_decode(s, n, pos);
#if PNET_TF_LOWERCASE
    c = pnet_tf_lower(c);
#endif
    return c;
}

/* -- step 3: tokens -------------------------------------------------------------------- */
/* Unicode White_Space, the 25 code points that separate tokens */
static int pnet_tf_is_space(uint32_t c)
{
    if (c <= 0x20)
        return c == 0x20 || (c >= 0x09 && c <= 0x0D);
    if (c < 0x85)
        return 0;
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A)
           || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* The next token from byte *pos on: its bytes s[*start:*end]; *pos becomes *end.
 * Returns 0 (and leaves the outputs alone) when no token is left. The text is only
 * ever decoded from positions a decoding from byte 0 reaches, so every decoding of
 * a token gives the same code points. */
static int pnet_tf_token(const unsigned char *s, size_t n, size_t *pos, size_t *start,
                         size_t *end)
{
    size_t p = *pos, q;
    for (;;) { /* skip White_Space */
        if (p >= n)
            return 0;
        q = p;
        if (!pnet_tf_is_space(pnet_tf_next(s, n, &q)))
            break;
        p = q;
    }
    *start = p;
    while (p < n) {
        q = p;
        if (pnet_tf_is_space(pnet_tf_next(s, n, &q)))
            break;
        p = q;
    }
    *end = *pos = p;
    return 1;
}

#if PNET_TF_WORD_ON || PNET_TF_SKIP_ON
/* feed the UTF-8 of the normalised code points of the token s[a:b] */
static uint64_t pnet_tf_feed_token(uint64_t h, const unsigned char *s, size_t n, size_t a,
                                   size_t b)
{
    while (a < b)
        h = pnet_tf_feed_code_point(h, pnet_tf_next(s, n, &a));
    return h;
}
#endif

/* -- step 4: the n-grams of each family, hashed (ids) with their family (values) ------- */
/* one occurrence: its id at ids[m], its family code at values[m]; returns m + 1 */
static size_t pnet_tf_put(uint64_t *ids, float *values, size_t m, uint64_t h, int family)
{
    ids[m] = pnet_tf_mix64(h);
    values[m] = (float)family;
    return m + 1;
}

#if PNET_TF_WORD_ON
/* word n-grams t_i 0x20 ... 0x20 t_{i+n-1}, n = LO..HI: the ones that start at token
 * i extend one prefix, token by token */
static size_t pnet_tf_words(const unsigned char *s, size_t n, uint64_t *ids, float *values,
                            size_t m)
{
    const uint64_t key = pnet_tf_mix64(PNET_TF_WORD_SEED);
    size_t pos = 0, a, b, next;
    int k;
    while (pnet_tf_token(s, n, &pos, &a, &b)) {
        uint64_t h = pnet_tf_feed_token(key, s, n, a, b);
        next = pos;
        for (k = 1;; k++) { /* h holds the k tokens from token i on */
            if (k >= PNET_TF_WORD_LO)
                m = pnet_tf_put(ids, values, m, h, PNET_TF_WORD);
            if (k == PNET_TF_WORD_HI || !pnet_tf_token(s, n, &next, &a, &b))
                break;
            h = pnet_tf_feed_token(pnet_tf_feed_byte(h, 0x20), s, n, a, b);
        }
    }
    return m;
}
#endif

#if PNET_TF_CHAR_ON
/* The code point at cursor *q of w = U+0020 t U+0020, t = s[a:b), moving the cursor:
 * *q is a at the leading space, 1 + the byte offset of a code point of t, b + 1 at
 * the trailing space and b + 2 past it (distinct: a code point takes a byte). */
static uint32_t pnet_tf_wrapped_next(const unsigned char *s, size_t n, size_t a, size_t b,
                                     size_t *q)
{
    size_t p;
    uint32_t c;
    if (*q == a || *q == b + 1) {
        *q += 1;
        return 0x20;
    }
    p = *q - 1;
    c = pnet_tf_next(s, n, &p);
    *q = p + 1;
    return c;
}

/* character n-grams, n = LO..HI, of every w = U+0020 t U+0020: the ones that start
 * at a position of w extend one prefix, code point by code point */
static size_t pnet_tf_chars(const unsigned char *s, size_t n, uint64_t *ids, float *values,
                            size_t m)
{
    const uint64_t key = pnet_tf_mix64(PNET_TF_CHAR_SEED);
    size_t pos = 0, a, b, start, q;
    int k;
    while (pnet_tf_token(s, n, &pos, &a, &b)) {
        for (start = a; start <= b + 1; pnet_tf_wrapped_next(s, n, a, b, &start)) {
            uint64_t h = key;
            q = start;
            for (k = 1; k <= PNET_TF_CHAR_HI && q <= b + 1; k++) {
                h = pnet_tf_feed_code_point(h, pnet_tf_wrapped_next(s, n, a, b, &q));
                if (k >= PNET_TF_CHAR_LO)
                    m = pnet_tf_put(ids, values, m, h, PNET_TF_CHAR);
            }
        }
    }
    return m;
}
#endif

#if PNET_TF_SKIP_ON
/* skip-grams t_i 0x20 t_{i+k+1}, k = LO..HI words skipped */
static size_t pnet_tf_skips(const unsigned char *s, size_t n, uint64_t *ids, float *values,
                            size_t m)
{
    const uint64_t key = pnet_tf_mix64(PNET_TF_SKIP_SEED);
    size_t pos = 0, a, b, next;
    int k;
    while (pnet_tf_token(s, n, &pos, &a, &b)) {
        uint64_t h = pnet_tf_feed_byte(pnet_tf_feed_token(key, s, n, a, b), 0x20);
        next = pos;
        for (k = 0; k <= PNET_TF_SKIP_HI && pnet_tf_token(s, n, &next, &a, &b); k++)
            if (k >= PNET_TF_SKIP_LO) /* s[a:b) is token i + k + 1 */
                m = pnet_tf_put(ids, values, m, pnet_tf_feed_token(h, s, n, a, b),
                                PNET_TF_SKIP);
    }
    return m;
}
#endif

/* -- step 7: ids ascending (heapsort: in place, no recursion, deterministic) ----------- */
static void pnet_tf_swap(uint64_t *ids, float *values, size_t i, size_t j)
{
    uint64_t t = ids[i];
    float v = values[i];
    ids[i] = ids[j];
    values[i] = values[j];
    ids[j] = t;
    values[j] = v;
}

/* restore the max-heap order of ids[0:n] below node i */
static void pnet_tf_sift_down(uint64_t *ids, float *values, size_t i, size_t n)
{
    size_t child;
    while ((child = 2 * i + 1) < n) {
        if (child + 1 < n && ids[child + 1] > ids[child])
            child++;
        if (ids[i] >= ids[child])
            return;
        pnet_tf_swap(ids, values, i, child);
        i = child;
    }
}

/* sort ids[0:n] ascending, carrying values along */
static void pnet_tf_sort(uint64_t *ids, float *values, size_t n)
{
    size_t i;
    for (i = n / 2; i > 0; i--)
        pnet_tf_sift_down(ids, values, i - 1, n);
    for (i = n; i > 1; i--) {
        pnet_tf_swap(ids, values, 0, i - 1);
        pnet_tf_sift_down(ids, values, 0, i - 1);
    }
}

/* -- step 6: values -------------------------------------------------------------------- */
/* a * b rounded to double before anything is added to it (a volatile store: no FMA) */
static double pnet_tf_mul(double a, double b)
{
    volatile double p = a * b;
    return p;
}

/* g(n): the value of a count */
static double pnet_tf_count_value(size_t count)
{
#if PNET_TF_COUNTS == PNET_TF_SQRT
    return sqrt((double)count);
#elif PNET_TF_COUNTS == PNET_TF_BINARY
    (void)count;
    return 1.0;
#else
    return (double)count;
#endif
}

/* The value of the id ids[p] from its occurrences ids[p:*end) (sorted; the family of
 * each in values): v = 0, then v += weight_f * g(n_f) for f = word, char, skip with
 * n_f > 0. Sets *end past the run of ids[p]. */
static double pnet_tf_value(const uint64_t *ids, const float *values, size_t p, size_t m,
                            size_t *end)
{
    size_t count[3] = {0, 0, 0};
    const double weight[3] = {PNET_TF_WORD_WEIGHT, PNET_TF_CHAR_WEIGHT,
                              PNET_TF_SKIP_WEIGHT};
    double v = 0.0;
    size_t q;
    int f;
    for (q = p; q < m && ids[q] == ids[p]; q++)
        count[(int)values[q]] += 1;
    *end = q;
    for (f = PNET_TF_WORD; f <= PNET_TF_SKIP; f++)
        if (count[f] > 0)
            v += pnet_tf_mul(weight[f], pnet_tf_count_value(count[f]));
    return v;
}

/* Merge the m sorted occurrences into the distinct ids and their float values, in
 * place at the front; returns how many. With l2, a first pass sums v*v in ascending
 * id order; the second writes v / sqrt(s). Writing at u never overtakes the run
 * being read (u <= its start), so the family tags it reads are intact. */
static size_t pnet_tf_merge(uint64_t *ids, float *values, size_t m)
{
    size_t p, end, u = 0;
    double v;
#if PNET_TF_L2
    double s = 0.0, norm;
    for (p = 0; p < m; p = end) {
        v = pnet_tf_value(ids, values, p, m, &end);
        s += pnet_tf_mul(v, v);
    }
    norm = sqrt(s);
#endif
    for (p = 0; p < m; p = end) {
        v = pnet_tf_value(ids, values, p, m, &end);
#if PNET_TF_L2
        v = v / norm;
#endif
        ids[u] = ids[p];
        values[u] = (float)v;
        u++;
    }
    return u;
}

/* -- the row --------------------------------------------------------------------------- */
/* The canonical CSR row of one UTF-8 text: writes ids (ascending, unique) and their
   values; returns the number of features (0 for an empty or all-White_Space text), or
   -1 when n_bytes > PNET_MAX_TEXT_BYTES. ids and values: PNET_TF_MAX_FEATURES each. */
static int pnet_tf_row(const char *utf8, size_t n_bytes, uint64_t *ids, float *values)
{
    const unsigned char *s = (const unsigned char *)utf8;
    size_t m = 0;
    if (n_bytes > (size_t)PNET_MAX_TEXT_BYTES)
        return -1;
#if PNET_TF_WORD_ON
    m = pnet_tf_words(s, n_bytes, ids, values, m);
#endif
#if PNET_TF_CHAR_ON
    m = pnet_tf_chars(s, n_bytes, ids, values, m);
#endif
#if PNET_TF_SKIP_ON
    m = pnet_tf_skips(s, n_bytes, ids, values, m);
#endif
    pnet_tf_sort(ids, values, m);
    return (int)pnet_tf_merge(ids, values, m);
}
