"""The C text front (pnet/c/textfront.c) against pnet.textfront: compiled with the
system gcc for several fronts and two optimisation levels, run on awkward UTF-8 bytes;
ids must be identical and float32 values bit-identical to ``TextFront.transform``."""
import itertools
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

import naive
from pnet._c_textfront import textfront_defines
from pnet.textfront import TextFront, lower_table

CC = shutil.which(os.environ.get("CC", "gcc"))
pytestmark = pytest.mark.skipif(CC is None,
                                reason="no C compiler: gcc (or $CC) not on PATH")

C_DIR = Path(__file__).resolve().parents[1] / "pnet" / "c"
DRIVER = Path(__file__).resolve().parent / "c" / "textfront_driver.c"
WARNINGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
OPTS = {"O0": ["-O0"], "O2": ["-O2", "-march=native", "-ffp-contract=fast"]}
#: PNET_MAX_TEXT_BYTES of the test builds
MAX_BYTES = 400

FRONTS = {
    "default": TextFront(),
    "no_lowercase": TextFront(lowercase=False),
    "sqrt": TextFront(counts="sqrt"),
    "binary_no_norm": TextFront(counts="binary", norm=None),
    "raw_weights_no_norm": TextFront(norm=None, word_weight=0.1, char_weight=1.7,
                                     skip_weight=3),
    "sqrt_weights_ranges": TextFront(word_ngram_range=(2, 3), char_ngram_range=(3, 5),
                                     skip_range=(0, 2), word_weight=0.5, char_weight=0.3,
                                     skip_weight=0.25, counts="sqrt"),
    "no_words": TextFront(word_weight=0),
    "binary_chars_1": TextFront(char_ngram_range=(1, 1), word_weight=0, skip_weight=0,
                                counts="binary"),
    "widest": TextFront(word_ngram_range=(1, 16), char_ngram_range=(16, 16),
                        skip_range=(0, 16), word_seed=2**63 - 1, char_seed=0,
                        skip_seed=12345678901234567),
}

WHITE_SPACE = [*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028,
               0x2029, 0x202F, 0x205F, 0x3000]
