"""PCClassifier against MLPClassifier on MNIST (Sun & Orchard 2020, section 2.2).

784-600-600-10 tanh network, alternating inference with 80 iterations, 10
epochs: the paper reports about 98 % test accuracy.  The same architecture
trained by backprop (scikit-learn's MLPClassifier, same epochs, batch size
and optimizer) runs in the same process for the accuracy and time ratio.

    python benchmarks/bench_classifier.py            # full run, MNIST 60k/10k
    python benchmarks/bench_classifier.py --quick    # smoke run on load_digits
"""

import argparse
import warnings
from functools import partial

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from _common import load_classification_data, timed, write_results
from sklearn_pc import PCClassifier


class _OneHotRegressor:
    """Backprop on the squared error against one-hot targets, scored by accuracy.

    The input goes through the network's activation first, as the PC network
    applies ``sigma`` to its input layer too.
    """

    def __init__(self, regressor, activation):
        self.regressor = regressor
        self.squash = np.tanh if activation == "tanh" else partial(np.maximum, 0)

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.regressor.fit(self.squash(X), (y[:, None] == self.classes_).astype(X.dtype))
        self.loss_curve_ = self.regressor.loss_curve_
        return self

    def score(self, X, y):
        predicted = self.classes_[self.regressor.predict(self.squash(X)).argmax(axis=1)]
        return float(np.mean(predicted == y))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small smoke run on load_digits (results not written)")
    parser.add_argument("--dataset", choices=["mnist", "digits"], default="mnist")
    parser.add_argument("--hidden", type=int, nargs="+", default=[600, 600])
    parser.add_argument("--activation", default="tanh")
    parser.add_argument("--loss", choices=["squared_error", "log_loss"], default="squared_error")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--steps", type=int, default=80, help="alternating iterations")
    parser.add_argument("--rate", type=float, default=0.1, help="inference_rate = dt / tau")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="bench_classifier", help="result file stem")
    parser.add_argument("--models", nargs="+", choices=["pc", "mlp", "mlp_squared"],
                        default=["pc", "mlp"],
                        help="mlp_squared: backprop on the squared error against one-hot "
                             "targets, the loss of the paper's PC network")
    args = parser.parse_args(argv)
    if args.quick:
        args.dataset, args.hidden, args.epochs, args.steps = "digits", [64, 64], 3, 10

    X_train, y_train, X_test, y_test = load_classification_data(args.dataset, args.dtype)
    common = dict(hidden_layer_sizes=tuple(args.hidden), activation=args.activation,
                  batch_size=args.batch_size, learning_rate_init=args.lr,
                  max_iter=args.epochs, random_state=args.seed)
    models = {
        "pc": (f"PCClassifier ({args.loss}, alternating, {args.steps} iters, rate {args.rate})",
               PCClassifier(inference="alternating", n_inference_steps=args.steps,
                            input_activation=None, weight_decay=0.0,
                            loss=args.loss, inference_rate=args.rate, inference_tol=0.0,
                            verbose=not args.quick, **common)),
        "mlp": ("MLPClassifier (backprop, log-loss)",
                MLPClassifier(solver="adam", alpha=0.0, **common)),
        # the same network and input activation as the PC one, fitted to one-hot targets
        "mlp_squared": ("MLPRegressor on one-hot targets (backprop, squared error)",
                        _OneHotRegressor(MLPRegressor(solver="adam", alpha=0.0, **common),
                                         args.activation)),
    }
    results = {}
    for key in args.models:
        name, model = models[key]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            _, seconds = timed(model.fit, X_train, y_train)
        results[key] = {"name": name, "test_accuracy": model.score(X_test, y_test),
                        "fit_seconds": seconds, "curve": list(model.loss_curve_)}

    arch = "-".join(map(str, [X_train.shape[1], *args.hidden, len(np.unique(y_train))]))
    markdown = [f"# {args.dataset}, {arch} {args.activation}, {args.epochs} epochs, "
                f"batch {args.batch_size}, Adam lr {args.lr}, {args.dtype}",
                "", "| model | test accuracy | fit time (s) |", "|---|---|---|"]
    markdown += [f"| {r['name']} | {r['test_accuracy']:.4f} | {r['fit_seconds']:.1f} |"
                 for r in results.values()]
    markdown += ["", "Paper (Sun & Orchard 2020, section 2.2): about 98 % with 80 iterations, "
                 "10 epochs."]
    if "pc" in results and "mlp" in results:
        ratio = results["pc"]["fit_seconds"] / results["mlp"]["fit_seconds"]
        markdown += [f"Time ratio PC / MLP: {ratio:.1f}x."]
    print("\n".join(markdown))
    if not args.quick:
        payload = {"config": vars(args), "n_train": len(y_train), "n_test": len(y_test),
                   **results, "paper": {"test_accuracy": 0.98}}
        for path in write_results(args.name, payload, "\n".join(markdown)):
            print("wrote", path)


if __name__ == "__main__":
    main()
