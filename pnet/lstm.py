"""An LSTM text classifier: embedding, one LSTM layer, pooling, softmax layer.

The trainer network for text (issue 11). It reads token ids in order and owns
its forward and backward pass through time, in numpy; it never updates its
parameters (``pnet.optimizers`` does) and never clips its gradients itself
(the training loop calls ``clip_gradients``).

Per direction, at every valid step t of a sequence (x_t the embedding row of
token t, h_0 = c_0 = 0, sigma the logistic function):

    i_t = sigma(x_t W_xi + h_{t-1} W_hi + b_i)       input gate
    f_t = sigma(x_t W_xf + h_{t-1} W_hf + b_f)       forget gate
    g_t = tanh (x_t W_xg + h_{t-1} W_hg + b_g)       cell candidate
    o_t = sigma(x_t W_xo + h_{t-1} W_ho + b_o)       output gate
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(c_t)

The four gates are fused: W_x (embedding_dim, 4H), W_h (H, 4H), b (4H,), their
column blocks in the order [i | f | g | o] (PyTorch's). With ``bidirectional``
a second set of weights reads each text's tokens last to first (reversed within
its own length, never across padding). A text's vector is its states pooled
over its valid steps ('last': the state after the last token, for the reverse
direction the state after the first token; 'mean'; 'max', per feature); an
empty text's pooled vector is zero. Then ``logits = pooled @ W_out + b_out``;
the softmax and the loss live in ``pnet.losses``.

Padding: a batch is padded to its longest text. Padded positions are read as
token 0 whatever the caller wrote there, and pooling reads valid steps only;
since every padded step comes after the valid ones in both directions' time,
no gradient reaches a padded step, and the embedding gradient (a
``pnet.layers.RowSparse``) holds only the rows the texts' valid tokens use.

Arrays inside the time loop are time-major: (L, n, ...).
"""
import numpy as np

from .layers import RowSparse

POOLINGS = ("last", "mean", "max")


def sigmoid_(Z):
    """Z <- 1 / (1 + exp(-Z)) in place. exp(-Z) overflows to inf for Z below about
    -88 (float32), and 1 / inf = 0 is then the right answer: no warning for it."""
    with np.errstate(over="ignore"):
        np.negative(Z, out=Z)
        np.exp(Z, out=Z)
    Z += 1
    np.reciprocal(Z, out=Z)
    return Z


def clip_gradients(grads, max_norm):
    """Scale all gradients in place so their global L2 norm is at most ``max_norm``.

    The norm runs over every array (a RowSparse's values included) as one vector,
    as ``torch.nn.utils.clip_grad_norm_``. The training loop calls it after the
    backward pass and the L2 penalty, before the optimiser; ``max_norm`` None or
    0 clips nothing. Returns the norm before clipping.
    """
    arrays = [g.values if isinstance(g, RowSparse) else g for g in grads]
    norm = float(np.sqrt(sum(float(np.dot(a.ravel(), a.ravel())) for a in arrays)))
    if max_norm and norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for a in arrays:
            a *= scale
    return norm


# -- one direction through time ----------------------------------------------------------------
def lstm_forward(Z, W_h):
    """States of one LSTM direction from its input projections.

    ``Z`` (L, n, 4H) holds x_t W_x + b for every step; it is overwritten with the
    gates [i | f | g | o] after their activations. Returns (Hs, cache): Hs
    (L + 1, n, H) with Hs[0] = h_0 = 0 and Hs[t + 1] = h_t.

    numpy's exp runs about twice as fast on a contiguous array as on a column
    block of one, hence one sigmoid over all 4H columns (g's block included,
    then replaced by the tanh of its pre-activation, taken first).
    """
    L, n, H4 = Z.shape
    H = H4 // 4
    Hs = np.zeros((L + 1, n, H), dtype=Z.dtype)  # h_0 .. h_L
    Cs = np.zeros((L + 1, n, H), dtype=Z.dtype)  # c_0 .. c_L
    tanh_c = np.empty((L, n, H), dtype=Z.dtype)
    for t in range(L):
        z = Z[t]  # (n, 4H)
        z += Hs[t] @ W_h  # pre-activations x_t W_x + h_{t-1} W_h + b
        g = np.tanh(z[:, 2 * H:3 * H])  # (n, H)
        sigmoid_(z)  # i, f, o
        z[:, 2 * H:3 * H] = g
        i, f, o = z[:, :H], z[:, H:2 * H], z[:, 3 * H:]  # (n, H) each
        np.multiply(f, Cs[t], out=Cs[t + 1])
        Cs[t + 1] += i * g  # c_t = f c_{t-1} + i g
        np.tanh(Cs[t + 1], out=tanh_c[t])
        np.multiply(o, tanh_c[t], out=Hs[t + 1])  # h_t = o tanh(c_t)
    return Hs, (Hs, Cs, Z, tanh_c)


