"""TextProjectionNetClassifier and CompactTextProjectionNet: raw strings in, the sklearn
contract, the compact text model (equal to the estimator, in its file with its front),
bad input, unlabelled rows."""
import json
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from modelfiles import members, archive
from pnet import (CompactProjectionNet, CompactTextProjectionNet, ModelFileError,
                  ProjectionNetClassifier, TextProjectionNetClassifier)

SMALL = dict(n_projections=16, n_bits=8, trainer_hidden_layer_sizes=(32,),
             trainer_n_features=2**12, max_iter=30, learning_rate_init=0.01, random_state=0)

# three made-up "languages", told apart by their letters and word shapes
SYLLABLES = {"ka": ["ka", "ko", "ki", "tak", "mak"], "lu": ["lu", "vel", "ele", "uli", "lav"],
             "zo": ["zo", "zz", "ozo", "szo", "zor"]}


def corpus(n, seed=0):
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        lang = list(SYLLABLES)[i % 3]
        words = ["".join(rng.choice(SYLLABLES[lang], size=rng.integers(1, 4)))
                 for _ in range(rng.integers(1, 5))]
        texts.append(" ".join(words).capitalize())
        labels.append(lang)
    return texts, np.array(labels)


# sklearn runs only its API checks (clone, get_params, init) on estimators whose input
# is not a 2-D array; the behaviour on strings is tested below
@parametrize_with_checks([TextProjectionNetClassifier(**SMALL)])
def test_sklearn_api(estimator, check):
    check(estimator)


def test_get_params_lists_the_front_and_the_projection():
    params = TextProjectionNetClassifier().get_params()
    for name in ("char_ngram_range", "trainer_n_features", "n_projections", "quantize",
                 "distillation_weight"):
        assert name in params


def fit_quiet(clf, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y, **kwargs)


@pytest.fixture(scope="module")
def fitted():
    texts, labels = corpus(300)
    return texts, labels, fit_quiet(TextProjectionNetClassifier(**SMALL), texts, labels)


def test_learns_from_raw_strings(fitted):
    texts, labels, clf = fitted
    test_texts, test_labels = corpus(150, seed=1)
    assert np.mean(clf.predict(test_texts) == test_labels) > 0.9
    assert np.mean(clf.trainer_predict(test_texts) == test_labels) > 0.9
    assert not hasattr(clf, "n_features_in_")
    assert clf.hyperplanes_.n_features is None  # 64-bit ids: no feature count
    assert clf.text_front_.to_dict()["word_ngram_range"] == [1, 2]
    proba = clf.predict_proba(np.array(test_texts, dtype=object))
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)


