"""The text front (pnet.textfront): kernels against the pure-Python twin, the pinned
tables, input handling, and the specification as data."""
import json
import re
import unicodedata

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import naive
from pnet import Hyperplanes
from pnet._lowercase import LOWERCASE_RUNS, UNICODE_VERSION, generate_runs, lower_code_point
from pnet import textfront
from pnet.kernels import text as text_kernels
from pnet.textfront import TextFront, choose_density, density_report, lower_table

SPECS = {
    "default": TextFront(),
    "wide": TextFront(word_ngram_range=(1, 3), char_ngram_range=(2, 5), skip_range=(1, 2),
                      word_weight=0.5, char_weight=1.5, skip_weight=0.25, counts="sqrt"),
    "raw_counts": TextFront(counts="raw", norm=None, lowercase=False, word_seed=2**63 - 1),
    "binary_chars_only": TextFront(char_ngram_range=(1, 1), word_weight=0, skip_weight=0,
                                   counts="binary"),
    "one_char_weight": TextFront(char_ngram_range=(3, 3), skip_range=(0, 3)),
}


#: the front's separators, Unicode White_Space (``kernels.text.is_space``)
SPLIT = "[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


def random_text(rng, alphabet, n_words, max_len=8):
    spaces = [" ", " ", " ", "\t", "\n", "\u00a0", "\u3000", "\u2003", "\r\n", "  "]
    words = ["".join(rng.choice(alphabet, size=rng.integers(1, max_len + 1)))
             for _ in range(n_words)]
    return "".join(w + spaces[rng.integers(len(spaces))] for w in words)


ALPHABETS = {
    "ascii": list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'-"),
    "accented": list("àáâãäåçèéêëìíîïñòóôõöùúûüýÿÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝŸßİıŁłŒœ"),
    "greek_cyrillic": list("αβγδεζηθικλμνξοπρσςτυφχψωΑΒΓΔΣΩΆΈабвгдежзийклмнопрстуфхцчшщъыьэюяАБВЁЖЯ"),
    "cjk": list("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年日本語漢字かなカナ한국어"),
    "astral": ["😀", "😂", "🎉", "👍", "🙏", "𝔄", "𝕏", "𐐀", "𐐨", "🇫🇷", "👩\u200d💻", "🏳️\u200d🌈"],
    "kaomoji": list("()（）ヽﾉ´∀｀ω◕‿゜ﾟ∇￣▽ノ；д・＿^_-;o/\\|<>*~=ﾟдﾟ☆★♪♥ᕕᕗ┻━┳︵ʕ•ᴥ•ʔ"),
    "controls": ["\x00", "\x01", "\x1c", "\x1f", "\x7f", "\x85", "\u200b", "\ufeff", "\u2028"],
}


def generated_texts(rng):
    texts = ["", " ", "\t\n ", "a", "A", "Hello, World!", "ΟΔΟΣ σοφία", "İstanbul ıi",
             "ǅemal ǈ", "(◕‿◕)", "(╯°□°）╯︵ ┻━┻", "ʕ•ᴥ•ʔ", "a\ud800b", "\udfff", "\ud83d\ude00",
             "x" * 3000, " ".join(["word"] * 500), "dup dup dup dup"]
    for alphabet in ALPHABETS.values():
        for _ in range(15):
            texts.append(random_text(rng, alphabet, int(rng.integers(0, 8))))
    mixed = sum(ALPHABETS.values(), [])
    texts += [random_text(rng, mixed, int(rng.integers(1, 12))) for _ in range(40)]
    texts.append(random_text(rng, mixed, 2000, max_len=12))  # a very long text
    return texts


def twin_rows(texts, front):
    params = front.to_dict()
    return [naive.text_features(t, params, LOWERCASE_RUNS) for t in texts]


