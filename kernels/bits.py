"""Packed bits and the projection net's first layer on them: the row formulas.

Layout: a row of ``n_bits`` bits is ``ceil(n_bits / 64)`` uint64 words; bit k
lives in word ``k // 64`` at position ``k % 64`` (least significant bit first);
the unused high bits of the last word are 0.

The first layer of the projection net on bits ``b`` is a gather-add,
``z = bias + sum_{k : b_k = 1} W[k]``, i.e. ``b @ W + bias`` without
multiplications. It is written once, for one row, on the list of set bits
(``gather_add``): every path that needs it (the estimator's packed bits, the
compact model's fused kernels, one row or a batch) lists a row's set bits in
ascending order from its packed words (``set_bits``) and calls it, so they all
perform the same float32 additions in the same order and agree bit for bit by
construction.

The quantised version (``plane_add_int8``) needs no order: its sum is exact.
Integer weights of P-bit two's complement (int8: P = 8, int4: 4, ternary: 2)
are held as P *bit planes* per output unit c, plane (c, p) = the packed bits k
whose weight ``Wq[k, c]`` has bit p set (``pnet._quantize.weight_planes``).
Since ``Wq[k, c] = sum_{p < P-1} 2**p bit_p - 2**(P-1) bit_{P-1}``,

    sum_{k : b_k = 1} Wq[k, c] = sum_p +-2**p * popcount(b & plane (c, p))

(``plane_sum``): one AND and one POPCNT per 64 bits per plane instead of an
add per set bit and output (on MNIST's 720 bits, 10 classes, int8: 960
popcounts against ~3,600 adds; 3.6x faster, ternary 13x). The planes are held
word-major, ``planes[w, c * P + p]``, so that word w of 8 neighbouring planes is
one vector load: ``plane_sum`` keeps the running counts of 8 planes in one
register (``Counts``, an ``<8 x i64>``: VPOPCNTQ with AVX-512, a nibble table
lookup with AVX2) over all the row's words, and stores them once, where a loop
over the planes for each word stored every count once per word (0.91 against
1.62 ms for 10,000 MNIST rows, one thread; ``bench/RESULTS.md``, "By bit"; the
word-major layout itself: "Word-major bit planes"). Then
``float32(sum) * scale + bias`` (two roundings, no fused multiply-add: the jit
policy has no fastmath). ``|sum| <= 128 * n_bits`` fits int32 for ``n_bits <=
pnet._quantize.MAX_INT8_BITS``; the wrappers check it.

The weight gradient ``dW = b.T @ dZ`` is the matching scatter-add. Both batch
kernels add in ascending order (bits for the gather, rows for the scatter), so
results do not depend on the thread count or the batch.
"""
import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

from ._jit import jit, parallel_jit
from .columns import columns_add_row, columns_at, columns_store, columns_width

_ONE = np.uint64(1)
_BYTE = np.uint64(255)


@intrinsic
def popcount(typingctx, word):
    """The number of set bits of a uint64, as int64 (LLVM's ctpop: one POPCNT
    instruction on x86-64 since Nehalem / Barcelona; numba compiles for the host CPU)."""
    if not isinstance(word, types.Integer) or word.signed or word.bitwidth != 64:
        return None
    sig = types.int64(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])
    return sig, codegen


#: rows a block of the packed int8 layer (``plane_add_int8_rows``): every row's counts
#: are stored before any is read back (``plane_add_int8_block``)
LAYER_ROWS = 8

# -- eight planes' running popcounts in one register ------------------------------------
#: planes counted together by ``plane_sum`` (one <8 x i64> register)
COUNTS = 8
_COUNTS = ir.VectorType(ir.IntType(64), COUNTS)


class Counts(types.Type):
    """``COUNTS`` running popcounts, one per plane (an LLVM ``<8 x i64>`` value)."""

    def __init__(self):
        super().__init__(name=f"Counts{COUNTS}xi64")


counts_type = Counts()


