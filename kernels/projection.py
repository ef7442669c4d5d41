"""Inputs to packed projection bits: ``bit k = 1 if <x, r_k> > 0 else 0``.

The projection sum ``acc[k] = <x, r_k>`` is written once per way of reading the
hyperplane entries:

``group_bits``   dense rows, a block of ``LANES`` (8) rows (16 uint8 rows) at a
                 time, bit by bit: +-1 entries (sparse_sign, ternary, local) as
                 groups of 8 bits (``Hyperplanes.groups_for``,
                 ``pnet._hyperplanes.bit_groups``)
``feature_sums`` dense rows, a block at a time, feature by feature, from the dense
                 cache: gaussian hyperplanes (every bit has every feature), and
                 batches too sparse for the by-bit loop (``Hyperplanes.by_bit``)
``row_sums``     one dense row, feature by feature, from the dense cache (the
                 single-row kernels)
``hashed_sums``  one CSR row, entries hashed on the fly for its non-zero features
                 (CSR rows, and any model too wide to cache)

Every one adds, for each bit, ``x_j * r_jk`` in ascending feature order j, in the
hyperplanes' sums dtype (float64, or float32: ``Hyperplanes``' ``sums``, each value
first rounded to float32) from +0.0, a product and then a sum (never fused): the same operations in the same
order, so the same sums and the same bits, whichever reads a row (``group_bits`` may
fuse a product by +-1 and its sum into one FMA: the product is exact, so that is the
same operation; ``pnet.kernels.table.lanes_add_signed``). They differ in
which terms they skip. ``row_sums`` and ``hashed_sums`` skip a row's zeros;
``feature_sums`` skips the features that are zero in every row of its block and adds
``+-0.0`` for a row that is zero where another is not; ``group_bits`` skips nothing
and adds ``+-0.0`` for every zero and for the padding of its groups. Adding ``+-0.0``
cannot change a sum: ``a + 0 = a`` for every a except -0.0, and a sum that starts at
+0.0 is never -0.0 in round to nearest (``+0 + -0 = +0``, ``a + -a = +0``). A ternary
entry is +-1, so ``acc += x``, ``acc -= x`` and ``acc += e * x`` are the same
operation. A row's bits therefore depend on nothing but the row: not the other rows
of its block, not the batch, not the thread count, and dense and CSR inputs of the
same data give the same bits.

**By bit** (``group_bits``; ``dense_rows``): the block's 8 rows go feature by feature
into a table (n_features + 1, 8), one lane row per feature (16 uint8 rows: (n_features
+ 1, 2, 8), both halves of 8 in one 64-byte row; ``block_to_table``: 8 x 8 tiles
transposed in registers, ``pnet.kernels.table.tile_to_table``), then each group
of 8 bits sums its features' lane rows in 8 registers, entry by entry, and keeps the
mask ``> 0`` of each (8 bits: one per row; a byte a half for a uint8 block). No
accumulator in memory: on MNIST at 720 bits a block is 5,544 loads and adds from a 50 KB table where by feature it was
2,576 read-modify-writes of a 46 KB accumulator (368 features of the union of 8 rows,
7 entries each), whose chains of dependent stores and loads held the batch back
(bench/RESULTS.md, "By bit"). The by-bit loop reads every entry, zero or not; where
fewer than ~35 % of the features are non-zero in a block, the by-feature loop, which
skips them, is faster, and ``Hyperplanes.by_bit`` sends such batches there (from
``union_share`` of their first rows). The groups sort the bits by their number of
entries, so a group's 8 bits are about as long and the loop's length rarely changes.

**By feature** (``feature_sums``; ``feature_rows``): lists the features that are
non-zero in any row of the block (``union_features``), reads each one's values in the block's rows into the
lanes of one register (``pnet.kernels.lanes``) and adds the feature's entries with
the adder of the cache's layout (``add_feature``), the tuple of arrays
``Hyperplanes.dense_cache`` holds: (indptr, split, bits), ternary lists
(``signed_lists_add``); (bits, signs), a sparse_sign table (``table_add``); (R,), a
gaussian matrix (``matrix_add``). numba picks the adder from the tuple's type at
compile time and inlines it (``inline="always"``), so the loop, and the row kernel
that calls it, is written once for every layout. ``row_sums`` runs the same adders
on a 1-D accumulator with a scalar value (the one-row forms of the
``pnet.kernels.lanes`` updates) over the row's own non-zero features: one row alone
skips the lane gathers, the union and the 7 idle lanes.

**uint8 rows** (8-bit pixels, counts) take blocks of ``BYTE_LANES`` (8) rows in
float32 lanes (``pnet.kernels.lanes``: ``block_lanes``, ``block_sums_of``;
``pnet.kernels.table.lane_table``), for +-1 entries only
(``Hyperplanes.takes_bytes``): every sum is then an integer below 2**24 in
magnitude, exact in float32 as in float64, so the bits are those of the same
values in float64, with half the bytes per lane row.
By bit they go 16 rows a block (``block_halves``: two halves of 8), in a table whose
row j holds feature j of all 16 rows, 64 bytes, as a float64 table's row holds 8:
an entry is one load and one add (``WideLanes``, one AVX-512 register) for the 16
rows (float rows of float64 sums stay at 8: 16 float64 lanes would outgrow L1;
float32 rows keep their values in a float32 table, exact, widened to float64).

**Float32 sums** (``Hyperplanes(sums='float32')``, +-1 entries) are the uint8 rows'
arithmetic for float rows: by bit 16 rows a block in the same 16-lane table and
vector (``lane_table`` takes the kind of table from the dtype of the groups'
signs, ``Hyperplanes.groups_for``), float64 values rounded to float32 as the table
takes them (``tile_to_table``, ``table_set``: no copy of the batch), and the
non-finite test on the values as stored, so that a float64 value beyond float32's
range is a non-finite row; by feature, float32 lanes (``block_sums_of`` with the
sums' template, ``lanes_like``); one row and CSR rows, in the dtype of the values
given (their callers cast: ``Hyperplanes.as_row_input``, ``project_csr``). An entry
is one load and one add for 16 rows instead of 8: on 10,000 MNIST rows the
projection takes 0.55-0.68x the time of float64 sums (bench/RESULTS.md, "Float32
sums").

Sums become packed bits by ``pack_lanes`` (a block's accumulator), ``pack_masks``
(the masks of ``group_bits``) or ``pack_row`` (one row); all test ``acc[k] > 0``.

Batch kernels (``*_rows``) run rows ``[start, stop)`` serially, each call owning
its scratch and writing only its own output rows; ``pnet._hyperplanes.over_rows``
runs ranges of a batch on threads through them (the kernels release the GIL).

Packed layout (see ``pnet.kernels.bits``): bit k in word ``k // 64`` at position
``k % 64``, least significant bit first; unused high bits of the last word are 0.
"""
import numpy as np
from numba import types
from numba.extending import overload

