"""Eight rows at once: a float64 value per row in the lanes of one SIMD vector.

The dense projection (``pnet.kernels.projection``) runs a block of up to
``LANES`` (8) rows together: each hyperplane entry is one vector operation over the
block's rows instead of one scalar operation per row, by feature
(``acc[k, :] += s * x[:, j]`` in memory, ``feature_sums``) or by bit (``s_k += s *
table[j, :]`` in a register, ``group_bits``, from a table of the block's values, one
lane row per feature: ``pnet.kernels.table``). numba does not vectorise
those loops by itself (its SLP vectoriser is off
and the loop over the lanes is unrolled before the loop vectoriser sees it), so the
lanes are an LLVM ``<8 x double>`` value, held in registers by the jit code that
passes it around (``Lanes``), and the few operations below are LLVM intrinsics.

Each lane is IEEE float64 arithmetic, lane by lane: ``fadd``/``fmul``, never fused
or reassociated, so lane r computes exactly what the scalar code would for row r
(with AVX-512 one ``vaddpd`` on a zmm register; with AVX2 LLVM splits it into two
ymm instructions, and into narrower ones on older CPUs, with the same per-lane
results).

Why eight and not four (one AVX2 register): a block's hyperplane entries, its
table reads and its loop are paid once for all its rows. (Measured for the by-feature
sums, the only ones when eight lanes were chosen:) On MNIST rows (151
non-zero pixels of 784) the union of 8 rows holds 368 features against 307 for 4
rows, so per row a block visits 46 features instead of 77 (40 % fewer vector
updates), and on dense rows (every row has every feature) 50 % fewer. Measured at
720 bits, one thread, 4 and 8 lanes alternating in one process (bench/RESULTS.md,
"Eight float64 lanes"): the sums took 0.86x (MNIST) and 0.68x (dense-uniform) of the
time of four lanes with AVX-512, 0.92x and 0.78x with AVX2; at 1,440-2,880 bits,
where the accumulator (64 bytes a bit) outgrows L1, 0.80-0.94x and 0.69-0.73x with
AVX-512, 0.96-1.03x and 0.83-0.87x with AVX2.

The updates also take one row: a 1-D accumulator (n,) and a float64 scalar
instead of a ``Lanes`` value, the same ``fadd``/``fmul`` on one value. So the
adders written once over a feature's hyperplane entries
(``pnet.kernels.projection.add_feature``) serve a block of rows and a single row
alike, and a row's sums are the same operations in the same order either way.

**Byte rows, eight at a time too.** Rows of ``uint8`` values take ``BYTE_LANES`` (8)
rows per vector, as float32 (``ByteLanes``, an LLVM ``<8 x float>``), into a
float32 accumulator (n, 8). For them the float32 sums are exact: every value is an
integer 0..255, every hyperplane entry of the layouts that use this path is +-1, so
every product and partial sum is an integer of magnitude at most 255 * n_features,
exactly representable in float32 while that is below 2**24
(``pnet._hyperplanes.MAX_BYTE_FEATURES``). Exact float32 sums are the exact sums,
and so are the float64 sums of the same rows (exact below 2**53): the same numbers,
the same bits, half the bytes of accumulator. (A sum that is exactly 0 is +0.0 in
both: the accumulator starts at +0.0, and in round to nearest ``+0 + -0 = +0``,
``a + -a = +0``.)

All array arguments are numba arrays of float64 (or float32, for byte rows) and C
layout (accumulators) or any layout (inputs, addressed through their strides).
Indices are not bounds- or wraparound-checked: the callers pass indices they built
themselves.
"""
from llvmlite import ir
from numba import types
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic, models, register_model
from numba.np.arrayobj import populate_array

LANES = 8
BYTE_LANES = 8
_F64 = ir.DoubleType()
_F32 = ir.FloatType()
_I64 = ir.IntType(64)
_VEC = ir.VectorType(_F64, LANES)
_VEC8 = ir.VectorType(_F32, BYTE_LANES)


class Lanes(types.Type):
    """``LANES`` float64 values, one per row of a block (an LLVM vector value)."""

    def __init__(self):
        super().__init__(name=f"Lanes{LANES}xf64")


lanes = Lanes()


@register_model(Lanes)
class _LanesModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VEC)