ALPHABETS = [
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'-"),
    list("àáâãäåçèéêëìíîïñòóôõöùúûüýÿÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝŸßİıŁłŒœ"),
    list("αβγδεζηθικλμνξοπρσςτυφχψωΑΒΓΔΣΩΆΈабвгдежзийклмнопрстуфхцчшщъыьэюяАБВЁЖЯ"),
    list("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年日本語漢字かなカナ한국어"),
    ["😀", "😂", "🎉", "👍", "𝔄", "𝕏", "𐐀", "𐐨", "🇫🇷", "👩\u200d💻", "🏳️\u200d🌈", "\U0010FFFF"],
    list("()（）ヽﾉ´∀｀ω◕‿゜ﾟ∇￣▽ノ；д・＿^_-;o/\\|<>*~=ﾟдﾟ☆★♪♥ᕕᕗ┻━┳︵ʕ•ᴥ•ʔ"),
    ["\x00", "\x01", "\x1c", "\x1f", "\x7f", "\u200b", "\ufeff", "\u180e", "\ufffd"],
]
INVALID = [b"\x80", b"\xbf", b"\xc0\xaf", b"\xc1\xbf", b"\xf5\x80\x80\x80", b"\xff",
           b"\xfe",
           b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98",  # truncated sequences
           b"\xe0\x80\x80", b"\xe0\x9f\xbf",  # overlong 3-byte
           b"\xed\xa0\x80", b"\xed\xbf\xbf",  # surrogates
           b"\xed\xa0\xbd\xed\xb8\x80",  # a surrogate pair (CESU-8)
           b"\xf0\x80\x80\x80", b"\xf0\x8f\xbf\xbf",  # overlong 4-byte
           b"\xf4\x90\x80\x80", b"\xf4\x8f\xbf\xbf",  # above U+10FFFF; the last one
           b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80"]  # old 5- and 6-byte forms


def random_words(rng, alphabet, n_words, max_len=8):
    spaces = [chr(c) for c in WHITE_SPACE] + [" ", " ", "  ", "\r\n"]
    return "".join("".join(rng.choice(alphabet, size=rng.integers(1, max_len + 1)))
                   + spaces[rng.integers(len(spaces))] for _ in range(n_words))


def awkward_texts(rng):
    """UTF-8 bytes (mostly) and ill-formed bytes of every kind the spec lists; the last
    rows are at PNET_MAX_TEXT_BYTES and one beyond it."""
    texts = ["", " ", "\t\n \r\x0b\x0c", "\u3000\u2028 \u00a0\u205f", "\x00", "a\x00b \x00",
             "a\u200bb c\ufeffd \u180ex x\x1cy\x1dz\x1e\x1f", "ΣΑΣ σας ς ΌΣΟΣ",
             "İstanbul ıI",
             "ǅǄǆ ǈ ǋ", "ＡＢＣ ａｂｃ Ｚ", "ẞ ß ﬁ ﬀ", "Ω Ω K Å", "Ⱥ Ⱦ ⱥ Ɐ", "𐐀𐐨 𞤀 𞤢 𞤡",
             "ΐ ΰ Ϋ", "Ⅻ ⅻ Ⓐ ⓐ", "Hello, World!", "(╯°□°）╯︵ ┻━┻", "ʕ•ᴥ•ʔ (◕‿◕) ¯\\_(ツ)_/¯",
             "😀 😀😀 👍🏽 🇫🇷🇩🇪", "\U0010FFFF \U00010000 \uffff \ue000", "dup dup dup dup",
             "a b c d e f g h i j k l m n o p q r s", "x" * 40]
    texts += [f"ab{chr(c)}cd{chr(c)}{chr(c)}e{chr(c)}" for c in WHITE_SPACE]
    texts += [chr(c) for c in WHITE_SPACE]
    for alphabet in ALPHABETS:
        texts += [random_words(rng, alphabet, int(rng.integers(0, 10))) for _ in range(12)]
    mixed = sum(ALPHABETS, [])
    texts += [random_words(rng, mixed, int(rng.integers(1, 15))) for _ in range(40)]
    data = [t.encode() for t in texts]
    # ill-formed UTF-8: each kind alone, inside and around words, and at the ends
    data += INVALID + [b"a" + x + b"b " + x + b" " + x for x in INVALID]
    data += [bytes([a, b]) + b" z" for a in range(0x80, 0x100)
             for b in (0x41, 0x80, 0x9F, 0xA0, 0xBF)]
    chunks = INVALID + [b"caf\xc3\xa9", b" ", b"\t", b"\xe3\x80\x80", b"ab", b"\xc2\x85"]
    for _ in range(80):
        data.append(b"".join(chunks[i] for i in rng.integers(len(chunks),
                                                             size=rng.integers(1, 12))))
    data += [bytes(rng.integers(0x7F, 0x100, size=rng.integers(1, 30)).tolist())
             for _ in range(60)]
    data += [bytes(rng.integers(0, 0x100, size=rng.integers(1, 30)).tolist())
             for _ in range(40)]
    return data + long_texts(rng, MAX_BYTES)


def long_texts(rng, n):
    """Texts of exactly n bytes (the most tokens, 2-byte code points, n U+FFFD, one
    token, a mixed text cut inside a sequence), then two of n + 1 bytes."""
    mixed = random_words(rng, sum(ALPHABETS, []), 200).encode()
    at_n = [(b"a " * n)[:n], ("é" * n).encode()[:n], b"\xff" * n, b"q" * n, b" " * n,
            mixed[:n], (b"ab cd " * n)[:n]]
    return at_n + [b"a" * (n + 1), (b"a " * n)[:n + 1]]


def build(tmp_path_factory, front, opts, max_bytes=MAX_BYTES, extra=()):
    """Compile the driver for ``front``; returns its path."""
    out = tmp_path_factory.mktemp("ctext")
    defines = out / "defines.h"
    defines.write_text(textfront_defines(front, max_text_bytes=max_bytes))
    exe = out / "driver"
    result = subprocess.run([CC, *WARNINGS, *opts, *extra, "-include", str(defines),
                             f"-I{C_DIR}", str(DRIVER), "-o", str(exe), "-lm"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return exe


def run_rows(exe, texts):
    """The driver's lines for the texts (bytes)."""
    stdin = b"".join(struct.pack("<I", len(t)) + t for t in texts)
    result = subprocess.run([str(exe), "rows"], input=stdin, capture_output=True,
                            check=True)
    return result.stdout.decode().splitlines()


def python_rows(front, texts, max_bytes=MAX_BYTES):
    """What the driver must print: TextFront.transform on the bytes, float32 bits in hex;
    -1 for a text longer than max_bytes."""
    data, ids, indptr = front.transform(texts)
    lines = []
    for r, text in enumerate(texts):
        a, b = indptr[r], indptr[r + 1]
        if len(text) > max_bytes:
            lines.append("-1")
            continue
        pairs = zip(ids[a:b].tolist(), data[a:b].view(np.uint32).tolist())
        lines.append(f"{b - a}" + "".join(f" {i:016x}:{v:08x}" for i, v in pairs))
    return lines


def assert_same_rows(got, expected, texts):
    assert len(got) == len(expected)
    for r, (g, e) in enumerate(zip(got, expected)):
        assert g == e, f"row {r}, text {texts[r]!r:.80}:\nC      {g:.200}\nPython {e:.200}"


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    """driver(front name, opt level) -> path of the compiled driver (compiled once)."""
    built = {}

    def get(name, opt):
        if (name, opt) not in built:
            built[name, opt] = build(tmp_path_factory, FRONTS[name], OPTS[opt])
        return built[name, opt]
    return get


# -- C against Python ----------------------------------------------------------------------
@pytest.mark.parametrize("opt", sorted(OPTS))
@pytest.mark.parametrize("name", sorted(FRONTS))
def test_rows_equal_python_bit_for_bit(name, opt, driver, rng):
    texts = awkward_texts(rng)
    got = run_rows(driver(name, opt), texts)
    assert_same_rows(got, python_rows(FRONTS[name], texts), texts)
    assert got[-2:] == ["-1", "-1"]  # beyond PNET_MAX_TEXT_BYTES
    assert all(int(line.split()[0]) > 0 for line in got[-9:-5])  # at the limit: features


@pytest.mark.parametrize("name", ["default", "widest"])
def test_no_invalid_access_under_sanitizers(name, tmp_path_factory, rng):
    """ids/values exactly PNET_TF_MAX_FEATURES long (no guard zone), under gcc's address
    and undefined-behaviour sanitizers: any access out of bounds aborts."""
    sanitize = ["-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
    probe = subprocess.run([CC, *sanitize, "-x", "c", "-", "-o", os.devnull],
                           input="int main(void) { return 0; }", capture_output=True,
                           text=True)
    if probe.returncode != 0:
        pytest.skip(f"{CC} cannot link with -fsanitize=address,undefined here")
    texts = awkward_texts(rng)
    exe = build(tmp_path_factory, FRONTS[name], sanitize, extra=["-DGUARD=0"])
    assert_same_rows(run_rows(exe, texts), python_rows(FRONTS[name], texts), texts)


def test_the_awkward_texts_reach_every_case(rng):
    """The inputs above hold what the spec singles out (or the comparison proves little)."""
    texts = awkward_texts(rng)
    decoded = "".join(t.decode("utf-8", "replace") for t in texts)
    assert set(map(chr, WHITE_SPACE)) <= set(decoded)
    assert {"\x00", "\u200b", "\ufeff", "Σ", "İ", "Ａ", "\ufffd", "😀"} <= set(decoded)
    assert sum(len(t) == MAX_BYTES for t in texts) >= 5
    assert sum(len(t) > MAX_BYTES for t in texts) == 2
    assert any(b"\xed\xa0\x80" in t for t in texts) and any(t == b"" for t in texts)


def test_lowercase_table_equals_pythons(driver):
    out = subprocess.run([str(driver("default", "O2")), "lower"], capture_output=True,
                         check=True).stdout.decode().split()
    got = {int(c, 16): int(lc, 16) for c, lc in zip(out[::2], out[1::2])}
    table = lower_table()
    expected = {c: int(table[c]) for c in range(table.shape[0]) if table[c] != c}
    assert got == expected and len(got) == 1433


# -- the capacity the caller gives ---------------------------------------------------------
def max_features(front, n):
    """PNET_TF_MAX_FEATURES (see textfront.c): with T <= (n + 1) // 2 tokens of L code
    points, L <= n + 1 - T, a token of l code points has at most l + max(0, 3 - k)
    character k-grams for each size k."""
    sizes = {f: range(r[0], r[1] + 1) if w > 0 else range(0) for f, r, w in
             [("word", front.word_ngram_range, front.word_weight),
              ("char", front.char_ngram_range, front.char_weight),
              ("skip", front.skip_range, front.skip_weight)]}
    short = sum(max(0, 3 - k) for k in sizes["char"])
    per_token = len(sizes["word"]) + len(sizes["skip"]) + short - len(sizes["char"])
    return len(sizes["char"]) * (n + 1) + (n + 1) // 2 * max(0, per_token)


@pytest.mark.parametrize("name", sorted(FRONTS))
def test_max_features_bounds_the_occurrences_of_every_short_text(name, driver):
    front = FRONTS[name]
    out = subprocess.run([str(driver(name, "O0")), "max"], capture_output=True, check=True)
    assert int(out.stdout) == max_features(front, MAX_BYTES)
    params = front.to_dict()
    for n in range(0, 13):  # every text of n bytes over {'a', ' '}: one byte per code point
        worst = 0
        for chars in itertools.product("a ", repeat=n):
            tokens = naive.text_tokens("".join(chars), False, ())
            worst = max(worst, len(naive.text_ngrams(tokens, params)))
        assert worst <= max_features(front, n), n


# -- stack ---------------------------------------------------------------------------------
def worst_stack(callgraph, root):
    """Deepest stack from ``root`` in gcc's -fcallgraph-info=su output (bytes): the
    largest sum of frames along a call chain; calls to functions without a frame here
    (sqrt) count 0. A cycle (recursion) fails."""
    frames = {title.split(":")[-1]: int(size) for title, size in re.findall(
        r'node: \{ title: "([^"]+)" label: "[^\\]*\\n[^\\]*\\n(\d+) bytes', callgraph)}
    edges = {}
    for src, dst in re.findall(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"',
                               callgraph):
        edges.setdefault(src.split(":")[-1], []).append(dst.split(":")[-1])

    def depth(f, path):
        assert f not in path, f"recursion through {f}"
        return frames.get(f, 0) + max((depth(g, path | {f}) for g in edges.get(f, ())),
                                      default=0)
    return depth(root, frozenset())


@pytest.mark.parametrize("opt", ["-O0", "-O2", "-Os"])
def test_stack_is_small_and_independent_of_the_text_length(opt, tmp_path):
    """The fixed stack the header documents (392 bytes at most on x86-64, gcc 12)."""
    stacks = []
    for n in (16, 4096):
        (tmp_path / "defines.h").write_text(textfront_defines(FRONTS["sqrt"], n))
        (tmp_path / "row.c").write_text(
            '#include "textfront.c"\n'
            "int row(const char *s, size_t n, uint64_t *ids, float *values)\n"
            "{ return pnet_tf_row(s, n, ids, values); }\n")
        result = subprocess.run([CC, *WARNINGS, opt, "-fcallgraph-info=su", "-c",
                                 "-include", "defines.h", f"-I{C_DIR}", "row.c"],
                                cwd=tmp_path, capture_output=True, text=True)
        if "callgraph-info" in result.stderr:
            pytest.skip(f"{CC} has no -fcallgraph-info (gcc >= 10 has)")
        assert result.returncode == 0, result.stderr
        stacks.append(worst_stack((tmp_path / "row.ci").read_text(), "row"))
    assert stacks[0] == stacks[1] and 0 < stacks[0] <= 512, stacks


# -- no fused multiply-add -----------------------------------------------------------------
def test_no_fma_even_with_fp_contract_fast(tmp_path):
    """-O2 -march=native -ffp-contract=fast emits no FMA in the text front; without the
    volatile products it would (where the target has FMA), so the check means something."""
    (tmp_path / "defines.h").write_text(textfront_defines(FRONTS["sqrt"], MAX_BYTES))
    (tmp_path / "row.c").write_text(
        '#include "textfront.c"\n'
        "int row(const char *s, size_t n, uint64_t *ids, float *values)\n"
        "{ return pnet_tf_row(s, n, ids, values); }\n")

    def fused(*extra):
        subprocess.run([CC, *WARNINGS, *OPTS["O2"], *extra, "-S", "-include", "defines.h",
                        f"-I{C_DIR}", "row.c", "-o", "row.s"], cwd=tmp_path, check=True)
        return re.findall(r"\bv?fn?m(?:add|sub)\w*", (tmp_path / "row.s").read_text())
    assert fused() == []
    if not fused("-Dvolatile="):
        pytest.skip("this target (-march=native) contracts nothing into an FMA anyway")


# -- the defines ---------------------------------------------------------------------------
def test_defines_write_every_parameter_exactly():
    front = TextFront(lowercase=False, word_ngram_range=(2, 3), char_ngram_range=(1, 5),
                      skip_range=(0, 2), word_weight=0.1, char_weight=0, skip_weight=3,
                      word_seed=2**63 - 1, char_seed=0, skip_seed=7, counts="binary",
                      norm=None)
    text = textfront_defines(front, max_text_bytes=100)
    macros = dict(re.findall(r"#define (\w+) (\S+)", text))
    assert macros == {
        "PNET_TF_VERSION": "1", "PNET_TF_LOWERCASE": "0",
        "PNET_TF_WORD_ON": "1", "PNET_TF_WORD_LO": "2", "PNET_TF_WORD_HI": "3",
        "PNET_TF_WORD_WEIGHT": (0.1).hex(), "PNET_TF_WORD_SEED": f"UINT64_C({2**63 - 1})",
        "PNET_TF_CHAR_ON": "0", "PNET_TF_CHAR_LO": "1", "PNET_TF_CHAR_HI": "5",
        "PNET_TF_CHAR_WEIGHT": "0x0.0p+0", "PNET_TF_CHAR_SEED": "UINT64_C(0)",
        "PNET_TF_SKIP_ON": "1", "PNET_TF_SKIP_LO": "0", "PNET_TF_SKIP_HI": "2",
        "PNET_TF_SKIP_WEIGHT": "0x1.8000000000000p+1", "PNET_TF_SKIP_SEED": "UINT64_C(7)",
        "PNET_TF_COUNTS": "2", "PNET_TF_L2": "0", "PNET_MAX_TEXT_BYTES": "100"}
    assert float.fromhex(macros["PNET_TF_WORD_WEIGHT"]) == 0.1
    assert "PNET_MAX_TEXT_BYTES" not in textfront_defines(front)


@pytest.mark.parametrize("args, error", [((TextFront().to_dict(),), TypeError),
                                         ((TextFront(), -1), ValueError),
                                         ((TextFront(), 10.0), ValueError)])
def test_defines_reject_bad_arguments(args, error):
    with pytest.raises(error):
        textfront_defines(*args)