from ._jit import jit
from .bits import list_byte, nonzero_byte
from .hashing import (SPARSE_SIGN, TERNARY, entry_hash, feature_key, gaussian_entry,
                      sparse_sign_entries, ternary_entry)
from .lanes import (BYTE_LANES, LANES, block_lanes, block_sums_of, lanes_add_at, lanes_axpy_at,
                    lanes_from_rows, lanes_like, lanes_nonfinite, lanes_of, lanes_positive,
                    lanes_sub_at, sum_value)
from .table import (HALVES, block_halves, lane_table, lanes_add_entry, set_masks, sums_zero,
                    table_set, tile_to_table)

assert LANES == BYTE_LANES == 8, "pack_lanes spreads words of bytes: 8 rows a block"


# -- the projection sum: a block of dense rows ----------------------------------------------
@jit(inline="always")
def union_features(X, start, nrow, mask, feats):
    """feats[:m] = the j with X[i, j] != 0 for some row i of [start, start + nrow),
    ascending; returns m. ``mask`` is (n_features,) uint8 scratch."""
    mask[:] = 0
    for i in range(start, start + nrow):
        row = X[i]
        for j in range(row.shape[0]):
            mask[j] |= row[j] != 0.0
    m = 0
    for j in range(mask.shape[0]):  # branch-free compaction
        feats[m] = j
        m += mask[j]
    return m


