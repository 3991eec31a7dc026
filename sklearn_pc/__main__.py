"""Command line: ``python -m sklearn_pc demo`` and ``python -m sklearn_pc reproduce NAME``.

Installed, the same commands are ``sklearn-pc demo`` and ``sklearn-pc reproduce NAME``.
"""

import argparse
import subprocess
import sys
import time
import warnings
from pathlib import Path

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from sklearn_pc import PCClassifier


def demo(random_state=0):
    """Train PCClassifier and its backprop twin on load_digits; print a table."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16, y, test_size=0.25, random_state=random_state)
    shared = dict(hidden_layer_sizes=(256,), batch_size=64, max_iter=50,
                  random_state=random_state)
    models = {
        "PCClassifier (local Hebbian learning)": PCClassifier(**shared),
        "MLPClassifier (backprop)": MLPClassifier(**shared),
    }
    print(f"load_digits: {len(y_train)} training / {len(y_test)} test images, 8x8 pixels\n")
    print(f"| {'model':<38} | test accuracy | fit time (s) |")
    print(f"|{'-' * 40}|---------------|--------------|")
    for name, model in models.items():
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        print(f"| {name:<38} | {model.score(X_test, y_test):13.4f} | {seconds:12.2f} |")


# The benchmarks live beside the package in a source checkout, not in the installed wheel.
BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def reproduce(name, options):
    """Run ``benchmarks/NAME.py`` with ``options``; return its exit status."""
    script = BENCHMARKS / f"{name}.py"
    if not script.is_file():
        available = sorted(path.stem for path in BENCHMARKS.glob("[!_]*.py"))
        raise SystemExit(
            f"No benchmark {name!r} in {BENCHMARKS}. " + (
                f"Available: {', '.join(available)}." if available else
                "The benchmarks ship with the source checkout, not with the installed "
                "package: clone the repository and run this from there."))
    return subprocess.run([sys.executable, str(script), *options], cwd=BENCHMARKS).returncode


def main(argv=None):
    parser = argparse.ArgumentParser(prog="sklearn-pc", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="train on load_digits and print a table of results")
    rerun = commands.add_parser(
        "reproduce", help="run a benchmark of benchmarks/ and print its table",
        description="Run benchmarks/NAME.py (e.g. bench_classifier, reproduce_pc_decay, "
                    "reproduce_ngc); options after NAME, such as --quick, are passed on.")
    rerun.add_argument("name", help="benchmark script name, without .py")
    args, options = parser.parse_known_args(argv)
    if args.command == "demo":
        if options:
            parser.error(f"unrecognized arguments: {' '.join(options)}")
        demo()
        return 0
    return reproduce(args.name, options)


if __name__ == "__main__":
    sys.exit(main())
