"""One projection-net configuration, fitted with fixed epochs and measured.

Shared by the neural-bits study (``bench.neural_bits``) and the accuracy-per-byte
study (``bench.budgets``). A "point" is (T, d, hidden layers, alone or joint,
extra estimator parameters); ``run_point`` fits it for model seeds 0..seeds-1 and
returns one row (a dict) of means and standard deviations over the seeds:

- ``trained``: the format the point is trained for (``fmt``:
  ``ProjectionNetClassifier(quantize=fmt)``), or 'float32';
- ``format``: the compact model's weight format: ``fmt`` when trained for it,
  else 'int8', quantised after float32 training;
- ``acc``, ``f1``: the fitted estimator's test accuracy and macro-F1 (%);
- ``acc_compact``: the test accuracy of the compact model in ``format`` (%);
  ``train_acc_compact``: its accuracy on the training rows (the gap to
  ``acc_compact`` tells a data-limited model from a capacity-limited one);
- ``bytes_float32``: ``clf.projection_size_bytes_`` (the trained format's bytes,
  float32 unless ``fmt``); ``bytes_compact``: the
  compact model's ``size_bytes`` (``compact_size``), measured on the fitted model;
- ``fit_s``: wall-clock seconds of ``fit`` (noisy on a shared machine);
- ``trainer_acc``: the trainer's test accuracy for joint points.

Epochs are fixed (``tol = 0``, no early stop). "alone" is ``trainer_weight =
distillation_weight = 0`` (no trainer is built). This module owns fitting and
measuring one point; sweeps, tables and plots live in the studies.
"""
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import f1_score

from pnet import ProjectionNetClassifier
from pnet._quantize import stored_bytes
from pnet.compact import SEED_BYTES

ALONE = dict(trainer_weight=0.0, distillation_weight=0.0)
MODES_TRAINED = ("alone", "joint")
#: the compact format of a point trained in float32 (quantised after training)
POST_TRAINING_FORMAT = "int8"


def hidden_name(sizes):
    """'none' for (), 'FC[128]' for (128,), 'FC[64-32]' for (64, 32)."""
    return "none" if not sizes else "FC[" + "-".join(str(n) for n in sizes) + "]"


def compact_size(n_bits_total, hidden, n_classes, fmt):
    """``size_bytes`` of the compact model in ``fmt`` ('int8', 'int4', 'ternary') with
    these layer sizes, without fitting: ``pnet._quantize.stored_bytes`` + the seed."""
    return stored_bytes([n_bits_total, *hidden, n_classes], fmt) + SEED_BYTES


def fixed_epochs(epochs, seed):
    return dict(max_iter=epochs, tol=0.0, n_iter_no_change=10**6, random_state=seed)


def fit_one(data, T, d, hidden, mode, seed, epochs, extra=None, fmt=None):
    """A fitted estimator (trained for ``fmt`` when given); fixed epochs, no early stop."""
    params = dict(n_projections=T, n_bits=d, projection_hidden_layer_sizes=tuple(hidden),
                  quantize=fmt, **fixed_epochs(epochs, seed),
                  **(ALONE if mode == "alone" else {}), **(extra or {}))
    clf = ProjectionNetClassifier(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(data.X_train, data.y_train)
    return clf


def run_point(data, T, d, hidden, mode, seeds, epochs, extra=None, fmt=None):
    """One row: mean/sd over model seeds of the projection net's test scores, and sizes.
    ``fmt``: the weight format it is trained for (None: float32, then int8)."""
    extra = extra or {}
    stored = fmt or POST_TRAINING_FORMAT
    acc, f1, acc_q, train_q, seconds, trainer_acc = [], [], [], [], [], []
    for seed in range(seeds):
        clf = fit_one(data, T, d, hidden, mode, seed, epochs, extra, fmt)
        pred = clf.predict(data.X_test)
        acc.append(100 * np.mean(pred == data.y_test))
        f1.append(100 * f1_score(data.y_test, pred, average="macro"))
        compact = clf.to_compact(quantize=stored)
        acc_q.append(100 * np.mean(compact.predict(data.X_test) == data.y_test))
        train_q.append(100 * np.mean(compact.predict(data.X_train) == data.y_train))
        seconds.append(clf.fit_time_)
        if mode == "joint":
            trainer_acc.append(100 * np.mean(clf.trainer_predict(data.X_test) == data.y_test))
    density = extra.get("density", "auto")
    projection = extra.get("projection", "sparse_sign")
    if "window" in extra:
        projection += " {}-{}".format(*extra["window"])
    return dict(dataset=data.name, features=data.features, n_train=data.X_train.shape[0],
                projection=projection,
                T=T, d=d, bits=T * d, hidden=hidden_name(hidden), mode=mode,
                trained=fmt or "float32", format=stored,
                density=density if isinstance(density, str) else f"{density:.4g}",
                epochs=epochs, seeds=seeds,
                acc=np.mean(acc), acc_sd=np.std(acc), f1=np.mean(f1), f1_sd=np.std(f1),
                acc_compact=np.mean(acc_q), acc_compact_sd=np.std(acc_q),
                train_acc_compact=np.mean(train_q),
                bytes_float32=clf.projection_size_bytes_, bytes_compact=compact.size_bytes,
                fit_s=np.mean(seconds),
                trainer_acc=np.mean(trainer_acc) if trainer_acc else float("nan"))


def progress(row):
    """One line per fitted point, flushed (long runs show where they are)."""
    print(f"  {row['dataset']} T={row['T']} d={row['d']} {row['hidden']} {row['mode']} "
          f"[{row['features']}, {row['projection']}, density {row['density']}]: "
          f"{row['acc']:.2f} ± "
          f"{row['acc_sd']:.2f} % ({row['format']} {row['acc_compact']:.2f} %, train "
          f"{row['train_acc_compact']:.2f} %, {row['bytes_compact']:,} B), "
          f"{row['fit_s']:.1f} s/fit", flush=True)
