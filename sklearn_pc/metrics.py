"""Evaluation protocols shared by every estimator (Sun & Orchard 2020; Ororbia & Kifer 2022)."""

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_array, check_consistent_length

from ._likelihood import (
    _bernoulli_log_likelihood,
    _check_mask,
    _EPS,
    _mc_log_likelihood,
    LIKELIHOODS,
)
from ._pc import class_indices

__all__ = [
    "binary_cross_entropy",
    "cosine_to_class_means",
    "latent_classification_error",
    "make_generation_scorer",
    "masked_mse",
    "mc_log_likelihood",
    "sparsity",
]


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
    classes, of_class = np.unique(y, return_inverse=True)
    which = class_indices(classes, y_generated,
                          error="No reference samples for the generated classes {labels}.")
    means = np.stack([X[of_class.reshape(-1) == c].mean(axis=0)
                      for c in range(classes.shape[0])])[which]
    norms = np.linalg.norm(X_generated, axis=1) * np.linalg.norm(means, axis=1)
    dots = np.einsum("ij,ij->i", X_generated, means)
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


def make_generation_scorer():
    """A scorer for model selection by generation quality.

    The returned ``scorer(estimator, X, y)`` generates one input per class of
    ``y`` with the estimator's ``generate`` and returns their mean
    :func:`cosine_to_class_means` against the class means of ``(X, y)``;
    higher is better, so it plugs into ``GridSearchCV(scoring=...)``.

    When ``estimator`` is a :class:`~sklearn.pipeline.Pipeline`, its last
    step generates, in the space that step was trained in, and the inputs go
    back through the ``inverse_transform`` of the steps before it (a scaler,
    say), so they are compared with the class means of ``X`` as the pipeline
    received it.  Every step before the last must then have
    ``inverse_transform``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from sklearn_pc import PCGenerator
    >>> from sklearn_pc.metrics import make_generation_scorer
    >>> X, y = load_digits(return_X_y=True)
    >>> pipe = make_pipeline(MinMaxScaler(), PCGenerator(hidden_layer_sizes=(32,), max_iter=5,
    ...                                                  random_state=0))
    >>> search = GridSearchCV(pipe, {"pcgenerator__weight_decay": [0.01, 0.05]}, cv=2,
    ...                       scoring=make_generation_scorer()).fit(X[:400], y[:400])
    >>> bool(-1 <= search.best_score_ <= 1)
    True
    """

    def generation_cosine(estimator, X, y):
        classes = np.unique(y)
        final, before = estimator, None
        if isinstance(estimator, Pipeline):
            final, before = estimator[-1], estimator[:-1]
        if not hasattr(final, "generate"):
            raise TypeError(f"make_generation_scorer needs an estimator with generate (such "
                            f"as PCGenerator), got {type(final).__name__}.")
        generated = final.generate(classes)
        if before is not None and len(before):
            if not hasattr(before, "inverse_transform"):
                raise TypeError("make_generation_scorer maps generated inputs back through "
                                "the pipeline's earlier steps, which need inverse_transform; "
                                f"{before} lacks it.")
            generated = before.inverse_transform(generated)
        return float(cosine_to_class_means(generated, classes, X, y).mean())

    return generation_cosine



def _check_unit_interval(X, name):
    if X.size and (X.min() < 0 or X.max() > 1):
        raise ValueError(f"{name} must lie in [0, 1], got values in [{X.min()}, {X.max()}].")


def binary_cross_entropy(X, X_rec, *, eps=_EPS):
    """Reconstruction binary cross-entropy, summed over features, averaged over samples.

    ``BCE = -mean_n sum_d [x_nd log r_nd + (1 - x_nd) log(1 - r_nd)]`` in nats
    (Ororbia & Kifer 2022), with ``r`` clipped to ``[eps, 1 - eps]`` so that a
    reconstruction of exactly 0 or 1 costs a finite amount.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Targets in [0, 1] (binary or grey levels).
    X_rec : array-like of shape (n_samples, n_features)
        Reconstructed probabilities in [0, 1].
    eps : float, default=1e-7
        Clipping of ``X_rec``.

    Returns
    -------
    bce : float
        Mean over samples of the summed cross-entropy.

    Examples
    --------
    >>> from sklearn_pc.metrics import binary_cross_entropy
    >>> round(binary_cross_entropy([[1.0, 0.0]], [[0.5, 0.5]]), 4)  # 2 log 2
    1.3863
    """
    X = check_array(X, dtype=np.float64)
    X_rec = check_array(X_rec, dtype=np.float64, input_name="X_rec")
    if X.shape != X_rec.shape:
        raise ValueError(f"X and X_rec have different shapes: {X.shape} and {X_rec.shape}.")
    _check_unit_interval(X, "X")
    _check_unit_interval(X_rec, "X_rec")
    return float(-_bernoulli_log_likelihood(X, X_rec, eps).mean())


