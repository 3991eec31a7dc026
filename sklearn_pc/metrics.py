"""Evaluation protocols shared by every estimator (SPEC section 2)."""

import numpy as np
from sklearn.utils.validation import check_array, check_consistent_length

__all__ = ["cosine_to_class_means", "make_generation_scorer"]


def cosine_to_class_means(X_generated, y_generated, X, y):
    """Cosine similarity of each generated input to the mean input of its class.

    The generation-quality measure of Sun & Orchard (2020), Tables 3 and 4:
    ``cos(g, m_c) = g . m_c / (||g|| ||m_c||)`` with ``m_c`` the mean of the
    rows of ``X`` whose label is ``c``.

    Parameters
    ----------
    X_generated : array-like of shape (n_generated, n_features)
        Generated inputs.
    y_generated : array-like of shape (n_generated,)
        The class each one was generated for.
    X : array-like of shape (n_samples, n_features)
        Reference inputs defining the class means.
    y : array-like of shape (n_samples,)
        Their labels.

    Returns
    -------
    cosine : ndarray of shape (n_generated,)
        Similarity in [-1, 1]; 0 for an all-zero generated input.
    """
    X_generated = check_array(X_generated, input_name="X_generated")
    X = check_array(X)
    y_generated, y = np.asarray(y_generated).reshape(-1), np.asarray(y).reshape(-1)
    check_consistent_length(X_generated, y_generated)
    check_consistent_length(X, y)
    if X.shape[1] != X_generated.shape[1]:
        raise ValueError(f"X_generated has {X_generated.shape[1]} features, X has {X.shape[1]}.")
    classes = np.unique(y)
    missing = np.setdiff1d(y_generated, classes)
    if missing.size:
        raise ValueError(f"No reference samples for the generated classes {missing.tolist()}.")
    means = np.stack([X[y == c].mean(axis=0) for c in classes])
    means = means[np.searchsorted(classes, y_generated)]
    norms = np.linalg.norm(X_generated, axis=1) * np.linalg.norm(means, axis=1)
    dots = np.einsum("ij,ij->i", X_generated, means)
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


def make_generation_scorer():
    """A scorer for model selection by generation quality.

    The returned ``scorer(estimator, X, y)`` generates one input per class of
    ``y`` with ``estimator.generate`` and returns their mean
    :func:`cosine_to_class_means` against the class means of ``(X, y)``;
    higher is better, so it plugs into ``GridSearchCV(scoring=...)``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``.
    """

    def generation_cosine(estimator, X, y):
        classes = np.unique(y)
        return float(cosine_to_class_means(estimator.generate(classes), classes, X, y).mean())

    return generation_cosine