def assert_rows_equal(result, rows):
    data, ids, indptr = result
    assert indptr.dtype == np.int64 and ids.dtype == np.uint64
    assert indptr.shape == (len(rows) + 1,) and indptr[0] == 0
    for r, (row_ids, row_values) in enumerate(rows):
        a, b = indptr[r], indptr[r + 1]
        assert ids[a:b].tolist() == row_ids, f"row {r}"
        assert_array_equal(data[a:b], np.asarray(row_values, dtype=data.dtype), f"row {r}")


# -- kernels against the twin -------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(SPECS))
def test_transform_equals_twin_exactly(name, rng):
    front = SPECS[name]
    texts = generated_texts(rng)
    rows = twin_rows(texts, front)
    assert_rows_equal(front.transform(texts, dtype=np.float64), rows)
    assert_rows_equal(front.transform(texts), rows)  # float32: the float64 values, rounded


def test_invalid_utf8_bytes_equal_twin(rng):
    chunks = [b"caf\xc3\xa9", b"\xff", b"\xc0\xaf", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90",
              b"\xf0\x9f\x98", b"\xf0\x9f\x98\x80", b" ", b"\t", b"\xe3\x80\x80", b"ab"]
    texts = [b"", b"\xff", b"\xc3", b"\xe2\x82A", b"\xf0\x80\x80"]
    for _ in range(60):
        picked = rng.integers(len(chunks), size=rng.integers(1, 10))
        texts.append(b"".join(chunks[i] for i in picked))
    texts += [bytes(rng.integers(0, 256, size=rng.integers(0, 40)).tolist()) for _ in range(60)]
    front = SPECS["default"]
    rows = [naive.text_features(t, front.to_dict(), LOWERCASE_RUNS) for t in texts]
    assert_rows_equal(front.transform(texts, dtype=np.float64), rows)


def test_utf8_decoder_twin_is_pythons_replace(rng):
    # The twin decodes by the spec; the wrapper uses bytes.decode('utf-8', 'replace').
    # They must agree on every input, including each kind of ill-formed sequence.
    cases = [bytes([a, b]) for a in range(0x80, 0x100) for b in (0x41, 0x80, 0x9F, 0xA0, 0xBF)]
    cases += [bytes(rng.integers(0x7F, 0x100, size=rng.integers(1, 12)).tolist())
              for _ in range(5000)]
    for data in cases:
        assert naive.utf8_decode(data) == data.decode("utf-8", "replace"), data


def test_batch_independence_and_threads(rng, with_threads, monkeypatch):
    front = SPECS["wide"]
    texts = generated_texts(rng)
    data, ids, indptr = front.transform(texts, dtype=np.float64)
    for n in (1, 2):
        other = with_threads(n, front.transform, texts, np.float64)
        for got, expected in zip(other, (data, ids, indptr)):
            assert_array_equal(got, expected)
    parallel32 = front.transform(texts)
    monkeypatch.setattr(textfront, "PARALLEL_ROWS", len(texts) + 1)  # transform_serial
    for got, expected in zip(front.transform(texts, np.float64), (data, ids, indptr)):
        assert_array_equal(got, expected)
    for got, expected in zip(front.transform(texts), parallel32):
        assert got.dtype == expected.dtype
        assert_array_equal(got, expected)
    r = 7
    alone = front.transform(texts[r:r + 1], dtype=np.float64)
    assert_array_equal(alone[1], ids[indptr[r]:indptr[r + 1]])
    assert_array_equal(alone[0], data[indptr[r]:indptr[r + 1]])


def test_rows_are_canonical_for_the_projection(rng):
    front = SPECS["default"]
    data, ids, indptr = front.transform(generated_texts(rng))
    for r in range(indptr.shape[0] - 1):
        row = ids[indptr[r]:indptr[r + 1]]
        assert np.all(row[1:] > row[:-1])
    planes = Hyperplanes(seed=5, n_features=None, n_bits=100, density=0.1)
    assert_array_equal(planes.project_csr(data, ids, indptr, sorted_features=True),
                       planes.project_csr(data, ids, indptr, sorted_features=False))