def masked_mse(X, X_completed, mask):
    """Squared error on the occluded pixels, summed over them and averaged over samples.

    The M-MSE of pattern completion (Ororbia & Kifer 2022):
    ``mean_n sum_d (1 - m_nd) (x_nd - c_nd)^2``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Original inputs.
    X_completed : array-like of shape (n_samples, n_features)
        Completed inputs.
    mask : array-like of bool or {0, 1}, of shape (n_samples, n_features) or (n_features,)
        ``m``: 1 (True) marks an observed pixel, 0 (False) an occluded
        one; only occluded pixels are scored.

    Returns
    -------
    mse : float
        Summed squared error over the occluded pixels, averaged over samples.

    Examples
    --------
    >>> from sklearn_pc.metrics import masked_mse
    >>> masked_mse([[1.0, 0.0]], [[0.0, 0.5]], mask=[1, 0])  # only pixel 2 is occluded
    0.25
    """
    X = check_array(X, dtype=np.float64)
    X_completed = check_array(X_completed, dtype=np.float64, input_name="X_completed")
    if X.shape != X_completed.shape:
        raise ValueError(f"X and X_completed have different shapes: {X.shape} and "
                         f"{X_completed.shape}.")
    occluded = 1.0 - _check_mask(mask, X.shape)
    return float((occluded * (X - X_completed) ** 2).sum(axis=1).mean())


def mc_log_likelihood(X, probabilities, *, eps=_EPS, likelihood="bernoulli"):
    """Monte-Carlo estimate of ``log p(x)`` under a decoder and a prior.

    With ``S`` latents ``z_s`` drawn from the prior and decoded to means
    ``p_s = decoder(z_s)``::

        log p(x) ~= log (1/S) sum_s p(x | z_s) = logsumexp_s log p(x | z_s) - log S
        bernoulli: log p(x | z_s) = sum_d x_d log p_sd + (1 - x_d) log(1 - p_sd)
        gaussian:  log p(x | z_s) = -||x - p_s||^2 / 2 - D log(2 pi) / 2

    (minus ``log S``: adding it instead inflates the estimate by ``2 log S``).
    The ``(n_samples, S)`` table of ``log p(x | z_s)`` is a matrix product,
    built in blocks of rows, so neither it nor any ``S x n_samples x
    n_features`` array is held in memory at once.

    The Gaussian decoder has unit variance in every feature (a proper density
    of ``x`` in ``R^D``).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Inputs, in [0, 1] for the Bernoulli decoder.
    probabilities : array-like of shape (n_draws, n_features)
        Decoded means ``p_s`` of the ``S = n_draws`` prior draws, shared by
        every input: Bernoulli probabilities in [0, 1], or Gaussian means.
    eps : float, default=1e-7
        Clipping of Bernoulli ``probabilities`` to ``[eps, 1 - eps]``.
    likelihood : {"bernoulli", "gaussian"}, default="bernoulli"
        The decoder: Bernoulli, or Gaussian with unit variance.

    Returns
    -------
    log_likelihood : ndarray of shape (n_samples,)
        Estimated ``log p(x)`` in nats.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_pc.metrics import mc_log_likelihood
    >>> mc_log_likelihood([[1.0, 0.0]], [[0.5, 0.5], [0.9, 0.1]]).round(4)  # log((1/4 + 0.81) / 2)
    array([-0.6349])
    """
    X = check_array(X, dtype=[np.float64, np.float32])
    probabilities = check_array(probabilities, dtype=[np.float64, np.float32],
                                input_name="probabilities")
    if X.shape[1] != probabilities.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features, probabilities has "
                         f"{probabilities.shape[1]}.")
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}.")
    if likelihood == "bernoulli":
        _check_unit_interval(X, "X")
        _check_unit_interval(probabilities, "probabilities")
    return _mc_log_likelihood(X, probabilities, eps, likelihood)


def latent_classification_error(Z_train, y_train, Z_test, y_test):
    """Test error (%) of a logistic regression trained on latent codes.

    The downstream-classification protocol of Ororbia & Kifer (2022): a linear
    classifier (:class:`~sklearn.linear_model.LogisticRegression`, features
    standardised, ``max_iter=1000``) is fitted on ``(Z_train, y_train)`` and
    scored on ``(Z_test, y_test)``.

    Parameters
    ----------
    Z_train : array-like of shape (n_train, n_latents)
        Latents of the training inputs.
    y_train : array-like of shape (n_train,)
        Their labels.
    Z_test : array-like of shape (n_test, n_latents)
        Latents of the test inputs.
    y_test : array-like of shape (n_test,)
        Their labels.

    Returns
    -------
    error : float
        Percentage of misclassified test samples, in [0, 100].

    Examples
    --------
    >>> from sklearn_pc.metrics import latent_classification_error
    >>> Z = [[0.0], [0.1], [1.0], [1.1]]
    >>> round(latent_classification_error(Z, [0, 0, 1, 1], [[0.05], [0.2], [0.9]], [0, 1, 1]), 2)
    33.33
    """
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(Z_train, y_train)
    return float(100.0 * (1.0 - model.score(Z_test, y_test)))


def sparsity(Z, threshold=1e-6):
    """Fraction of active units: entries of ``Z`` above ``threshold``.

    The layer sparsity of Ororbia & Kifer (2022) (fraction of units with
    ``z > 1e-6``, over every sample and unit).

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_units)
        Latent states.
    threshold : float, default=1e-6
        A unit is active when its state exceeds this value.

    Returns
    -------
    fraction : float
        Fraction of active entries, in [0, 1].

    Examples
    --------
    >>> from sklearn_pc.metrics import sparsity
    >>> sparsity([[0.0, 0.5], [-1.0, 2.0]])
    0.5
    """
    Z = check_array(Z, input_name="Z")
    return float(np.mean(Z > threshold))