class ByteLanes(types.Type):
    """``BYTE_LANES`` float32 values, one per row of a block of uint8 rows."""

    def __init__(self):
        super().__init__(name=f"ByteLanes{BYTE_LANES}xf32")


byte_lanes = ByteLanes()


@register_model(ByteLanes)
class _ByteLanesModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VEC8)


def _accumulator(a):
    """A block accumulator: (n, LANES) float64 or (n, BYTE_LANES) float32, C layout
    (the width is the caller's: numba types carry no shapes)."""
    return (isinstance(a, types.Array) and a.ndim == 2 and a.layout == "C"
            and a.dtype in (types.float64, types.float32))


def _vector(acc_type):
    """The LLVM vector type of one accumulator row: <8 x double> or <8 x float>."""
    return _VEC if acc_type.dtype == types.float64 else _VEC8


def _align(acc_type):
    """The alignment of an accumulator's elements (the vector rows are unaligned)."""
    return 8 if acc_type.dtype == types.float64 else 4


def _one_row(acc, v):
    """A one-row update: 1-D C float64 (float32) accumulator, float64 (float32) value."""
    return (isinstance(acc, types.Array) and acc.ndim == 1 and acc.layout == "C"
            and acc.dtype in (types.float64, types.float32) and v == acc.dtype)


def _element(context, builder, acc_type, acc, k, k_type):
    """Pointer to ``acc[k]`` (acc: (n,) C float64 or float32), no wraparound."""
    array = context.make_array(acc_type)(context, builder, acc)
    return builder.gep(array.data, [context.cast(builder, k, k_type, types.int64)])


def _lane_row(context, builder, acc_type, acc, k, k_type):
    """Pointer to ``acc[k, :]`` as a vector pointer (acc: a block accumulator)."""
    array = context.make_array(acc_type)(context, builder, acc)
    k = context.cast(builder, k, k_type, types.int64)
    vec = _vector(acc_type)
    start = builder.mul(k, ir.Constant(_I64, vec.count))
    return builder.bitcast(builder.gep(array.data, [start]), vec.as_pointer())


def _splat(builder, value, vec=_VEC):
    first = ir.Constant(ir.IntType(32), 0)
    v = builder.insert_element(ir.Constant(vec, ir.Undefined), value, first)
    zeros = ir.Constant(ir.VectorType(ir.IntType(32), vec.count), [0] * vec.count)
    return builder.shuffle_vector(v, ir.Constant(vec, ir.Undefined), zeros)


@intrinsic
def lanes_from_rows(typingctx, X, start, nrow, j):
    """Lane r = float64(X[start + r, j]) for r < nrow, +0.0 for r >= nrow; for uint8
    X, ``BYTE_LANES`` lanes of float32(X[start + r, j]) (exact).

    X: 2-D float32/float64/uint8, any strides; 1 <= nrow <= lanes rows from
    ``start`` must exist. Lanes past nrow read row ``start + nrow - 1`` (always
    valid) and are then replaced by zero, so there is no branch per lane."""
    if not (isinstance(X, types.Array) and X.ndim == 2
            and X.dtype in (types.float32, types.float64, types.uint8)
            and all(isinstance(t, types.Integer) for t in (start, nrow, j))):
        return None
    byte_rows = X.dtype == types.uint8
    vec_type, width = (_VEC8, BYTE_LANES) if byte_rows else (_VEC, LANES)

    def codegen(context, builder, signature, args):
        x_type, start_type, nrow_type, j_type = signature.args
        array = context.make_array(x_type)(context, builder, args[0])
        start = context.cast(builder, args[1], start_type, types.int64)
        nrow = context.cast(builder, args[2], nrow_type, types.int64)
        j = context.cast(builder, args[3], j_type, types.int64)
        row_stride = builder.extract_value(array.strides, 0)
        col_stride = builder.extract_value(array.strides, 1)
        base = builder.ptrtoint(array.data, _I64)
        base = builder.add(base, builder.mul(j, col_stride))
        item = context.get_data_type(x_type.dtype)
        last = builder.sub(nrow, ir.Constant(_I64, 1))
        vec = ir.Constant(vec_type, ir.Undefined)
        for r in range(width):
            lane = ir.Constant(_I64, r)
            row = builder.add(start, builder.select(builder.icmp_signed("<", lane, nrow),
                                                     lane, last))
            address = builder.add(base, builder.mul(row, row_stride))
            value = builder.load(builder.inttoptr(address, item.as_pointer()), typ=item)
            if byte_rows:
                value = builder.uitofp(value, _F32)
            elif x_type.dtype == types.float32:
                value = builder.fpext(value, _F64)
            value = builder.select(builder.icmp_signed("<", lane, nrow), value,
                                   ir.Constant(vec_type.element, 0.0))
            vec = builder.insert_element(vec, value, ir.Constant(ir.IntType(32), r))
        return vec
    return (byte_lanes if byte_rows else lanes)(X, start, nrow, j), codegen


