"""The training loop: epochs of minibatch steps on the joint objective, and stopping.

``JointTraining`` is mixed into the estimators (``ProjectionNetClassifier`` and,
through it, ``TextProjectionNetClassifier``). It drives two networks it knows
only through their interface (``pnet.networks``): the trainer (``self.trainer_``:
the MLP, the LSTM) and the projection net (``self.projection_``: layers on 0/1
bits, possibly trained for a quantised format). It owns the minibatch loop, the joint loss with the L2 penalty and
gradient clipping, the optimiser, the divergence checks and the stopping rule;
the estimators own validation, inputs and the fitted state.

One minibatch step::

    trainer logits, cache   = trainer_.forward(inputs)            (when it takes part)
    projection logits, cache = projection_.forward(bits)
    loss, dlogits           = joint_loss(...)                      (pnet.losses)
    grads                   = trainer_.backward(...), projection_.backward(...)
    + L2 on penalised weights, clip (recurrent trainers), optimiser.update
"""
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from ._hyperplanes import unpack_rows
from .layers import RowSparse
from .losses import joint_loss
from .lstm import clip_gradients
from .networks import inputs_of
from .optimizers import OPTIMIZERS

TERMS = ("trainer", "distillation", "projection")
#: largest gradient entry a step accepts: its square (Adam's second moment) must be finite
GRAD_LIMIT = 1e19


