"""The LSTM trainer network (``pnet.lstm``): gradients, a plain twin, masks, learning.

- Central differences in float64 of ``cross_entropy(logits, Y, w)`` w.r.t. every
  parameter, the embedding included, for each pooling, one and two directions,
  lengths from 0 to the padded length and garbage in the padded positions.
- The batched forward against ``reference_logits``: one text at a time, one step
  at a time, each text at its own length (no padding, no masks), gates unfused.
- Padding changes nothing; empty texts pool to zero; same seed, same network.
- An order-dependent task the LSTM learns and a bag of tokens cannot.
- Where PyTorch is installed (never a pnet dependency): logits and every gradient
  against ``torch.nn.LSTM`` over packed sequences with the same parameters.
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import LogisticRegression

from pnet.layers import RowSparse
from pnet.losses import cross_entropy
from pnet.lstm import POOLINGS, LSTMNetwork, clip_gradients
from pnet.optimizers import Adam
from test_gradients import RTOL, numeric_grad, rel_error

DIRECTIONS = [False, True]


# -- the plain twin ---------------------------------------------------------------------------
def reference_logits(net, ids, lengths):
    """Logits one text at a time, one step at a time, at each text's own length."""
    E, W_out, b_out = net.params[0], net.params[-2], net.params[-1]
    H = net.hidden_size

    def sigma(z):
        return 1 / (1 + np.exp(-z))

    logits = []
    for text, length in zip(ids, lengths):
        tokens = list(text[:length])
        features = []
        for k, order in enumerate([tokens, tokens[::-1]][:net.n_directions]):
            W_x, W_h, b = net.params[1 + 3 * k:4 + 3 * k]
            Wx = [W_x[:, j * H:(j + 1) * H] for j in range(4)]  # i, f, g, o
            Wh = [W_h[:, j * H:(j + 1) * H] for j in range(4)]
            bs = [b[j * H:(j + 1) * H] for j in range(4)]
            h, c, states = np.zeros(H), np.zeros(H), []
            for token in order:
                x = E[token]
                i = sigma(x @ Wx[0] + h @ Wh[0] + bs[0])
                f = sigma(x @ Wx[1] + h @ Wh[1] + bs[1])
                g = np.tanh(x @ Wx[2] + h @ Wh[2] + bs[2])
                o = sigma(x @ Wx[3] + h @ Wh[3] + bs[3])
                c = f * c + i * g
                h = o * np.tanh(c)
                states.append(h)
            if not states:
                features.append(np.zeros(H))
            elif net.pooling == "last":
                features.append(states[-1])
            elif net.pooling == "mean":
                features.append(np.mean(states, axis=0))
            else:
                features.append(np.max(states, axis=0))
        logits.append(np.concatenate(features) @ W_out + b_out)
    return np.array(logits)


# -- data -----------------------------------------------------------------------------------
N_EMBEDDINGS, N_USED = 13, 10  # ids N_USED.. appear only in padded positions


def small_batch(seed, lengths, pad_to=None):
    """Token ids (n, L) valid below ``lengths``, padded with ids no valid token uses."""
    rng = np.random.default_rng(seed)
    lengths = np.asarray(lengths, dtype=np.int64)
    L = pad_to or lengths.max()
    ids = rng.integers(0, N_USED, (len(lengths), L))
    padded = np.arange(L)[None, :] >= lengths[:, None]
    ids[padded] = rng.integers(N_USED, N_EMBEDDINGS, padded.sum())
    return ids, lengths


def small_net(pooling, bidirectional, seed=0, hidden_size=4):
    net = LSTMNetwork(N_EMBEDDINGS, 3, hidden_size, 3, bidirectional=bidirectional,
                      pooling=pooling, dtype=np.float64)
    net.initialize(np.random.RandomState(seed))
    for p in net.params[1:]:  # biases off zero (W_out's is 0 at initialisation)
        p += np.random.RandomState(seed + 1).normal(scale=0.1, size=p.shape)
    return net


LENGTHS = [6, 3, 0, 1, 6, 2]  # the empty text and the padded length both present


