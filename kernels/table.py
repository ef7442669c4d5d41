"""The lane table: a block's rows as columns, which the by-bit sums read.

``pnet.kernels.projection.group_bits`` writes a block's values feature by feature
into a table (n_features + 1, 8), one lane row per feature, or (n_features + 1, 2, 8)
for the 16 rows of a uint8 block (``lane_table``: float64 for float64 rows, float32
for float32 and uint8 rows, their values exactly;
``tile_to_table`` moves 8 features of 8 rows at a time, transposed in registers),
then sums each bit's features in registers (``sums_zero``, ``lanes_add_entry``:
float rows in float64 whatever their table) and keeps each sum's mask
``> 0`` (``set_masks``). A block of uint8 rows
has 16 rows (``block_halves``: two halves of 8) in a table (n_features + 1, 2, 8):
row j is feature j of the 16 rows, 64 bytes, summed as one vector (``WideLanes``).

The lanes themselves (``Lanes``, ``ByteLanes``) and the helpers that address an
accumulator's rows are ``pnet.kernels.lanes``'; the same rules hold here: IEEE
arithmetic lane by lane, C-layout tables, indices not checked.
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

from .lanes import (BYTE_LANES, LANES, _F32, _I64, _VEC, _VEC8, ByteLanes, Lanes,
                    _accumulator, _align, _array_over, _lane_row, _nonfinite_of, _splat,
                    _update_types, _vector, byte_lanes, lanes)

#: halves of a block of uint8 rows by bit: 16 rows, two of 8 (``lane_table``,
#: ``block_halves``)
HALVES = 2
#: float32 lanes of a uint8 block's by-bit sums: both halves in one vector
WIDE_LANES = HALVES * BYTE_LANES
_VEC16 = ir.VectorType(_F32, WIDE_LANES)


class WideLanes(types.Type):
    """``WIDE_LANES`` (16) float32 values, one per row of a by-bit block of uint8 rows
    (an LLVM ``<16 x float>``: one zmm register with AVX-512, two ymm with AVX2)."""

    def __init__(self):
        super().__init__(name=f"WideLanes{WIDE_LANES}xf32")


wide_lanes = WideLanes()


@register_model(WideLanes)
class _WideLanesModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VEC16)


def _wide_table(t):
    """A uint8 block's lane table: (n, HALVES, 8) C float32."""
    return (isinstance(t, types.Array) and t.ndim == 3 and t.layout == "C"
            and t.dtype == types.float32)


def _table(t):
    """A lane table: (n, 8) float64 or float32, or a uint8 block's (n, 2, 8)."""
    return _accumulator(t) or _wide_table(t)


def _table_row(context, builder, table_type, table, k, k_type, h=None):
    """Pointer to the 8 lanes of ``table[k]`` (half h of a wide table's row k; its
    whole row of 16 lanes when h is None) as a vector pointer."""
    array = context.make_array(table_type)(context, builder, table)
    k = context.cast(builder, k, k_type, types.int64)
    wide = _wide_table(table_type)
    start = builder.mul(k, ir.Constant(_I64, WIDE_LANES if wide else LANES))
    if wide and h is not None:
        start = builder.add(start, builder.mul(h, ir.Constant(_I64, BYTE_LANES)))
    vec = _VEC16 if wide and h is None else _vector(table_type)
    return builder.bitcast(builder.gep(array.data, [start]), vec.as_pointer())


@intrinsic
def block_halves(typingctx, table):
    """Halves of 8 rows in a block by bit, a constant from its ``lane_table``:
    ``HALVES`` (2, 16 rows) for a table of 16 float32 lanes a feature, the rows
    whose sums are float32 (uint8 rows; float32 rows of float32-sum hyperplanes),
    and 1 (8 rows) for float64 sums: 16 float64 lanes (2 x 50 KB at
    784 features) outgrow L1, and 16 rows took 1.05-1.08x the time of 8
    (bench/RESULTS.md, "The layers' own loops, and 16 uint8 rows a block"); 16
    float32 rows from float32 tables were no faster than 8 (each lane row is
    widened to float64 before its add: twice the conversions for the same adds)."""
    if not _table(table):
        return None
    halves = HALVES if _wide_table(table) else 1
    return types.intp(table), lambda context, builder, signature, args: ir.Constant(_I64, halves)