@jit(inline="always")
def signed_lists_add(indptr, split, bits, j, x, acc):
    """Feature j's ternary entries from per-feature bit lists: its +1 bits are
    ``bits[indptr[j]:split[j]]``, its -1 bits ``bits[split[j]:indptr[j + 1]]``."""
    for p in range(indptr[j], split[j]):
        lanes_add_at(acc, bits[p], x)
    for p in range(split[j], indptr[j + 1]):
        lanes_sub_at(acc, bits[p], x)


@jit(inline="always")
def table_add(tbits, tsigns, j, x, acc):
    """Feature j's sparse_sign entries from a table of E per feature: ``tsigns[j, e]``
    at bit ``tbits[j, e]``, e < E (distinct bits)."""
    for e in range(tbits.shape[1]):
        lanes_axpy_at(acc, tbits[j, e], tsigns[j, e], x)


@jit(inline="always")
def matrix_add(R, j, x, acc):
    """Feature j's entries from the materialised matrix R (D, n_bits)."""
    for k in range(R.shape[1]):
        lanes_axpy_at(acc, k, R[j, k], x)


def add_feature(cache, j, x, acc):
    """acc[k, :] += r[j, k] * x for every entry of feature j (one row: acc[k], x a
    float64), from a dense cache tuple (jit code only): the layout's adder."""
    raise NotImplementedError("add_feature is a numba overload; call it from jit code")


@overload(add_feature, inline="always")
def _add_feature(cache, j, x, acc):
    if not isinstance(cache, types.BaseTuple):
        return None
    if len(cache) == 3:
        return lambda cache, j, x, acc: signed_lists_add(cache[0], cache[1], cache[2], j, x,
                                                         acc)
    if len(cache) == 2:
        return lambda cache, j, x, acc: table_add(cache[0], cache[1], j, x, acc)
    if len(cache) == 1:
        return lambda cache, j, x, acc: matrix_add(cache[0], j, x, acc)
    return None


@jit
def feature_sums(X, start, nrow, cache, mask, feats, acc):
    """acc[k, r] = <X[start + r], r_k> for the block's rows r < nrow (1 <= nrow <=
    ``block_lanes(X)``; lanes r >= nrow are 0), from a dense cache tuple
    (``add_feature``): feature by feature, over the features of ``union_features``.

    Returns a bit mask of the non-finite rows (bit r: row start + r has NaN or
    +-inf). Zeros are finite and every non-zero value of the block is read into a
    lane, so each is tested as it is read: one vector comparison per feature of the
    union, not a pass over the rows. ``acc`` is ``block_sums_of(scratch, X,
    sums)``: float64, or float32 for float32 sums (``lanes_like``), which uint8 rows
    always take (8 per block; for +-1 entries only, sparse_sign and ternary caches:
    their sums are then exact, ``pnet.kernels.lanes``)."""
    width = block_lanes(X)
    acc[:, :] = 0.0
    bad = 0
    for t in range(union_features(X, start, nrow, mask, feats)):
        j = np.uint64(feats[t])  # unsigned: no wraparound code for r[j]
        if nrow == width:  # a full block: the constant lets LLVM drop the lane selects
            x = lanes_from_rows(X, start, width, j)
        else:
            x = lanes_from_rows(X, start, nrow, j)
        x = lanes_like(x, acc)  # float64 rows of float32 sums: rounded to float32
        bad |= lanes_nonfinite(x)
        add_feature(cache, j, x, acc)
    return bad


