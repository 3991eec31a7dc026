"""Pattern completion on load_digits: the GNCN's two completions beside scikit-learn's imputers.

    python benchmarks/complete_digits.py            # about a minute on one core
    python benchmarks/complete_digits.py --quick    # smoke run (fewer choices, no file)

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
"""

import argparse
import copy
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer
from sklearn.model_selection import train_test_split

from _common import write_results
from sklearn_pc import GNCNAutoencoder
from sklearn_pc.metrics import masked_mse

MASKS = ["right half", "bottom half", "random 50 %"]
KNN_NEIGHBORS = [1, 3, 5, 10, 20, 40]


def masks(n_rows, rng):
    """Observed-pixel masks of 8x8 digits (True: visible)."""
    columns = np.tile(np.arange(8) < 4, 8)
    rows = np.repeat(np.arange(8) < 4, 8)
    return {"right half": columns, "bottom half": rows,
            "random 50 %": rng.random((n_rows, 64)) >= 0.5}


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
    markdown = "\n".join(lines) + "\n"
    print(markdown)
    if not args.quick:
        write_results(args.name, {"settings": vars(args), "fit seconds": fit_seconds,
                                  "rows": rows, "estimator": model.get_params()}, markdown)


if __name__ == "__main__":
    main()
