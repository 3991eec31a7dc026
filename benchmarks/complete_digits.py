"""Pattern completion on load_digits: the GNCN's two completions beside scikit-learn's imputers.

    python benchmarks/complete_digits.py            # about three minutes on two cores
    python benchmarks/complete_digits.py --quick    # smoke run (fewer choices, 3-epoch
                                                    # reconstruction models, no file)

The digits (scaled to [0, 1]) are split as in ``examples/plot_pattern_completion.py``:
a quarter for test, then a fifth of the rest for validation; ``GNCNAutoencoder()`` at
its defaults is fitted on the remaining 1,078 digits.  Three masks hide pixels of every
validation and test digit: the right half, the bottom half, and a random half of the
pixels (drawn anew for each digit).  For each mask and each completion, everything
that is chosen (the settling budget, the temperature of the posterior mean) is chosen
on the validation digits with that mask, never on the test digits:

* ``settling``: ``complete(X)``, the paper's completion, budget from ``--budgets``;
* ``posterior mean``: ``complete(X, method="posterior")`` with the default prior
  (``n_prior_components="auto"``: min(75, rows // units) components), temperature
  from ``--temperatures``;
* the same with the prior refitted with 75 components (``fit_prior``; the weights
  stay), since the posterior mean gains from a prior with more components than the
  density estimate is given by default;
* ``KNNImputer()`` at its defaults and with ``n_neighbors`` chosen on the
  validation digits (from 1 to 40), ``IterativeImputer()`` clipped to [0, 1], the
  training-mean fill, each fitted on the training digits.

The M-MSE is :func:`sklearn_pc.metrics.masked_mse`: squared error summed over the
hidden pixels of a digit, mean over the test digits.

Before completion, reconstruction (issue 33 item 6): the test digits' BCE
(:func:`sklearn_pc.metrics.binary_cross_entropy`) of ``GNCNAutoencoder()`` at its
defaults beside ``PCA(n_components=20)`` and ``BackpropAutoencoder()`` at its
defaults, each fitted on the same digits, on the grey levels and on the digits
binarised at 0.5, with each fit's seconds (PCA's reconstruction clipped to [0, 1]).
"""

import argparse
import copy
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer
from sklearn.model_selection import train_test_split

from _common import write_results
from sklearn_pc import BackpropAutoencoder, GNCNAutoencoder
from sklearn_pc.metrics import binary_cross_entropy, masked_mse

MASKS = ["right half", "bottom half", "random 50 %"]
KNN_NEIGHBORS = [1, 3, 5, 10, 20, 40]


def masks(n_rows, rng):
    """Observed-pixel masks of 8x8 digits (True: visible)."""
    columns = np.tile(np.arange(8) < 4, 8)
    rows = np.repeat(np.arange(8) < 4, 8)
    return {"right half": columns, "bottom half": rows,
            "random 50 %": rng.random((n_rows, 64)) >= 0.5}


def reconstruction(X_fit, X_test, seed, quick=False):
    """Test BCE and fit seconds of the default GNCN, PCA(20) and the default
    backprop autoencoder, each fitted on ``X_fit`` (``quick``: 3 epochs each)."""
    short = {"max_iter": 3} if quick else {}
    results = {}
    for name, estimator in [("GNCNAutoencoder()", GNCNAutoencoder(random_state=seed, **short)),
                            ("PCA(n_components=20)", PCA(n_components=20, random_state=seed)),
                            ("BackpropAutoencoder()",
                             BackpropAutoencoder(random_state=seed, **short))]:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(X_fit)
        seconds = time.perf_counter() - start
        # PCA's linear reconstruction leaves [0, 1]: clipped (the others' are probabilities)
        rebuilt = np.clip(estimator.inverse_transform(estimator.transform(X_test)), 0, 1)
        results[name] = {"BCE": binary_cross_entropy(X_test, rebuilt), "fit seconds": seconds}
    return results


