"""The decoders' log-likelihoods and the masks of pattern completion.

Private helpers shared by the estimators (their losses, ``score_samples`` and
the Monte-Carlo likelihood) and by the public functions of
:mod:`sklearn_pc.metrics`, which validate their inputs and call these.
"""

import numpy as np
from scipy.special import logsumexp

from ._chunks import row_chunks

# Probabilities are clipped to [_EPS, 1 - _EPS] before taking logarithms.
_EPS = 1e-7


def _bernoulli_log_likelihood(X, probabilities, eps=_EPS):
    """Per row, ``sum_d x_d log p_d + (1 - x_d) log(1 - p_d)``, ``p`` clipped to [eps, 1 - eps]."""
    probabilities = np.clip(probabilities, eps, 1 - eps)
    log_likelihood = X * np.log(probabilities)
    log_likelihood += (1 - X) * np.log1p(-probabilities)
    return log_likelihood.sum(axis=1)


_LOG_2PI = float(np.log(2 * np.pi))

# The decoder likelihoods of the autoencoders, by name of their ``likelihood`` parameter.
LIKELIHOODS = ("bernoulli", "gaussian")


def _gaussian_log_likelihood(X, means):
    """Per row, ``log N(x; mu, I) = -||x - mu||^2 / 2 - D log(2 pi) / 2``."""
    residual = X - means
    return -0.5 * np.einsum("ij,ij->i", residual, residual) - 0.5 * X.shape[1] * _LOG_2PI


def _log_likelihood(X, means, likelihood, observed=None):
    """Per-row ``log p(x | mu)`` of the decoder named ``likelihood``.

    With ``observed`` (1 or True at the observed entries, 0 at missing ones,
    where ``X`` must be finite, e.g. 0), the sum runs over the observed entries
    only: the log-likelihood of the observed part of each row, whose Gaussian
    constant counts the row's observed entries, ``-sum_obs (x_d - mu_d)^2 / 2
    - D_obs log(2 pi) / 2``.
    """
    if observed is None:
        if likelihood == "gaussian":
            return _gaussian_log_likelihood(X, means)
        return _bernoulli_log_likelihood(X, means)
    observed = np.asarray(observed, dtype=bool)
    if likelihood == "gaussian":
        residual = np.where(observed, X - means, 0)
        return (-0.5 * np.einsum("ij,ij->i", residual, residual)
                - 0.5 * observed.sum(axis=1) * _LOG_2PI)
    probabilities = np.clip(means, _EPS, 1 - _EPS)
    log_likelihood = X * np.log(probabilities)
    log_likelihood += (1 - X) * np.log1p(-probabilities)
    return np.where(observed, log_likelihood, 0).sum(axis=1)



def _check_mask(mask, shape):
    """``mask`` as a float array of 0 and 1 broadcastable to ``shape`` (n_samples, n_features)."""
    mask = np.asarray(mask)
    if mask.shape not in (shape, shape[1:]):
        raise ValueError(f"mask must have shape {shape} (one per sample) or {shape[1:]} "
                         f"(shared by every sample), got {mask.shape}.")
    if not np.isin(mask, (0, 1)).all():
        raise ValueError("mask must hold booleans or 0 / 1 (1 marks an observed pixel).")
    return mask.astype(np.float64)


def _draw_terms(means, likelihood, eps=_EPS):
    """``(slope, offset)``, both (D, S), of the log-likelihoods under decoded draws.

    For each row ``x`` with observed entries ``m``, ``log p(x_m | z_s) =
    (m x) . slope_s + m . offset_s + c(x, m)``: Bernoulli ``slope = log mu -
    log(1 - mu)``, ``offset = log(1 - mu)`` (``mu`` clipped to [eps, 1 - eps]),
    ``c = 0``; Gaussian ``slope = mu``, ``offset = -mu^2 / 2``, ``c = -sum_m
    x^2 / 2 - D_m log(2 pi) / 2``.  A matrix product over the draws.
    """
    if likelihood == "gaussian":
        return means.T, -0.5 * (means * means).T
    probabilities = np.clip(means, eps, 1 - eps)
    log_q = np.log1p(-probabilities)
    return (np.log(probabilities) - log_q).T, log_q.T


