"""Forward + backward time of the LSTM trainer network against PyTorch's CPU nn.LSTM.

``python -m bench.lstm_speed [--batch 64] [--length 20] [--embedding-dim 64]
[--hidden 128] [--texts 10000] [--threads 1 2]``

One training step without the optimiser: embedding lookup, one LSTM layer, pooling,
linear layer, cross-entropy and every gradient (pnet: ``LSTMNetwork.forward`` /
``backward``; torch: ``nn.Embedding(sparse=True)`` + ``nn.LSTM`` + ``nn.Linear``,
``loss.backward()``). Every text has the full length (torch then needs no packing;
pnet still builds its masks). float32, same batch, same threads (BLAS via
threadpoolctl, torch via ``torch.set_num_threads``), rounds interleaved
(``best_of_each``). The epoch column is ``--texts`` texts in batches of ``--batch``.
torch is optional (``pip install torch==2.13.0``); without it only pnet is timed.
"""
import argparse

import numpy as np

from pnet.losses import cross_entropy
from pnet.lstm import LSTMNetwork

from ._common import (best_of_each, fmt_ratio, fmt_time, format_machine_info,
                      markdown_table, print_section, set_threads, thread_counts)

N_EMBEDDINGS = 1 << 16
N_CLASSES = 2


def pnet_step(args, pooling, bidirectional):
    rng = np.random.RandomState(0)
    net = LSTMNetwork(N_EMBEDDINGS, args.embedding_dim, args.hidden, N_CLASSES,
                      bidirectional=bidirectional, pooling=pooling)
    net.initialize(rng)
    ids = rng.randint(0, N_EMBEDDINGS, (args.batch, args.length))
    lengths = np.full(args.batch, args.length)
    Y = np.eye(N_CLASSES)[rng.randint(0, N_CLASSES, args.batch)]
    weights = np.ones(args.batch)

    def step():
        logits, cache = net.forward(ids, lengths)
        return net.backward(cache, cross_entropy(logits, Y, weights)[1])
    return step


def torch_step(torch, args, pooling, bidirectional):
    torch.manual_seed(0)
    nn = torch.nn
    embedding = nn.Embedding(N_EMBEDDINGS, args.embedding_dim, sparse=True)
    lstm = nn.LSTM(args.embedding_dim, args.hidden, batch_first=True,
                   bidirectional=bidirectional)
    H = args.hidden
    output = nn.Linear(H * (2 if bidirectional else 1), N_CLASSES)
    rng = np.random.RandomState(0)
    ids = torch.from_numpy(rng.randint(0, N_EMBEDDINGS, (args.batch, args.length)))
    y = torch.from_numpy(rng.randint(0, N_CLASSES, args.batch))
    params = [*embedding.parameters(), *lstm.parameters(), *output.parameters()]

    def pool(states):  # (n, L, dirs * H)
        if pooling == "mean":
            return states.mean(1)
        if pooling == "max":
            return states.max(1).values
        last = states[:, -1]
        return torch.cat([last[:, :H], states[:, 0, H:]], 1) if bidirectional else last

    def step():
        for p in params:
            p.grad = None
        states, _ = lstm(embedding(ids))
        nn.functional.cross_entropy(output(pool(states)), y).backward()
    return step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=20)
    parser.add_argument("--embedding-dim", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--texts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--threads", type=int, nargs="+", default=thread_counts())
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        torch = None
    print_section("Machine", "```text\n" + format_machine_info() + "\n"
                  + (f"torch: {torch.__version__}" if torch else "torch: not installed")
                  + "\n```")
    batches = -(-args.texts // args.batch)
    rows = []
    for threads in args.threads:
        for bidirectional in (False, True):
            for pooling in ("mean", "last", "max"):
                with set_threads(threads):
                    candidates = {"pnet": pnet_step(args, pooling, bidirectional)}
                    if torch is not None:
                        torch.set_num_threads(threads)
                        candidates["torch"] = torch_step(torch, args, pooling, bidirectional)
                    best = best_of_each(candidates, repeat=args.repeat)
                row = [threads, "bi" if bidirectional else "uni", pooling,
                       fmt_time(best["pnet"]), fmt_time(best["pnet"] * batches)]
                if torch is not None:
                    row += [fmt_time(best["torch"]), fmt_time(best["torch"] * batches),
                            fmt_ratio(best["pnet"] / best["torch"])]
                rows.append(row)
    header = ["threads", "LSTM", "pooling", "pnet / batch", f"pnet / epoch ({args.texts})"]
    if torch is not None:
        header += ["torch / batch", "torch / epoch", "pnet / torch"]
    print_section(f"Forward + backward, float32, batch {args.batch}, L = {args.length}, "
                  f"E = {args.embedding_dim}, H = {args.hidden}",
                  markdown_table(header, rows))


if __name__ == "__main__":
    main()