# -- gradients -------------------------------------------------------------------------------
@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("bidirectional", DIRECTIONS)
def test_gradients_match_central_differences(pooling, bidirectional):
    net = small_net(pooling, bidirectional)
    ids, lengths = small_batch(1, LENGTHS)
    rng = np.random.default_rng(2)
    Y = np.eye(3)[rng.integers(0, 3, len(lengths))]
    w = rng.uniform(0.5, 1.5, len(lengths))

    def loss():
        return cross_entropy(net.forward(ids, lengths)[0], Y, w)[0]

    logits, cache = net.forward(ids, lengths)
    grads = net.backward(cache, cross_entropy(logits, Y, w)[1])
    assert len(grads) == len(net.params)
    dE = grads[0]
    assert isinstance(dE, RowSparse)
    # the rows the valid tokens use, ascending and unique; none of the padding's
    assert_array_equal(dE.rows, np.unique(ids[np.arange(6)[None, :] < lengths[:, None]]))
    for param, grad in zip(net.params, grads):
        if isinstance(grad, RowSparse):
            grad = grad.toarray(param.shape)
        assert grad.shape == param.shape and grad.dtype == np.float64
        numeric = numeric_grad(loss, param)
        assert rel_error(grad, numeric) < RTOL
    # padding-only rows of E: no gradient, numerically none either
    assert not numeric_grad(loss, net.params[0])[N_USED:].any()


def test_embedding_gradient_sums_repeats_and_directions():
    net = small_net("mean", True)
    ids = np.array([[4, 4, 7, 4]])
    lengths = np.array([4])
    logits, cache = net.forward(ids, lengths)
    dlogits = np.ones_like(logits)
    dE = net.backward(cache, dlogits)[0]
    assert_array_equal(dE.rows, [4, 7])
    # against the dense gradient of E from central differences of sum(logits)
    numeric = numeric_grad(lambda: net.forward(ids, lengths)[0].sum(), net.params[0])
    assert rel_error(dE.toarray(net.params[0].shape), numeric) < RTOL


# -- the forward pass against the plain twin -----------------------------------------------------
@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("bidirectional", DIRECTIONS)
def test_forward_equals_step_by_step_reference(pooling, bidirectional):
    net = small_net(pooling, bidirectional, hidden_size=5)
    ids, lengths = small_batch(3, [9, 1, 0, 4, 9, 7, 2])
    logits, _ = net.forward(ids, lengths)
    assert_allclose(logits, reference_logits(net, ids, lengths), rtol=0, atol=1e-12)


