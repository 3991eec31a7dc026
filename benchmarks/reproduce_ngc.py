"""Reproduce the MNIST columns of Ororbia & Kifer (2022), Tables 1-2, for the four GNCN variants.

    python benchmarks/reproduce_ngc.py                    # every variant, full protocol
    python benchmarks/reproduce_ngc.py pdh t1 --epochs 5  # a selection, fewer epochs
    python benchmarks/reproduce_ngc.py --quick            # smoke run on load_digits

Protocol (SPEC section 2-3): MNIST binarised at 0.5, 60k train / 10k test;
784-360-360-360 networks, T = 50 settling steps, Adam 1e-3, batch 512.
Reported per variant: test BCE of the reconstruction, Monte-Carlo log p(x)
under a Gaussian mixture fitted to the training set's top latents, the test
error of a logistic regression on the top latents, the M-MSE of completing the
masked right half of each test image, and the fraction of active units of each
layer on (a subset of) the training set.
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from _common import RESULTS, load_classification_data, write_results
from sklearn_pc import GNCNAutoencoder
from sklearn_pc.metrics import (
    binary_cross_entropy,
    latent_classification_error,
    masked_mse,
    sparsity,
)

warnings.simplefilter("ignore", ConvergenceWarning)

VARIANTS = {"t1": "GNCN-t1/Rao", "t1-sigma": "GNCN-t1-Sigma/Friston",
            "t2-lsigma": "GNCN-t2-LSigma", "pdh": "GNCN-PDH"}
# Paper (arXiv v4, mean of 10 trials): BCE, log p(x), classification error %, M-MSE.
PAPER = {"t1": [66.466, -102.222, 8.57, 4.54], "t1-sigma": [47.246, -101.921, 5.40, 3.11],
         "t2-lsigma": [59.658, -98.271, 2.38, 4.15], "pdh": [44.857, -97.255, 2.28, 3.04]}
COLUMNS = ["BCE", "log p(x)", "error %", "M-MSE"]


def load(quick):
    if quick:
        X, y, X_test, y_test = load_classification_data("digits", np.float32)
        return (X > 0.5).astype(np.float32), y, (X_test > 0.5).astype(np.float32), y_test
    from sklearn_pc.datasets import fetch_mnist

    return fetch_mnist(return_X_y=True, dtype=np.float32, binarize=0.5)


def evaluate(variant, args, data):
    quick = args.quick
    model = GNCNAutoencoder(
        variant, latent_sizes=(24, 24, 24) if quick else (360, 360, 360), n_groups=4 if quick
        else 20, batch_size=64 if quick else 512, max_iter=args.epochs,
        n_iter_no_change=args.epochs, n_prior_components=args.components,
        prior_max_samples=args.prior_samples,
        n_mc_samples=args.mc_samples, random_state=args.seed, verbose=args.verbose)
    row = evaluate_autoencoder(model, data, args.latent_subset, save=args.save and Path(
        args.save) / f"gncn_{variant}.joblib")
    print(VARIANTS[variant], json.dumps(row), flush=True)
    return row


def right_half_mask(n_features):
    """Observed-pixel mask of square images with the right half occluded."""
    mask = np.ones(n_features, dtype=bool)
    width = int(np.sqrt(n_features))
    mask.reshape(width, width)[:, width // 2:] = False
    return mask


def evaluate_autoencoder(model, data, latent_subset, save=None):
    """Fit ``model`` on the training images and score it under the paper's protocol.

    Test BCE of the reconstruction, Monte-Carlo log p(x) (``model.score``),
    the test error of a logistic regression on the top latents of the first
    ``latent_subset`` training images, the M-MSE of completing the right half
    of every test image, and the fraction of active units of each layer
    (``transform_layers`` when the model has it, else ``transform``).
    """
    X, y, X_test, y_test = data
    start = time.perf_counter()
    model.fit(X)
    fit_seconds = time.perf_counter() - start
    if save:
        joblib.dump(model, save)
    mask = right_half_mask(X.shape[1])
    subset = X[:latent_subset]
    layers = (model.transform_layers(subset) if hasattr(model, "transform_layers")
              else [model.transform(subset)])
    start = time.perf_counter()
    return {
        "BCE": binary_cross_entropy(X_test, model.reconstruct(X_test)),
        "log p(x)": model.score(X_test),
        "error %": latent_classification_error(model.transform(subset), y[:latent_subset],
                                               model.transform(X_test), y_test),
        "M-MSE": masked_mse(X_test, model.complete(X_test, mask), mask),
        "sparsity per layer": [sparsity(z) for z in layers],
        "fit seconds": fit_seconds,
        "evaluation seconds": time.perf_counter() - start,
        "epochs": model.n_iter_,
    }


def to_markdown(rows, args):
    lines = ["# Ororbia & Kifer (2022), MNIST, Tables 1-2: ours (paper in brackets)", "",
             f"{args.epochs} epochs, batch 512, T = 50, Adam 1e-3; log p(x) from a "
             f"{args.components}-component full-covariance GMM fitted to the top latents of "
             f"{args.prior_samples or 'all'} random training images, and {args.mc_samples} "
             "Monte-Carlo draws; "
             f"the logistic regression and the sparsity use the first {args.latent_subset} "
             "training images.", "",
             "| model | " + " | ".join(COLUMNS) + " | sparsity z1 / z2 / z3 | fit (s) |",
             "|---" * (len(COLUMNS) + 3) + "|"]
    for variant, row in rows.items():
        cells = [f"{row[c]:.2f} ({p})" for c, p in zip(COLUMNS, PAPER[variant])]
        active = " / ".join(f"{s:.2f}" for s in row["sparsity per layer"])
        lines.append(f"| {VARIANTS[variant]} | " + " | ".join(cells)
                     + f" | {active} | {row['fit seconds']:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", choices=[*VARIANTS, []], default=[])
    parser.add_argument("--quick", action="store_true", help="smoke run on load_digits")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--components", type=int, default=75, help="GMM prior components")
    parser.add_argument("--prior-samples", type=int, default=10000,
                        help="training images whose top latents fit the GMM prior "
                             "(0: all; the paper used all 60k, 6x the EM cost)")
    parser.add_argument("--mc-samples", type=int, default=5000)
    parser.add_argument("--latent-subset", type=int, default=60000,
                        help="training images for the logistic regression and sparsity")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--save", metavar="DIR", help="joblib-dump each fitted model into DIR")
    parser.add_argument("--merge", metavar="NAME", nargs="+",
                        help="write one table from the rows of benchmarks/results/NAME.json "
                             "files of earlier runs (e.g. variants run in parallel) instead "
                             "of training")
    parser.add_argument("--name", default="reproduce_ngc_mnist")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.components, args.mc_samples = 2, 3, 100
    args.prior_samples = args.prior_samples or None
    if args.merge:
        parts = [json.loads((RESULTS / f"{name}.json").read_text()) for name in args.merge]
        rows = {v: part["rows"][v] for v in VARIANTS for part in parts if v in part["rows"]}
        runs = [part["command"] for part in parts]
    else:
        data = load(args.quick)
        rows = {variant: evaluate(variant, args, data) for variant in args.variants or VARIANTS}
        runs = None
    markdown = to_markdown(rows, args)
    print(markdown)
    if not args.quick:
        if runs:
            markdown += "\nRows from the runs:\n" + "".join(f"- `{run}`\n" for run in runs)
        write_results(args.name, {"rows": rows, "runs": runs,
                                  "paper": {"columns": COLUMNS, **PAPER}}, markdown)


if __name__ == "__main__":
    main()