def _mc_log_likelihood(X, probabilities, eps=_EPS, likelihood="bernoulli"):
    """``logsumexp_s log p(x | z_s) - log S`` per row of ``X``, in blocks of rows."""
    if likelihood == "gaussian":
        return _mc_gaussian_log_likelihood(X, probabilities)
    # log p(x | z_s) = x . (log p_s - log q_s) + sum_d log q_sd
    log_odds, log_q = _draw_terms(probabilities, "bernoulli", eps)
    offsets = log_q.sum(axis=0)
    n_draws = probabilities.shape[0]
    out = np.empty(X.shape[0], dtype=np.result_type(X, probabilities))
    for rows in row_chunks(X.shape[0], 3 * n_draws * out.itemsize):
        out[rows] = logsumexp(X[rows] @ log_odds + offsets, axis=1)
    out -= np.log(n_draws)
    return out


def _mc_gaussian_log_likelihood(X, means):
    """The Monte-Carlo estimate under unit-variance Gaussian decoders, in float64.

    ``log N(x; m_s, I) = x . m_s - ||x||^2 / 2 - ||m_s||^2 / 2 - D log(2 pi) / 2``,
    a matrix product over the draws.
    """
    means = np.asarray(means, dtype=np.float64)
    slope, half_squares = _draw_terms(means, "gaussian")
    offsets = half_squares.sum(axis=0) - 0.5 * means.shape[1] * _LOG_2PI
    n_draws = means.shape[0]
    out = np.empty(X.shape[0], dtype=np.result_type(X, means.dtype))
    for rows in row_chunks(X.shape[0], 3 * n_draws * 8):
        x = np.asarray(X[rows], dtype=np.float64)
        table = x @ slope
        table += offsets
        table -= 0.5 * np.einsum("ij,ij->i", x, x)[:, None]
        out[rows] = logsumexp(table, axis=1)
    out -= np.log(n_draws)
    return out


def _posterior_fill(X, observed, means, likelihood, temperature=1.0):
    """``X`` with its missing entries set to their Monte-Carlo posterior mean.

    ``means`` (S, D) are the decoder's means ``mu_s = g(z_s)`` at ``S`` draws
    ``z_s`` from the prior.  Row ``x`` with observed entries ``m`` weighs draw
    ``s`` by its likelihood of the observed part, tempered::

        log w_s = log p(x_m | z_s) / temperature - logsumexp_s (same)
        fill_d  = sum_s w_s mu_sd                      (d missing)

    At ``temperature = 1`` this is self-normalised importance sampling of
    ``E[x_d | x_m]`` with the prior as proposal, the completion of least
    expected squared error under the model.  A higher temperature spreads the
    weight over more draws (all equally, as it grows: the mean of the samples).

    ``log p(x_m | z_s)`` is the matrix product of :func:`_draw_terms`, up to
    the term of the row alone, which the weights do not see.

    Parameters
    ----------
    X : ndarray of shape (N, D)
        Inputs, finite (0, say) at the missing entries; never written to.
    observed : ndarray of bool of shape (N, D) or (D,)
        True at the observed entries.
    means : ndarray of shape (S, D)
        Decoded draws from the prior.
    likelihood : {"bernoulli", "gaussian"}
    temperature : float > 0

    Returns
    -------
    X_filled : ndarray of shape (N, D)
    """
    dtype = np.result_type(X, means)
    means = np.asarray(means, dtype=dtype)
    slope, offset = _draw_terms(means, likelihood)  # c(x, m) drops out of the weights
    missing = ~np.asarray(observed, dtype=bool)
    m = (~missing).astype(dtype)
    shared = m.ndim == 1
    if shared:
        shared_offset = m @ offset
    out = np.array(X, dtype=dtype)
    for rows in row_chunks(X.shape[0], 3 * means.shape[0] * out.itemsize):
        mine = m if shared else m[rows]
        table = (X[rows] * mine) @ slope
        table += shared_offset if shared else mine @ offset
        table /= temperature
        table -= table.max(axis=1, keepdims=True)
        np.exp(table, out=table)
        table /= table.sum(axis=1, keepdims=True)
        filled = out[rows]  # a view: the missing entries are written in place
        np.copyto(filled, table @ means, where=missing if shared else missing[rows])
    return out