@jit
def union_share(X, n_rows):
    """The mean share of the features that are non-zero in some row of a block, over
    the blocks of ``block_lanes(X)`` rows in X's first ``n_rows`` rows: what the
    by-feature sums visit, against every feature for the by-bit ones
    (``pnet._hyperplanes.BY_BIT_SHARE``)."""
    mask = np.empty(X.shape[1], dtype=np.uint8)
    feats = np.empty(X.shape[1], dtype=np.int64)
    width = block_lanes(X)
    total = 0
    blocks = 0
    for first in range(0, min(n_rows, X.shape[0]), width):
        total += union_features(X, first, min(width, X.shape[0] - first), mask, feats)
        blocks += 1
    return total / max(blocks * X.shape[1], 1)


@jit(inline="always")
def block_to_table(X, start, nrow, table):
    """table[j, h, r] = X[start + 8 h + r, j] (table[j, r] for float rows) for every
    feature j and row 8 h + r < nrow of the block, lanes past nrow 0 in a half that
    has rows (``lanes_from_rows``); a uint8 block of at most 8 rows leaves half 1 as
    it was. A full block of rows with contiguous values goes 8
    features at a time (``tile_to_table``), both halves of a tile's features one
    after the other, so that each 64-byte row of a uint8 block's table is written
    whole while it is in L1. Returns the bit mask of the non-finite rows."""
    n_features = X.shape[1]
    halves = block_halves(table)
    bad = 0
    tiled = 0
    if nrow == halves * LANES and X.strides[1] == X.itemsize:
        tiled = n_features - n_features % 8
        for j in range(0, tiled, 8):
            for h in range(halves):
                bad |= tile_to_table(X, start + h * LANES, j, table, h) << (h * LANES)
    for h in range(halves):
        rows = min(nrow - h * LANES, LANES)
        for j in range(tiled if rows > 0 else n_features, n_features):
            x = lanes_from_rows(X, start + h * LANES, rows, j)
            bad |= table_set(table, j, h, x) << (h * LANES)  # non-finite as stored
    return bad


_U1, _U2, _U3, _U4, _U5, _U6, _U7 = (np.uint64(k) for k in range(1, 8))


@jit
def group_bits(X, start, nrow, slots, gptr, gidx, gsgn, table, masks, packed):
    """The block's packed bits as ``feature_sums`` and ``pack_lanes`` give them,
    bit by bit, for up to ``block_rows(table)`` rows (8 for float64 sums, or 16 rows
    summed in float32, uint8 rows and float rows of float32 sums, in two halves of
    8: ``block_halves``): the rows into the table (``block_to_table``, half h of
    each row for a wide table; its last row, n_features, stays 0), then the
    bits 8 at a time (``pnet._hyperplanes.bit_groups``): group g sums in 8 registers
    the entries ``gidx[p]`` (a feature), ``gsgn[p]`` (its +-1) for p in
    ``gptr[g]:gptr[g + 1]``, interleaved (entry p to registers p % 8), and writes the
    masks ``> 0`` (``set_masks``, a bit per row) of bit b's sums to byte
    ``slots[8 g + b]`` of each half's ``masks``; ``pack_masks`` packs them. A register
    holds 8 float rows (``Lanes``) or all 16 uint8 rows (``WideLanes``): an entry is
    one load and one add for the whole block. Each bit's features come in ascending order,
    padded with the zero row: the sums of ``feature_sums`` in the same order, plus
    ``+-0.0`` terms that change nothing. A padding slot is ``n_bits`` (< 64 n_words,
    as padding exists only when n_bits % 8 > 0): its sum is 0, its mask 0, which is
    what the unused high bits of the last word must be. A block of two halves with
    at most 8 rows leaves the second half as it was (zeros or an earlier block's
    rows): its sums are computed and not packed.

    ``table`` and ``masks`` are ``group_scratch(X, gsgn, n_bits)``; ``packed`` has
    ``block_rows(table)`` rows. Returns the bit mask of the non-finite rows (as the
    table holds their values)."""
    halves = block_halves(table)  # a constant (1 or 2): one call site each, inlined once
    bad = block_to_table(X, start, nrow, table)
    m0, m1 = masks[0], masks[halves - 1]
    zero = sums_zero(table)
    for g in range(gptr.shape[0] - 1):
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = zero
        for q in range(gptr[g], gptr[g + 1], 8):
            p = np.uint64(q)  # unsigned: no wraparound code for gidx[p + 1] ...
            a0 = lanes_add_entry(a0, table, gidx[p], gsgn[p])
            a1 = lanes_add_entry(a1, table, gidx[p + _U1], gsgn[p + _U1])
            a2 = lanes_add_entry(a2, table, gidx[p + _U2], gsgn[p + _U2])
            a3 = lanes_add_entry(a3, table, gidx[p + _U3], gsgn[p + _U3])
            a4 = lanes_add_entry(a4, table, gidx[p + _U4], gsgn[p + _U4])
            a5 = lanes_add_entry(a5, table, gidx[p + _U5], gsgn[p + _U5])
            a6 = lanes_add_entry(a6, table, gidx[p + _U6], gsgn[p + _U6])
            a7 = lanes_add_entry(a7, table, gidx[p + _U7], gsgn[p + _U7])
        o = 8 * g
        set_masks(m0, m1, slots[o], a0)
        set_masks(m0, m1, slots[o + 1], a1)
        set_masks(m0, m1, slots[o + 2], a2)
        set_masks(m0, m1, slots[o + 3], a3)
        set_masks(m0, m1, slots[o + 4], a4)
        set_masks(m0, m1, slots[o + 5], a5)
        set_masks(m0, m1, slots[o + 6], a6)
        set_masks(m0, m1, slots[o + 7], a7)
    for h in range(halves):
        if nrow > h * LANES:
            pack_masks(masks[h], h * LANES, min(nrow - h * LANES, LANES), packed)
    return bad