@register_model(Counts)
class _CountsModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _COUNTS)


def _planes(planes):
    return (isinstance(planes, types.Array) and planes.ndim == 2 and planes.layout == "C"
            and planes.dtype == types.uint64)


@intrinsic
def counts_zero(typingctx):
    """Eight zero counts."""
    return counts_type(), lambda context, builder, signature, args: ir.Constant(
        _COUNTS, [0] * COUNTS)


@intrinsic
def counts_add(typingctx, counts, word, planes, w, q):
    """counts + popcount(word & planes[w, q:q + 8]), lane by lane (``llvm.ctpop`` on
    the vector: VPOPCNTQ with AVX-512, a nibble table lookup with AVX2). No bounds
    check: q + 8 <= planes.shape[1]."""
    if not (isinstance(counts, Counts) and word == types.uint64 and _planes(planes)
            and isinstance(w, types.Integer) and isinstance(q, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[2])(context, builder, args[2])
        w = context.cast(builder, args[3], signature.args[3], types.int64)
        q = context.cast(builder, args[4], signature.args[4], types.int64)
        row = builder.mul(w, builder.extract_value(array.shape, 1))
        at = builder.bitcast(builder.gep(array.data, [builder.add(row, q)]),
                             _COUNTS.as_pointer())
        first = ir.Constant(ir.IntType(32), 0)
        word = builder.insert_element(ir.Constant(_COUNTS, ir.Undefined), args[1], first)
        word = builder.shuffle_vector(word, ir.Constant(_COUNTS, ir.Undefined),
                                      ir.Constant(ir.VectorType(ir.IntType(32), COUNTS),
                                                  [0] * COUNTS))
        bits = builder.and_(builder.load(at, align=8, typ=_COUNTS), word)
        ctpop = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_COUNTS, [_COUNTS]), f"llvm.ctpop.v{COUNTS}i64")
        return builder.add(args[0], builder.call(ctpop, [bits]))
    return counts_type(counts, word, planes, w, q), codegen


