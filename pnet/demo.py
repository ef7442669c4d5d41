"""The main job: train ProjectionNet on scikit-learn's digits and report both nets.

Run with ``python -m pnet demo`` (or ``pnet demo``). Nothing is downloaded: the
digits ship with scikit-learn.
"""
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from .classifier import ProjectionNetClassifier


def run(random_state=0, verbose=False, out=print):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=random_state)
    model = make_pipeline(MinMaxScaler(), ProjectionNetClassifier(random_state=random_state,
                                                                  verbose=verbose))
    start = time.perf_counter()
    with warnings.catch_warnings():  # reported below as "max_iter reached" instead
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    clf = model[-1]
    X_test_scaled = model[0].transform(X_test)
    projection_accuracy = model.score(X_test, y_test)
    trainer_accuracy = float(np.mean(clf.trainer_predict(X_test_scaled) == y_test))
    out(f"digits: {X_train.shape[0]} train / {X_test.shape[0]} test samples, "
        f"{X.shape[1]} features, {clf.classes_.size} classes")
    out(f"projection net: T={clf.n_projections} x d={clf.n_bits} = "
        f"{clf.hyperplanes_.n_bits} bits ({clf.projection}), "
        f"hidden layers {tuple(clf.projection_hidden_layer_sizes)}")
    out(f"trainer net:    hidden layers {tuple(clf.trainer_hidden_layer_sizes)}")
    out(f"{'':16s}{'accuracy':>10s}{'bytes':>12s}")
    out(f"{'projection net':16s}{projection_accuracy:10.4f}{clf.projection_size_bytes_:12,d}")
    out(f"{'trainer net':16s}{trainer_accuracy:10.4f}{clf.trainer_size_bytes_:12,d}")
    stopped = "max_iter reached" if clf.n_iter_ == clf.max_iter else "converged"
    out(f"compression ratio {clf.compression_ratio_:.1f}x, fit {fit_seconds:.2f} s "
        f"({clf.n_iter_} epochs, {stopped})")
    return dict(projection_accuracy=projection_accuracy, trainer_accuracy=trainer_accuracy,
                fit_seconds=fit_seconds, model=model)
