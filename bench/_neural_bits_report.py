"""Tables, verdict, CSV and plot of the neural-bits study (``bench.neural_bits``).

This module owns the presentation of the study's rows (dicts from
``bench._points.run_point`` and ``bench.neural_bits.run_baseline``); it fits nothing.
"""
import csv

import numpy as np

from ._common import GOAL_10KB_BYTES, GOALS, markdown_table
from ._points import MODES_TRAINED

BASELINES = ("LogisticRegression", "SGD log-loss")
WITHIN_POINTS = 1.0


def _pm(mean, sd):
    return f"{mean:.2f} ± {sd:.2f}"


def _num(x, fmt):
    return "" if isinstance(x, str) or np.isnan(x) else format(x, fmt)


def _family(r):
    """A model family: (hidden, alone / joint, trained format, features, density)."""
    return (r["hidden"], r["mode"], r["trained"], r["features"], r["density"])


def _family_name(key, dataset):
    hidden, mode, trained, features, density = key
    name = f"{hidden}, {mode}" + ("" if trained == "float32" else f", trained {trained}")
    if dataset == "kaomoji":
        name += f" [2^{int(features.rsplit('^', 1)[1])}, density {density}]"
    return name


def _float_bytes(r):
    """float32 bytes of a float32-trained row (nan for one trained for a narrow format)."""
    return r["bytes_float32"] if r["trained"] == "float32" else np.nan


def table(rows):
    text = any(r["dataset"] == "kaomoji" for r in rows)
    header = ["T", "d", "bits", "hidden", "mode", "trained", "acc. %", "macro-F1 %",
              "compact", "compact acc. %", "train acc. %", "float32 bytes", "compact bytes",
              "fit s", "trainer acc. %"]
    if text:
        header.insert(5, "features / density")
    body = []
    for r in rows:
        line = [r["T"], r["d"], r["bits"], r["hidden"], r["mode"], r["trained"],
                _pm(r["acc"], r["acc_sd"]), _pm(r["f1"], r["f1_sd"]), r["format"],
                _num(r["acc_compact"], ".2f"), _num(r["train_acc_compact"], ".2f"),
                _num(_float_bytes(r), ",.0f"), f"{r['bytes_compact']:,}",
                f"{r['fit_s']:.1f}", _num(r["trainer_acc"], ".2f")]
        if text:
            line.insert(5, f"2^{int(r['features'].rsplit('^', 1)[1])} / {r['density']}")
        body.append(line)
    return markdown_table(header, body)


def smallest_within(rows, best, key):
    """The row with the smallest ``key`` (a function of the row) whose accuracy is
    within 1 point of ``best``; None when no such row has a finite ``key``."""
    ok = [r for r in rows if r["acc"] >= best - WITHIN_POINTS and np.isfinite(key(r))]
    return min(ok, key=lambda r: (key(r), -r["acc"])) if ok else None


def _bits(r):
    return r["bits"]


def _compact_bytes(r):
    return r["bytes_compact"]


def _at(r, size):
    """'bytes (T, d, hidden[, compact format])' of a row picked by ``smallest_within``."""
    if r is None:
        return "-"
    what = f"{r['hidden']}" + (f", {r['format']}" if size is _compact_bytes else "")
    return f"{size(r):,.0f} (T={r['T']}, d={r['d']}, {what})"


def _where(r):
    return f"T={r['T']}, d={r['d']}, {r['hidden']}, {r['mode']} ({r['acc']:.2f} %)"


def bits_needed(rows):
    """Table: per curve and overall, the smallest bits / bytes within 1 point of the best."""
    trained = [r for r in rows if r["mode"] in MODES_TRAINED]
    curves = {}
    for r in trained:
        curves.setdefault(_family(r), []).append(r)
    body = []
    for key, group in [(None, trained), *curves.items()]:
        best = max(group, key=lambda r: r["acc"])
        by_bits = smallest_within(group, best["acc"], _bits)
        name = "all curves" if key is None else _family_name(key, trained[0]["dataset"])
        body.append([name, f"{best['acc']:.2f} (T={best['T']}, d={best['d']})",
                     f"{by_bits['bits']:,} (T={by_bits['T']}, d={by_bits['d']}, "
                     f"{by_bits['acc']:.2f})",
                     _at(smallest_within(group, best["acc"], _float_bytes), _float_bytes),
                     _at(smallest_within(group, best["acc"], _compact_bytes), _compact_bytes)])
    header = ["curve", "best acc. %", f"fewest bits within {WITHIN_POINTS:g} pt",
              f"fewest float32 bytes within {WITHIN_POINTS:g} pt",
              f"fewest compact bytes within {WITHIN_POINTS:g} pt"]
    best = max(trained, key=lambda r: r["acc"])
    within = {name: smallest_within(trained, best["acc"], size)
              for name, size in (("bits", _bits), ("float32", _float_bytes),
                                 ("compact", _compact_bytes))}
    summary = (f"Best: {_where(best)}. Within {WITHIN_POINTS:g} point of it: "
               f"{within['bits']['bits']:,} bits [{_where(within['bits'])}], "
               f"{_at(within['float32'], _float_bytes)} float32 bytes, "
               f"{_at(within['compact'], _compact_bytes)} compact bytes.")
    if best["bits"] == max(r["bits"] for r in trained):
        summary += (" The best is at the most bits swept: the curve has not levelled off, "
                    "so these are lower bounds for what the task needs.")
    return markdown_table(header, body) + "\n\n" + summary


