"""Central-difference gradient checks, in float64, of every backward pass.

Each check perturbs one parameter entry by +-h, recomputes the loss with the
same code the estimator trains with, and compares (L(+h) - L(-h)) / 2h with the
analytic gradient: relative error < 1e-6 (ALGORITHM.md, issue 3).
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from pnet import ProjectionNetClassifier
from pnet._hyperplanes import pack
from pnet.layers import ACTIVATIONS, backward, forward, init_layers
from pnet.layers import RowSparse
from pnet.losses import cross_entropy, distillation, joint_loss, softmax

H = 1e-6
RTOL = 1e-6


def rel_error(analytic, numeric):
    analytic, numeric = np.ravel(analytic), np.ravel(numeric)
    scale = max(np.max(np.abs(analytic)), np.max(np.abs(numeric)), 1e-8)
    return np.max(np.abs(analytic - numeric)) / scale


def numeric_grad(f, param):
    """Central differences of the scalar f() w.r.t. every entry of ``param`` (in place)."""
    grad = np.zeros_like(param)
    flat, gflat = param.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + H
        plus = f()
        flat[i] = old - H
        minus = f()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * H)
    return grad


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def soft_targets(rng, n, c):
    return softmax(rng.normal(size=(n, c)))


# -- loss terms w.r.t. logits ----------------------------------------------------------
@pytest.mark.parametrize("one_hot", [True, False])
def test_cross_entropy_gradient(rng, one_hot):
    n, c = 7, 4
    logits = rng.normal(size=(n, c)) * 3
    targets = np.eye(c)[rng.integers(0, c, n)] if one_hot else soft_targets(rng, n, c)
    weights = rng.uniform(0.1, 2.0, n)
    _, grad = cross_entropy(logits, targets, weights)
    numeric = numeric_grad(lambda: cross_entropy(logits, targets, weights)[0], logits)
    assert rel_error(grad, numeric) < RTOL


@pytest.mark.parametrize("temperature", [0.5, 1.0, 3.0])
def test_distillation_gradient(rng, temperature):
    n, c = 6, 5
    student = rng.normal(size=(n, c)) * 2
    teacher = rng.normal(size=(n, c)) * 2
    weights = rng.uniform(0.1, 2.0, n)
    _, grad = distillation(student, teacher, temperature, weights)
    numeric = numeric_grad(lambda: distillation(student, teacher, temperature, weights)[0],
                           student)
    assert rel_error(grad, numeric) < RTOL


def test_distillation_at_temperature_one_is_cross_entropy_against_trainer(rng):
    student, teacher = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    w = np.ones(5)
    loss, grad = distillation(student, teacher, 1.0, w)
    ref_loss, ref_grad = cross_entropy(student, softmax(teacher), w)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12)


@pytest.mark.parametrize("lambdas", [(1.0, 0.1, 1.0), (0.3, 2.0, 0.7), (1.0, 0.0, 1.0)])
@pytest.mark.parametrize("temperature", [1.0, 2.5])
def test_joint_loss_gradient(rng, lambdas, temperature):
    n, c = 6, 4
    t_logits = rng.normal(size=(n, c)) * 2
    p_logits = rng.normal(size=(n, c)) * 2
    Y = np.eye(c)[rng.integers(0, c, n)]
    w = rng.uniform(0.5, 1.5, n)

    def loss():
        return joint_loss(t_logits, p_logits, Y, w, *lambdas, temperature)[0]

    _, terms, t_grad, p_grad = joint_loss(t_logits, p_logits, Y, w, *lambdas, temperature)
    assert rel_error(p_grad, numeric_grad(loss, p_logits)) < RTOL
    # stop-gradient: the trainer's gradient is lambda1 * D(trainer, y)'s alone, not the
    # full derivative of the joint loss (which would include the distillation term)
    assert rel_error(t_grad, lambdas[0] * cross_entropy(t_logits, Y, w)[1]) < 1e-12
    if lambdas[1] > 0:
        full = numeric_grad(loss, t_logits)
        assert rel_error(t_grad, full) > 1e-3
    total = lambdas[0] * terms["trainer"] + lambdas[1] * terms["distillation"] \
        + lambdas[2] * terms["projection"]
    assert loss() == pytest.approx(total, rel=1e-12)


def test_unlabelled_rows_never_reach_a_label_term(rng):
    # rows 0, 3, 4 unlabelled: their (garbage) targets must not matter, the label terms
    # equal those of the labelled rows alone, the distillation term covers every row
    n, c = 7, 3
    t_logits, p_logits = rng.normal(size=(2, n, c)) * 2
    Y = np.eye(c)[rng.integers(0, c, n)]
    w = rng.uniform(0.5, 1.5, n)
    labelled = np.ones(n, dtype=bool)
    labelled[[0, 3, 4]] = False
    lambdas = (1.0, 0.7, 1.0)
    loss, terms, t_grad, p_grad = joint_loss(t_logits, p_logits, Y, w, *lambdas, 1.5,
                                             labelled)
    garbage = Y.copy()
    garbage[~labelled] = rng.random((3, c)) * 5
    assert joint_loss(t_logits, p_logits, garbage, w, *lambdas, 1.5, labelled)[0] == loss
    _, known, _, _ = joint_loss(t_logits[labelled], p_logits[labelled], Y[labelled],
                                w[labelled], *lambdas, 1.5)
    _, every, _, _ = joint_loss(t_logits, p_logits, Y, w, *lambdas, 1.5)
    assert terms["trainer"] == pytest.approx(known["trainer"], rel=1e-12)
    assert terms["projection"] == pytest.approx(known["projection"], rel=1e-12)
    assert terms["distillation"] == pytest.approx(every["distillation"], rel=1e-12)
    assert not t_grad[~labelled].any()  # the trainer learns from labelled rows only

    def objective():
        return joint_loss(t_logits, p_logits, Y, w, *lambdas, 1.5, labelled)[0]

    assert rel_error(p_grad, numeric_grad(objective, p_logits)) < RTOL
    assert p_grad[~labelled].any()  # ... and the projection net imitates it on all rows


# -- every layer through forward/backward ---------------------------------------------------
def network_loss(coefs, intercepts, inputs, Y, w, activation):
    return cross_entropy(forward(coefs, intercepts, inputs, activation)[-1], Y, w)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("inputs_kind", ["dense", "csr", "bits01", "packed"])
def test_network_gradient(rng, activation, inputs_kind):
    n, n_in, c = 9, 70, 3  # 70 inputs: packed rows span two words
    sizes = [n_in, 5, 4, c]
    coefs, intercepts = init_layers(sizes, activation, np.random.RandomState(1), np.float64)
    if inputs_kind == "dense":
        inputs = rng.normal(size=(n, n_in))
    elif inputs_kind == "csr":
        dense = rng.normal(size=(n, n_in)) * (rng.random((n, n_in)) < 0.2)
        inputs = sp.csr_matrix(dense)
    else:
        bits = (rng.random((n, n_in)) < 0.5).astype(np.float64)
        inputs = bits if inputs_kind == "bits01" else pack(bits)
    Y = np.eye(c)[rng.integers(0, c, n)]
    w = rng.uniform(0.5, 1.5, n)
    if activation == "relu":  # keep pre-activations away from the kink at 0
        for b in intercepts:
            b += 0.05

    def loss():
        return network_loss(coefs, intercepts, inputs, Y, w, activation)[0]

    acts = forward(coefs, intercepts, inputs, activation)
    delta = cross_entropy(acts[-1], Y, w)[1]
    coef_grads, intercept_grads = backward(coefs, acts, delta, activation)
    for param, grad in zip(coefs + intercepts, coef_grads + intercept_grads):
        assert grad.dtype == np.float64
        assert rel_error(grad, numeric_grad(loss, param)) < RTOL


# -- the estimator's whole objective, L2 penalty included -------------------------------------
@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(trainer_weight=0.0, distillation_weight=0.0),
    dict(distillation_weight=0.5, temperature=2.0, projection_hidden_layer_sizes=(6,)),
    dict(activation="tanh", alpha=0.5),
    dict(distillation_weight=0.5, unlabelled=True),
    dict(csr=True),
])
def test_estimator_objective_gradient(rng, kwargs):
    unlabelled = kwargs.pop("unlabelled", False)
    csr = kwargs.pop("csr", False)
    X = rng.normal(size=(40, 6))
    if csr:  # the trainer's first-layer gradient is row-sparse (touched features only)
        X = sp.csr_matrix(X * (rng.random((40, 6)) < 0.3))
    y = np.arange(40) % 3
    clf = ProjectionNetClassifier(n_projections=3, n_bits=5, trainer_hidden_layer_sizes=(7,),
                                  max_iter=2, random_state=0, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    # run the objective in float64 on the fitted (float32) parameters
    clf.trainer_coefs_ = [W.astype(np.float64) for W in clf.trainer_coefs_]
    clf.trainer_intercepts_ = [b.astype(np.float64) + 0.05 for b in clf.trainer_intercepts_]
    clf.coefs_ = [W.astype(np.float64) for W in clf.coefs_]
    clf.intercepts_ = [b.astype(np.float64) + 0.05 for b in clf.intercepts_]
    Xb = X[:11]
    bits = np.unpackbits(clf.hyperplanes_.project(Xb).view(np.uint8), axis=1,
                         bitorder="little")[:, :15].astype(np.float64)
    Y = np.eye(3)[y[:11]]
    w = rng.uniform(0.5, 1.5, 11)
    train_trainer = clf._trains_trainer

    labelled = (np.arange(11) % 3 != 0) if unlabelled else None  # rows 0, 3, 6, 9: -1

    def loss():
        return clf._loss_and_grads(Xb, bits, Y, w, train_trainer, labelled)[0]

    def loss_without_distillation():
        # stop-gradient: the trainer sees the objective with the trainer side of the
        # distillation term held constant, i.e. the objective without that term
        weight, clf.distillation_weight = clf.distillation_weight, 0.0
        try:
            return clf._loss_and_grads(Xb, bits, Y, w, train_trainer, labelled)[0]
        finally:
            clf.distillation_weight = weight

    _, _, grads = clf._loss_and_grads(Xb, bits, Y, w, train_trainer, labelled)
    params = clf._params()
    if csr:
        assert isinstance(grads[0], RowSparse)
        assert set(grads[0].rows) == set(Xb.indices) and len(grads[0].rows) < 6
        grads[0] = grads[0].toarray(params[0].shape)
    trainer_params = clf.trainer_coefs_ + clf.trainer_intercepts_
    assert len(grads) == len(params)
    for param, grad in zip(params, grads):
        is_trainer = any(param is p for p in trainer_params)
        numeric = numeric_grad(loss_without_distillation if is_trainer else loss, param)
        if is_trainer and not train_trainer:
            assert not grad.any() and not numeric.any()
            continue
        assert rel_error(grad, numeric) < RTOL


def test_mlp_trainer_behind_the_network_interface_is_the_plain_formula(rng):
    # pins the refactor: the estimator's objective through ``MLPNetwork`` equals the
    # same objective written out with pnet.layers' list functions, bit for bit
    from pnet.layers import backward as plain_backward, forward as plain_forward

    X = rng.normal(size=(60, 6)).astype(np.float32)
    y = np.arange(60) % 3
    clf = ProjectionNetClassifier(n_projections=3, n_bits=5, trainer_hidden_layer_sizes=(7, 4),
                                  max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    bits = np.unpackbits(clf.hyperplanes_.project(X).view(np.uint8), axis=1,
                         bitorder="little")[:, :15].astype(np.float32)
    Y = np.eye(3, dtype=np.float32)[y]
    w = np.ones(60)
    loss, _, grads = clf._loss_and_grads(X, bits, Y, w, True)

    Wt, bt = clf.trainer_coefs_, clf.trainer_intercepts_
    t_acts = plain_forward(Wt, bt, X, "relu")
    p_acts = plain_forward(clf.coefs_, clf.intercepts_, bits, "relu")
    ref_loss, _, t_grad, p_grad = joint_loss(t_acts[-1], p_acts[-1], Y, w, 1.0, 0.1, 1.0, 1.0)
    tc, ti = plain_backward(Wt, t_acts, t_grad, "relu")
    pc, pi = plain_backward(clf.coefs_, p_acts, p_grad, "relu")
    for W, G in [*zip(clf.coefs_, pc), *zip(Wt, tc)]:
        ref_loss += 0.5 * clf.alpha * float(np.dot(W.ravel(), W.ravel())) / 60
        G += (clf.alpha / 60) * W
    assert loss == ref_loss
    for g, h in zip(grads, [*tc, *ti, *pc, *pi], strict=True):
        np.testing.assert_array_equal(g, h)


@pytest.mark.parametrize("pooling, bidirectional", [("mean", False), ("last", True),
                                                    ("max", False)])
def test_joint_objective_gradient_with_the_lstm_trainer(pooling, bidirectional):
    # the whole objective (both nets, three terms, L2, unlabelled rows) with the LSTM as
    # the trainer, in float64, against central differences; padded steps included
    from pnet import TextProjectionNetClassifier

    texts = ["ab cd ab", "ef", "", "cd ef ab gh ij", "gh gh", "ab", "ij cd", "ef ab"] * 3
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1] * 3)
    clf = TextProjectionNetClassifier(
        trainer="lstm", trainer_n_features=23, embedding_dim=3, lstm_hidden_size=2,
        pooling=pooling, bidirectional=bidirectional, clip=None, n_projections=3, n_bits=4,
        distillation_weight=0.7, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(texts, y)
    clf.trainer_.params = [p.astype(np.float64) + 0.01 for p in clf.trainer_.params]
    clf.coefs_ = [W.astype(np.float64) for W in clf.coefs_]
    clf.intercepts_ = [b.astype(np.float64) + 0.05 for b in clf.intercepts_]
    batch = texts[:8]
    packed, seqs = clf._fit_inputs(np.array(batch, dtype=object))
    bits = np.unpackbits(packed.view(np.uint8), axis=1, bitorder="little")[:, :12].astype(
        np.float64)
    Y = np.eye(3)[y[:8]]
    w = np.linspace(0.5, 1.5, 8)
    labelled = np.arange(8) % 4 != 1  # two unlabelled rows

    def objective(without_distillation=False):
        weight = clf.distillation_weight
        if without_distillation:  # the trainer's side is a constant in that term
            clf.distillation_weight = 0.0
        try:
            return clf._loss_and_grads(seqs, bits, Y, w, True, labelled)[0]
        finally:
            clf.distillation_weight = weight

    _, _, grads = clf._loss_and_grads(seqs, bits, Y, w, True, labelled)
    params = clf._params()
    n_trainer = len(clf.trainer_.params)
    assert len(grads) == len(params)
    for i, (param, grad) in enumerate(zip(params, grads)):
        if isinstance(grad, RowSparse):
            grad = grad.toarray(param.shape)
        numeric = numeric_grad(lambda: objective(i < n_trainer), param)
        assert rel_error(grad, numeric) < RTOL, i
