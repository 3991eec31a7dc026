"""
Generating digits with a decay-trained PC network (Sun & Orchard 2020, Fig 10)
===============================================================================

One :class:`sklearn_pc.PCGenerator` is trained as a classifier with weight
decay, then run in generative mode: the class is clamped at the top, the input
layer is free and activity decay picks a unique input.  The figure shows the
class-mean digits above the generated ones, for a network trained without decay
(middle row) and with it (bottom row), with each row's mean cosine similarity to
the class means.

    python examples/plot_generated_digits.py [--output generated_digits.png] [--mnist]

``--mnist`` uses the paper's Table 3 setting instead of ``load_digits``: a
784-600-10 network trained on 1000 MNIST digits (``fetch_mnist`` downloads
them once).
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from sklearn_pc import PCGenerator  # noqa: E402
from sklearn_pc.metrics import cosine_to_class_means  # noqa: E402
from sklearn_pc.plotting import ImageGridDisplay  # noqa: E402


def main(output=None, mnist=False):
    if mnist:
        from sklearn_pc.datasets import fetch_mnist

        X, y, _, _ = fetch_mnist(return_X_y=True)
        X, y, hidden = X[:1000], y[:1000], (600,)
    else:
        X, y = load_digits(return_X_y=True)
        X, hidden = X / 16, (100,)
    classes = np.arange(10)
    rows = [np.stack([X[y == c].mean(axis=0) for c in classes])]
    titles = ["class means"]
    for name, weight_decay, activity_decay in (("PC-nondecay", 0.0, 0.0),
                                               ("PC-decay", 0.05, 0.05)):
        # the paper's network: tanh on every layer below the output, the input included,
        # linear top prediction, no biases
        gen = PCGenerator(hidden_layer_sizes=hidden, weight_decay=weight_decay,
                          activation="tanh", input_activation=None, fit_intercept=False,
                          loss="squared_error", n_inference_steps=20, inference_tol=0.0,
                          activity_decay=activity_decay, max_iter=100, batch_size=50,
                          random_state=0).fit(X, y)
        generated = gen.generate(classes)
        cosine = cosine_to_class_means(generated, classes, X, y).mean()
        rows.append(generated)
        titles.append(f"{name}: training accuracy {gen.score(X, y):.2f}, cosine {cosine:.2f}")
        print(f"{name:12s} training accuracy {gen.score(X, y):.3f}  mean cosine {cosine:.3f}")

    fig = ImageGridDisplay(rows, row_labels=titles).plot().figure_
    if output:
        fig.savefig(output, dpi=100, bbox_inches="tight")
        print("saved", output)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Class means above generated digits.")
    parser.add_argument("--output", help="save the figure to this file")
    parser.add_argument("--mnist", action="store_true", help="1000 MNIST digits, 784-600-10")
    args = parser.parse_args()
    main(args.output, args.mnist)
