"""The Gaussian-mixture prior protocol shared by every autoencoder, and their hooks
of the training loop (:mod:`sklearn_pc._base`): input checks, the prior at the end of
``fit``.

A full-covariance :class:`~sklearn.mixture.GaussianMixture` is fitted to the
latent codes of the training rows; it is the prior of :meth:`sample` and of the
Monte-Carlo likelihood :meth:`score_samples`.  The same protocol scores the
predictive-coding GNCN and the backprop baselines, so their log-likelihoods
are comparable.

An estimator using :class:`_GaussianMixturePriorMixin` provides

* ``_prior_latents(X)``: the latent codes that fit the prior (the transform of
  validated training rows, whose NaN mark missing entries, filled in as by
  ``transform``),
* ``_decode(Z)``: decoder from latents (model dtype) to the decoder's means
  (Bernoulli probabilities, or Gaussian means),
* ``_model_dtype()``: the dtype of the fitted arrays,
* ``_row_bytes()``: bytes of the intermediate arrays of one row (chunking),
* ``_initialize(n_features, dtype, rng)``: fresh fitted arrays,
* ``_completed(X, observed)`` and ``_completion_method``: the model's own
  pattern completion and its name in ``complete(method=...)``, beside the
  ``"posterior"`` completion that every autoencoder shares (:meth:`_complete`),

and the parameters ``likelihood``, ``n_prior_components``, ``prior_max_samples``,
``n_mc_samples`` and ``random_state``.

``likelihood="bernoulli"`` models ``x`` in [0, 1] as the means of independent
Bernoulli pixels; ``likelihood="gaussian"`` models any real ``x`` as a Gaussian
with the decoder's mean and unit variance in every feature,
``log p(x | z) = -||x - mu(z)||^2 / 2 - D log(2 pi) / 2``.  The unit variance is
the one the squared-error training energy ``||x - mu||^2 / 2`` assumes, so the
reported likelihoods are those of the model that was trained; it suits
standardised data (``StandardScaler``), whose features have unit variance.
"""

import time
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.mixture import GaussianMixture
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from ._chunks import row_chunks
from ._likelihood import _check_mask, _log_likelihood, _mc_log_likelihood, _posterior_fill

# Inputs this far outside [0, 1] (floating-point rounding of a scaler) are clipped, not refused.
_UNIT_TOLERANCE = 1e-6


