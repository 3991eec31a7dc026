"""
Reconstruction, completion and sampling: GNCN-PDH against GNCN-t1
==================================================================

Two :class:`sklearn_pc.GNCNAutoencoder` variants learn 8x8 digits with local
rules only: GNCN-PDH (error synapses, learned precisions, lateral competition
and skip predictions) and GNCN-t1 (Rao & Ballard's type-1 network).  For each,
:meth:`~sklearn_pc.plotting.ImageGridDisplay.from_autoencoder` shows test
digits, their reconstructions, the digits with the right half hidden (grey),
the completions, and samples from the Gaussian-mixture prior; the script prints
the held-out reconstruction BCE and the completion M-MSE of each variant, and
the M-MSE of filling the hidden half with the training mean.

    python examples/plot_reconstructions.py [--output reconstructions.png]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from sklearn_pc import GNCNAutoencoder  # noqa: E402
from sklearn_pc.metrics import binary_cross_entropy, masked_mse  # noqa: E402
from sklearn_pc.plotting import ImageGridDisplay  # noqa: E402


def main(output=None):
    X = load_digits().data / 16
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
    observed = np.tile(np.arange(8) < 4, 8)  # left half visible, right half hidden
    fig = plt.figure(figsize=(12, 6))
    print(f"{'variant':10s} {'test BCE':>9s} {'M-MSE':>7s}")
    for panel, variant in zip(fig.subfigures(1, 2, wspace=0.05), ("pdh", "t1")):
        model = GNCNAutoencoder(variant, latent_sizes=(64, 64, 32), n_inference_steps=30,
                                max_iter=20, batch_size=32, learning_rate_init=0.005,
                                n_prior_components=10, random_state=0).fit(X_train)
        # Hidden pixels start at 0 and follow the prediction at rate inference_rate, so
        # completion gains from settling longer than training did.
        model.set_params(n_inference_steps=100)
        bce = binary_cross_entropy(X_test, model.reconstruct(X_test))
        mse = masked_mse(X_test, model.complete(X_test, observed), observed)
        print(f"{variant:10s} {bce:9.2f} {mse:7.2f}")
        axes = panel.subplots(5, 8, gridspec_kw={"wspace": 0.05, "hspace": 0.45})
        ImageGridDisplay.from_autoencoder(model, X_test[:8], mask=observed, n_samples=8,
                                          random_state=0, ax=axes)
        panel.suptitle(f"GNCN-{variant.upper()}: test BCE {bce:.1f} nats, M-MSE {mse:.2f}")
    mean_fill = np.where(observed, X_test, X_train.mean(axis=0))
    print(f"{'mean fill':10s} {'':9s} {masked_mse(X_test, mean_fill, observed):7.2f}")
    if output:
        fig.savefig(output, dpi=100, bbox_inches="tight")
        print("saved", output)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="GNCN reconstructions, completions, samples.")
    parser.add_argument("--output", help="save the figure to this file")
    main(parser.parse_args().output)
