"""Per-sample early exit of PCGenerator's generation: time against quality.

    python benchmarks/bench_generation.py            # MNIST, 784-600-10 (about 2 minutes)
    python benchmarks/bench_generation.py --quick    # smoke run on load_digits

A PCGenerator (weight decay 0.05, activity decay 0.05, as in the paper's
Table 3) is trained once; then ``sample`` draws the same rows from the same
random starts with ``generation_tol`` from 0 (every sample runs all
``n_generation_steps``) upwards.  For each tolerance: seconds, the mean
cosine of the samples to their class means (the paper's measure), and the
largest difference from the tolerance-0 samples.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from _common import load_classification_data, write_results
from sklearn_pc import PCGenerator
from sklearn_pc.metrics import cosine_to_class_means


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (results not written)")
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--n-samples", type=int, default=1000)
    parser.add_argument("--tols", type=float, nargs="+", default=[0.0, 1e-4, 1e-3, 1e-2])
    parser.add_argument("--name", default="bench_generation")
    args = parser.parse_args(argv)
    dataset = "digits" if args.quick else "mnist"
    if args.quick:
        args.n_train, args.epochs, args.n_samples = None, 3, 50
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y, _, _ = load_classification_data(dataset, np.float32, n_train=args.n_train)
    gen = PCGenerator(hidden_layer_sizes=(600,), weight_decay=0.05, activity_decay=0.05,
                      activation="tanh", input_activation=None, fit_intercept=False,
                      loss="squared_error", n_inference_steps=20, inference_tol=0.0,
                      batch_size=100, max_iter=args.epochs, n_iter_no_change=args.epochs,
                      random_state=0).fit(X, y)

    rows, reference = [], None
    for tol in args.tols:
        gen.set_params(generation_tol=tol)
        start = time.perf_counter()
        samples, labels = gen.sample(args.n_samples, init="normal", random_state=0)
        seconds = time.perf_counter() - start
        reference = samples if reference is None else reference
        rows.append({"generation_tol": tol, "seconds": seconds,
                     "cosine_avg": float(np.mean(cosine_to_class_means(samples, labels, X, y))),
                     "max_abs_difference": float(np.abs(samples - reference).max())})
        print(f"generation_tol={tol:g}: {seconds:.2f} s, cosine {rows[-1]['cosine_avg']:.4f}, "
              f"max |difference| {rows[-1]['max_abs_difference']:.2e}", flush=True)

    lines = [f"# PCGenerator: per-sample early exit of generation ({dataset})", "",
             f"{X.shape[1]}-600-{gen.classes_.size} tanh trained on {X.shape[0]} samples for "
             f"{args.epochs} epochs "
             f"(weight decay 0.05, activity decay 0.05); {args.n_samples} samples from normal "
             f"starts, {gen.n_generation_steps} alternating steps at rate "
             f"{gen.generation_rate}.  Difference: against the tolerance-0 samples, on inputs "
             "in [0, 1].", "",
             "| generation_tol | seconds | speed-up | mean cosine to class means "
             "| max abs difference |", "|---|---|---|---|---|"]
    lines += [f"| {r['generation_tol']:g} | {r['seconds']:.2f} "
              f"| {rows[0]['seconds'] / r['seconds']:.1f}x | {r['cosine_avg']:.4f} "
              f"| {r['max_abs_difference']:.1e} |" for r in rows]
    markdown = "\n".join(lines) + "\n"
    print(markdown)
    if not args.quick:
        write_results(args.name, {"config": vars(args), "rows": rows}, markdown)


if __name__ == "__main__":
    main()
