"""
Why decay makes a PC network generative (Sun & Orchard 2020, Fig 4 and 5)
=========================================================================

A linear 3-2 PC network is trained on two Gaussian classes in 3-D, then asked
to generate 150 inputs per class from random initial states.  Without decay
(left) every point of the solution line ``M x = y`` has zero error, so the
samples spread along it; with weight decay during training and activity decay
during generation (right) they collapse onto the class centroids.

    python examples/plot_linear_generation.py [--output linear_generation.png]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sklearn_pc import PCGenerator  # noqa: E402
from sklearn_pc.datasets import make_class_prototypes  # noqa: E402


def main(output=None):
    X, y, centroids = make_class_prototypes(n_samples=200, n_features=3, n_classes=2,
                                            return_prototypes=True, random_state=0)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharex=True, sharey=True)
    for ax, (name, decay) in zip(axes, (("PC-nondecay", 0.0), ("PC-decay", 0.05))):
        gen = PCGenerator(hidden_layer_sizes=(), activation="identity", weight_decay=decay,
                          activity_decay=decay, max_iter=300, batch_size=20,
                          learning_rate_init=0.01, n_iter_no_change=300,
                          fit_intercept=False, loss="squared_error", n_inference_steps=20,
                          inference_tol=0.0,
                          n_generation_steps=2000, random_state=0).fit(X, y)
        X_gen, y_gen = gen.sample(300, init="normal", random_state=1)
        distance = np.linalg.norm(X_gen - centroids[y_gen], axis=1).mean()
        for label, color in ((0, "tab:red"), (1, "tab:orange")):
            ax.scatter(*X[y == label, :2].T, s=8, color=color, alpha=0.5,
                       label=f"class {label} training inputs")
            ax.scatter(*X_gen[y_gen == label, :2].T, s=14, marker="s", color="k", alpha=0.3)
        ax.set_title(f"{name}: mean distance to centroid {distance:.2f}")
        ax.set_xlabel("x1")
        print(f"{name:12s} mean distance of generated samples to their centroid: {distance:.3f}")
    axes[0].set_ylabel("x2 (2-D projection of 3-D inputs; squares: generated)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    if output:
        fig.savefig(output, dpi=100)
        print("saved", output)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Generated samples without and with decay.")
    parser.add_argument("--output", help="save the figure to this file")
    main(parser.parse_args().output)