class JointTraining:
    """The epoch loop and the joint objective, as methods of the estimator."""

    def _make_optimizer(self):
        if self.solver == "adam":
            return OPTIMIZERS["adam"](self._params(), self.learning_rate_init)
        return OPTIMIZERS["sgd"](self._params(), self.learning_rate_init, self.momentum,
                                 self.nesterovs_momentum)

    def _train_epochs(self, X, packed, rows, y_index, labelled, sample_weight, validation,
                      max_iter):
        """Epochs of minibatch steps over ``rows`` (indices into X / packed / y_index).

        ``labelled`` (bool per row, or None when every row is) marks the rows whose
        label counts; the others enter the distillation term only.

        Minibatches are gathered by index, so no copy of the data is made: X
        (the trainer's input, None when no trainer takes part) is cast to float32
        per minibatch, the packed bits are unpacked per minibatch, one-hot labels
        are built per minibatch. BLAS runs single-threaded here (see
        ``_training_threads``).
        """
        n_samples = rows.shape[0]
        n_classes = self.classes_.shape[0]
        n_bits = self.hyperplanes_.n_bits
        batch_size = min(200, n_samples) if self.batch_size == "auto" else \
            min(self.batch_size, n_samples)
        params = self._params()
        # the optimiser's state belongs to these very arrays; held by reference (not by
        # id), a pickled or deep-copied estimator (dask moves it between workers)
        # continues with its optimiser state, as the in-memory one does
        if (self._optimizer is None or not (self.warm_start or max_iter == 1)
                or len(params) != len(self._optimizer_params)
                or any(p is not q for p, q in zip(params, self._optimizer_params))):
            self._optimizer = self._make_optimizer()
            self._optimizer_params = params
        eye = np.eye(n_classes, dtype=np.float32)
        train_trainer = self._trains_trainer
        rng = self._random_state
        try:
            # overflow is detected below and reported as one error, not as warnings
            with _training_threads(), np.errstate(over="ignore", invalid="ignore"):
                for _ in range(max_iter):
                    order = rows[rng.permutation(n_samples)] if self.shuffle else rows
                    sums = dict.fromkeys(("loss", *TERMS), 0.0)
                    for start in range(0, n_samples, batch_size):
                        batch = order[start:start + batch_size]
                        Xb = None if X is None else _as_float32(X[batch])
                        bits = unpack_rows(packed, batch, n_bits)  # (batch, T*d) 0/1
                        batch_sums = self._step(
                            Xb, bits, eye[y_index[batch]], sample_weight[batch],
                            train_trainer, None if labelled is None else labelled[batch])
                        for key, value in batch_sums.items():
                            sums[key] += value * len(batch)
                    self.n_iter_ += 1
                    self.t_ += n_samples
                    self.loss_curve_.append(sums["loss"] / n_samples)
                    for term in TERMS:
                        value = sums[term] / n_samples if term in sums and (
                            train_trainer or term == "projection") else np.nan
                        self.loss_curves_[term].append(value)
                    if not all(np.isfinite(p).all() for p in params):
                        raise _Diverged(f"non-finite weights after epoch {self.n_iter_}")
                    stop = self._end_of_epoch(validation)
                    if stop:
                        break
                else:
                    if max_iter > 1:
                        warnings.warn(f"Stochastic optimizer: maximum iterations ({max_iter}) "
                                      "reached and the optimization hasn't converged yet.",
                                      ConvergenceWarning)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user; the model keeps the weights of "
                          "the last completed step.")
        if self.early_stopping and self._best_params is not None:
            for p, best in zip(self._all_params(), self._best_params):
                p[...] = best

    def _step(self, X, bits, Y, weights, train_trainer, labelled=None):
        """One optimiser update on one batch; returns the batch's loss and terms."""
        loss, terms, grads = self._loss_and_grads(X, bits, Y, weights, train_trainer,
                                                  labelled)
        if not np.isfinite(loss):
            raise _Diverged(f"loss {loss} at epoch {self.n_iter_ + 1}")
        for g in grads:  # |g| <= 1e19: Adam's g^2 stays finite in float32
            values = g.values if isinstance(g, RowSparse) else g
            if values.size and not (-GRAD_LIMIT <= values.min() and values.max() <= GRAD_LIMIT):
                raise _Diverged(f"a gradient beyond {GRAD_LIMIT:g} at epoch {self.n_iter_ + 1}")
        self._optimizer.update(self._params(), [g.astype(np.float32, copy=False) for g in grads])
        return {"loss": loss, **terms}

    def _loss_and_grads(self, X, bits, Y, weights, train_trainer, labelled=None):
        """The joint loss plus L2 penalty on a batch, and its gradient w.r.t. ``_params()``.

        Forward both nets, the joint loss on their logits, backward both nets. The
        gradients come in the order of ``_params()`` (no trainer gradients when
        ``trainer_weight == 0``). Dtype-generic: the gradient check runs it in float64.
        """
        n = bits.shape[0]
        if train_trainer:
            trainer_logits, t_cache = self.trainer_.forward(*inputs_of(X))
        else:
            trainer_logits = None
        projection_logits, p_cache = self.projection_.forward(bits)  # (straight-through
        loss, terms, trainer_grad, projection_grad = joint_loss(     # when quantised)
            trainer_logits, projection_logits, Y, weights, self.trainer_weight,
            self.distillation_weight, self.projection_weight, self.temperature, labelled)
        p_grads = self.projection_.backward(p_cache, projection_grad)
        update_trainer = train_trainer and self._updates_trainer
        t_grads = self.trainer_.backward(t_cache, trainer_grad) if update_trainer else []
        # L2 penalty alpha / (2 n) * ||W||^2 on the weights (not biases) being trained;
        # for a row-sparse gradient (CSR input) on the rows the minibatch touches only
        trained = [(self.projection_, p_grads)]
        if update_trainer:
            trained.append((self.trainer_, t_grads))
        for net, net_grads in trained:
            for W, G, penalised in zip(net.params, net_grads, net.penalised):
                if not penalised:
                    continue
                if isinstance(G, RowSparse):
                    W, G = W[G.rows], G.values
                loss += 0.5 * self.alpha * float(np.dot(W.ravel(), W.ravel())) / n
                G += (self.alpha / n) * W
        if update_trainer and getattr(self.trainer_, "clip", None):  # recurrent trainers
            clip_gradients(t_grads, self.trainer_.clip)
        grads = [*t_grads, *p_grads]
        return loss, terms, grads

    def _end_of_epoch(self, validation):
        """Bookkeeping, verbose line and the stopping rule; True to stop."""
        line = f"Epoch {self.n_iter_}: loss {self.loss_curve_[-1]:.5f}"
        line += " (" + ", ".join(f"{t} {self.loss_curves_[t][-1]:.4f}" for t in TERMS
                                  if not np.isnan(self.loss_curves_[t][-1])) + ")"
        if validation is not None:
            X, val, packed_val, y_val = validation
            score = float(np.mean(np.argmax(self._projection_logits(packed_val), 1) == y_val))
            self.validation_scores_.append(score)
            if self._trains_trainer:
                t_score = self._trainer_accuracy(X, val, y_val)
            else:
                t_score = np.nan
            self.trainer_validation_scores_.append(t_score)
            line += f" | validation accuracy: projection {score:.4f}, trainer {t_score:.4f}"
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_params = [p.copy() for p in self._all_params()]
        else:
            loss = self.loss_curve_[-1]
            best = np.inf if self.best_loss_ is None else self.best_loss_
            if loss > best - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(best, loss)
        if self.verbose:
            print(line)
        if self._no_improvement_count > self.n_iter_no_change:
            if self.verbose:
                what = "Validation score" if validation is not None else "Training loss"
                print(f"{what} did not improve more than tol={self.tol} for "
                      f"{self.n_iter_no_change} consecutive epochs. Stopping.")
            return True
        return False

    def _trainer_accuracy(self, X, rows, y_rows, chunk=1000):
        """The trainer's accuracy on X[rows] (labels y_rows), in chunks: bounded
        activations, no copy of the rows."""
        correct = 0
        for start in range(0, rows.shape[0], chunk):
            logits = self.trainer_.forward(*inputs_of(
                _as_float32(X[rows[start:start + chunk]])))[0]
            correct += int(np.sum(np.argmax(logits, axis=1) == y_rows[start:start + chunk]))
        return correct / rows.shape[0]


class _Diverged(Exception):
    """Training produced a non-finite loss or weights (turned into a ValueError)."""


def _as_float32(X):
    """The trainer's input in float32 (no copy when it already is)."""
    return X.astype(np.float32, copy=False)



def _training_threads():
    """BLAS limited to one thread for the minibatch loop.

    A minibatch's matrix products are small (batch 200 by a few hundred units):
    a second OpenBLAS thread saves little when the machine is idle and, when
    another process holds a core, makes every product wait for a descheduled
    thread (measured in ``bench/fit_load.py``). numba's kernels are not called
    in the loop.
    """
    return threadpool_limits(limits=1, user_api="blas")