def fronts(rows):
    """Each model family's Pareto front: compact accuracy against compact bytes (the
    points no other point of the family beats with fewer or equal bytes)."""
    families = {}
    for r in rows:
        if r["mode"] in MODES_TRAINED:
            families.setdefault(_family(r), []).append(r)
    body = []
    for key, group in families.items():
        best = -np.inf
        for r in sorted(group, key=lambda r: (r["bytes_compact"], -r["acc_compact"])):
            if r["acc_compact"] > best:
                best = r["acc_compact"]
                body.append([_family_name(key, r["dataset"]), r["format"],
                             f"{r['bytes_compact']:,}", r["bits"], f"T={r['T']}, d={r['d']}",
                             _pm(r["acc_compact"], r["acc_compact_sd"]),
                             _num(r["train_acc_compact"], ".2f")])
    return markdown_table(["family", "compact", "bytes", "bits", "T, d", "compact acc. %",
                           "train acc. %"], body)


def goal_verdict(rows):
    """The 10 KB accuracy goal, in float32 and compact (bytes and accuracy of each)."""
    goal = GOALS["acc_10kb"]
    trained = [r for r in rows if r["mode"] in MODES_TRAINED]
    lines = []
    for label, size, acc, group in (
            ("float32", "bytes_float32", "acc", [r for r in trained
                                                 if r["trained"] == "float32"]),
            ("compact model (int8, int4, ternary)", "bytes_compact", "acc_compact", trained)):
        fits = [r for r in group if r[size] <= GOAL_10KB_BYTES and not np.isnan(r[acc])]
        if not fits:
            lines.append(f"- {label}: " + goal.line(float("nan"), "no configuration measured "
                                                    f"at <= {GOAL_10KB_BYTES:,} bytes"))
            continue
        best = max(fits, key=lambda r: r[acc])
        stored = (lambda r: r["format"]) if size == "bytes_compact" else (lambda r: "float32")
        lines.append(f"- {label}: " + goal.line(
            best[acc], f"best {best[acc]:.2f} %: T={best['T']}, d={best['d']}, "
                       f"{best['hidden']}, {best['mode']}, {stored(best)}, "
                       f"{best[size]:,} bytes"))
        reach = [r for r in group if r[acc] >= goal.target]
        if reach:
            small = min(reach, key=lambda r: r[size])
            lines.append(f"  (the smallest model reaching {goal.target:g} %: "
                         f"{small[size]:,} bytes, T={small['T']}, d={small['d']}, "
                         f"{small['hidden']}, {small['mode']}, {stored(small)}, "
                         f"{small[acc]:.2f} %)")
    return "mean over seeds:\n" + "\n".join(lines)


CSV_FIELDS = ["dataset", "features", "n_train", "T", "d", "bits", "hidden", "mode", "trained",
              "format", "density", "epochs", "seeds", "acc", "acc_sd", "f1", "f1_sd",
              "acc_compact", "acc_compact_sd", "train_acc_compact", "bytes_float32",
              "bytes_compact", "fit_s", "trainer_acc"]
CSV_HEADER = {"acc": "accuracy_pct_mean", "acc_sd": "accuracy_pct_sd",
              "f1": "macro_f1_pct_mean", "f1_sd": "macro_f1_pct_sd",
              "acc_compact": "compact_accuracy_pct_mean",
              "acc_compact_sd": "compact_accuracy_pct_sd",
              "train_acc_compact": "compact_train_accuracy_pct_mean",
              "bytes_float32": "bytes_trained_format", "bytes_compact": "bytes_compact",
              "fit_s": "fit_seconds_mean", "trainer_acc": "trainer_accuracy_pct_mean"}


