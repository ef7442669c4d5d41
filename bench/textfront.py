"""The text front (pnet.textfront): throughput, value weighting, and ternary density.

Three studies, each printing a markdown table (pasted into bench/RESULTS.md)::

    python -m bench.textfront throughput   # strings/s, batch and one string, vs sklearn
    python -m bench.textfront values       # which counts/norm/families help a linear model
    python -m bench.textfront density      # ternary density for sparse text rows
    python -m bench.textfront net          # the projection net alone at a few densities

``values`` folds the 64-bit ids to 2**18 columns (``ids % 2**18``) and fits an
``SGDClassifier`` (hinge, best of a small alpha grid, scored on the test split): a
cheap stand-in for the trainer network, which sees the same folded inputs.
``density`` projects the rows with their full 64-bit ids
(``Hyperplanes.project_csr``) and fits a ``RidgeClassifier`` (closed form, seconds;
``LogisticRegression`` took 4 minutes a fit on this shared machine) on the unpacked
bits: a linear read-out of the bits, a proxy for the projection net alone. The datasets are ``bench.datasets``' kaomoji and
langid (the latter needs Debian's word lists; see that module).
"""
import argparse
import time

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import RidgeClassifier, SGDClassifier

from pnet import Hyperplanes
from pnet._hyperplanes import unpack
from pnet.textfront import TextFront, density_report

from . import datasets
from ._common import best_of_each, format_machine_info, markdown_table, set_threads

N_COLUMNS = 2**18
ALPHAS = (1e-5, 1e-6)


def folded(rows, n_columns=N_COLUMNS):
    """scipy CSR of (data, ids % n_columns, indptr), duplicates summed."""
    data, ids, indptr = rows
    X = sp.csr_matrix((data, (ids % np.uint64(n_columns)).astype(np.int64), indptr),
                      shape=(indptr.shape[0] - 1, n_columns))
    X.sum_duplicates()
    return X


def linear_accuracy(front, split):
    X_train, X_test, y_train, y_test = split
    A, B = folded(front.transform(X_train)), folded(front.transform(X_test))
    scores = []
    for alpha in ALPHAS:
        model = SGDClassifier(alpha=alpha, max_iter=30, tol=1e-4, random_state=0)
        scores.append(model.fit(A, y_train).score(B, y_test))
    return max(scores), np.diff(A.indptr).mean()


def study_values(names):
    variants = {
        "default": {},
        "counts=sqrt": dict(counts="sqrt"),
        "counts=binary": dict(counts="binary"),
        "norm=None": dict(norm=None),
        "counts=sqrt, norm=None": dict(counts="sqrt", norm=None),
        "char 2..4": dict(char_ngram_range=(2, 4)),
        "char 1..5": dict(char_ngram_range=(1, 5)),
        "char 1..3": dict(char_ngram_range=(1, 3)),
        "words 1..1, no skip": dict(word_ngram_range=(1, 1), skip_weight=0.0),
        "no skip-grams": dict(skip_weight=0.0),
        "chars only": dict(word_weight=0.0, skip_weight=0.0),
        "word_weight=2": dict(word_weight=2.0),
        "char_weight=0.5": dict(char_weight=0.5),
    }
    rows = []
    splits = {name: datasets.load(name) for name in names}
    for label, params in variants.items():
        front = TextFront(**params)
        cells = [label]
        for name in names:
            acc, nnz = linear_accuracy(front, splits[name])
            cells += [f"{acc:.4f}", f"{nnz:.0f}"]
        rows.append(cells)
        print(" | ".join(cells), flush=True)
    header = ["front (changes from the defaults)"]
    for name in names:
        header += [f"{name} acc", f"{name} nnz/row"]
    print(markdown_table(header, rows))