@intrinsic
def lanes_nonfinite(typingctx, v):
    """Bit r set (int64) where lane r is NaN or +-inf: ``v - v`` is 0 exactly for
    finite values and NaN otherwise (float32 lanes too: those of uint8 rows are
    always finite, those of float rows of float32 sums are tested as rounded)."""
    if not isinstance(v, (Lanes, ByteLanes)):
        return None

    def codegen(context, builder, signature, args):
        return _nonfinite_of(builder, [args[0]])
    return types.int64(v), codegen


def _nonfinite_of(builder, vectors):
    """Bit r (int64) set where lane r of any of the vectors (of one type) is NaN or
    +-inf: the sum of ``v - v`` over them is 0 exactly when all are finite."""
    check = builder.fsub(vectors[0], vectors[0])
    for v in vectors[1:]:
        check = builder.fadd(check, builder.fsub(v, v))
    zero = ir.Constant(check.type, [0.0] * check.type.count)
    finite = builder.fcmp_ordered("==", check, zero)
    bad = builder.bitcast(builder.not_(finite), ir.IntType(check.type.count))
    return builder.zext(bad, _I64)


def _update_row(context, builder, signature, args, combine):
    """acc[k, :] = combine(acc[k, :], value) for args (acc, k, ..., value), or
    acc[k] = combine(acc[k], value) for a one-row accumulator."""
    acc_type = signature.args[0]
    at, typ = ((_element, context.get_data_type(acc_type.dtype)) if acc_type.ndim == 1
               else (_lane_row, _vector(acc_type)))
    row = at(context, builder, signature.args[0], args[0], args[1], signature.args[1])
    align = _align(acc_type)
    builder.store(combine(builder.load(row, align=align, typ=typ), args[-1]), row, align=align)
    return context.get_dummy_value()


def _update_types(acc, k, v):
    """True for (float64 block accumulator, index, Lanes), (float32 block
    accumulator, index, ByteLanes) or (row accumulator, index, a value of its dtype)."""
    block = _accumulator(acc) and (isinstance(v, Lanes) and acc.dtype == types.float64
                                   or isinstance(v, ByteLanes) and acc.dtype == types.float32)
    return isinstance(k, types.Integer) and (block or _one_row(acc, v))


def _lanes_update(typingctx, acc, k, v, combine):
    if not _update_types(acc, k, v):
        return None

    def codegen(context, builder, signature, args):
        return _update_row(context, builder, signature, args,
                           lambda a, x: combine(builder, a, x))
    return types.void(acc, k, v), codegen


@intrinsic
def lanes_add_at(typingctx, acc, k, v):
    """acc[k, :] += v (one row: acc[k] += v)."""
    return _lanes_update(typingctx, acc, k, v, lambda builder, a, x: builder.fadd(a, x))


@intrinsic
def lanes_sub_at(typingctx, acc, k, v):
    """acc[k, :] -= v (one row: acc[k] -= v)."""
    return _lanes_update(typingctx, acc, k, v, lambda builder, a, x: builder.fsub(a, x))


@intrinsic
def lanes_axpy_at(typingctx, acc, k, s, v):
    """acc[k, :] += v * s (one row: acc[k] += v * s); s a float64 scalar; a product,
    then a sum: not fused. Float32 sums (byte lanes, a float32 row accumulator)
    multiply by float32(s): exact for the +-1 entries that are the only ones they
    meet."""
    if not (_update_types(acc, k, v) and isinstance(s, types.Float)):
        return None

    def codegen(context, builder, signature, args):
        acc_type = signature.args[0]
        s = context.cast(builder, args[2], signature.args[2], acc_type.dtype)
        if acc_type.ndim == 2:
            s = _splat(builder, s, _vector(acc_type))
        product = builder.fmul(args[3], s)
        return _update_row(context, builder, signature, args,
                           lambda a, x: builder.fadd(a, product))
    return types.void(acc, k, types.float64, v), codegen


