"""Output columns of one row in the lanes of one register: the gather-add's running sums.

``pnet.kernels.bits.gather_add`` computes ``z[c] = bias[c] + sum_t W[idx[t], c]``,
the set bits' weight rows added in ascending order. With ``z`` in memory, each
addition to ``z[c]`` waits for the previous one's store to come back through the
load (store-to-load forwarding, several cycles per set bit). Holding the running
sums of 32 bytes of columns (8 float32 or 4 float64, ``columns_width``) in one
register instead, the loop runs at the speed of the adds. A lane is one column: it
receives the same operands in the same order through the same IEEE addition, so
the sums are bit for bit those of the scalar loop.

numba does not keep a small array in registers, nor vectorise this loop by itself
(see ``pnet.kernels.lanes`` for the same problem), so the register is an LLVM
vector value of a small numba type (``Columns``) and the operations below are
LLVM intrinsics.

Weights and bias are read a whole register at a time: their columns must be padded
to a multiple of ``columns_width`` (``pnet._hyperplanes.pad_columns``, a RAM layout,
never stored). Outputs are written only up to their own length. Arrays are
C-contiguous; indices are not checked (callers pass indices they built).
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

#: bytes of one register of columns (AVX2; LLVM splits it on narrower CPUs, lane by lane)
REGISTER_BYTES = 32


def width_of(dtype):
    """Columns per register for a numpy or numba float dtype (8 float32, 4 float64)."""
    return REGISTER_BYTES // dtype.itemsize if hasattr(dtype, "itemsize") \
        else REGISTER_BYTES * 8 // dtype.bitwidth


class Columns(types.Type):
    """``width_of(dtype)`` running sums of one row's columns (an LLVM vector value)."""

    def __init__(self, dtype):
        self.dtype = dtype
        super().__init__(name=f"Columns{width_of(dtype)}x{dtype}")


@register_model(Columns)
class _ColumnsModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _vector(fe_type.dtype))


def _vector(dtype):
    """The LLVM vector of one register of ``dtype`` (float32 or float64) columns."""
    scalar = ir.FloatType() if dtype == types.float32 else ir.DoubleType()
    return ir.VectorType(scalar, width_of(dtype))


def _contiguous(a, ndim):
    return (isinstance(a, types.Array) and a.ndim == ndim and a.layout == "C"
            and a.dtype in (types.float32, types.float64))


def _at(context, builder, a_type, a, offset):
    """Pointer to the register-sized run of ``a`` starting at element ``offset``."""
    data = context.make_array(a_type)(context, builder, a).data
    vector = _vector(a_type.dtype)
    return builder.bitcast(builder.gep(data, [offset]), vector.as_pointer())


def _int64(context, builder, value, value_type):
    return context.cast(builder, value, value_type, types.int64)


@intrinsic
def columns_width(typingctx, a):
    """The number of columns in one register for ``a``'s dtype (a constant)."""
    if not (isinstance(a, types.Array) and a.dtype in (types.float32, types.float64)):
        return None

    def codegen(context, builder, signature, args):
        return ir.Constant(ir.IntType(64), width_of(signature.args[0].dtype))
    return types.int64(a), codegen


@intrinsic
def columns_at(typingctx, a, c0):
    """``a[c0:c0 + width]`` of a 1-D array (all of it must exist: a padded bias)."""
    if not (_contiguous(a, 1) and isinstance(c0, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        offset = _int64(context, builder, args[1], signature.args[1])
        return builder.load(_at(context, builder, signature.args[0], args[0], offset),
                            align=signature.args[0].dtype.bitwidth // 8)
    return Columns(a.dtype)(a, c0), codegen


@intrinsic
def columns_add_row(typingctx, v, W, k, c0):
    """``v + W[k, c0:c0 + width]`` (W 2-D with padded columns; one IEEE add per lane)."""
    if not (isinstance(v, Columns) and _contiguous(W, 2) and W.dtype == v.dtype
            and isinstance(k, types.Integer) and isinstance(c0, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        W_type = signature.args[1]
        row_length = builder.extract_value(context.make_array(W_type)(context, builder,
                                                                      args[1]).shape, 1)
        k = _int64(context, builder, args[2], signature.args[2])
        c0 = _int64(context, builder, args[3], signature.args[3])
        offset = builder.add(builder.mul(k, row_length), c0)
        row = builder.load(_at(context, builder, W_type, args[1], offset),
                           align=W_type.dtype.bitwidth // 8)
        return builder.fadd(args[0], row)
    return v(v, W, k, c0), codegen


@intrinsic
def columns_store(typingctx, v, out, c0):
    """``out[c0 + r] = lane r`` for the lanes with ``c0 + r < len(out)``."""
    if not (isinstance(v, Columns) and _contiguous(out, 1) and out.dtype == v.dtype
            and isinstance(c0, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        out_type = signature.args[1]
        array = context.make_array(out_type)(context, builder, args[1])
        length = builder.extract_value(array.shape, 0)
        c0 = _int64(context, builder, args[2], signature.args[2])
        for r in range(width_of(out_type.dtype)):
            column = builder.add(c0, ir.Constant(ir.IntType(64), r))
            with cgutils.if_likely(builder, builder.icmp_signed("<", column, length)):
                lane = builder.extract_element(args[0], ir.Constant(ir.IntType(32), r))
                builder.store(lane, builder.gep(array.data, [column]))
        return context.get_dummy_value()
    return types.void(v, out, c0), codegen