def write_csv(rows, path):
    """One row per configuration; ``bytes_compact`` is the compact model's ``size_bytes``
    in ``format`` (for a baseline row: its int8 weights, biases and scales);
    ``bytes_trained_format`` is ``projection_size_bytes_`` (float32 unless trained for a
    narrow format)."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([CSV_HEADER.get(k, k) for k in CSV_FIELDS])
        for r in rows:
            writer.writerow([f"{r[k]:.4f}" if isinstance(r[k], float) else r[k]
                             for k in CSV_FIELDS])


def plot(rows_by_dataset, path):
    """Per dataset: accuracy vs bits and accuracy vs bytes (log x), one line per curve."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(rows_by_dataset)
    fig, axes = plt.subplots(len(names), 2, figsize=(13, 4.6 * len(names)), squeeze=False)
    styles = {("none", "alone"): ("tab:blue", "o"), ("none", "joint"): ("tab:orange", "s"),
              ("FC[128]", "alone"): ("tab:green", "^"),
              ("FC[128]", "joint"): ("tab:red", "D")}
    narrow = {"int4": ("P", "-."), "ternary": ("v", ":")}  # trained for it: marker, line
    for (ax_bits, ax_bytes), name in zip(axes, names):
        rows = rows_by_dataset[name]
        curves = {}
        for r in rows:
            if r["mode"] in MODES_TRAINED:
                curves.setdefault(_family(r), []).append(r)
        spaces = [key[3:] for key, group in curves.items() for _ in group]
        main = max(set(spaces), key=spaces.count)  # (features, density) of the sweep
        for (hidden, mode, trained, features, density), group in curves.items():
            group = sorted(group, key=lambda r: (r["bits"], r["bytes_compact"]))
            color, marker = styles[(hidden, mode)]
            line = "-"
            if density != main[1]:  # another hyperplane density: its own colour
                color, marker = "tab:purple", "X"
            label = f"{hidden}, {mode}"
            if trained in narrow:
                marker, line = narrow[trained]
                label += f", trained {trained}"
            aside = (features, density) != main  # a side point, drawn as open markers
            if aside:
                label += f" [{features.rsplit(' ', 1)[1]}, density {density}]"
            kw = dict(color=color, marker=marker, markersize=4 if not aside else 7,
                      linestyle=line if not aside else "none",
                      markerfacecolor=color if not aside else "none", label=label)
            bits = [r["bits"] for r in group]
            acc = [r["acc"] for r in group]
            sd = [r["acc_sd"] for r in group]
            ax_bits.errorbar(bits, acc, yerr=sd, capsize=2, **kw)
            if trained in narrow:  # its bytes are the compact model's
                ax_bytes.plot([r["bytes_compact"] for r in group], acc, **kw)
                continue
            ax_bytes.plot([r["bytes_float32"] for r in group], acc, **kw)
            acc8 = [r["acc_compact"] for r in group]
            if not np.all(np.isnan(acc8)):
                ax_bytes.plot([r["bytes_compact"] for r in group], acc8, color=color,
                              marker=marker, markersize=3, alpha=0.6,
                              linestyle="--" if not aside else "none",
                              markerfacecolor="none")
        for r in rows:
            if r["mode"] in BASELINES:
                for ax in (ax_bits, ax_bytes):
                    ax.axhline(r["acc"], color="gray", linestyle=":",
                               label=f"{r['mode']} on {r['features']}: "
                                     f"{r['acc']:.1f} %, {r['bytes_float32'] / 1e3:,.0f} kB")
        if name == "mnist":
            goal = GOALS["acc_10kb"].target
            ax_bytes.axvline(GOAL_10KB_BYTES, color="black", linewidth=0.8, linestyle="-.")
            ax_bytes.axhline(goal, color="black", linewidth=0.8, linestyle="-.")
            ax_bytes.annotate(f"goal: >= {goal:g} % at <= {GOAL_10KB_BYTES:,} B",
                              (GOAL_10KB_BYTES, goal),
                              xytext=(4, 4), textcoords="offset points", fontsize=8)
        n_train = rows[0]["n_train"]
        ax_bits.set(xscale="log", xlabel="neural bits T * d", ylabel="test accuracy %",
                    title=f"{name} ({n_train:,} training samples): accuracy vs bits")
        ax_bytes.set(xscale="log", xlabel="model bytes (solid: float32; dashed: int8 "
                     "compact model, int8 accuracy; dash-dot / dotted: trained for int4 / "
                     "ternary)", ylabel="test accuracy %",
                     title=f"{name}: accuracy vs projection-net bytes")
        low = min(r["acc"] for r in rows)
        for ax in (ax_bits, ax_bytes):
            ax.grid(True, which="both", alpha=0.3)
            ax.set_ylim(max(0, low - 2), None)
        ax_bits.legend(fontsize=7, loc="best")
    fig.suptitle("How many neural bits does a task need? ProjectionNet (pnet), mean ± sd "
                 "over seeds", fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
