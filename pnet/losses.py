"""The joint ProjectionNet objective and its gradients w.r.t. both networks' logits.

    L(theta, p) = lambda1 * D(y_theta(x), y)                trainer vs labels
                + lambda2 * tau^2 * D(y_p^tau(x), y_theta^tau(x))   projection vs trainer
                + lambda3 * D(y_p(x), y)                     projection vs labels

``D(q, t) = -sum_c t_c log q_c`` is the cross-entropy of a prediction q against a
target distribution t (one-hot labels, or the trainer's softmax). ``y^tau`` is the
softmax of logits / tau. The trainer's side of the middle term is a constant
(stop-gradient, as in distillation): that term sends gradient only into the
projection network. The tau^2 factor (Hinton et al. 2015) keeps the gradient's
scale independent of tau; at tau = 1 the term is the paper's D(y_p, y_theta).

Each term is a weighted mean over the batch, ``sum_i s_i D_i / sum_i s_i``, with
``s_i`` = sample_weight * class_weight. Unlabelled rows (label -1, as in
``sklearn.semi_supervised``; ALGORITHM.md section 6) have no label: their ``s_i``
is 0 in the two label terms, so they enter the distillation term only (the
projection net imitating the trainer on inputs whose label nobody gave).
Gradients are w.r.t. the logits; the L2 penalty on the weights is added by the
estimator.
"""
import numpy as np


def log_softmax(Z):
    """Row-wise log softmax, stable for large logits."""
    Z = Z - Z.max(axis=1, keepdims=True)
    return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))


def softmax(Z):
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    return P


def cross_entropy(logits, targets, weights):
    """Weighted mean cross-entropy of softmax(logits) against target distributions.

    Returns (loss, dloss/dlogits). ``weights`` (n,) sum to anything positive.
    """
    log_p = log_softmax(logits)  # (n, n_classes)
    total = weights.sum()
    w = weights / total if total > 0 else np.zeros_like(weights)  # (n,)
    loss = -float(np.dot(w, (targets * log_p).sum(axis=1)))
    grad = np.exp(log_p)
    grad -= targets
    grad *= w[:, None].astype(grad.dtype)
    return loss, grad


def distillation(student_logits, teacher_logits, temperature, weights):
    """tau^2 * D(softmax(student / tau), softmax(teacher / tau)), no gradient to the teacher.

    Returns (loss, dloss/dstudent_logits).
    """
    tau = temperature
    targets = softmax(teacher_logits / tau)  # constant: stop-gradient
    loss, grad = cross_entropy(student_logits / tau, targets, weights)
    grad *= tau  # tau^2 * (1 / tau) from the chain rule through logits / tau
    return tau * tau * loss, grad


def joint_loss(trainer_logits, projection_logits, Y, weights, trainer_weight,
               distillation_weight, projection_weight, temperature, labelled=None):
    """The three-term objective.

    Parameters
    ----------
    trainer_logits : (n, n_classes) or None when the trainer is not trained
        (trainer_weight == distillation_weight == 0).
    projection_logits : (n, n_classes)
    Y : (n, n_classes) one-hot labels
    weights : (n,) per-sample weights
    labelled : (n,) bool or None (every row labelled)
        Rows without a label (their rows of Y are ignored) count in the
        distillation term only.

    Returns
    -------
    loss : float, the weighted sum of the terms
    terms : dict term name -> unweighted value
    trainer_grad, projection_grad : dL/dlogits of each network (trainer_grad None
        when ``trainer_logits`` is None)
    """
    terms = {}
    projection_grad = np.zeros_like(projection_logits)
    trainer_grad = None
    label_weights = weights if labelled is None else weights * labelled
    if trainer_logits is not None:
        terms["trainer"], g = cross_entropy(trainer_logits, Y, label_weights)
        trainer_grad = trainer_weight * g
        terms["distillation"], g = distillation(projection_logits, trainer_logits,
                                                temperature, weights)
        projection_grad += distillation_weight * g
    terms["projection"], g = cross_entropy(projection_logits, Y, label_weights)
    projection_grad += projection_weight * g
    loss = (trainer_weight * terms.get("trainer", 0.0)
            + distillation_weight * terms.get("distillation", 0.0)
            + projection_weight * terms["projection"])
    return loss, terms, trainer_grad, projection_grad
