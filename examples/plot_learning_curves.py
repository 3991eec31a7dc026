"""
Training curves of PC classifiers: relaxation schedule and output loss
======================================================================

Four :class:`sklearn_pc.PCClassifier` networks learn the digits: relaxed with
Whittington & Bogacz's ``"alternating"`` method or by ``"euler"`` integration,
with the paper's squared-error energy or a softmax output (``"log_loss"``).
:meth:`~sklearn_pc.plotting.TrainingCurveDisplay.from_estimators` draws each
network's energy per epoch (``loss_curve_``, solid) and, since the networks
stop early, its held-out accuracy per epoch (``validation_scores_``, dashed,
right axis).  The two losses measure the energy on different scales; the
script prints each network's epochs and test accuracy.

    python examples/plot_learning_curves.py [--output learning_curves.png]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from sklearn_pc import PCClassifier  # noqa: E402
from sklearn_pc.plotting import TrainingCurveDisplay  # noqa: E402


def main(output=None):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0)
    models, labels = [], []
    print(f"{'network':28s} {'epochs':>6s} {'test accuracy':>13s}")
    for loss in ("squared_error", "log_loss"):
        for inference in ("alternating", "euler"):
            model = PCClassifier(hidden_layer_sizes=(64,), inference=inference, loss=loss,
                                 max_iter=40, batch_size=64, early_stopping=True,
                                 random_state=0).fit(X_train, y_train)
            models.append(model)
            labels.append(f"{inference}, {loss}")
            print(f"{labels[-1]:28s} {model.n_iter_:6d} {model.score(X_test, y_test):13.3f}")
    display = TrainingCurveDisplay.from_estimators(models, labels)
    display.validation_ax_.set_ylim(0.8, 1.0)
    fig = display.figure_
    if output:
        fig.savefig(output, dpi=100, bbox_inches="tight")
        print("saved", output)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Energy and validation accuracy per epoch.")
    parser.add_argument("--output", help="save the figure to this file")
    main(parser.parse_args().output)