def test_empty_and_blank_texts_are_rows_without_features():
    data, ids, indptr = TextFront().transform(["", " \t\n\u3000", "a", ""])
    assert indptr.tolist() == [0, 0, 0, indptr[3], indptr[3]] and indptr[3] > 0
    data, ids, indptr = TextFront().transform([])
    assert indptr.tolist() == [0] and data.size == 0 and ids.size == 0


# -- pinned values: a change here is a new TEXT_FRONT_VERSION -------------------------------
def test_reference_values():
    assert naive.text_hash(0, b"") == naive.mix64_int(naive.mix64_int(0))
    assert naive.text_hash(1, b"a") == 0x94C2EE3CCF0B8C30
    assert naive.text_hash(2, " é".encode()) == 0x2686F66DCB17DDAB
    data, ids, indptr = TextFront().transform(["Hello wörld 😀"], dtype=np.float64)
    # 56 occurrences: 5 word n-grams, 1 skip-gram, 22 + 22 + 6 char n-grams, of which
    # ' ' (x6) and 'l' (x3) repeat.
    assert indptr.tolist() == [0, 49]
    assert ids[:3].tolist() == [0x749A15F274B0609, 0x9C9427449FA9A22, 0xABE6EC755A97F78]
    assert data.sum() == 5.838403593598093


def test_the_features_of_a_short_text_by_hand():
    front = TextFront(word_ngram_range=(1, 2), char_ngram_range=(2, 2), skip_range=(1, 1),
                      counts="raw", norm=None)
    data, ids, _ = front.transform(["Ab ab c"], dtype=np.float64)
    # tokens 'ab', 'ab', 'c' (lowercased); words: ab x2, c, 'ab ab', 'ab c';
    # chars (2-grams of ' ab ', ' ab ', ' c '): ' a' x2, 'ab' x2, 'b ' x2, ' c', 'c ';
    # skip: 'ab c'.
    expected = {}
    for seed, gram in [(1, "ab"), (1, "ab"), (1, "c"), (1, "ab ab"), (1, "ab c"),
                       (2, " a"), (2, " a"), (2, "ab"), (2, "ab"), (2, "b "), (2, "b "),
                       (2, " c"), (2, "c "), (3, "ab c")]:
        h = naive.text_hash(seed, gram.encode())
        expected[h] = expected.get(h, 0) + 1
    assert dict(zip(ids.tolist(), data.tolist())) == expected


