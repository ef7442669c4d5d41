"""The ``pnet`` command line: ``pnet demo``.

Run ``pnet --help`` for the commands.
"""
import argparse
import sys


def _demo(args):
    from .demo import run

    run(random_state=args.random_state, verbose=args.verbose)
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="pnet", description="ProjectionNet on the CPU.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train on scikit-learn's digits and report both nets")
    demo.add_argument("--random-state", type=int, default=0)
    demo.add_argument("--verbose", action="store_true", help="one line per epoch")
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
