"""
Choosing the decays by cross-validation: accuracy against generation quality
=============================================================================

A :class:`sklearn_pc.PCGenerator` has two decays: ``weight_decay`` acts during
training, ``activity_decay`` only when generating.  ``GridSearchCV`` scores
every pair with two scorers at once: the classification accuracy and
:func:`sklearn_pc.metrics.make_generation_scorer`, the mean cosine similarity
of one generated digit per class to the class means of the held-out fold.  The
heat maps show the means over 3 folds.  Accuracy depends on the weight decay
alone.  Generation quality comes from the weight decay too; the activity decay
changes little here, because ``generate`` relaxes from all-zero states, and in a
linear network descent from zero already ends at the minimum-norm input that
activity decay selects (Sun & Orchard's theorem 1); it matters when generation
starts from random states, as in ``examples/plot_linear_generation.py``.

    python examples/plot_grid_search_decay.py [--output grid_search_decay.png]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from sklearn_pc import PCGenerator  # noqa: E402
from sklearn_pc.metrics import make_generation_scorer  # noqa: E402


def main(output=None):
    X, y = load_digits(return_X_y=True)
    X = X / 16
    decays = {"weight_decay": [0.0, 0.01, 0.05], "activity_decay": [0.0, 0.01, 0.05]}
    search = GridSearchCV(
        PCGenerator(hidden_layer_sizes=(32,), max_iter=30, batch_size=50, activation="tanh",
                    input_activation=None, fit_intercept=False, loss="squared_error",
                    n_inference_steps=20, inference_tol=0.0,
                    n_generation_steps=300, random_state=0),
        decays, scoring={"accuracy": "accuracy", "generation": make_generation_scorer()},
        refit=False, cv=3).fit(X, y)

    results = search.cv_results_
    tables = {name: np.zeros((3, 3)) for name in ("accuracy", "generation")}
    for i, params in enumerate(results["params"]):
        row = decays["weight_decay"].index(params["weight_decay"])
        column = decays["activity_decay"].index(params["activity_decay"])
        for name, table in tables.items():
            table[row, column] = results[f"mean_test_{name}"][i]
    print(f"{'weight_decay':>12s} {'activity_decay':>14s} {'accuracy':>8s} {'cosine':>6s}")
    for (row, column), accuracy in np.ndenumerate(tables["accuracy"]):
        print(f"{decays['weight_decay'][row]:12g} {decays['activity_decay'][column]:14g} "
              f"{accuracy:8.3f} {tables['generation'][row, column]:6.3f}")

    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, (name, title) in zip(axes, (("generation", "generation: mean cosine to class means"),
                                        ("accuracy", "accuracy"))):
        table = tables[name]
        image = ax.imshow(table, cmap="viridis")
        for (row, column), value in np.ndenumerate(table):
            color = "black" if value > table.min() + 0.5 * np.ptp(table) else "white"
            ax.text(column, row, f"{value:.3f}", ha="center", va="center", color=color)
        ax.set_xticks(range(3), decays["activity_decay"])
        ax.set_yticks(range(3), decays["weight_decay"])
        ax.set_xlabel("activity_decay (generation)")
        ax.set_ylabel("weight_decay (training)")
        ax.set_title(title, fontsize=10)
        fig.colorbar(image, ax=ax, shrink=0.8)
    fig.tight_layout()
    if output:
        fig.savefig(output, dpi=100, bbox_inches="tight")
        print("saved", output)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Heat maps of a grid search over the decays.")
    parser.add_argument("--output", help="save the figure to this file")
    main(parser.parse_args().output)
