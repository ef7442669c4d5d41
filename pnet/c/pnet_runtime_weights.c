/* ---- pnet runtime, part 1: how weights are stored -------------------------------
 * Pasted by pnet.export_c before the model's weight arrays (pnet_model.c).
 */
/* Stored value i of a weight matrix (fan_in, fan_out), C order. Quantised formats
 * hold integers (pnet._quantize.pack_weights: WEIGHT_BITS bits each, two's
 * complement, least significant bits first) and one float32 scale per column. */
#if PNET_WEIGHT_BITS == 32
typedef float pnet_weight_t;
#elif PNET_WEIGHT_BITS == 8
typedef int8_t pnet_weight_t;

static int32_t pnet_q(const pnet_weight_t *w, uint32_t i)
{
    return w[i];
}
#else
typedef uint8_t pnet_weight_t;

static int32_t pnet_q(const pnet_weight_t *w, uint32_t i)
{
    uint32_t per_byte = 8u / PNET_WEIGHT_BITS;
    uint32_t v = (w[i / per_byte] >> (i % per_byte * PNET_WEIGHT_BITS))
        & ((1u << PNET_WEIGHT_BITS) - 1u);
    return (int32_t)v - (int32_t)((v >> (PNET_WEIGHT_BITS - 1)) << PNET_WEIGHT_BITS);
}
#endif

typedef struct {
    const pnet_weight_t *w; /* (fan_in, fan_out) */
    const float *scale;     /* (fan_out,), NULL for float32 */
    const float *bias;      /* (fan_out,) */
    uint32_t fan_in, fan_out;
} pnet_layer;

