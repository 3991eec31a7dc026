"""Command line: ``python -m sklearn_pc demo``."""

import argparse
import time
import warnings

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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sklearn_pc")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="train on load_digits and print a table of results")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo()


if __name__ == "__main__":
    main()