def test_in_a_pipeline_and_cross_validation(fitted):
    texts, labels, _ = fitted
    model = make_pipeline(FunctionTransformer(lambda X: [t.lower() for t in X]),
                          TextProjectionNetClassifier(**{**SMALL, "max_iter": 10}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(model, texts, labels, cv=3)
    assert scores.mean() > 0.8


@pytest.mark.parametrize("quantize", [None, "int8", "int4", "ternary"])
def test_compact_text_model_equals_the_estimator_and_round_trips(fitted, quantize):
    texts, labels, clf = fitted
    if quantize in (None,):
        compact = clf.to_compact()
        assert_array_equal(compact.predict_proba(texts), clf.predict_proba(texts))
    else:
        compact = clf.to_compact(quantize)
    assert isinstance(compact, CompactTextProjectionNet) and compact.quantize == quantize
    assert compact.sums == clf.sums_ == "float32"
    assert compact.format_version == 5  # a text front needs 2, sparse_sign 3, float32 sums 5
    data = compact.to_bytes()
    loaded = CompactProjectionNet.from_bytes(data)  # the file says it is a text model
    assert isinstance(loaded, CompactTextProjectionNet)
    assert loaded.text_front == clf.text_front_
    assert_array_equal(loaded.predict_proba(texts), compact.predict_proba(texts))
    assert loaded.predict_one(texts[4]) == compact.predict([texts[4]])[0]
    assert_array_equal(loaded.predict_proba_one(texts[4]), compact.predict_proba(texts[4:5])[0])
    agreement = np.mean(compact.predict(texts) == clf.predict(texts))
    assert agreement > 0.9


def test_trained_for_int4_ships_identical_predictions():
    texts, labels = corpus(200)
    clf = fit_quiet(TextProjectionNetClassifier(**SMALL, quantize="int4"), texts, labels)
    compact = clf.to_compact()
    assert compact.quantize == "int4" and compact.size_bytes == clf.projection_size_bytes_
    assert_array_equal(compact.predict_proba(texts), clf.predict_proba(texts))


def _with_front(data, edit):
    entries = []
    for name, payload in members(data):
        if name == "header.npy":
            import io
            buffer = io.BytesIO(payload)
            header = json.loads(np.load(buffer).tobytes())
            edit(header)
            # the header's record of itself is not checked; rewrite the member
            out = io.BytesIO()
            np.save(out, np.frombuffer(json.dumps(header).encode(), dtype=np.uint8))
            payload = out.getvalue()
        entries.append((name, payload))
    return archive(entries)


@pytest.mark.parametrize("edit, match", [
    (lambda h: h["text_front"].__setitem__("version", 99), "text front version 99"),
    (lambda h: h["text_front"].__setitem__("word_ngram_range", [1, 1000]), "word_ngram_range"),
    (lambda h: h["text_front"].__setitem__("counts", ["raw"]), "counts"),
    (lambda h: h["text_front"].pop("norm"), "missing"),
    (lambda h: h.__setitem__("text_front", [1, 2]), "text_front must be an object"),
])
def test_a_bad_text_front_in_a_file_is_a_model_file_error(fitted, edit, match):
    data = fitted[2].to_compact().to_bytes()
    with pytest.raises(ModelFileError, match=match):
        CompactProjectionNet.from_bytes(_with_front(data, edit))


def test_no_texts_is_an_error_as_no_rows_is(fitted):
    """predict([]) raises as the numeric estimators' predict of (0, n) does (it
    returned an empty array), for the estimator, its trainer and the compact model."""
    clf = fitted[2]
    compact = clf.to_compact()
    calls = [clf.predict, clf.predict_proba, clf.trainer_predict, compact.predict,
             compact.predict_proba, compact.decision_function]
    for call in calls:
        for empty in ([], np.array([], dtype=object)):
            with pytest.raises(ValueError, match="0 sample"):
                call(empty)


def test_the_text_class_refuses_a_numeric_model_file(tmp_path):
    """CompactTextProjectionNet.load/from_bytes of a numeric model's file: a
    ModelFileError naming the mix-up, not a numeric model nor an 'inconsistent file'."""
    X = np.random.default_rng(0).random((40, 5))
    clf = ProjectionNetClassifier(n_projections=4, n_bits=4, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, np.arange(40) % 2)
    path = tmp_path / "numeric.pnet"
    clf.to_compact().save(path)
    for read in (lambda: CompactTextProjectionNet.load(path),
                 lambda: CompactTextProjectionNet.from_bytes(path.read_bytes())):
        with pytest.raises(ModelFileError, match="numeric input.*pnet.load"):
            read()
    assert type(CompactProjectionNet.load(path)) is CompactProjectionNet


@pytest.mark.parametrize("X, error, match", [
    ("one text", TypeError, "single str"),
    (np.array([["a", "b"], ["c", "d"]]), ValueError, "1-D"),
    (["ok", None], TypeError, "NoneType"),
    (["ok", 3.5], TypeError, "float"),
])
def test_bad_text_input_is_named(fitted, X, error, match):
    clf = fitted[2]
    with pytest.raises(error, match=match):
        clf.predict(X)
    with pytest.raises(error, match=match):
        clf.to_compact().predict(X)


def test_empty_strings_and_bytes_are_rows(fitted):
    clf = fitted[2]
    assert clf.predict(["", "   "]).shape == (2,)
    assert_array_equal(clf.predict_proba([b"Kaka ko"]), clf.predict_proba(["Kaka ko"]))
    with pytest.raises(ValueError, match="0 sample"):
        TextProjectionNetClassifier(**SMALL).fit([], [])


def test_unlabelled_texts_and_partial_fit():
    texts, labels = corpus(240)
    numeric = np.searchsorted(np.unique(labels), labels)
    numeric[::2] = -1  # half the texts unlabelled
    clf = TextProjectionNetClassifier(**SMALL)
    for _ in range(10):
        clf.partial_fit(texts, numeric, classes=[-1, 0, 1, 2])
    assert_array_equal(clf.classes_, [0, 1, 2])
    test_texts, test_labels = corpus(90, seed=2)
    assert np.mean(clf.predict(test_texts) == np.searchsorted(np.unique(labels),
                                                              test_labels)) > 0.8


@pytest.mark.parametrize("change", [dict(lowercase=False), dict(char_ngram_range=(2, 3)),
                                    dict(trainer="lstm")])
def test_a_continued_fit_refuses_a_changed_text_front_or_trainer(change):
    # the fitted front and trainer stay: a continued fit would silently ignore the change
    texts, labels = corpus(60)
    clf = fit_quiet(TextProjectionNetClassifier(**{**SMALL, "max_iter": 2}, warm_start=True),
                    texts, labels)
    proba = clf.predict_proba(texts)
    clf.set_params(**change)
    with pytest.raises(ValueError, match=f"{next(iter(change))} .* changed since"):
        clf.partial_fit(texts, labels)
    assert_array_equal(clf.predict_proba(texts), proba)
    assert_array_equal(clf.to_compact().predict_proba(texts), proba)


def word_corpus(n, seed=0):
    """Texts of whole syllables as words: an LSTM on word tokens sees known tokens."""
    rng = np.random.default_rng(seed)
    langs = [list(SYLLABLES)[i % 3] for i in range(n)]
    texts = [" ".join(rng.choice(SYLLABLES[lang], size=rng.integers(1, 6))) for lang in langs]
    return texts, np.array(langs)


def test_lstm_trainer_learns_determinism_and_sizes():
    texts, labels = word_corpus(240)
    params = dict(SMALL, trainer="lstm", embedding_dim=8, lstm_hidden_size=8, max_iter=15)
    a = fit_quiet(TextProjectionNetClassifier(**params), texts, labels)
    b = fit_quiet(TextProjectionNetClassifier(**params), texts, labels)
    for p, q in zip(a.trainer_.params + a.coefs_, b.trainer_.params + b.coefs_, strict=True):
        assert_array_equal(p, q)  # same random_state, same model
    test_texts, test_labels = word_corpus(120, seed=3)
    assert np.mean(a.trainer_predict(test_texts) == test_labels) > 0.8
    assert np.mean(a.predict(test_texts) == test_labels) > 0.8
    assert a.trainer_coefs_ == []  # no MLP: the LSTM's parameters are trainer_.params
    assert a.trainer_size_bytes_ == a.trainer_.stored_bytes() == 4 * sum(
        p.size for p in a.trainer_.params)
    alone = fit_quiet(TextProjectionNetClassifier(**params, trainer_weight=0,
                                                  distillation_weight=0), texts, labels)
    assert alone.trainer_ is None and alone.trainer_size_bytes_ == a.trainer_size_bytes_
    assert_array_equal(a.to_compact().predict(test_texts), a.predict(test_texts))


def test_cli_predicts_one_line_per_text(fitted, tmp_path, capsys):
    from pnet import cli

    compact = fitted[2].to_compact("int4")
    compact.save(tmp_path / "m.pnet")
    lines = ["Kaka ko", "", "Luvel ele", "Zozo szo"]  # the empty line is a row too
    (tmp_path / "t.txt").write_text("\n".join(lines) + "\r\n", encoding="utf-8")
    assert cli.main(["predict", str(tmp_path / "m.pnet"), str(tmp_path / "t.txt")]) == 0
    assert capsys.readouterr().out.split() == [str(c) for c in compact.predict(lines)]
    # a byte-order mark (Windows editors write one) is not part of the first text
    (tmp_path / "bom.txt").write_text("\n".join(lines), encoding="utf-8-sig")
    assert cli.main(["predict", "--proba", str(tmp_path / "m.pnet"),
                     str(tmp_path / "bom.txt")]) == 0
    first = capsys.readouterr().out.splitlines()[1]
    np.testing.assert_allclose([float(v) for v in first.split(",")],
                               compact.predict_proba(lines[:1])[0], atol=1e-5)
    assert cli.main(["info", str(tmp_path / "m.pnet")]) == 0
    assert "text (front version 1)" in capsys.readouterr().out
