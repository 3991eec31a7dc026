"""
Pattern completion and sampling with a GNCN-PDH (Ororbia & Kifer 2022)
=======================================================================

A :class:`sklearn_pc.GNCNAutoencoder` learns 8x8 digits with local rules only.
Its right half then hidden, each test digit is completed by settling with the
hidden pixels free (``complete``); new digits are drawn from the Gaussian-mixture
prior over the top latents and decoded top-down (``sample``).  The figure shows,
row by row, test digits, the visible left halves, the completions, and samples.

    python examples/plot_pattern_completion.py [--output pattern_completion.png]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from sklearn_pc import GNCNAutoencoder  # noqa: E402
from sklearn_pc.metrics import binary_cross_entropy, masked_mse  # noqa: E402
from sklearn_pc.plotting import ImageGridDisplay  # noqa: E402


def main(output=None):
    X = load_digits().data / 16
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
    model = GNCNAutoencoder("pdh", latent_sizes=(64, 64, 32), n_settle_steps=30, max_iter=40,
                            batch_size=32, learning_rate_init=0.005, n_prior_components=10,
                            random_state=0).fit(X_train)
    bce = binary_cross_entropy(X_test, model.reconstruct(X_test))
    print(f"held-out reconstruction BCE {bce:.2f} nats")

    # The hidden pixels start at 0 and follow the prediction at rate beta, so
    # completion gains from settling longer than training did.
    model.set_params(n_settle_steps=100)
    observed = np.tile(np.arange(8) < 4, 8)  # left half visible, right half hidden
    originals = X_test[:10]
    completed = model.complete(originals, observed)
    mean_fill = np.where(observed, X_test, X_train.mean(axis=0))
    print(f"M-MSE, right half hidden: completion "
          f"{masked_mse(X_test, model.complete(X_test, observed), observed):.2f}, "
          f"training-mean fill {masked_mse(X_test, mean_fill, observed):.2f}")

    rows = [originals, originals * observed, completed, model.sample(10)]
    titles = ["test digits", "right half hidden", "completed", "samples from the prior"]
    fig = ImageGridDisplay(rows, row_labels=titles).plot(vmin=0, vmax=1).figure_
    if output:
        fig.savefig(output, dpi=100, bbox_inches="tight")
        print("saved", output)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Digits, masked, completed, and samples.")
    parser.add_argument("--output", help="save the figure to this file")
    main(parser.parse_args().output)