def lstm_backward(dHs, W_h, cache):
    """Backpropagation through time of one direction.

    ``dHs`` (L, n, H) is dLoss/dh_t from the pooling for t = 1..L. Returns dZ
    (L, n, 4H), dLoss/d(pre-activation gates); the weight gradients are
    products with it, taken by the caller outside the time loop. With
    dc = dLoss/dc_t (through h_t and c_{t+1}):

        dc = dc_{t+1} f_{t+1} + dh o (1 - tanh^2 c_t)
        dz_i = dc g i (1 - i)        dz_f = dc c_{t-1} f (1 - f)
        dz_g = dc i (1 - g^2)        dz_o = dh tanh(c_t) o (1 - o)
        dh_{t-1} (through step t) = dz W_h^T

    Everything but dc and dh is known before the loop: the factors multiplying
    them are computed for all steps at once.
    """
    Hs, Cs, gates, tanh_c = cache
    L, n, H = dHs.shape
    i, f, g, o = (gates[:, :, k * H:(k + 1) * H] for k in range(4))  # (L, n, H) each
    dc_dh = o * (1 - tanh_c ** 2)  # (L, n, H): dc_t / dh_t
    dZ = np.empty((L, n, 4, H), dtype=dHs.dtype)  # first the gates' local derivatives
    np.multiply(g, i * (1 - i), out=dZ[:, :, 0])  # dz_i / dc
    np.multiply(Cs[:-1], f * (1 - f), out=dZ[:, :, 1])  # dz_f / dc
    np.multiply(i, 1 - g ** 2, out=dZ[:, :, 2])  # dz_g / dc
    np.multiply(tanh_c, o * (1 - o), out=dZ[:, :, 3])  # dz_o / dh
    dh_next = np.zeros((n, H), dtype=dHs.dtype)  # dLoss/dh_t through step t + 1
    dc_next = np.zeros((n, H), dtype=dHs.dtype)  # dLoss/dc_t through c_{t+1}
    for t in range(L - 1, -1, -1):
        dh = dHs[t] + dh_next  # (n, H)
        dc = dh * dc_dh[t]
        dc += dc_next  # (n, H)
        dZ[t, :, :3] *= dc[:, None, :]  # dz_i, dz_f, dz_g
        dZ[t, :, 3] *= dh  # dz_o
        dh_next = dZ[t].reshape(n, 4 * H) @ W_h.T  # (n, H)
        dc_next = dc * f[t]  # (n, H)
    return dZ.reshape(L, n, 4 * H)


# -- pooling over valid steps ------------------------------------------------------------------
def pool(Hs, lengths, valid, pooling):
    """A (n, H) vector per text from its states h_1..h_len (zero when len = 0).

    ``Hs`` (L, n, H) states h_1..h_L, ``valid`` (L, n) True on a text's steps.
    Returns (pooled, where): ``where`` is what ``pool_backward`` needs.
    """
    L, n, H = Hs.shape
    nonempty = (lengths > 0)[:, None]  # (n, 1)
    if pooling == "last":
        last = np.maximum(lengths - 1, 0)  # (n,)
        return Hs[last, np.arange(n)] * nonempty, last
    if pooling == "mean":
        scale = (1 / np.maximum(lengths, 1)[:, None]).astype(Hs.dtype)  # (n, 1)
        return (Hs * valid[:, :, None]).sum(axis=0) * scale, scale
    argmax = np.where(valid[:, :, None], Hs, -np.inf).argmax(axis=0)  # (n, H)
    return np.take_along_axis(Hs, argmax[None], axis=0)[0] * nonempty, argmax