# -- the pinned tables ------------------------------------------------------------------------
def test_lowercase_table_is_frozen():
    assert len(LOWERCASE_RUNS) == 182
    assert sum((last - first) // stride + 1 for first, last, stride, _ in LOWERCASE_RUNS) == 1433
    firsts = [run[0] for run in LOWERCASE_RUNS]
    assert firsts == sorted(firsts)
    assert all(a[1] < b[0] for a, b in zip(LOWERCASE_RUNS, LOWERCASE_RUNS[1:]))


@pytest.mark.skipif(unicodedata.unidata_version != UNICODE_VERSION,
                    reason=f"the table was generated from Unicode {UNICODE_VERSION}")
def test_lowercase_table_regenerates():
    assert generate_runs() == LOWERCASE_RUNS


def test_lowercase_table_agrees_with_str_lower_where_it_maps():
    # Case pairs are stable across Unicode versions, so this holds on any Python.
    for first, last, stride, delta in LOWERCASE_RUNS:
        for c in range(first, last + 1, stride):
            expected = "i" if c == 0x130 else chr(c).lower()
            assert chr(c + delta) == expected, hex(c)


def test_dense_lower_table_equals_the_runs():
    table = lower_table()
    for c in range(0, 0x20000):
        expected = naive.text_lower(c, LOWERCASE_RUNS)
        assert (int(table[c]) if c < table.shape[0] else c) == expected
        if c % 97 == 0:
            assert lower_code_point(c) == expected


def test_whitespace_is_unicode_white_space():
    kernel = {c for c in range(0x110000) if text_kernels.is_space(c)}
    assert kernel == naive.TEXT_WHITESPACE and len(kernel) == 25
    # Python's str.isspace is White_Space plus the four information separators.
    python = {c for c in range(0x110000) if chr(c).isspace()}
    assert python - kernel == {0x1C, 0x1D, 0x1E, 0x1F}


# -- input handling -------------------------------------------------------------------------------
def test_sequences_of_str_and_bytes_are_accepted():
    front = TextFront()
    expected = front.transform(["héllo wörld", "b"])
    for texts in (("héllo wörld", "b"), np.array(["héllo wörld", "b"]),
                  np.array(["héllo wörld", "b"], dtype=object), iter(["héllo wörld", "b"]),
                  ["héllo wörld".encode(), bytearray(b"b")]):
        for got, want in zip(front.transform(texts), expected):
            assert_array_equal(got, want)


@pytest.mark.parametrize("texts, error, match", [
    ("a text", TypeError, "single str"),
    (b"bytes", TypeError, "single bytes"),
    (None, TypeError, "NoneType"),
    (3, TypeError, "int"),
    (["a", None], TypeError, r"texts\[1\] is NoneType"),
    (["a", 3.5], TypeError, r"texts\[1\] is float"),
    (["a", float("nan")], TypeError, "missing values"),
    ([["a", "b"]], TypeError, r"texts\[0\] is list"),
    (np.array([["a", "b"], ["c", "d"]]), ValueError, r"shape \(2, 2\)"),
    (np.array("a"), ValueError, r"shape \(\)"),
])
def test_bad_input_raises_naming_the_problem(texts, error, match):
    with pytest.raises(error, match=match):
        TextFront().transform(texts)


def test_dtype_is_checked():
    with pytest.raises(ValueError, match="float32 or float64"):
        TextFront().transform(["a"], dtype=np.int64)


# -- the specification as data ----------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(SPECS))
def test_to_dict_round_trips_through_json(name):
    front = SPECS[name]
    d = json.loads(json.dumps(front.to_dict()))
    assert d["version"] == 1
    assert TextFront.from_dict(d) == front


@pytest.mark.parametrize("change, match", [
    ({"version": 2}, "version 2 is not supported"),
    ({"version": True}, "version True"),
    ({"extra": 1}, r"unknown \['extra'\]"),
    ({"lowercase": 1}, "lowercase must be a bool"),
    ({"word_ngram_range": [0, 2]}, "word_ngram_range"),
    ({"char_ngram_range": [3, 2]}, "char_ngram_range"),
    ({"char_ngram_range": [1, 17]}, "char_ngram_range"),
    ({"skip_range": [1.0, 2]}, "skip_range"),
    ({"skip_range": [1, 2, 3]}, "skip_range"),
    ({"skip_range": "12"}, "skip_range"),
    ({"word_weight": -1.0}, "word_weight"),
    ({"char_weight": float("nan")}, "char_weight"),
    ({"skip_weight": True}, "skip_weight"),
    ({"word_weight": 1e-170, "char_weight": 1e-170, "skip_weight": 1e-170}, "word_weight"),
    ({"char_weight": 2.0**-101}, "char_weight"),  # squares could underflow: s = 0
    ({"word_weight": 1e300}, "word_weight"),  # squares overflow: every value 0
    ({"word_weight": 0, "char_weight": 0.0, "skip_weight": 0}, "at least one"),
    ({"word_seed": 2**63}, "word_seed"),
    ({"char_seed": -1}, "char_seed"),
    ({"skip_seed": 3.0}, "skip_seed"),
    ({"counts": "log"}, "counts"),
    ({"counts": ["raw"]}, "counts"),
    ({"norm": "l1"}, "norm"),
])
def test_from_dict_is_strict(change, match):
    d = TextFront().to_dict()
    d.update(change)
    with pytest.raises((TypeError, ValueError), match=match):
        TextFront.from_dict(d)


def test_extreme_weights_at_the_bounds_still_normalise():
    """Weights of 2**-100 or 2**100 (the bounds) keep every square a normal float64."""
    for w in (2.0**-100, 2.0**100):
        data, ids, indptr = TextFront(word_weight=w, char_weight=w, skip_weight=w,
                                      counts="raw").transform(["b a b", "zz"])
        for i in range(2):
            v = data[indptr[i]:indptr[i + 1]].astype(np.float64)
            assert np.isfinite(v).all() and abs(np.sum(v * v) - 1) < 1e-6


def test_from_dict_needs_every_key_and_a_dict():
    d = TextFront().to_dict()
    del d["char_seed"]
    with pytest.raises(ValueError, match=r"missing \['char_seed'\]"):
        TextFront.from_dict(d)
    with pytest.raises(TypeError, match="must be a dict"):
        TextFront.from_dict([("version", 1)])


# -- density for sparse text rows --------------------------------------------------------------
def test_density_report_and_choice():
    indptr = np.array([0, 10, 30, 60])  # rows of 10, 20 and 30 features
    report = density_report(indptr, 0.05, n_bits=80)
    assert report["median_nnz"] == 20 and report["entries_per_bit"] == 1.0
    assert report["empty_bit_fraction"] == 0.95**20 and report["entries_per_feature"] == 4.0
    assert np.isclose(report["mean_empty_bit_fraction"], (0.95**10 + 0.95**20 + 0.95**30) / 3)
    assert choose_density(1024) == 4 / 1024
    assert choose_density(256, entries_per_feature=2.0) == 2 / 256
    assert choose_density(6) == 1 / 3
    with pytest.raises(ValueError, match="at least one row"):
        density_report(np.array([0]), 0.1, 64)


def test_density_report_predicts_the_empty_bits():
    # A bit whose hyperplane has no non-zero entry on the row's features is 0:
    # the fraction of such bits is (1 - density) ** m on average.
    texts = [" ".join(f"w{i}x{j}" for j in range(5)) for i in range(200)]
    data, ids, indptr = TextFront().transform(texts)
    density = 0.01
    planes = Hyperplanes(seed=3, n_features=None, n_bits=512, density=density)
    counts = np.zeros((len(texts), 512))
    for r in range(len(texts)):  # non-zero entries per bit, from the twin's matrix
        R = naive.hyperplane_matrix(3, ids[indptr[r]:indptr[r + 1]], 512, "ternary", density)
        counts[r] = (R != 0).sum(axis=0)
    expected = density_report(indptr, density, 512)["mean_empty_bit_fraction"]
    assert abs(np.mean(counts == 0) - expected) < 0.02
    bits = naive.unpack(planes.project_csr(data, ids, indptr, True), 512)
    assert np.all(bits[counts == 0] == 0)


def test_token_ids_are_the_word_unigram_ids_in_order(rng):
    # the LSTM trainer's input: each text's tokens in order (at most max_length), each
    # as the id the front gives it as a word 1-gram, here computed one token at a time
    unigrams = TextFront(word_ngram_range=(1, 1), char_weight=0.0, skip_weight=0.0)
    texts = []
    for alphabet in ALPHABETS.values():
        texts += [random_text(rng, alphabet, int(rng.integers(0, 9))) for _ in range(6)]
    ids, lengths = TextFront().token_ids(texts, max_length=6)
    assert ids.shape == (len(texts), lengths.max())
    for i, text in enumerate(texts):
        tokens = [t for t in re.split(SPLIT, text) if t]
        expected = [int(unigrams.transform([t])[1][0]) for t in tokens[:6]]
        assert ids[i, :lengths[i]].tolist() == expected, text
        assert not ids[i, lengths[i]:].any()
