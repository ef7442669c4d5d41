"""The lane table: a block's rows as columns, which the by-bit sums read.

``pnet.kernels.projection.group_bits`` writes a block's values feature by feature
into a table (n_features + 1, 8), one lane row per feature (``lane_table``: float64
for float64 rows, float32 for float32 and uint8 rows, their values exactly;
``tile_to_table`` moves 8 features of 8 rows at a time, transposed in registers),
then sums each bit's features in registers (``sums_zero``, ``lanes_add_entry``:
float rows in float64 whatever their table) and keeps each sum's mask
``> 0`` (``lanes_positive_of``, ``set_byte``, ``set_masks``). A block of uint8 rows
has 16 rows in two tables of 8 (``block_halves``): an entry's feature and sign are
loaded once for both.

The lanes themselves (``Lanes``, ``ByteLanes``) and the helpers that address an
accumulator's rows are ``pnet.kernels.lanes``'; the same rules hold here: IEEE
arithmetic lane by lane, C-layout tables, indices not checked.
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .lanes import (BYTE_LANES, LANES, _I64, _VEC, _VEC8, ByteLanes, Lanes,
                    _accumulator, _align, _array_over, _lane_row, _splat, _update_types,
                    _vector, byte_lanes, lanes)

#: lane tables of a block of uint8 rows by bit: its rows in two halves of 8
#: (``lane_table``, ``block_halves``)
HALVES = 2


@intrinsic
def block_halves(typingctx, X):
    """Lane tables a block of dense X fills by bit, a constant: ``HALVES`` (2, 16
    rows) for uint8 rows, whose float32 tables are 32 bytes a feature, and 1 (8
    rows) for float rows, summed in float64: two float64 tables (2 x 50 KB at 784
    features) outgrow L1, and 16 rows took 1.05-1.08x the time of 8
    (bench/RESULTS.md, "The layers' own loops, and 16 uint8 rows a block"); 16
    float32 rows from two float32 tables were no faster than 8 (each lane row is
    widened to float64 before its add: twice the conversions for the same adds)."""
    if not isinstance(X, types.Array):
        return None
    halves = _halves(X)
    return types.intp(X), lambda context, builder, signature, args: ir.Constant(_I64, halves)


def _table_dtype(X_type):
    """The lane table's dtype for rows of X_type: float32 for uint8 and float32 rows
    (their values exactly), float64 for float64 rows. A float32 row's table is half
    the bytes of a float64 one (25 against 50 KB at 784 features: it fits L1 with
    room to spare) and its rows are widened to float64 as they are read
    (``lanes_add_entry``), which is exact: the same sums, half the first-level cache
    misses (bench/RESULTS.md, "Float32 rows: a float32 lane table")."""
    return types.float32 if X_type.dtype in (types.uint8, types.float32) else types.float64


def _halves(X_type):
    """``block_halves`` of an array type: 2 for uint8 rows, 1 otherwise."""
    return HALVES if X_type.dtype == types.uint8 else 1



_SHUFFLE = ir.VectorType(ir.IntType(32), 8)


@intrinsic
def lane_table(typingctx, buf, n, X):
    """``block_halves(X)`` C tables (n, 8) of lanes for blocks of X, as one (halves,
    n, 8) array in ``buf`` (1-D C float64 of at least 8 halves n + 8 elements),
    starting at buf's first 64-byte aligned address so that no row straddles two
    cache lines: one float64 table for float64 rows, one float32 table for float32
    rows (``_table_dtype``), two float32 tables for uint8 rows. A borrowed view, no
    copy, no checks."""
    if not (isinstance(buf, types.Array) and buf.ndim == 1 and buf.layout == "C"
            and buf.dtype == types.float64 and isinstance(n, types.Integer)
            and isinstance(X, types.Array)):
        return None
    byte_rows = X.dtype == types.uint8
    out_type = types.Array(_table_dtype(X), 3, "C")

    def codegen(context, builder, signature, args):
        src = context.make_array(signature.args[0])(context, builder, args[0])
        address = builder.ptrtoint(src.data, _I64)
        address = builder.and_(builder.add(address, ir.Constant(_I64, 63)),
                               ir.Constant(_I64, ~63))
        data = builder.inttoptr(address, src.data.type)
        n = context.cast(builder, args[1], signature.args[1], types.int64)
        width = BYTE_LANES if byte_rows else LANES
        return _array_over(context, builder, src, data, out_type,
                           [ir.Constant(_I64, _halves(X)), n, ir.Constant(_I64, width)])
    return out_type(buf, n, X), codegen


@intrinsic
def lanes_load(typingctx, table, k):
    """The lanes of ``table[k, :]`` (a block accumulator or lane table)."""
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
def sums_zero(typingctx, X):
    """+0.0 in every lane of the by-bit sums of rows of X: ``ByteLanes`` for uint8
    rows, ``Lanes`` (float64) otherwise."""
    if not isinstance(X, types.Array):
        return None
    kind = byte_lanes if X.dtype == types.uint8 else lanes

    def codegen(context, builder, signature, args):
        vec = _VEC8 if X.dtype == types.uint8 else _VEC
        return ir.Constant(vec, [0.0] * vec.count)
    return kind(X), codegen


@intrinsic
def lanes_set_at(typingctx, table, k, v):
    """table[k, :] = v. Float64 lanes into a float32 table are rounded to float32:
    the caller promises they hold float32 values (exact then; ``block_to_table``
    writes a float32 table only for float32 rows, whose ``lanes_from_rows`` are
    such values), never float64 sums."""
    narrow = (_accumulator(table) and table.dtype == types.float32 and isinstance(v, Lanes)
              and isinstance(k, types.Integer))
    if not (narrow or _update_types(table, k, v) and _accumulator(table)):
        return None

    def codegen(context, builder, signature, args):
        row = _lane_row(context, builder, signature.args[0], args[0], args[1],
                        signature.args[1])
        value = builder.fptrunc(args[2], _VEC8) if narrow else args[2]
        builder.store(value, row, align=_align(signature.args[0]))
        return context.get_dummy_value()
    return types.void(table, k, v), codegen


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
    vec = _VEC if isinstance(acc_type, Lanes) else _VEC8
    s = context.cast(builder, s, s_type, types.float64 if vec is _VEC else types.float32)
    name = f"llvm.fmuladd.v{vec.count}f{64 if vec is _VEC else 32}"
    fmuladd = cgutils.get_or_insert_function(builder.module,
                                             ir.FunctionType(vec, [vec, vec, vec]), name)
    return builder.call(fmuladd, [v, _splat(builder, s, vec), acc])


@intrinsic
def lanes_add_entry(typingctx, a, b, t0, t1, k, s):
    """(a + s t0[k, :], b + s t1[k, :]): one hyperplane entry (feature k, sign s = +-1,
    ``lanes_add_signed``) for both halves of a by-bit block, the two tables of
    ``lane_table``. Two halves only for byte lanes (uint8 rows, ``block_halves``):
    for float64 sums b is returned as it is and t1 not read. float64 sums from a
    float32 table (float32 rows) widen the row first (``fpext``, exact; with AVX-512
    one ``vcvtps2pd`` from memory). One intrinsic rather
    than a jit function returning a pair: numba types and lowers it as one call, where
    16 inlined pairs a group took the by-bit kernel's first compile from ~0.9 to ~2 s."""
    if not (isinstance(a, (Lanes, ByteLanes)) and b == a and _accumulator(t0) and t1 == t0
            and isinstance(k, types.Integer) and isinstance(s, types.Float)
            and (t0.dtype == types.float32 or isinstance(a, Lanes))):
        return None
    pair = types.UniTuple(a, 2)

    def codegen(context, builder, signature, args):
        acc_type, _, table_type, _, k_type, s_type = signature.args
        a, b, t0, t1, k, s = args
        row = _load_row(context, builder, table_type, t0, k, k_type)
        if isinstance(acc_type, Lanes) and table_type.dtype == types.float32:
            row = builder.fpext(row, _VEC)
        a = _add_signed(context, builder, acc_type, a, row, s, s_type)
        if isinstance(acc_type, ByteLanes):
            b = _add_signed(context, builder, acc_type, b,
                            _load_row(context, builder, table_type, t1, k, k_type), s, s_type)
        return context.make_tuple(builder, signature.return_type, [a, b])
    return pair(a, b, t0, t1, k, s), codegen


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
def tile_to_table(typingctx, X, start, j, table):
    """table[j + c, r] = X[start + r, j + c] for r, c < 8 (in the table's dtype,
    ``_table_dtype``: exact), read as 8 vector loads of 8 consecutive values and transposed in
    registers. Returns the bit mask of the rows with a NaN or +-inf among the 64
    values (0 for uint8 X). X: rows of contiguous values (unit column stride); the
    8 rows from ``start`` and the 8 columns from ``j`` must exist."""
    if not (isinstance(X, types.Array) and X.ndim == 2
            and X.dtype in (types.float32, types.float64, types.uint8)
            and isinstance(start, types.Integer) and isinstance(j, types.Integer)
            and _accumulator(table)
            and table.dtype == _table_dtype(X)):
        return None

    def codegen(context, builder, signature, args):
        x_type, start_type, j_type, table_type = signature.args
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
        bad = ir.Constant(_I64, 0)
        if x_type.dtype != types.uint8:  # lane r: sum of v - v, 0 if row r is finite
            check = builder.fsub(columns[0], columns[0])
            for v in columns[1:]:
                check = builder.fadd(check, builder.fsub(v, v))
            finite = builder.fcmp_ordered("==", check, ir.Constant(source, [0.0] * 8))
            bad = builder.zext(builder.bitcast(builder.not_(finite), ir.IntType(8)), _I64)
        for c, column in enumerate(columns):
            if x_type.dtype == types.float32 and table_type.dtype == types.float64:
                column = builder.fpext(column, _VEC)
            row = _lane_row(context, builder, table_type, args[3],
                            builder.add(j, ir.Constant(_I64, c)), types.int64)
            builder.store(column, row, align=_align(table_type))
        return bad
    return types.int64(X, start, j, table), codegen


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
def set_masks(typingctx, m0, m1, i, a, b):
    """Byte i of m0 = ``lanes_positive_of(a)``, and of m1 = that of b when a and b
    are byte lanes (the two halves of a block of uint8 rows, ``lanes_add_entry``)."""
    if not (isinstance(m0, types.Array) and m0.ndim == 1 and m0.layout == "C"
            and m0.dtype == types.uint64 and m1 == m0 and isinstance(i, types.Integer)
            and isinstance(a, (Lanes, ByteLanes)) and b == a):
        return None

    def codegen(context, builder, signature, args):
        words_type, _, i_type, v_type, _ = signature.args
        m0, m1, i, a, b = args
        _store_byte(context, builder, words_type, m0, i, i_type, _positive_of(builder, v_type, a))
        if isinstance(v_type, ByteLanes):
            _store_byte(context, builder, words_type, m1, i, i_type,
                        _positive_of(builder, v_type, b))
        return context.get_dummy_value()
    return types.void(m0, m1, i, a, b), codegen