@jit(inline="always")
def block_rows(table):
    """Rows a block by bit (``group_bits``) in ``table`` (``group_scratch``):
    ``block_halves(table)`` halves of 8: 16 rows summed in float32 (uint8 rows, and
    float rows of float32-sum hyperplanes), 8 rows summed in float64."""
    return block_halves(table) * LANES


@jit(inline="always")
def group_scratch(X, signs, n_bits):
    """(table, masks) of ``group_bits`` for blocks of X: the lane table
    (``lane_table``; its zero row zeroed, and a wide table (16 rows) whole: a block
    of at most 8 rows leaves the second half unread, so its sums then add zeros, not
    whatever the memory held, subnormals included) and the ``block_halves(X)`` halves'
    masks, zeroed (the bytes past n_bits stay 0). ``np.empty`` and loops:
    ``np.zeros`` would add ~0.4 s to the first call's compile."""
    n = X.shape[1] + 1
    table = lane_table(np.empty(HALVES * LANES * n + LANES), n, X, signs)
    halves = block_halves(table)
    flat = table.reshape(table.size)  # C: a view
    for e in range(0 if halves == 2 else flat.size - LANES, flat.size):
        flat[e] = 0
    masks = np.empty((halves, 8 * ((n_bits + 63) // 64)), dtype=np.uint64)
    for h in range(halves):
        for w in range(masks.shape[1]):
            masks[h, w] = 0
    return table, masks


@jit(inline="always")
def row_sums(x, cache, feats, acc):
    """acc[k] = <x, r_k> for one dense row x (1-D, float32/float64, any stride), from
    a dense cache tuple: the row's non-zero features in ascending order, each added
    by ``add_feature`` as a scalar. Returns True if x has a NaN or +-inf (which are
    non-zero, so each is tested as it is read). ``feats`` is (n_features,) int64
    scratch (``list_byte`` writes 8 slots from m, and m never passes j, so they stay
    inside it), ``acc`` (n_bits,) float64, or float32 for float32 sums: each value
    is taken in acc's dtype (``sum_value``)."""
    acc[:] = 0.0
    n = x.shape[0]
    full = n - n % 8
    m = 0
    for j in range(0, full, 8):  # the non-zero features, listed 8 values at a time
        m = list_byte(feats, m, j, nonzero_byte(x, j))
    for j in range(full, n):  # the rest branch-free, one at a time
        feats[m] = j
        m += x[j] != 0.0
    bad = False
    for t in range(m):
        j = np.uint64(feats[t])  # unsigned: no wraparound code for x[j], r[j]
        v = sum_value(x[j], acc)
        bad |= v - v != 0.0  # NaN for NaN and +-inf, 0 for every finite v
        add_feature(cache, j, v, acc)
    return bad


@jit
def hashed_sums(data, features, start, stop, key, kind, threshold, n_entries, seen, ebits,
                esigns, acc):
    """acc[k] = <x, r_k> for the CSR row ``data[start:stop]`` at uint64 ``features``,
    each entry hashed on the fly: no (n_features, n_bits) matrix, no feature limit.

    sparse_sign draws each feature's ``n_entries`` entries (``sparse_sign_entries``,
    into the scratch ``seen``, ``ebits``, ``esigns``); ternary and gaussian hash
    every (feature, bit) pair. The sums are in acc's dtype, float64 or float32
    (+-1 entries only: ``sum_value`` of a value and its sign, an exact product)."""
    acc[:] = 0.0
    n_bits = acc.shape[0]
    for p in range(start, stop):
        x = sum_value(data[p], acc)
        if x != 0.0:
            fkey = feature_key(key, features[p])
            if kind == SPARSE_SIGN:
                sparse_sign_entries(fkey, n_bits, n_entries, seen, ebits, esigns)
                for e in range(n_entries):
                    acc[ebits[e]] += x * sum_value(esigns[e], acc)
            elif kind == TERNARY:
                for k in range(n_bits):
                    e = ternary_entry(entry_hash(fkey, k), threshold)
                    if e != 0.0:
                        acc[k] += sum_value(e, acc) * x
            else:
                for k in range(n_bits):
                    acc[k] += x * gaussian_entry(entry_hash(fkey, k))


# -- sums to bits -----------------------------------------------------------------------
@jit(inline="always")
def pack_row(acc, out_row):
    """out_row[w] |= 1 << b for every k = 64 w + b with acc[k] > 0 (strictly)."""
    n_bits = acc.shape[0]
    for w in range(out_row.shape[0]):
        word = np.uint64(0)
        stop = min(64, n_bits - 64 * w)
        for b in range(stop):
            if acc[64 * w + b] > 0.0:
                word |= np.uint64(1) << np.uint64(b)
        out_row[w] = word


_BYTES = np.uint64(0x0101010101010101)
_GATHER_BYTES = np.uint64(0x0102040810204080)


@jit(inline="always")
def spread_bytes(word, r):
    """The 8 bits r, r + 8, ..., r + 56 of ``word``, packed into bits 0..7 (one
    multiply moves bit 8 i to bit 56 + i, with no carries into the top byte)."""
    return (((word >> np.uint64(r)) & _BYTES) * _GATHER_BYTES) >> np.uint64(56)


@jit(inline="always")
def spread_masks(gathered, q, nrow, words):
    """words[r] |= the bit r of each of the 8 masks (bytes) in ``gathered``, as 8 bits
    at position q (a multiple of 8), for the rows r < nrow."""
    for r in range(nrow):
        words[r] |= spread_bytes(gathered, r) << np.uint64(q)


@jit
def pack_lanes(acc, nrow, out):
    """out[r, w] = packed bits ``acc[:, r] > 0`` (strictly) of the block's rows r <
    nrow, as ``pack_row`` packs one row: one mask per bit (``lanes_positive``, 8
    bits: the accumulator's width, one per row), 8 of them gathered into a word of
    bytes, then spread per row (``spread_masks``).
    ``out`` is the block's (width, n_words) scratch: callers copy rows from it, so
    no call passes a constant row offset (which numba would compile again)."""
    n_bits = acc.shape[0]
    width = lanes_of(acc)
    group = 64 // width  # bits per gathered word: 8
    words = np.empty(width, dtype=np.uint64)  # fresh, so LLVM keeps it in registers
    for w in range(out.shape[1]):
        words[:] = 0
        for q in range(0, min(64, n_bits - 64 * w), group):
            base = 64 * w + q
            gathered = np.uint64(0)
            for b in range(min(group, n_bits - base)):
                gathered |= np.uint64(lanes_positive(acc, base + b)) << np.uint64(width * b)
            spread_masks(gathered, q, nrow, words)
        for r in range(nrow):
            out[r, w] = words[r]


@jit(inline="always")
def pack_masks(masks, row0, nrow, out):
    """out[row0 + r, w] = packed bits of the rows r < nrow of a half block from
    ``masks`` (uint64, 8 per word of out: byte b of ``masks[8 w + q // 8]`` is the mask
    of bit 64 w + q + b, a bit per row), as ``pack_lanes`` packs the same masks
    (``spread_masks``)."""
    words = np.empty(LANES, dtype=np.uint64)
    for w in range(out.shape[1]):
        words[:] = 0
        for q in range(0, 64, 8):
            spread_masks(masks[8 * w + q // 8], q, nrow, words)
        for r in range(nrow):
            out[row0 + r, w] = words[r]


# -- batches to packed bits ---------------------------------------------------------------
@jit(inline="always")
def copy_rows(packed, first, nrow, out):
    """out[first + r] = packed[r], r < nrow: a loop, as a slice assignment compiles
    numba's shape-mismatch error path (~4 s cold)."""
    for r in range(nrow):
        for w in range(out.shape[1]):
            out[first + r, w] = packed[r, w]


@jit
def dense_rows(X, start, stop, groups, n_bits, out):
    """Dense rows [start, stop) by bit (``group_bits``), ``block_rows(table)`` rows at
    a time (16 for float32 sums, 8 for float64); ``groups`` is
    ``Hyperplanes.groups_for(X)``, whose signs' dtype is the sums'."""
    table, masks = group_scratch(X, groups[3], n_bits)
    width = block_rows(table)
    packed = np.empty((width, out.shape[1]), dtype=np.uint64)
    for first in range(start, stop, width):
        nrow = min(width, stop - first)
        group_bits(X, first, nrow, groups[0], groups[1], groups[2], groups[3], table, masks,
                   packed)
        copy_rows(packed, first, nrow, out)


@jit
def feature_rows(X, start, stop, cache, sums, n_bits, out):
    """Dense rows [start, stop) by feature (``feature_sums``, ``pack_lanes``) from a
    dense cache tuple, summed in the dtype of ``sums``
    (``Hyperplanes.sums_template``): gaussian hyperplanes (every bit has every
    feature), and rows too sparse to go by bit."""
    width = block_lanes(X)
    mask = np.empty(X.shape[1], dtype=np.uint8)
    feats = np.empty(X.shape[1], dtype=np.int64)
    acc = block_sums_of(np.empty((n_bits, LANES)), X, sums)
    packed = np.empty((width, out.shape[1]), dtype=np.uint64)
    for first in range(start, stop, width):
        nrow = min(width, stop - first)
        feature_sums(X, first, nrow, cache, mask, feats, acc)
        pack_lanes(acc, nrow, packed)
        copy_rows(packed, first, nrow, out)


@jit
def csr_rows(data, start, stop, features, indptr, key, kind, threshold, n_entries, n_bits,
             out):
    """CSR rows [start, stop), hyperplane entries hashed on the fly (``hashed_sums``),
    summed in the dtype of ``data`` (float64 or float32: the caller's cast)."""
    acc = np.empty(n_bits, dtype=data.dtype)
    seen = np.zeros((n_bits + 63) // 64, dtype=np.uint64)
    ebits = np.empty(max(n_entries, 1), dtype=np.int64)
    esigns = np.empty(max(n_entries, 1))
    for i in range(start, stop):
        hashed_sums(data, features, indptr[i], indptr[i + 1], key, kind, threshold,
                    n_entries, seen, ebits, esigns, acc)
        pack_row(acc, out[i])