@intrinsic
def lanes_positive(typingctx, acc, k):
    """Bit r set (int64) where acc[k, r] > 0 (strictly; NaN is not), r < the
    accumulator's width."""
    if not (_accumulator(acc) and isinstance(k, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        vec = _vector(signature.args[0])
        row = _lane_row(context, builder, signature.args[0], args[0], args[1],
                        signature.args[1])
        values = builder.load(row, align=_align(signature.args[0]), typ=vec)
        positive = builder.fcmp_ordered(">", values, ir.Constant(vec, [0.0] * vec.count))
        return builder.zext(builder.bitcast(positive, ir.IntType(vec.count)), _I64)
    return types.int64(acc, k), codegen


# -- blocks: their width and their accumulator, from the types (constants, no compile) --
@intrinsic
def block_lanes(typingctx, X):
    """Rows per block of dense X, a constant: ``BYTE_LANES`` for uint8 rows (float32
    lanes), ``LANES`` otherwise (float64 lanes)."""
    if not isinstance(X, types.Array):
        return None
    width = BYTE_LANES if X.dtype == types.uint8 else LANES
    return types.intp(X), lambda context, builder, signature, args: ir.Constant(_I64, width)


@intrinsic
def lanes_of(typingctx, acc):
    """The width of a block accumulator, a constant: ``LANES`` (float64) or
    ``BYTE_LANES`` (float32), both 8."""
    if not _accumulator(acc):
        return None
    width = LANES if acc.dtype == types.float64 else BYTE_LANES
    return types.intp(acc), lambda context, builder, signature, args: ir.Constant(_I64, width)


@intrinsic
def block_sums_of(typingctx, scratch, X, sums):
    """The accumulator for blocks of X summed in the dtype of ``sums`` (an array
    of the sums' dtype, ``pnet._hyperplanes.Hyperplanes.sums_template``) in
    ``scratch``, (n, LANES) float64 C: the scratch itself for float64 sums; for
    float32 sums (uint8 rows, or float32 rows of float32-sum hyperplanes) the
    first half of its bytes (the first 32 n of 64 n) as (n, BYTE_LANES) float32, C
    order. One allocation for both kinds of sums, and no function of its own to
    compile. uint8 rows take float32 sums whatever ``sums`` says (exact:
    ``pnet.kernels.projection``, "uint8 rows")."""
    if not (_accumulator(scratch) and scratch.dtype == types.float64
            and isinstance(X, types.Array) and isinstance(sums, types.Array)
            and sums.dtype in (types.float32, types.float64)):
        return None
    if X.dtype != types.uint8 and sums.dtype == types.float64:
        def same(context, builder, signature, args):
            return impl_ret_borrowed(context, builder, signature.return_type, args[0])
        return scratch(scratch, X, sums), same
    out_type = types.Array(types.float32, 2, "C")

    def codegen(context, builder, signature, args):
        src = context.make_array(signature.args[0])(context, builder, args[0])
        n = builder.extract_value(src.shape, 0)
        return _array_over(context, builder, src, src.data, out_type,
                           [n, ir.Constant(_I64, BYTE_LANES)])
    return out_type(scratch, X, sums), codegen


@intrinsic
def row_sums_of(typingctx, scratch, x):
    """The one-row accumulator for a row x in ``scratch`` (1-D C float64): the
    scratch itself, or for a float32 row its first half of bytes as float32 of the
    same length. One row is summed in the dtype of its values (float64 for float64
    and uint8 rows, float32 for float32 rows): its caller casts the row to the
    hyperplanes' sums first (``CompactProjectionNet._row_logits``)."""
    if not (isinstance(scratch, types.Array) and scratch.ndim == 1 and scratch.layout == "C"
            and scratch.dtype == types.float64 and isinstance(x, types.Array)):
        return None
    if x.dtype != types.float32:
        def same(context, builder, signature, args):
            return impl_ret_borrowed(context, builder, signature.return_type, args[0])
        return scratch(scratch, x), same
    out_type = types.Array(types.float32, 1, "C")

    def codegen(context, builder, signature, args):
        src = context.make_array(signature.args[0])(context, builder, args[0])
        return _array_over(context, builder, src, src.data, out_type,
                           [builder.extract_value(src.shape, 0)])
    return out_type(scratch, x), codegen


@intrinsic
def lanes_like(typingctx, v, acc):
    """v as the lanes ``acc`` adds: ``ByteLanes`` for a float32 accumulator (float64
    lanes rounded to float32: exact for the values of float32 rows, to nearest for
    float64 rows of float32 sums), ``Lanes`` for a float64 one."""
    if not (isinstance(v, (Lanes, ByteLanes)) and _accumulator(acc)):
        return None
    if (acc.dtype == types.float32) == isinstance(v, ByteLanes):
        def same(context, builder, signature, args):
            return args[0]
        return v(v, acc), same
    if not isinstance(v, Lanes):
        return None

    def codegen(context, builder, signature, args):
        return builder.fptrunc(args[0], _VEC8)
    return byte_lanes(v, acc), codegen


@intrinsic
def sum_value(typingctx, v, acc):
    """The number v in the dtype of the sums ``acc`` (an array): float64(v) or
    float32(v); a value of a float32 row is exact either way."""
    if not (isinstance(v, (types.Float, types.Integer)) and isinstance(acc, types.Array)
            and acc.dtype in (types.float32, types.float64)):
        return None

    def codegen(context, builder, signature, args):
        return context.cast(builder, args[0], signature.args[0], acc.dtype)
    return acc.dtype(v, acc), codegen


def _array_over(context, builder, src, data, out_type, dims):
    """A C array of ``out_type`` and shape ``dims`` at ``data``, inside the memory of
    the array ``src`` (which it keeps alive): a borrowed view, no copy, no checks."""
    item = context.get_abi_sizeof(context.get_data_type(out_type.dtype))
    strides, step = [], ir.Constant(_I64, item)
    for d in reversed(dims):
        strides.insert(0, step)
        step = builder.mul(step, d)
    dst = context.make_array(out_type)(context, builder)
    populate_array(dst, data=builder.bitcast(data, context.get_data_type(
                       out_type.dtype).as_pointer()),
                   shape=dims, strides=strides, itemsize=ir.Constant(_I64, item),
                   meminfo=src.meminfo, parent=src.parent)
    return impl_ret_borrowed(context, builder, out_type, dst._getvalue())


def _word_section(buf, i, dtype, ndim):
    """Typing and codegen of ``word_vector`` / ``word_matrix``: section i of a
    ``pnet.kernels.compact.pack_words`` array, a C array of ``dtype`` sharing its
    memory. The header (3 int64 a section: its start in words, n0, n1) is read with
    plain loads, no bounds or wraparound checks: the writer made them fit (numba's
    ``view`` and ``reshape`` check at run time, and their error paths cost ~0.7 s of
    compile in a row kernel). An intrinsic, not an inlined jit function: numba
    inlines a jit function by typing it again at each call site, ~15 of them a row
    kernel."""
    if not (isinstance(buf, types.Array) and buf.ndim == 1 and buf.layout == "C"
            and buf.dtype == types.int64 and isinstance(i, types.Integer)
            and isinstance(dtype, types.NumberClass)):
        return None
    out_type = types.Array(dtype.instance_type, ndim, "C")

    def codegen(context, builder, signature, args):
        src = context.make_array(signature.args[0])(context, builder, args[0])
        at = builder.mul(context.cast(builder, args[1], signature.args[1], types.int64),
                         ir.Constant(_I64, 3))
        head = [builder.load(builder.gep(src.data, [builder.add(at, ir.Constant(_I64, k))]))
                for k in range(1 + ndim)]
        return _array_over(context, builder, src, builder.gep(src.data, [head[0]]), out_type,
                           head[1:])
    return out_type(buf, i, dtype), codegen


@intrinsic
def word_vector(typingctx, buf, i, dtype):
    """Section i of a ``pack_words`` array (``pnet.kernels.compact``), 1-D, of dtype."""
    return _word_section(buf, i, dtype, 1)


@intrinsic
def word_matrix(typingctx, buf, i, dtype):
    """Section i of a ``pack_words`` array (``pnet.kernels.compact``), 2-D, of dtype."""
    return _word_section(buf, i, dtype, 2)