def pool_backward(dpooled, lengths, valid, pooling, where):
    """dLoss/dh_t (L, n, H) from dLoss/dpooled (n, H): zero on padded steps."""
    L, n = valid.shape
    dpooled = dpooled * (lengths > 0)[:, None]  # empty texts: nothing flows
    if pooling == "mean":
        return valid[:, :, None] * (dpooled * where)[None]  # (L, n, H)
    dHs = np.zeros((L, n, dpooled.shape[1]), dtype=dpooled.dtype)
    if pooling == "last":
        dHs[where, np.arange(n)] = dpooled
    else:  # max: all to the argmax step
        np.put_along_axis(dHs, where[None], dpooled[None], axis=0)
    return dHs


# -- the network ----------------------------------------------------------------------------
class LSTMNetwork:
    """Embedding -> LSTM (one layer, optionally bidirectional) -> pooling -> softmax layer.

    Parameters, in the order of ``params`` (and of the draws in ``initialize``):

        E      (n_embeddings, embedding_dim)   the hashed-token table
        W_x    (embedding_dim, 4H)              forward direction, gates [i | f | g | o]
        W_h    (H, 4H)
        b      (4H,)
        W_x_r, W_h_r, b_r                      the reverse direction (bidirectional only)
        W_out  (n_directions * H, n_classes)
        b_out  (n_classes,)

    ``penalised`` marks the weights (E, W_x, W_h, W_out, ...) for the estimator's
    L2 penalty, not the biases; E is penalised like the MLP's first layer on
    hashed text (on the rows a batch touches, since its gradient is row-sparse).
    ``clip`` is the global gradient-norm cap the training loop passes to
    ``clip_gradients`` (None: no clipping).
    """

    def __init__(self, n_embeddings, embedding_dim, hidden_size, n_classes, *,
                 bidirectional=False, pooling="mean", clip=5.0, dtype=np.float32):
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.n_embeddings = n_embeddings
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.n_classes = n_classes
        self.bidirectional = bidirectional
        self.pooling = pooling
        self.clip = clip
        self.dtype = dtype
        self.params = None
        self.penalised = None

    @property
    def n_directions(self):
        return 2 if self.bidirectional else 1

    def initialize(self, rng):
        """Draw every parameter from the RandomState ``rng``, in the order of ``params``.

        E ~ N(0, 1) (as torch.nn.Embedding); the weights Glorot-uniform with each
        gate's fan-out H (bound sqrt(6 / (fan_in + H))), W_out with fan-out
        n_classes; biases 0 except the forget gate's, 1: at the start f_t =
        sigma(1) ~ 0.73, so the cell keeps most of its state and gradients flow
        back through time instead of vanishing (Gers et al. 2000; Jozefowicz et
        al. 2015).
        """
        D, H, C = self.embedding_dim, self.hidden_size, self.n_classes

        def glorot(fan_in, fan_out, shape):
            bound = np.sqrt(6.0 / (fan_in + fan_out))
            return rng.uniform(-bound, bound, shape).astype(self.dtype)

        params = [rng.standard_normal((self.n_embeddings, D)).astype(self.dtype)]
        penalised = [True]
        for _ in range(self.n_directions):
            b = np.zeros(4 * H, dtype=self.dtype)
            b[H:2 * H] = 1  # forget gate
            params += [glorot(D, H, (D, 4 * H)), glorot(H, H, (H, 4 * H)), b]
            penalised += [True, True, False]
        params += [glorot(self.n_directions * H, C, (self.n_directions * H, C)),
                   np.zeros(C, dtype=self.dtype)]
        penalised += [True, False]
        self.params, self.penalised = params, penalised
        return self

    def stored_bytes(self):
        """float32 bytes of all parameters (from the sizes: built or not)."""
        D, H, C = self.embedding_dim, self.hidden_size, self.n_classes
        per_direction = D * 4 * H + H * 4 * H + 4 * H
        return 4 * (self.n_embeddings * D + self.n_directions * per_direction
                    + self.n_directions * H * C + C)

    def _directions(self):
        """[(W_x, W_h, b), ...] for the forward and (if any) the reverse direction."""
        return [tuple(self.params[1 + 3 * k:4 + 3 * k]) for k in range(self.n_directions)]

    def forward(self, ids, lengths):
        """Logits (n, n_classes) of texts ``ids`` (n, L) int, padded after ``lengths`` (n,)."""
        ids, lengths = np.asarray(ids), np.asarray(lengths)
        n, L = ids.shape
        if lengths.shape != (n,) or np.any(lengths < 0) or np.any(lengths > L):
            raise ValueError(f"lengths must be {n} integers in [0, {L}], the padded length "
                             f"of ids {ids.shape}")
        if L == 0:  # a batch of empty texts: one padded step, so every array has a time axis
            ids = np.zeros((n, 1), dtype=np.int64)
        steps = np.arange(ids.shape[1])[:, None]  # (L, 1)
        valid = steps < lengths[None, :]  # (L, n)
        forward_ids = np.where(valid, ids.T, 0)  # (L, n)
        if np.any(forward_ids < 0) or np.any(forward_ids >= self.n_embeddings):
            raise ValueError(f"token ids must lie in [0, {self.n_embeddings})")
        runs = [forward_ids]
        if self.bidirectional:  # token len - 1 - t at step t, within each text's length
            reverse_pos = np.maximum(lengths[None, :] - 1 - steps, 0)  # (L, n)
            runs.append(np.where(valid, forward_ids[reverse_pos, np.arange(n)], 0))
        E = self.params[0]
        pooled, caches = [], []
        for run_ids, (W_x, W_h, b) in zip(runs, self._directions()):
            X = E[run_ids]  # (L, n, D)
            Z = (X.reshape(-1, self.embedding_dim) @ W_x).reshape(*run_ids.shape, -1)
            Z += b  # (L, n, 4H)
            Hs, cache = lstm_forward(Z, W_h)  # Hs (L + 1, n, H)
            p, where = pool(Hs[1:], lengths, valid, self.pooling)  # (n, H)
            pooled.append(p)
            caches.append((run_ids, X, cache, where))
        pooled = np.concatenate(pooled, axis=1)  # (n, n_directions * H)
        W_out, b_out = self.params[-2:]
        logits = pooled @ W_out + b_out  # (n, n_classes)
        return logits, (lengths, valid, pooled, caches)

    def backward(self, cache, dlogits):
        """Gradients of the loss, in the order of ``params``, from dLoss/dlogits (n, C).

        E's gradient is a RowSparse of the rows the texts' valid tokens use
        (ascending, unique; summed over repeats and both directions).
        """
        lengths, valid, pooled, caches = cache
        W_out = self.params[-2]
        dlogits = dlogits.astype(W_out.dtype, copy=False)
        dW_out = pooled.T @ dlogits  # (n_directions * H, C)
        db_out = dlogits.sum(axis=0)  # (C,)
        dpooled = dlogits @ W_out.T  # (n, n_directions * H)
        H, D = self.hidden_size, self.embedding_dim
        direction_grads, token_ids, token_grads = [], [], []
        for k, ((run_ids, X, lstm_cache, where), (W_x, W_h, _)) in enumerate(
                zip(caches, self._directions())):
            dHs = pool_backward(dpooled[:, k * H:(k + 1) * H], lengths, valid, self.pooling,
                                where)  # (L, n, H)
            dZ = lstm_backward(dHs, W_h, lstm_cache)  # (L, n, 4H)
            Hs = lstm_cache[0]
            dZ_flat = dZ.reshape(-1, 4 * H)  # (L * n, 4H)
            dW_x = X.reshape(-1, D).T @ dZ_flat  # (D, 4H)
            dW_h = Hs[:-1].reshape(-1, H).T @ dZ_flat  # (H, 4H): h_{t-1} against step t
            direction_grads += [dW_x, dW_h, dZ_flat.sum(axis=0)]
            token_ids.append(run_ids[valid])  # (n_tokens,)
            dX = (dZ_flat @ W_x.T).reshape(*run_ids.shape, D)  # (L, n, D)
            token_grads.append(dX[valid])  # (n_tokens, D)
        # dE: the token gradients summed per row, rows ascending (a stable sort, so a
        # fixed order of the additions)
        token_ids = np.concatenate(token_ids)
        order = np.argsort(token_ids, kind="stable")
        rows, starts = np.unique(token_ids[order], return_index=True)
        dE = np.add.reduceat(np.concatenate(token_grads)[order], starts, axis=0)  # (m, D)
        return [RowSparse(rows, dE), *direction_grads, dW_out, db_out]