# -- padding and empty texts -----------------------------------------------------------------
@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("bidirectional", DIRECTIONS)
def test_padding_contributes_nothing(pooling, bidirectional):
    net = small_net(pooling, bidirectional)
    ids, lengths = small_batch(4, LENGTHS)
    dlogits = np.random.default_rng(5).normal(size=(len(lengths), 3))
    logits, cache = net.forward(ids, lengths)
    grads = net.backward(cache, dlogits)
    # other garbage in the padded positions, out-of-range ids included: identical
    other = ids.copy()
    padded = np.arange(ids.shape[1])[None, :] >= lengths[:, None]
    other[padded] = np.random.default_rng(6).integers(-5, 100, padded.sum())
    logits2, cache2 = net.forward(other, lengths)
    assert_array_equal(logits2, logits)
    for g, g2 in zip(grads, net.backward(cache2, dlogits)):
        if isinstance(g, RowSparse):
            assert_array_equal(g2.rows, g.rows)
            g, g2 = g.values, g2.values
        assert_array_equal(g2, g)
    # five more padded steps: the same up to rounding
    wider = np.concatenate([ids, np.full((len(lengths), 5), 11)], axis=1)
    logits3, cache3 = net.forward(wider, lengths)
    assert_allclose(logits3, logits, rtol=1e-13, atol=1e-15)
    for g, g3 in zip(grads, net.backward(cache3, dlogits)):
        if isinstance(g, RowSparse):
            assert_array_equal(g3.rows, g.rows)
            g, g3 = g.values, g3.values
        assert_allclose(g3, g, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("bidirectional", DIRECTIONS)
def test_empty_texts_pool_to_zero(pooling, bidirectional):
    net = small_net(pooling, bidirectional)
    b_out = net.params[-1]
    ids, lengths = small_batch(7, [0, 5, 0])
    logits, _ = net.forward(ids, lengths)
    assert_array_equal(logits[[0, 2]], np.broadcast_to(b_out, (2, 3)))
    assert not np.allclose(logits[1], b_out)
    # a batch of empty texts only, even with no time axis at all
    for L in (0, 3):
        logits, cache = net.forward(np.zeros((2, L), dtype=np.int64), np.zeros(2, np.int64))
        assert_array_equal(logits, np.broadcast_to(b_out, (2, 3)))
        dlogits = np.arange(6.0).reshape(2, 3)
        grads = net.backward(cache, dlogits)
        assert grads[0].rows.size == 0 and grads[0].values.shape == (0, 3)
        assert not any(g.any() for g in grads[1:-1])
        assert_array_equal(grads[-1], dlogits.sum(axis=0))


def test_invalid_inputs_raise():
    net = small_net("mean", False)
    ids = np.array([[1, 2, 3]])
    with pytest.raises(ValueError, match="lengths"):
        net.forward(ids, np.array([4]))
    with pytest.raises(ValueError, match="lengths"):
        net.forward(ids, np.array([-1]))
    with pytest.raises(ValueError, match="token ids"):
        net.forward(np.array([[1, N_EMBEDDINGS, 3]]), np.array([2]))
    with pytest.raises(ValueError, match="token ids"):
        net.forward(np.array([[-1, 2, 3]]), np.array([1]))
    with pytest.raises(ValueError, match="pooling"):
        LSTMNetwork(5, 2, 2, 2, pooling="sum")


# -- parameters -----------------------------------------------------------------------------
@pytest.mark.parametrize("bidirectional", DIRECTIONS)
def test_parameters_order_initialisation_and_bytes(bidirectional):
    D, H, C, V = 6, 5, 4, 50
    net = LSTMNetwork(V, D, H, C, bidirectional=bidirectional).initialize(
        np.random.RandomState(0))
    shapes = [(V, D)] + [(D, 4 * H), (H, 4 * H), (4 * H,)] * net.n_directions \
        + [(net.n_directions * H, C), (C,)]
    assert [p.shape for p in net.params] == shapes
    assert all(p.dtype == np.float32 for p in net.params)
    assert net.penalised == [True] + [True, True, False] * net.n_directions + [True, False]
    for b in net.params[3:-2:3]:  # forget gate 1, the others 0
        assert_array_equal(b, np.r_[np.zeros(H), np.ones(H), np.zeros(2 * H)])
    assert net.stored_bytes() == 4 * sum(int(np.prod(s)) for s in shapes)
    ids, lengths = small_batch(8, [3, 1, 4])
    ids %= V
    logits, cache = net.forward(ids, lengths)
    assert logits.dtype == np.float32
    grads = net.backward(cache, np.ones((3, C)))
    assert all((g.values if isinstance(g, RowSparse) else g).dtype == np.float32
               for g in grads)


def test_same_seed_same_network():
    def build(seed):
        net = LSTMNetwork(40, 4, 6, 3, bidirectional=True, pooling="max")
        return net.initialize(np.random.RandomState(seed))

    a, b, c = build(3), build(3), build(4)
    for p, q in zip(a.params, b.params):
        assert_array_equal(p, q)
    assert not np.array_equal(a.params[0], c.params[0])
    ids, lengths = small_batch(9, [5, 2, 0, 5])
    assert_array_equal(a.forward(ids, lengths)[0], b.forward(ids, lengths)[0])


def test_clip_gradients_by_global_norm():
    rng = np.random.default_rng(10)
    grads = [RowSparse(np.array([1, 4]), rng.normal(size=(2, 3))), rng.normal(size=(3, 5)),
             rng.normal(size=5)]
    flat = np.concatenate([grads[0].values.ravel(), grads[1].ravel(), grads[2]])
    norm = np.linalg.norm(flat)
    before = [g.values.copy() if isinstance(g, RowSparse) else g.copy() for g in grads]
    assert clip_gradients(grads, 2 * norm) == pytest.approx(norm)  # under the cap: unchanged
    assert clip_gradients(grads, None) == pytest.approx(norm)
    assert_array_equal(grads[1], before[1])
    assert clip_gradients(grads, 0.75 * norm) == pytest.approx(norm)
    clipped = np.concatenate([grads[0].values.ravel(), grads[1].ravel(), grads[2]])
    assert np.linalg.norm(clipped) == pytest.approx(0.75 * norm, rel=1e-5)
    assert_allclose(clipped, 0.75 * flat, rtol=1e-5)  # the direction kept


# -- learning order ------------------------------------------------------------------------------
A, B = 1, 2  # the label: does A come before B? Other tokens 3..9 are noise.


def order_task(n, seed):
    """Texts with one A, one B and noise at random positions; the same bag for both labels."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 11, n)
    ids = np.zeros((n, lengths.max()), dtype=np.int64)
    y = np.empty(n, dtype=np.int64)
    for row, length in enumerate(lengths):
        ids[row, :length] = rng.integers(3, 10, length)
        a, b = rng.choice(length, 2, replace=False)
        ids[row, a], ids[row, b] = A, B
        y[row] = a < b
    return ids, lengths, y


def test_learns_order_that_a_bag_of_tokens_cannot():
    ids, lengths, y = order_task(1000, 11)
    ids_test, lengths_test, y_test = order_task(500, 12)

    def counts(ids, lengths):
        return np.array([np.bincount(t[:n], minlength=10) for t, n in zip(ids, lengths)])

    bag = LogisticRegression().fit(counts(ids, lengths), y)
    assert bag.score(counts(ids_test, lengths_test), y_test) < 0.6

    net = LSTMNetwork(16, 8, 16, 2, pooling="last").initialize(np.random.RandomState(0))
    opt = Adam(net.params, learning_rate=0.01)
    Y = np.eye(2)[y]
    rng = np.random.RandomState(1)
    for step in range(300):
        batch = rng.choice(len(y), 32, replace=False)
        L = lengths[batch].max()
        logits, cache = net.forward(ids[batch, :L], lengths[batch])
        _, dlogits = cross_entropy(logits, Y[batch], np.ones(32))
        grads = net.backward(cache, dlogits)
        clip_gradients(grads, net.clip)
        opt.update(net.params, grads)
    accuracy = np.mean(net.forward(ids_test, lengths_test)[0].argmax(axis=1) == y_test)
    assert accuracy > 0.95


# -- against an independent implementation (only where PyTorch is installed) ----------------------
def torch_logits(net, ids, lengths):
    """The same network in PyTorch (nn.LSTM over packed sequences), float64, with
    pnet's parameters; returns the logits and the torch parameters in pnet's order."""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    E, W_out, b_out = (torch.tensor(p, requires_grad=True)
                       for p in (net.params[0], net.params[-2], net.params[-1]))
    lstm = nn.LSTM(net.embedding_dim, net.hidden_size, batch_first=True,
                   bidirectional=net.bidirectional).double()
    suffixes = ["", "_reverse"][:net.n_directions]
    with torch.no_grad():  # torch: x W_ih^T + b_ih + h W_hh^T + b_hh, gates [i | f | g | o]
        for k, suffix in enumerate(suffixes):
            W_x, W_h, b = net.params[1 + 3 * k:4 + 3 * k]
            getattr(lstm, "weight_ih_l0" + suffix).copy_(torch.tensor(W_x.T))
            getattr(lstm, "weight_hh_l0" + suffix).copy_(torch.tensor(W_h.T))
            getattr(lstm, "bias_ih_l0" + suffix).copy_(torch.tensor(b))
            getattr(lstm, "bias_hh_l0" + suffix).zero_()
    packed = nn.utils.rnn.pack_padded_sequence(E[torch.tensor(ids)], torch.tensor(lengths),
                                               batch_first=True, enforce_sorted=False)
    out, _ = lstm(packed)
    out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True,
                                              total_length=ids.shape[1])  # (n, L, dirs * H)
    H, n = net.hidden_size, len(lengths)
    valid = torch.tensor(np.arange(ids.shape[1])[None, :] < lengths[:, None])[:, :, None]
    if net.pooling == "last":
        pooled = out[torch.arange(n), torch.tensor(lengths) - 1]
        if net.bidirectional:  # the reverse direction ends at position 0
            pooled = torch.cat([pooled[:, :H], out[:, 0, H:]], dim=1)
    elif net.pooling == "mean":
        pooled = (out * valid).sum(1) / torch.tensor(lengths, dtype=out.dtype)[:, None]
    else:
        pooled = out.masked_fill(~valid, -np.inf).max(1).values
    logits = pooled @ W_out + b_out
    params = [E]
    for suffix in suffixes:
        params += [getattr(lstm, "weight_ih_l0" + suffix), getattr(lstm, "weight_hh_l0" + suffix),
                   getattr(lstm, "bias_ih_l0" + suffix)]
    return logits, params + [W_out, b_out]


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("bidirectional", DIRECTIONS)
def test_matches_pytorch(pooling, bidirectional):
    torch = pytest.importorskip("torch")
    net = small_net(pooling, bidirectional, hidden_size=5)
    ids, lengths = small_batch(13, [7, 1, 4, 7, 2])  # no empty text: torch packs none
    logits, params = torch_logits(net, ids, lengths)
    ours, cache = net.forward(ids, lengths)
    assert_allclose(ours, logits.detach().numpy(), rtol=0, atol=1e-12)
    dlogits = np.random.default_rng(14).normal(size=ours.shape)
    (logits * torch.tensor(dlogits)).sum().backward()
    for g, p in zip(net.backward(cache, dlogits), params):
        expected = p.grad.numpy()
        if isinstance(g, RowSparse):
            g = g.toarray(net.params[0].shape)
        if expected.shape != g.shape:  # torch stores W_x, W_h transposed
            expected = expected.T
        assert_allclose(g, expected, rtol=0, atol=1e-12)
