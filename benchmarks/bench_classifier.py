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

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from _common import load_classification_data, timed, write_results
from sklearn_pc import PCClassifier


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
    args = parser.parse_args(argv)
    if args.quick:
        args.dataset, args.hidden, args.epochs, args.steps = "digits", [64, 64], 3, 10

    X_train, y_train, X_test, y_test = load_classification_data(args.dataset, args.dtype)
    common = dict(hidden_layer_sizes=tuple(args.hidden), activation=args.activation,
                  batch_size=args.batch_size, learning_rate_init=args.lr,
                  max_iter=args.epochs, random_state=args.seed)
    pc = PCClassifier(inference="alternating", n_inference_steps=args.steps, loss=args.loss,
                      inference_rate=args.rate, verbose=not args.quick, **common)
    mlp = MLPClassifier(solver="adam", alpha=0.0, **common)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, pc_time = timed(pc.fit, X_train, y_train)
        _, mlp_time = timed(mlp.fit, X_train, y_train)
    pc_accuracy = pc.score(X_test, y_test)
    mlp_accuracy = mlp.score(X_test, y_test)

    rows = [(f"PCClassifier ({args.loss}, alternating, {args.steps} iters, rate {args.rate})",
             pc_accuracy, pc_time),
            ("MLPClassifier (backprop)", mlp_accuracy, mlp_time)]
    arch = "-".join(map(str, [X_train.shape[1], *args.hidden, len(np.unique(y_train))]))
    markdown = [f"# PCClassifier vs MLPClassifier: {args.dataset}, {arch} {args.activation}, "
                f"{args.epochs} epochs, batch {args.batch_size}, Adam lr {args.lr}, {args.dtype}",
                "", "| model | test accuracy | fit time (s) |", "|---|---|---|"]
    markdown += [f"| {name} | {acc:.4f} | {sec:.1f} |" for name, acc, sec in rows]
    markdown += ["", f"Paper (Sun & Orchard 2020, section 2.2): about 98 % with 80 iterations, "
                 f"10 epochs. Time ratio PC / MLP: {pc_time / mlp_time:.1f}x."]
    print("\n".join(markdown))
    if not args.quick:
        payload = {
            "config": vars(args), "n_train": len(y_train), "n_test": len(y_test),
            "pc": {"test_accuracy": pc_accuracy, "fit_seconds": pc_time,
                   "energy_curve": pc.loss_curve_},
            "mlp": {"test_accuracy": mlp_accuracy, "fit_seconds": mlp_time,
                    "loss_curve": mlp.loss_curve_},
            "time_ratio_pc_over_mlp": pc_time / mlp_time,
            "paper": {"test_accuracy": 0.98},
        }
        for path in write_results(args.name, payload, "\n".join(markdown)):
            print("wrote", path)


if __name__ == "__main__":
    main()