class _GaussianMixturePriorMixin:
    """GMM prior over latent codes: fitting, drawing, sampling, MC log-likelihood."""

    # -- input checks ------------------------------------------------------------
    def _check_X(self, X, *, reset, allow_nan=False):
        """Validate ``X`` (dense; in [0, 1] for the Bernoulli decoder); cast it
        to the model's dtype once fitted.

        Bernoulli: values within ``_UNIT_TOLERANCE`` of [0, 1] (the rounding
        of a ``MinMaxScaler``, say) are clipped into it, on a copy; values
        further out raise.  Gaussian: any finite value.  NaN, which marks a
        missing entry, passes only where ``allow_nan`` (training and
        inference; the Monte-Carlo likelihood needs complete rows).
        """
        X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32],
                          ensure_all_finite="allow-nan")
        return self._check_values(X, reset=reset, allow_nan=allow_nan)

    def _check_values(self, X, *, reset, allow_nan):
        """:meth:`_check_X` on an array ``validate_data`` has already checked."""
        missing = np.isnan(X)
        if missing.any() and not allow_nan:
            raise ValueError(
                f"Input X contains NaN. The Monte-Carlo likelihood of {type(self).__name__} "
                "(score_samples, score) needs complete rows; NaN marks a missing entry only "
                "for fit, partial_fit, fit_prior, transform, reconstruct and complete.")
        if self.likelihood == "gaussian":
            return X if reset else X.astype(self._model_dtype(), copy=False)
        present = X[~missing] if missing.any() else X
        low = present.min() if present.size else 0.0
        high = present.max() if present.size else 1.0
        if low < -_UNIT_TOLERANCE:
            raise ValueError(f"Negative values in data passed to {type(self).__name__}: X must "
                             f"lie in [0, 1] (the means of its Bernoulli decoder), got minimum "
                             f"{low}. Scale it first, e.g. with MinMaxScaler(clip=True), or "
                             "model real-valued data with likelihood='gaussian'.")
        if high > 1 + _UNIT_TOLERANCE:
            raise ValueError(f"X must lie in [0, 1] (the means of the Bernoulli decoder of "
                             f"{type(self).__name__}), got maximum {high}. Scale it first, "
                             "e.g. with MinMaxScaler(clip=True), or model real-valued data "
                             "with likelihood='gaussian'.")
        if low < 0 or high > 1:
            X = np.clip(X, 0, 1)  # a new array: the caller's is never written
        return X if reset else X.astype(self._model_dtype(), copy=False)

    def _check_missing(self, X, mask=None):
        """Validate inference input whose missing entries are NaN (or 0 in ``mask``).

        Returns ``(X, observed)``: ``X`` with its NaN set to 0 (a copy if it
        had any) and ``observed``, True where an entry is given (1-D when
        ``mask`` is), or None when every entry is.  The entries ``mask``
        marks missing are not checked, whatever ``X`` holds there: any that
        is not finite, or outside [0, 1] for the Bernoulli decoder, becomes 0
        (on a copy).
        """
        if mask is None:
            return self._observed_entries(self._check_X(X, reset=False, allow_nan=True))
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32],
                          ensure_all_finite=False)
        observed = _check_mask(mask, X.shape).astype(bool)
        if np.any(np.isnan(X) & observed):
            raise ValueError("X has NaN at entries that mask marks observed (1); mark "
                             "them 0 in mask, or pass no mask to take NaN as missing.")
        placeholder = ~np.isfinite(X)
        if np.any(placeholder & observed):
            raise ValueError("Input X contains infinity at entries that mask marks "
                             "observed (1).")
        if self.likelihood == "bernoulli":
            placeholder |= (X < 0) | (X > 1)
        placeholder &= ~observed
        if placeholder.any():
            X = np.where(placeholder, X.dtype.type(0), X)
        X = self._check_values(X, reset=False, allow_nan=False)
        return X, None if observed.all() else observed

    @staticmethod
    def _observed_entries(X):
        """``(X with its NaN set to 0, observed)`` for validated ``X``: ``observed``
        is True where an entry is given, or None (and ``X`` itself) when all are."""
        missing = np.isnan(X)
        if not missing.any():
            return X, None
        return np.where(missing, X.dtype.type(0), X), ~missing

    def _rows_with_observations(self, X, *, check_features):
        """``X`` without its rows that have no observed entry (all NaN).

        Such a row carries nothing to learn from: it is left out of training
        and of the prior.  Raises a ValueError when no row is left, or, with
        ``check_features`` (``fit``), when a feature is missing in every row,
        since nothing could be learned about it.
        """
        missing = np.isnan(X)
        if not missing.any():
            return X
        empty_rows = missing.all(axis=1)
        if empty_rows.all():
            raise ValueError(f"Every row of X is missing (NaN): {type(self).__name__} has "
                             "no observed entry to learn from.")
        if check_features:
            never_seen = np.flatnonzero(missing.all(axis=0))
            if never_seen.size:
                raise ValueError(
                    f"Feature(s) {never_seen[:10].tolist()} of X are missing (NaN) in every "
                    f"row: {type(self).__name__} cannot learn them. Drop these columns before "
                    "fitting.")
        return X[~empty_rows] if empty_rows.any() else X

    def _check_prior_rows(self, X):
        """The prior needs at least two rows."""
        if X.shape[0] < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 samples to fit the "
                             f"Gaussian-mixture prior of its top latents, got 1 sample.")

    # -- hooks of the training loop (sklearn_pc._base) shared by the autoencoders --
    def _check_training_data(self, X, y, *, reset, classes, incremental):
        X = self._check_X(X, reset=reset, allow_nan=True)
        X = self._rows_with_observations(X, check_features=not incremental)
        if not incremental:
            self._check_prior_rows(X)
        return X, None, None

    def _initialize_arrays(self, X, targets, rng):
        self._initialize(X.shape[1], X.dtype, rng)

    def _finish(self, X, targets, rng, *, incremental):
        """``fit`` ends with the prior; ``partial_fit`` drops it (see :meth:`fit_prior`)."""
        if incremental:
            self._drop_prior()
        else:
            self._fit_prior(X, rng)

    # -- the prior ---------------------------------------------------------------
    def _fit_prior(self, X, rng):
        """Gaussian mixture on the latents of (at most ``prior_max_samples``
        random rows of) ``X``; seed of the MC draws.

        ``rng`` is consumed in this order: the subsample (if any), the seed of
        the mixture's EM, the seed of the Monte-Carlo draws.
        """
        if self.prior_max_samples is not None and X.shape[0] > self.prior_max_samples:
            X = X[np.sort(rng.choice(X.shape[0], self.prior_max_samples, replace=False))]
        start = time.perf_counter()
        top = self._prior_latents(X).astype(np.float64)
        n_components = self._n_prior_components(*top.shape)
        if n_components > top.shape[0]:
            warnings.warn(f"n_prior_components={n_components} is more than the {top.shape[0]} "
                          f"rows the prior is fitted on; it uses {top.shape[0]} components.",
                          UserWarning)
            n_components = top.shape[0]
        seed_max = np.iinfo(np.int32).max
        self.prior_ = GaussianMixture(n_components=n_components, covariance_type="full",
                                      random_state=rng.randint(seed_max)).fit(top)
        self._mc_seed = rng.randint(seed_max)
        if self.verbose:
            print(f"Prior: {n_components} full-covariance components on {top.shape[0]} "
                  f"latents of {top.shape[1]} units, {self.prior_.n_iter_} EM iterations, "
                  f"{time.perf_counter() - start:.2f} s")

    def _n_prior_components(self, n_rows, n_latents):
        """Components of the prior fitted on ``n_rows`` latents of ``n_latents`` units."""
        return self.n_prior_components

    def _drop_prior(self):
        """Forget the prior: ``partial_fit`` moved the weights it was fitted under."""
        self.__dict__.pop("prior_", None)
        self.__dict__.pop("_mc_seed", None)

    def _check_prior(self):
        check_is_fitted(self)
        if not hasattr(self, "prior_"):
            raise NotFittedError(
                f"This {type(self).__name__} has no prior over its latents: partial_fit "
                "trains the weights only. Call fit_prior(X) with training data first "
                "(fit does it at its end).")

    def fit_prior(self, X, y=None):
        """Fit the Gaussian-mixture prior to the latents of ``X``, weights unchanged.

        :meth:`fit` calls it at its end; :meth:`partial_fit` trains the weights
        only (a prior fitted on the latents of one mini-batch would be a poor
        one, and the mixture's EM costs far more than an epoch on small
        batches), so call it once after the last ``partial_fit`` before
        :meth:`sample`, :meth:`score_samples` or :meth:`score`.  A
        full-covariance :class:`~sklearn.mixture.GaussianMixture` with
        ``min(n_prior_components, n_rows)`` components is fitted to the
        latents of (at most ``prior_max_samples`` random rows of) ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (in [0, 1] for the Bernoulli decoder), at least 2
            rows.  NaN marks a missing entry: the latents are those of
            :meth:`transform`, which fills it in; rows with no observed entry
            are left out.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The estimator, with :attr:`prior_` fitted.
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False, allow_nan=True)
        X = self._rows_with_observations(X, check_features=False)
        self._check_prior_rows(X)
        self._fit_prior(X, check_random_state(self.random_state))
        return self

    def _draw_prior(self, n_samples, rng):
        """``n_samples`` latents from :attr:`prior_` (model dtype), as chunks of rows.

        Yields ``(Z, components)``: a chunk of latents and the index of the
        mixture component each row was drawn from.  The components are drawn
        first, then the noise row after row, so the draws do not depend on
        the chunk size.
        """
        weights = self.prior_.weights_ / self.prior_.weights_.sum()
        components = rng.choice(weights.shape[0], size=n_samples, p=weights)
        factors = np.linalg.cholesky(self.prior_.covariances_)
        for rows in row_chunks(n_samples, self._row_bytes()):
            chosen = components[rows]
            noise = rng.standard_normal((chosen.shape[0], self.prior_.means_.shape[1]))
            Z = np.empty_like(noise)
            for k in np.unique(chosen):
                mine = chosen == k
                Z[mine] = self.prior_.means_[k] + noise[mine] @ factors[k].T
            yield Z.astype(self._model_dtype()), chosen

    # -- public protocol -----------------------------------------------------------
    def sample(self, n_samples=1, random_state=None):
        """Generate inputs: latents drawn from :attr:`prior_`, then the decoder.

        Like :meth:`sklearn.mixture.GaussianMixture.sample`, it returns the
        samples and the mixture component each one was drawn from.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws; None uses the estimator's ``random_state``.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The decoder's means: Bernoulli means in (0, 1) (draw pixels from
            them for binary samples), or Gaussian means (add unit-variance
            noise for draws from the full model).
        y : ndarray of shape (n_samples,)
            Index of the component of :attr:`prior_` each latent was drawn
            from.
        """
        self._check_prior()
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        rng = check_random_state(self.random_state if random_state is None else random_state)
        chunks = [(self._decode(Z), components)
                  for Z, components in self._draw_prior(n_samples, rng)]
        return (np.concatenate([X for X, _ in chunks]),
                np.concatenate([components for _, components in chunks]))

    def score_samples(self, X):
        """Monte-Carlo log-likelihood ``log p(x)`` under the prior and the decoder.

        ``log p(x) ~= logsumexp_s log p(x | z_s) - log S`` with ``S =
        n_mc_samples`` draws ``z_s`` from :attr:`prior_`, decoded by
        :meth:`inverse_transform` to means ``p``, and ``log p(x | z) = sum_d
        x_d log p_d + (1 - x_d) log(1 - p_d)`` (Bernoulli, ``p`` clipped to
        ``[1e-7, 1 - 1e-7]``) or ``-||x - p||^2 / 2 - D log(2 pi) / 2``
        (Gaussian with unit variance, a density over ``R^D``).  The
        ``S`` draws come from a generator seeded at fit time and are shared by
        every input, so a sample's score never depends on the other rows of
        ``X``; see :func:`sklearn_pc.metrics.mc_log_likelihood`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs (in [0, 1] for the Bernoulli decoder).

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
            Estimated ``log p(x)`` in nats.
        """
        self._check_prior()
        X = self._check_X(X, reset=False)
        draws = self._draw_prior(self.n_mc_samples, np.random.RandomState(self._mc_seed))
        return _mc_log_likelihood(X, np.concatenate([self._decode(Z) for Z, _ in draws]),
                                  likelihood=self.likelihood)

    def _complete(self, X, mask, method, n_draws, temperature):
        """:meth:`complete` of every autoencoder: ``method`` is the model's own
        completion (its ``_completed(X, observed)``) or ``"posterior"``."""
        own = self._completion_method
        if method not in (own, "posterior"):
            raise ValueError(f"method must be {own!r} or 'posterior', got {method!r}.")
        if method == own and (n_draws is not None or temperature != 1.0):
            raise ValueError(f"n_draws and temperature apply to method='posterior' only, "
                             f"not to {own!r}.")
        if n_draws is not None and (not isinstance(n_draws, Integral) or n_draws < 1):
            raise ValueError(f"n_draws must be a positive integer or None, got {n_draws!r}.")
        if not (isinstance(temperature, Real) and np.isfinite(temperature)
                and temperature > 0):
            raise ValueError(f"temperature must be a positive number, got {temperature!r}.")
        check_is_fitted(self)
        if method == "posterior":
            self._check_prior()
        X, observed = self._check_missing(X, mask)
        if observed is None:
            return X.copy()
        if method == own:
            return self._completed(X, observed)
        n_draws = self.n_mc_samples if n_draws is None else n_draws
        draws = self._draw_prior(n_draws, np.random.RandomState(self._mc_seed))
        means = np.concatenate([self._decode(Z) for Z, _ in draws])
        return _posterior_fill(X, observed, means, self.likelihood, temperature)

    def _reconstruction_log_likelihood(self, X, means, observed=None):
        """Per-row ``log p(x | mu)`` of the decoder at means ``mu``, summed over the
        ``observed`` entries only when given (``X`` finite, e.g. 0, elsewhere)."""
        return _log_likelihood(X, means, self.likelihood, observed)

    def score(self, X, y=None):
        """Mean Monte-Carlo log-likelihood of ``X`` (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs (in [0, 1] for the Bernoulli decoder).
        y : None
            Ignored.

        Returns
        -------
        score : float
            Mean of :meth:`score_samples`, in nats.
        """
        return float(np.mean(self.score_samples(X)))