def chosen(score, choices):
    """The choice with the lowest score, and every choice's score."""
    scores = {c: score(c) for c in choices}
    return min(scores, key=scores.get), scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--budgets", type=int, nargs="+", default=[10, 30, 60, 100, 300])
    parser.add_argument("--temperatures", type=float, nargs="+", default=[0.25, 0.5, 1, 2, 3])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="complete_digits")
    args = parser.parse_args(argv)
    if args.quick:
        args.budgets, args.temperatures = [10, 30], [0.5, 1]
    X = load_digits().data / 16
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=args.seed)
    X_fit, X_val = train_test_split(X_train, test_size=0.2, random_state=args.seed)
    rng = np.random.default_rng(args.seed)
    val_masks, test_masks = masks(len(X_val), rng), masks(len(X_test), rng)

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = GNCNAutoencoder(random_state=args.seed).fit(X_fit)
    fit_seconds = time.perf_counter() - start
    params = model.get_params()  # as fitted (settling below changes n_inference_steps)
    default_components = model.prior_.n_components
    # the same fitted weights, another prior
    rich = copy.deepcopy(model).set_params(n_prior_components=75).fit_prior(X_fit)
    knn = KNNImputer().fit(X_fit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        iterative = IterativeImputer(random_state=args.seed).fit(X_fit)
    mean = X_fit.mean(axis=0)

    def settle(estimator, X, mask, budget):
        return estimator.set_params(n_inference_steps=budget).complete(X, mask)

    def posterior(estimator, X, mask, temperature):
        return estimator.complete(X, mask, method="posterior", temperature=temperature)

    rebuilt = {"grey levels": reconstruction(X_fit, X_test, args.seed, args.quick),
               "binarised": reconstruction((X_fit > 0.5).astype(float),
                                           (X_test > 0.5).astype(float), args.seed, args.quick)}
    rows = {}
    for name in MASKS:
        val_mask, test_mask = val_masks[name], test_masks[name]
        row = {}
        for method, estimator, complete, choices in [
                ("settling", model, settle, args.budgets),
                (f"posterior mean, prior of {default_components} components", model, posterior,
                 args.temperatures),
                ("posterior mean, prior of 75 components", rich, posterior, args.temperatures)]:
            choice, scores = chosen(lambda c: masked_mse(  # noqa: B023
                X_val, complete(estimator, X_val, val_mask, c), val_mask), choices)  # noqa: B023
            row[method] = {"M-MSE": masked_mse(
                X_test, complete(estimator, X_test, test_mask, choice), test_mask),
                "choice": choice, "validation M-MSE": scores}
        holes = np.where(test_mask, X_test, np.nan)
        row["KNNImputer()"] = {"M-MSE": masked_mse(X_test, knn.transform(holes), test_mask)}
        k, scores = chosen(lambda k: masked_mse(X_val, KNNImputer(n_neighbors=k).fit(  # noqa: B023
            X_fit).transform(np.where(val_mask, X_val, np.nan)), val_mask), KNN_NEIGHBORS)  # noqa: B023
        row["KNNImputer, n_neighbors chosen"] = {
            "M-MSE": masked_mse(X_test, KNNImputer(n_neighbors=k).fit(X_fit).transform(holes),
                                test_mask), "choice": k, "validation M-MSE": scores}
        row["IterativeImputer, clipped to [0, 1]"] = {"M-MSE": masked_mse(
            X_test, np.clip(iterative.transform(holes), 0, 1), test_mask)}
        row["training-mean fill"] = {"M-MSE": masked_mse(
            X_test, np.where(test_mask, X_test, mean), test_mask)}
        rows[name] = row
        print(name, {method: round(result["M-MSE"], 3) for method, result in row.items()},
              flush=True)

    methods = list(rows[MASKS[0]])
    lines = ["# Pattern completion on load_digits: M-MSE on the test digits", "",
             f"`GNCNAutoencoder()` at its defaults, fitted on {len(X_fit)} digits in "
             f"{fit_seconds:.1f} s; settling budget and temperature chosen per mask on "
             f"{len(X_val)} validation digits (in brackets); M-MSE on {len(X_test)} test "
             "digits (squared error summed over the hidden pixels, mean over digits).", "",
             "| completion | " + " | ".join(MASKS) + " |", "|---" * (len(MASKS) + 1) + "|"]
    for method in methods:
        cells = []
        for name in MASKS:
            result = rows[name][method]
            cell = f"{result['M-MSE']:.3f}"
            if "choice" in result:
                cell += f" ({result['choice']})"
            cells.append(cell)
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines += ["", f"Reconstruction of the {len(X_test)} test digits, BCE (nats per digit) and "
              "fit seconds, each model fitted on the same digits (grey levels, or binarised "
              "at 0.5 for both fitting and scoring; PCA's reconstruction clipped to [0, 1]):",
              "",
              "| model | BCE, grey levels | BCE, binarised | fit (s), grey / binarised |",
              "|---|---|---|---|"]
    for model_name in rebuilt["grey levels"]:
        grey, binary = rebuilt["grey levels"][model_name], rebuilt["binarised"][model_name]
        lines.append(f"| {model_name} | {grey['BCE']:.2f} | {binary['BCE']:.2f} | "
                     f"{grey['fit seconds']:.1f} / {binary['fit seconds']:.1f} |")
    markdown = "\n".join(lines) + "\n"
    print(markdown)
    if not args.quick:
        write_results(args.name, {"settings": vars(args), "fit seconds": fit_seconds,
                                  "rows": rows, "reconstruction": rebuilt,
                                  "estimator": params}, markdown)


if __name__ == "__main__":
    main()