def _table_dtype(X_type):
    """The dtype of an 8-lane table for float rows of X_type (float64 sums): float32
    for float32 rows (their values exactly), float64 for float64 rows. A float32 row's table is half
    the bytes of a float64 one (25 against 50 KB at 784 features: it fits L1 with
    room to spare) and its rows are widened to float64 as they are read
    (``lanes_add_entry``), which is exact: the same sums, half the first-level cache
    misses (bench/RESULTS.md, "Float32 rows: a float32 lane table")."""
    return types.float32 if X_type.dtype == types.float32 else types.float64


def _wide_rows(X_type, signs_type):
    """True if blocks of rows of X_type summed in the dtype of signs_type (the bit
    groups' signs, ``Hyperplanes.groups_for``) go 16 rows a block in a wide table:
    float32 sums (of uint8 rows, exact; of float32 rows; of float64 rows rounded to
    float32 as the table takes them); None for a pair no kernel takes (uint8 rows
    with float64 signs)."""
    if not (isinstance(X_type, types.Array) and isinstance(signs_type, types.Array)):
        return None
    if signs_type.dtype == types.float32:
        return True if X_type.dtype in (types.uint8, types.float32, types.float64) else None
    if signs_type.dtype == types.float64:
        return False if X_type.dtype in (types.float32, types.float64) else None
    return None


_SHUFFLE = ir.VectorType(ir.IntType(32), 8)


@intrinsic
def lane_table(typingctx, buf, n, X, signs):
    """The lane table of blocks of X summed in the dtype of ``signs`` (the bit
    groups' signs: the sums' dtype), n rows, in ``buf`` (1-D C float64 of at least
    8 halves n + 8 elements), starting at buf's first 64-byte aligned address so
    that no row straddles two cache lines: for float64 sums (n, 8) float64 for
    float64 rows, (n, 8) float32 for float32 rows (``_table_dtype``); for float32
    sums (uint8 rows, or float rows of float32-sum hyperplanes: ``_wide_rows``)
    (n, HALVES, 8) float32, row j holding feature j of the block's first 8 rows,
    then of its next 8: one 64-byte vector of 16 lanes (``WideLanes``). A borrowed
    view, no copy, no checks."""
    wide = _wide_rows(X, signs)
    if not (isinstance(buf, types.Array) and buf.ndim == 1 and buf.layout == "C"
            and buf.dtype == types.float64 and isinstance(n, types.Integer)
            and wide is not None):
        return None
    out_type = types.Array(types.float32 if wide else _table_dtype(X), 3 if wide else 2, "C")

    def codegen(context, builder, signature, args):
        src = context.make_array(signature.args[0])(context, builder, args[0])
        address = builder.ptrtoint(src.data, _I64)
        address = builder.and_(builder.add(address, ir.Constant(_I64, 63)),
                               ir.Constant(_I64, ~63))
        data = builder.inttoptr(address, src.data.type)
        n = context.cast(builder, args[1], signature.args[1], types.int64)
        shape = [n, ir.Constant(_I64, HALVES), ir.Constant(_I64, BYTE_LANES)] if wide \
            else [n, ir.Constant(_I64, LANES)]
        return _array_over(context, builder, src, data, out_type, shape)
    return out_type(buf, n, X, signs), codegen


