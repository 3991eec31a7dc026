"""
Pattern completion with a GNCN, beside scikit-learn's KNNImputer
================================================================

A :class:`sklearn_pc.GNCNAutoencoder` at its defaults (GNCN-t1-Sigma, sized
from the data) learns 8x8 digits with local rules only.
The right half of each test digit is then set to NaN, which marks a missing
entry as it does for scikit-learn's imputers: ``complete`` settles the network
with those pixels free and returns the digit filled in; so does
``inverse_transform(transform(X))``, the path a :class:`~sklearn.pipeline.Pipeline`
takes; ``complete(X, method="posterior")`` fills them with their posterior mean
under the model and its prior instead.  The settling budget (``n_inference_steps`` at completion) is chosen on a
validation split of the training digits, never on the test digits.  The
completions are scored (M-MSE: squared error summed over the hidden pixels,
mean over digits) beside filling in the training mean image and
:class:`~sklearn.impute.KNNImputer`.  The figure shows, row by row, test
digits, their visible halves, the GNCN's and the KNN imputer's completions,
and samples from the prior.

    python examples/plot_pattern_completion.py [--output pattern_completion.png]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.impute import KNNImputer  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from sklearn_pc import GNCNAutoencoder  # noqa: E402
from sklearn_pc.metrics import binary_cross_entropy, masked_mse  # noqa: E402
from sklearn_pc.plotting import ImageGridDisplay  # noqa: E402


def main(output=None):
    X = load_digits().data / 16
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
    X_fit, X_val = train_test_split(X_train, test_size=0.2, random_state=0)
    model = GNCNAutoencoder(random_state=0).fit(X_fit)  # the defaults, sized from the data
    bce = binary_cross_entropy(X_test, model.reconstruct(X_test))
    print(f"held-out reconstruction BCE {bce:.2f} nats")

    observed = np.tile(np.arange(8) < 4, 8)  # left half visible, right half hidden

    def hide(images):
        return np.where(observed, images, np.nan)

    # The hidden pixels start at 0 and follow the prediction at rate inference_rate, so
    # completion may gain from settling longer than training did: choose the
    # budget on the validation digits.
    scores = {}
    for n_steps in (10, 30, 60, 100):
        model.set_params(n_inference_steps=n_steps)
        try:
            scores[n_steps] = masked_mse(X_val, model.complete(hide(X_val)), observed)
        except FloatingPointError:  # settling this long diverged
            scores[n_steps] = np.inf
    best = min(scores, key=scores.get)
    print("validation M-MSE per settling budget:",
          ", ".join(f"{k}: {v:.2f}" for k, v in scores.items()), f"-> {best} steps")
    model.set_params(n_inference_steps=best)

    # The posterior mean under the model and its prior weighs draws from the prior by
    # how well they explain the visible half.  It completes better with a prior of more
    # components than the default sizes for density (min(75, rows // units) = 8 here):
    # fit_prior refits the prior alone, the weights stay.  Its temperature is chosen
    # on the validation digits too.
    model.set_params(n_prior_components=75).fit_prior(X_fit)
    scores = {t: masked_mse(X_val, model.complete(hide(X_val), method="posterior",
                                                  temperature=t), observed)
              for t in (0.25, 0.5, 1, 2)}
    temperature = min(scores, key=scores.get)
    print("validation M-MSE of the posterior mean per temperature:",
          ", ".join(f"{k}: {v:.2f}" for k, v in scores.items()), f"-> {temperature}")

    holes = hide(X_test)
    completed = model.complete(holes)
    posterior = model.complete(holes, method="posterior", temperature=temperature)
    roundtrip = model.inverse_transform(model.transform(holes))
    knn = KNNImputer().fit(X_fit).transform(holes)
    mean_fill = np.where(observed, X_test, X_fit.mean(axis=0))
    for name, filled in [("GNCN complete (settling)", completed),
                         ("GNCN complete, method='posterior'", posterior),
                         ("GNCN inverse_transform(transform)", roundtrip),
                         ("KNNImputer", knn), ("training-mean fill", mean_fill)]:
        print(f"M-MSE, right half hidden, {name}: {masked_mse(X_test, filled, observed):.2f}")

    rows = [X_test[:10], X_test[:10] * observed, completed[:10], posterior[:10], knn[:10],
            model.sample(10)[0]]
    titles = ["test digits", "right half hidden", "GNCN settling", "GNCN posterior mean",
              "KNNImputer", "samples from the prior"]
    fig = ImageGridDisplay(rows, row_labels=titles).plot(vmin=0, vmax=1).figure_
    if output:
        fig.savefig(output, dpi=100, bbox_inches="tight")
        print("saved", output)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Digits, masked, completed, and samples.")
    parser.add_argument("--output", help="save the figure to this file")
    main(parser.parse_args().output)
