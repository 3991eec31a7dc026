"""
GNCN against the backprop baselines: cross-validated BCE and log-likelihood
===========================================================================

The paper's comparison in miniature: a small GNCN-PDH
(:class:`sklearn_pc.GNCNAutoencoder`, local learning rules) and the three
backprop baselines, :class:`sklearn_pc.BackpropAutoencoder` (RAE),
:class:`sklearn_pc.VariationalAutoencoder` (GVAE) and
:class:`sklearn_pc.AdversarialAutoencoder` (GAN-AE), on 8x8 digits binarised
at 0.5.  :func:`~sklearn.model_selection.cross_validate` scores every model
with a scoring dict of two callables: the held-out reconstruction BCE
(:func:`sklearn_pc.metrics.binary_cross_entropy`) and the Monte-Carlo
log-likelihood of the shared Gaussian-mixture-prior protocol (each estimator's
``score``).  A small :class:`~sklearn.model_selection.GridSearchCV` then tunes
the decoder penalty ``weight_decay`` of the RAE.  The script prints a table and draws
a bar chart.

    python examples/plot_compare_autoencoders.py [--output compare_autoencoders.png]
"""

import argparse
import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

from sklearn_pc import (
    AdversarialAutoencoder,
    BackpropAutoencoder,
    GNCNAutoencoder,
    VariationalAutoencoder,
)
from sklearn_pc.metrics import binary_cross_entropy

matplotlib.use("Agg")  # no figure exists yet, so the backend can still be chosen


def negative_bce(estimator, X, y=None):
    """Minus the held-out reconstruction BCE (scorers are maximised)."""
    return -binary_cross_entropy(X, estimator.reconstruct(X))


def log_likelihood(estimator, X, y=None):
    """Mean Monte-Carlo log p(x) under the Gaussian-mixture prior (``estimator.score``)."""
    return estimator.score(X)


SCORING = {"bce": negative_bce, "log_likelihood": log_likelihood}


def main(output=None):
    X = (load_digits().data / 16 > 0.5).astype(float)
    shared = {"n_prior_components": 5, "prior_max_samples": 600, "n_mc_samples": 500,
              "random_state": 0}
    baseline = {"n_components": 16, "hidden_layer_sizes": (64, 64), "max_iter": 15,
                "batch_size": 64, "learning_rate_init": 0.003, **shared}
    models = {
        "GNCN-PDH": GNCNAutoencoder("pdh", latent_sizes=(64, 64, 32), n_inference_steps=15,
                                    max_iter=4, batch_size=64, learning_rate_init=0.005,
                                    **shared),
        "RAE": BackpropAutoencoder(**baseline),
        "GVAE": VariationalAutoencoder(**baseline),
        "GAN-AE": AdversarialAutoencoder(discriminator_hidden_layer_sizes=(32,), **baseline),
    }
    cv = KFold(3, shuffle=True, random_state=0)
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, model in models.items():
            scores = cross_validate(model, X, cv=cv, scoring=SCORING)
            results[name] = (-scores["test_bce"], scores["test_log_likelihood"])
        search = GridSearchCV(BackpropAutoencoder(**baseline), {"weight_decay": [1e-4, 1e-2, 1.0]},
                              scoring=SCORING, refit="log_likelihood", cv=2).fit(X)

    print(f"{'model':10s} {'test BCE (nats)':>18s} {'test log p(x) (nats)':>22s}")
    for name, (bce, log_px) in results.items():
        print(f"{name:10s} {bce.mean():10.2f} +- {bce.std():4.2f} "
              f"{log_px.mean():14.2f} +- {log_px.std():4.2f}")
    print("\nRAE, 2-fold GridSearchCV over weight_decay (refit on log-likelihood):")
    for decay, bce, log_px in zip(search.cv_results_["param_weight_decay"],
                                  search.cv_results_["mean_test_bce"],
                                  search.cv_results_["mean_test_log_likelihood"]):
        print(f"  weight_decay={decay:<8g} BCE {-bce:6.2f}  log p(x) {log_px:7.2f}")
    print(f"best: {search.best_params_}")

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    names = list(results)
    positions = np.arange(len(names))
    for ax, (column, title) in zip(axes, [(0, "held-out BCE (nats, lower is better)"),
                                          (1, "held-out log p(x) (nats, higher is better)")]):
        means = [results[name][column].mean() for name in names]
        errors = [results[name][column].std() for name in names]
        ax.bar(positions, means, yerr=errors, color=["C0", "C1", "C2", "C3"], capsize=4)
        ax.set_xticks(positions, names)
        ax.set_title(title)
    fig.suptitle("3-fold cross-validation on binarised 8x8 digits")
    fig.tight_layout()
    if output:
        fig.savefig(output, dpi=100, bbox_inches="tight")
        print("saved", output)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="GNCN against backprop autoencoders.")
    parser.add_argument("--output", help="save the figure to this file")
    main(parser.parse_args().output)