@intrinsic
def lanes_load(typingctx, table, k):
    """The lanes of ``table[k, :]`` (a block accumulator; the tests use it, the
    by-bit kernels ``lanes_add_entry``)."""
    if not (_accumulator(table) and isinstance(k, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        return _load_row(context, builder, signature.args[0], args[0], args[1],
                         signature.args[1])
    kind = lanes if table.dtype == types.float64 else byte_lanes
    return kind(table, k), codegen


def _load_row(context, builder, table_type, table, k, k_type):
    """The vector ``table[k, :]``."""
    row = _lane_row(context, builder, table_type, table, k, k_type)
    return builder.load(row, align=_align(table_type), typ=_vector(table_type))


@intrinsic
def sums_zero(typingctx, table):
    """+0.0 in every lane of the by-bit sums of a block in ``table`` (its
    ``lane_table``): ``WideLanes`` (float32, 16 rows) from a wide table, ``Lanes``
    (float64) otherwise."""
    if not _table(table):
        return None
    wide = _wide_table(table)

    def codegen(context, builder, signature, args):
        vec = _VEC16 if wide else _VEC
        return ir.Constant(vec, [0.0] * vec.count)
    return (wide_lanes if wide else lanes)(table), codegen


@intrinsic
def lanes_set_at(typingctx, table, k, v):
    """table[k, :] = v (a block accumulator; the tests use it, the kernels
    ``table_set``)."""
    if not _update_types(table, k, v) or not _accumulator(table):
        return None

    def codegen(context, builder, signature, args):
        row = _lane_row(context, builder, signature.args[0], args[0], args[1],
                        signature.args[1])
        builder.store(args[2], row, align=_align(signature.args[0]))
        return context.get_dummy_value()
    return types.void(table, k, v), codegen


@intrinsic
def table_set(typingctx, table, k, h, v):
    """The 8 lanes of feature k in a lane table (half h of a wide table's; h is 0
    otherwise) = v: ``Lanes`` into a float64 table, or into a float32 one (8 lanes
    or a half of 16) rounded to float32 (exact for float32 rows; float64 rows of
    float32 sums are rounded here, to nearest); ``ByteLanes`` into half h of a wide
    table. Returns the bit mask (int64) of the lanes that are NaN or +-inf as
    stored: a float64 value beyond float32's range is +-inf once rounded."""
    if not (_table(table) and isinstance(k, types.Integer) and isinstance(h, types.Integer)
            and (isinstance(v, (ByteLanes, Lanes)) if _wide_table(table)
                 else isinstance(v, Lanes))):
        return None

    def codegen(context, builder, signature, args):
        table_type, k_type, h_type, _ = signature.args
        h = context.cast(builder, args[2], h_type, types.int64)
        row = _table_row(context, builder, table_type, args[0], args[1], k_type, h)
        value = args[3]
        if table_type.dtype == types.float32 and isinstance(signature.args[3], Lanes):
            value = builder.fptrunc(value, _VEC8)
        builder.store(value, row, align=_align(table_type))
        if isinstance(signature.args[3], ByteLanes):  # uint8 values: always finite
            return ir.Constant(_I64, 0)
        return _nonfinite_of(builder, [value])
    return types.int64(table, k, h, v), codegen


@intrinsic
def lanes_add_signed(typingctx, acc, v, s):
    """acc + v * s, lane by lane, for a sign s = +1.0 or -1.0 (a float64 scalar; float32
    for byte lanes). The product is then exact (a sign flip), so the sum is rounded
    once whether or not the multiply and the add are fused: ``llvm.fmuladd`` lets LLVM
    use one FMA instruction where the CPU has one (the by-bit sums' loop, measured:
    bench/RESULTS.md, "By bit") and a product then a sum where it has not, with the
    same result. For any other s the result would depend on the CPU: callers pass
    +-1 only (the hyperplanes' sparse_sign, ternary and local entries)."""
    if not (isinstance(acc, (Lanes, ByteLanes)) and v == acc and isinstance(s, types.Float)):
        return None

    def codegen(context, builder, signature, args):
        return _add_signed(context, builder, signature.args[0], args[0], args[1], args[2],
                           signature.args[2])
    return acc(acc, v, types.float64), codegen


def _add_signed(context, builder, acc_type, acc, v, s, s_type):
    """``lanes_add_signed``'s acc + v * s (``llvm.fmuladd``; s a +-1 scalar)."""
    vec = {Lanes: _VEC, ByteLanes: _VEC8, WideLanes: _VEC16}[type(acc_type)]
    s = context.cast(builder, s, s_type, types.float64 if vec is _VEC else types.float32)
    name = f"llvm.fmuladd.v{vec.count}f{64 if vec is _VEC else 32}"
    fmuladd = cgutils.get_or_insert_function(builder.module,
                                             ir.FunctionType(vec, [vec, vec, vec]), name)
    return builder.call(fmuladd, [v, _splat(builder, s, vec), acc])


@intrinsic
def lanes_add_entry(typingctx, a, table, k, s):
    """a + s table[k]: one hyperplane entry (feature k, sign s = +-1,
    ``lanes_add_signed``) for every row of a by-bit block, from its ``lane_table``:
    ``Lanes`` from a float64 table, or from a float32 one widened first (``fpext``,
    exact; with AVX-512 one ``vcvtps2pd`` from memory); ``WideLanes`` from a uint8
    block's table, both halves in one load and one add. An intrinsic rather than a
    jit function: numba types and lowers it as one call (inlined jit helpers took the
    by-bit kernel's first compile from ~0.9 to ~2 s)."""
    if not (isinstance(k, types.Integer) and isinstance(s, types.Float)
            and (isinstance(a, WideLanes) and _wide_table(table)
                 or isinstance(a, Lanes) and _accumulator(table))):
        return None

    def codegen(context, builder, signature, args):
        acc_type, table_type, k_type, s_type = signature.args
        acc, table, k, s = args
        pointer = _table_row(context, builder, table_type, table, k, k_type)
        row = builder.load(pointer, align=_align(table_type), typ=pointer.type.pointee)
        if isinstance(acc_type, Lanes) and table_type.dtype == types.float32:
            row = builder.fpext(row, _VEC)
        return _add_signed(context, builder, acc_type, acc, row, s, s_type)
    return a(a, table, k, s), codegen


def _transpose8(builder, rows):
    """The 8 columns of 8 vectors of 8 elements (3 rounds of 8 two-source shuffles)."""
    def shuffle(a, b, idx):
        return builder.shuffle_vector(a, b, ir.Constant(_SHUFFLE, idx))
    pairs = [0, 8, 1, 9, 4, 12, 5, 13], [2, 10, 3, 11, 6, 14, 7, 15]
    t = [shuffle(rows[i], rows[i + 1], p) for i in range(0, 8, 2) for p in pairs]
    quads = [0, 1, 8, 9, 4, 5, 12, 13], [2, 3, 10, 11, 6, 7, 14, 15]
    u = [shuffle(t[i + h], t[i + h + 2], q) for i in (0, 4) for h in (0, 1) for q in quads]
    halves = [0, 1, 2, 3, 8, 9, 10, 11], [4, 5, 6, 7, 12, 13, 14, 15]
    return [shuffle(u[c % 4], u[c % 4 + 4], halves[c // 4]) for c in range(8)]


@intrinsic
def tile_to_table(typingctx, X, start, j, table, h):
    """table[j + c, r] = X[start + r, j + c] for r, c < 8 (in half h of a wide
    table, ``table[j + c, h, r]``; h is 0 otherwise), in the table's dtype (exact,
    ``_table_dtype``; float64 rows into a wide float32 table rounded to nearest),
    read as 8 vector loads of 8 consecutive values and transposed in registers.
    Returns the bit mask of the rows with a NaN or +-inf among the 64 values as
    stored (0 for uint8 X). X: rows of contiguous values (unit column stride); the
    8 rows from ``start`` and the 8 columns from ``j`` must exist."""
    if not (isinstance(X, types.Array) and X.ndim == 2
            and X.dtype in (types.float32, types.float64, types.uint8)
            and isinstance(start, types.Integer) and isinstance(j, types.Integer)
            and isinstance(h, types.Integer)
            and (_wide_table(table) or X.dtype != types.uint8 and _accumulator(table)
                 and table.dtype == _table_dtype(X))):
        return None

    def codegen(context, builder, signature, args):
        x_type, start_type, j_type, table_type, h_type = signature.args
        h = context.cast(builder, args[4], h_type, types.int64)
        array = context.make_array(x_type)(context, builder, args[0])
        start = context.cast(builder, args[1], start_type, types.int64)
        j = context.cast(builder, args[2], j_type, types.int64)
        item = context.get_data_type(x_type.dtype)
        size = context.get_abi_sizeof(item)
        row_stride = builder.extract_value(array.strides, 0)
        base = builder.add(builder.ptrtoint(array.data, _I64),
                           builder.mul(j, ir.Constant(_I64, size)))
        source = ir.VectorType(item, 8)
        rows = []
        for r in range(8):
            row = builder.add(start, ir.Constant(_I64, r))
            address = builder.add(base, builder.mul(row, row_stride))
            v = builder.load(builder.inttoptr(address, source.as_pointer()), align=size,
                             typ=source)
            rows.append(builder.uitofp(v, _VEC8) if x_type.dtype == types.uint8 else v)
        columns = _transpose8(builder, rows)  # lane r of column c: X[start + r, j + c]
        if x_type.dtype == types.float64 and table_type.dtype == types.float32:
            columns = [builder.fptrunc(v, _VEC8) for v in columns]  # rounded, as stored
        bad = ir.Constant(_I64, 0)
        if x_type.dtype != types.uint8:  # lane r: NaN or +-inf in row r, as stored
            bad = _nonfinite_of(builder, columns)
        for c, column in enumerate(columns):
            row = _table_row(context, builder, table_type, args[3],
                             builder.add(j, ir.Constant(_I64, c)), types.int64, h)
            builder.store(column, row, align=_align(table_type))
        return bad
    return types.int64(X, start, j, table, h), codegen


@intrinsic
def lanes_positive_of(typingctx, v):
    """Bit r set (int64) where lane r of v is > 0 (strictly; NaN is not)."""
    if not isinstance(v, (Lanes, ByteLanes)):
        return None

    def codegen(context, builder, signature, args):
        return _positive_of(builder, signature.args[0], args[0])
    return types.int64(v), codegen


def _positive_of(builder, v_type, v):
    vec = _VEC if isinstance(v_type, Lanes) else _VEC8
    positive = builder.fcmp_ordered(">", v, ir.Constant(vec, [0.0] * vec.count))
    return builder.zext(builder.bitcast(positive, ir.IntType(vec.count)), _I64)


@intrinsic
def set_byte(typingctx, words, i, value):
    """Byte i (little-endian order) of the 1-D C uint64 array ``words`` = value's
    low byte: 8 masks of 8 bits packed in one word, written one at a time."""
    if not (isinstance(words, types.Array) and words.ndim == 1 and words.layout == "C"
            and words.dtype == types.uint64 and isinstance(i, types.Integer)
            and isinstance(value, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        _store_byte(context, builder, signature.args[0], args[0], args[1], signature.args[1],
                    args[2])
        return context.get_dummy_value()
    return types.void(words, i, value), codegen


def _store_byte(context, builder, words_type, words, i, i_type, value):
    array = context.make_array(words_type)(context, builder, words)
    data = builder.bitcast(array.data, ir.IntType(8).as_pointer())
    i = context.cast(builder, i, i_type, types.int64)
    builder.store(builder.trunc(value, ir.IntType(8)), builder.gep(data, [i]))


@intrinsic
def set_masks(typingctx, m0, m1, i, a):
    """Byte i of m0 = ``lanes_positive_of(a)``: its 8 bits, one per row; for the 16
    lanes of a uint8 block (``WideLanes``), byte i of m0 = the first half's 8 bits
    and byte i of m1 = the second half's."""
    if not (isinstance(m0, types.Array) and m0.ndim == 1 and m0.layout == "C"
            and m0.dtype == types.uint64 and m1 == m0 and isinstance(i, types.Integer)
            and isinstance(a, (Lanes, WideLanes))):
        return None

    def codegen(context, builder, signature, args):
        words_type, _, i_type, v_type = signature.args
        m0, m1, i, a = args
        if isinstance(v_type, WideLanes):  # each half's 8 lanes compared on their own
            for words, half in ((m0, 0), (m1, 1)):
                lanes8 = builder.shuffle_vector(
                    a, ir.Constant(_VEC16, ir.Undefined),
                    ir.Constant(_SHUFFLE, list(range(8 * half, 8 * half + 8))))
                _store_byte(context, builder, words_type, words, i, i_type,
                            _positive_of(builder, byte_lanes, lanes8))
        else:
            _store_byte(context, builder, words_type, m0, i, i_type,
                        _positive_of(builder, v_type, a))
        return context.get_dummy_value()
    return types.void(m0, m1, i, a), codegen