@intrinsic
def counts_store(typingctx, counts, out, q):
    """out[q:q + 8] = counts (out: 1-D C int64; no bounds check)."""
    if not (isinstance(counts, Counts) and isinstance(out, types.Array) and out.ndim == 1
            and out.layout == "C" and out.dtype == types.int64
            and isinstance(q, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[1])(context, builder, args[1])
        q = context.cast(builder, args[2], signature.args[2], types.int64)
        at = builder.bitcast(builder.gep(array.data, [q]), _COUNTS.as_pointer())
        builder.store(args[0], at, align=8)
        return context.get_dummy_value()
    return types.void(counts, out, q), codegen


# -- 8 slots at once: a byte's set bits listed by one table lookup ----------------------
#: slots ``set_bits`` may write past the last set bit: idx needs n_bits + SET_BITS_PAD
SET_BITS_PAD = 8
_BYTE_BITS = ir.VectorType(ir.IntType(64), 8)
_BYTE_TABLE = ir.ArrayType(_BYTE_BITS, 256)


def _byte_table(module):
    """The module's constant table: row v = the positions of v's set bits, ascending,
    then zeros (256 rows of 8 int64, 16 KB)."""
    name = "pnet_byte_bits"
    table = module.globals.get(name)
    if table is None:
        rows = [[b for b in range(8) if v >> b & 1] for v in range(256)]
        value = ir.Constant(_BYTE_TABLE, [ir.Constant(_BYTE_BITS, r + [0] * (8 - len(r)))
                                          for r in rows])
        table = cgutils.global_constant(module, name, value)
        table.align = 64  # a row is one 64-byte line, loaded as one vector
    return table


@intrinsic
def list_byte(typingctx, idx, m, base, byte):
    """idx[m:m + 8] = base + the positions of byte's set bits (then base + 0 ...):
    one vector load from a 256-row table, one add, one store; returns m + popcount(byte).
    idx: 1-D C int64 with room for 8 slots from m; byte < 256 (not checked)."""
    if not (isinstance(idx, types.Array) and idx.ndim == 1 and idx.layout == "C"
            and idx.dtype == types.int64 and all(isinstance(a, types.Integer)
                                                 for a in (m, base, byte))):
        return None

    def codegen(context, builder, signature, args):
        m, base, byte = (context.cast(builder, a, t, types.int64)
                         for a, t in zip(args[1:], signature.args[1:]))
        row = builder.gep(_byte_table(builder.module), [ir.Constant(ir.IntType(32), 0), byte])
        first = ir.Constant(ir.IntType(32), 0)
        splat = builder.insert_element(ir.Constant(_BYTE_BITS, ir.Undefined), base, first)
        splat = builder.shuffle_vector(splat, ir.Constant(_BYTE_BITS, ir.Undefined),
                                       ir.Constant(ir.VectorType(ir.IntType(32), 8), [0] * 8))
        bits = builder.add(builder.load(row, align=64, typ=_BYTE_BITS), splat)
        array = context.make_array(signature.args[0])(context, builder, args[0])
        at = builder.bitcast(builder.gep(array.data, [m]), _BYTE_BITS.as_pointer())
        builder.store(bits, at, align=8)
        return builder.add(m, builder.ctpop(byte))
    return types.int64(idx, m, base, byte), codegen


@intrinsic
def nonzero_byte(typingctx, x, j):
    """Bit b set (int64) where x[j + b] != 0 (NaN included), b < 8: one vector load
    and compare for contiguous x, 8 strided loads otherwise. x: 1-D float or integer;
    x[j:j + 8] must exist (not checked)."""
    if not (isinstance(x, types.Array) and x.ndim == 1 and isinstance(j, types.Integer)
            and isinstance(x.dtype, (types.Float, types.Integer))):
        return None

    def codegen(context, builder, signature, args):
        x_type = signature.args[0]
        array = context.make_array(x_type)(context, builder, args[0])
        j = context.cast(builder, args[1], signature.args[1], types.int64)
        item = context.get_data_type(x_type.dtype)
        vector = ir.VectorType(item, 8)
        if x_type.layout == "C":
            at = builder.bitcast(builder.gep(array.data, [j]), vector.as_pointer())
            values = builder.load(at, align=context.get_abi_sizeof(item))
        else:  # 8 loads through the stride, into one vector
            stride = builder.extract_value(array.strides, 0)
            base = builder.ptrtoint(array.data, ir.IntType(64))
            values = ir.Constant(vector, ir.Undefined)
            for b in range(8):
                offset = builder.mul(builder.add(j, ir.Constant(ir.IntType(64), b)), stride)
                at = builder.inttoptr(builder.add(base, offset), item.as_pointer())
                values = builder.insert_element(values, builder.load(at),
                                                ir.Constant(ir.IntType(32), b))
        if isinstance(x_type.dtype, types.Float):  # unordered: NaN != 0
            nonzero = builder.fcmp_unordered("!=", values, ir.Constant(vector, [0.0] * 8))
        else:
            nonzero = builder.icmp_unsigned("!=", values, ir.Constant(vector, [0] * 8))
        return builder.zext(builder.bitcast(nonzero, ir.IntType(8)), ir.IntType(64))
    return types.int64(x, j), codegen


# -- row formulas ------------------------------------------------------------------------
@jit
def set_bits(packed_row, n_bits, idx):
    """idx[:m] = the set bits k of a packed row, ascending; returns m. A byte at a time
    (``list_byte``: a table lookup, an add and a store of 8 slots, where a loop over
    the bits took a store and an add per bit: 720 bits are 90 bytes); idx needs
    ``n_bits + SET_BITS_PAD`` slots, and what follows idx[m - 1] is not meaningful.
    Bits at n_bits and above are not read, as the bit-by-bit loop did not read them."""
    m = 0
    full = n_bits >> 3
    for q in range(full):
        m = list_byte(idx, m, q << 3, (packed_row[q >> 3] >> np.uint64((q & 7) << 3)) & _BYTE)
    if n_bits & 7:  # the last byte's bits below n_bits only, whatever lies above them
        last = (packed_row[full >> 3] >> np.uint64((full & 7) << 3)) & _BYTE
        m = list_byte(idx, m, full << 3, last & ((_ONE << np.uint64(n_bits & 7)) - _ONE))
    return m


@jit
def gather_add(idx, m, W, bias, z):
    """z = bias + sum_{t < m} W[idx[t]]  (in the order of idx, in W's dtype).

    W (n_bits, n_pad) and bias (n_pad,) have their columns padded to a multiple of
    two registers, ``2 * columns_width`` (``pnet._hyperplanes.pad_columns``); z has
    the real columns, ``len(z) <= n_pad``. The running sums stay in two registers
    of columns per pass over idx (``pnet.kernels.columns``); each column's additions
    are the scalar loop's, in the same order.
    """
    width = columns_width(W)
    for c0 in range(0, z.shape[0], 2 * width):
        u = columns_at(bias, c0)
        v = columns_at(bias, c0 + width)
        for t in range(m):
            u = columns_add_row(u, W, idx[t], c0)
            v = columns_add_row(v, W, idx[t], c0 + width)
        columns_store(u, z, c0)
        columns_store(v, z, c0 + width)  # stores nothing past z's end


@jit
def plane_sum(packed_row, planes, counts):
    """counts[c * P + p] = popcount(row & plane p of output c), summed over the words,
    from ``planes`` (n_words, fan_out * P) uint64 (``pnet._quantize.weight_planes``:
    word w of every plane side by side). ``COUNTS`` (8) planes at a time, their
    running counts in one register over all the row's words (``counts_add``), then
    the last fan_out * P % 8 planes one at a time; ``counts`` is (fan_out * P,) int64."""
    n_planes = planes.shape[1]
    full = n_planes - n_planes % COUNTS
    for q in range(0, full, COUNTS):
        total = counts_zero()
        for w in range(planes.shape[0]):
            total = counts_add(total, packed_row[w], planes, w, q)
        counts_store(total, counts, q)
    for q in range(full, n_planes):
        one = 0
        for w in range(planes.shape[0]):
            one += popcount(packed_row[w] & planes[w, q])
        counts[q] = one


@jit
def counts_to_z(counts, scale, bias, z):
    """z = float32(the exact int32 sum of each output unit's weights over the set bits)
    * scale + bias, from ``plane_sum``'s counts: ``sum_p 2**p counts[c * P + p]``, the
    top plane P - 1 being the two's complement sign bit (weight -2**(P-1)). Written
    as every plane at +2**p, then the top plane's count times 2**P taken off
    (2**(P-1) - 2**P = -2**(P-1)): one loop over all the planes, where a loop that
    started from the negated top plane compiled to slower code (the whole layer on
    10,000 MNIST rows, int8, one thread: 1.46 against 2.56 ms; ``bench/RESULTS.md``,
    "The layers' own loops")."""
    if z.shape[0] == 0:  # a first layer of width 0 (a valid model): nothing to add
        return
    n_planes = counts.shape[0] // z.shape[0]
    for c in range(z.shape[0]):
        base = c * n_planes
        total = 0
        for p in range(n_planes):
            total += counts[base + p] << p
        total -= counts[base + n_planes - 1] << n_planes
        z[c] = np.float32(np.int32(total)) * scale[c] + bias[c]


@jit(inline="always")  # two calls: compiled once each, shared with the block form
def plane_add_int8(packed_row, planes, scale, bias, counts, z):
    """z = float32(sum over set bits k of Wq[k]) * scale + bias  (exact int32 sum):
    ``plane_sum``, then ``counts_to_z``. One row; a block of rows takes
    ``plane_add_int8_block``."""
    plane_sum(packed_row, planes, counts)
    counts_to_z(counts, scale, bias, z)


@jit
def plane_add_int8_block(packed, planes, scale, bias, counts, out):
    """out[r] = ``plane_add_int8`` of packed row r, for every row of ``packed`` (a
    block; ``counts``: as many rows or more, fan_out * P int64): every row's counts
    first, then every row's sums. ``plane_sum`` stores a row's counts as 8-lane
    vectors and ``counts_to_z`` reads them back one at a time: read right after the
    store, they waited on it. 10,000 MNIST rows, int8, one thread, in-process: this
    layer 0.78-0.83x of its time row by row, the fused int8 predict kernel 0.89-0.94x
    (``bench/RESULTS.md``, "The int8 layer's counts, a block at a time")."""
    for r in range(packed.shape[0]):
        plane_sum(packed[r], planes, counts[r])
    for r in range(packed.shape[0]):
        counts_to_z(counts[r], scale, bias, out[r])


@jit
def unpack_row(packed_row, out_row):
    """out_row[k] = bit k of a packed row (0 or 1 in out_row's dtype).

    Whole words first, 64 bits each (a fixed trip count the compiler vectorises),
    then the last word's used bits."""
    n_bits = out_row.shape[0]
    full = n_bits >> 6
    for w in range(full):
        word = packed_row[w]
        base = w << 6
        for b in range(64):
            out_row[base + b] = (word >> np.uint64(b)) & _ONE
    for k in range(full << 6, n_bits):
        out_row[k] = (packed_row[k >> 6] >> np.uint64(k & 63)) & _ONE


# -- batches ---------------------------------------------------------------------------
@parallel_jit
def unpack_kernel(packed, out):
    """packed (n, n_words) -> out (n, n_bits) of 0/1 in out's dtype."""
    for i in prange(out.shape[0]):
        unpack_row(packed[i], out[i])


@jit
def unpack_rows(packed, rows, out):
    """out[t] = unpacked bits of packed[rows[t]]: one minibatch, serially.

    Training keeps its bits packed (8 bytes per 64 bits instead of 4 bytes per
    bit) and unpacks each minibatch here, without waking a thread pool.
    """
    for t in range(rows.shape[0]):
        unpack_row(packed[rows[t]], out[t])


@jit
def gather_add_rows(packed, start, stop, W, bias, out):
    """out[i] = bias + sum over set bits k of row i of W[k], rows [start, stop)."""
    idx = np.empty(W.shape[0] + SET_BITS_PAD, dtype=np.int64)
    for i in range(start, stop):
        gather_add(idx, set_bits(packed[i], W.shape[0], idx), W, bias, out[i])


@jit
def plane_add_int8_rows(packed, start, stop, planes, scale, bias, out):
    """out[i] = ``plane_add_int8`` of packed row i, rows [start, stop), ``LAYER_ROWS``
    rows a block (``plane_add_int8_block``)."""
    counts = np.empty((LAYER_ROWS, planes.shape[1]), dtype=np.int64)
    for first in range(start, stop, LAYER_ROWS):
        last = min(first + LAYER_ROWS, stop)
        plane_add_int8_block(packed[first:last], planes, scale, bias, counts,
                             out[first:last])


@parallel_jit
def scatter_add_kernel(packed, G, out):
    """out[k] = sum over rows i with bit k set of G[i]  (ascending i).

    Parallel over words: each word's 64 output rows belong to one iteration.
    """
    n = packed.shape[0]
    n_bits, n_out = out.shape
    for w in prange(packed.shape[1]):
        for b in range(min(64, n_bits - 64 * w)):
            for c in range(n_out):
                out[64 * w + b, c] = 0.0
        for i in range(n):
            word = packed[i, w]
            if word == 0:
                continue
            for b in range(min(64, n_bits - 64 * w)):
                if (word >> np.uint64(b)) & _ONE:
                    k = 64 * w + b
                    for c in range(n_out):
                        out[k, c] += G[i, c]