def study_density(names, n_bits, densities, counts):
    rows = []
    for name in names:
        X_train, X_test, y_train, y_test = datasets.load(name)
        front = TextFront(counts=counts)
        train, test = front.transform(X_train), front.transform(X_test)
        for density in densities:
            value = 1 / 1024 if density == "auto" else float(density)
            planes = Hyperplanes(seed=0, n_features=None, n_bits=n_bits, density=value)
            B_train = unpack(planes.project_csr(*train, sorted_features=True), n_bits)
            B_test = unpack(planes.project_csr(*test, sorted_features=True), n_bits)
            ones = B_train.mean(axis=0)  # (n_bits,) fraction of rows with the bit set
            report = density_report(train[2], value, n_bits)
            start = time.perf_counter()
            model = RidgeClassifier(alpha=1.0, solver="cholesky").fit(B_train, y_train)
            cells = [name, f"{density}" + (" (1/1024)" if density == "auto" else ""),
                     f"{report['entries_per_feature']:.1f}", f"{report['entries_per_bit']:.2f}", f"{report['empty_bit_fraction']:.3f}",
                     f"{np.mean((ones == 0) | (ones == 1)):.3f}",
                     f"{np.mean(ones):.3f}", f"{model.score(B_test, y_test):.4f}",
                     f"{time.perf_counter() - start:.0f}"]
            rows.append(cells)
            print(" | ".join(cells), flush=True)
    header = ["dataset", "density", "entries per feature",
              "nonzero entries per bit (median row)",
              "P(bit sees no feature) (median row)", "constant bits (train)",
              "mean bit", f"ridge on {n_bits} bits: test acc", "fit s"]
    print(markdown_table(header, rows))


def study_throughput(names, threads):
    """Strings/s of TextFront().transform against scikit-learn's HashingVectorizer
    (character 1..4-grams within word boundaries, its nearest equivalent), same run."""
    from sklearn.feature_extraction.text import HashingVectorizer
    front = TextFront()
    peer = HashingVectorizer(analyzer="char_wb", ngram_range=(1, 4), n_features=N_COLUMNS,
                             alternate_sign=False)
    rows = []
    for name in names:
        texts = list(datasets.load(name)[1])
        median_chars = np.median([len(t) for t in texts])
        for n in threads:
            with set_threads(n):
                batch = best_of_each({"pnet": lambda: front.transform(texts),
                                      "peer": lambda: peer.transform(texts)}, repeat=3)
                one = best_of_each({"pnet": lambda: front.transform(texts[:1]),
                                    "peer": lambda: peer.transform(texts[:1])}, repeat=5)
            rows.append([name, f"{len(texts)}", f"{median_chars:.0f}", f"{n}",
                         f"{len(texts) / batch['pnet']:,.0f}",
                         f"{batch['peer'] / batch['pnet']:.1f}x",
                         f"{one['pnet'] * 1e6:.1f}", f"{one['peer'] / one['pnet']:.1f}x"])
            print(" | ".join(rows[-1]), flush=True)
    header = ["dataset", "texts", "median chars", "threads", "batch strings/s",
              "vs HashingVectorizer", "one string: us/call", "vs HashingVectorizer"]
    print(markdown_table(header, rows))


def study_net(names, n_bits, densities, epochs=10):
    """The projection net alone (no trainer) on ``ids % 2**20``, as the issue asks:
    ``ProjectionNetClassifier(trainer_weight=0, distillation_weight=0, density=...)``
    with T = n_bits // 13, d = 13 and no hidden layer."""
    from pnet import ProjectionNetClassifier
    rows = []
    for name in names:
        X_train, X_test, y_train, y_test = datasets.load(name)
        front = TextFront()
        A = folded(front.transform(X_train), 2**20)
        B = folded(front.transform(X_test), 2**20)
        for density in densities:
            value = density if density == "auto" else float(density)
            model = ProjectionNetClassifier(n_projections=n_bits // 13, n_bits=13,
                                            density=value, trainer_weight=0.0,
                                            distillation_weight=0.0, max_iter=epochs,
                                            random_state=0)
            start = time.perf_counter()
            model.fit(A, y_train)
            rows.append([name, f"{density}", f"{13 * (n_bits // 13)}",
                         f"{model.score(B, y_test):.4f}",
                         f"{time.perf_counter() - start:.0f}"])
            print(" | ".join(rows[-1]), flush=True)
    print(markdown_table(["dataset", "density", "bits", f"test acc ({epochs} epochs)",
                          "fit s"], rows))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", choices=("throughput", "values", "density", "net"))
    parser.add_argument("--datasets", nargs="+", default=list(datasets.TEXT_NAMES))
    parser.add_argument("--n-bits", type=int, default=1024)
    parser.add_argument("--densities", nargs="+",
                        default=["0.3333333333333333", "0.1", "0.03", "0.01", "auto"])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--counts", default=TextFront().counts,
                        help="the text front's counts for the density study")
    args = parser.parse_args(argv)
    print(format_machine_info(), flush=True)
    if args.study == "throughput":
        study_throughput(args.datasets, args.threads)
    elif args.study == "values":
        study_values(args.datasets)
    elif args.study == "net":
        study_net(args.datasets, args.n_bits, args.densities)
    else:
        study_density(args.datasets, args.n_bits, args.densities, args.counts)


if __name__ == "__main__":
    main()
