"""Backprop baselines of Ororbia & Kifer (2022): RAE, GVAE (-CV) and GAN-AE.

The paper compares its GNCNs with autoencoders trained end to end by
backpropagation (Ororbia & Kifer 2022, "Baselines"): four-layer ReLU
networks with sigmoid outputs, latent size 20, an L2 penalty on the decoder
and at most about 1.4 M synapses.  These estimators share GNCNAutoencoder's
API and its Gaussian-mixture-prior protocol (:meth:`sample`,
:meth:`score_samples`), so their Monte-Carlo log-likelihoods are computed
exactly as the GNCN's are.
"""

from contextlib import contextmanager
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from ._base import _StochasticTrainingMixin
from ._chunks import row_chunks
from ._core._activations import ACTIVATIONS
from ._core._learning import OPTIMIZERS
from ._mlp import MLP, init_layers
from ._prior import _GaussianMixturePriorMixin
from ._likelihood import _LOG_2PI, LIKELIHOODS

expit = ACTIVATIONS["logistic"][0]  # the core's sigmoid, faster than scipy's

_SHARED_PARAMETERS = """n_components : int, default=20
        Size of the latent code (the paper: 20).
    hidden_layer_sizes : int or array-like of int, default=(500, 500)
        Hidden layers of the encoder, input side first; the decoder mirrors
        them.  On MNIST the defaults give a 784-500-500-20 encoder and a
        20-500-500-784 decoder: about 1.31 M synapses (the paper's budget is
        about 1.4 M).
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Hidden-layer nonlinearity (the decoder's output follows
        ``likelihood``).
    likelihood : {"bernoulli", "gaussian"}, default="bernoulli"
        Decoder: Bernoulli means ``sigmoid(dec(z))`` of data in [0, 1], with
        the binary cross-entropy as reconstruction loss; or a Gaussian with
        linear mean ``dec(z)`` and unit variance, for any real data (e.g.
        standardised features), with the negative log-density ``NLL(x, m) =
        ||x - m||^2 / 2 + D log(2 pi) / 2``.  It sets the reconstruction
        loss, :meth:`score_samples` and ``loss_curve_``.
    weight_decay : float, default=1e-4
        Strength ``alpha`` of the L2 penalty ``alpha / 2 ||W_dec||^2`` on the
        decoder weights (intercepts excluded), added to the mean loss of every
        batch (the name of the same idea in the predictive-coding estimators).
    learning_rate_init : float, default=0.001
        Learning rate of the optimizer(s).
    solver : {"adam", "sgd"}, default="adam"
        Optimizer; a change between calls of ``partial_fit`` (or of ``fit``
        with ``warm_start``) starts a fresh optimizer state.
    momentum : float, default=0.9
        Nesterov momentum of ``solver="sgd"``.
    batch_size : int or "auto", default="auto"
        Samples per update; ``"auto"`` is ``min(200, n_samples)``.
    max_iter : int, default=50
        Maximum number of epochs.
    tol : float, default=1e-4
        Minimum improvement of the training loss (or of the validation score
        with ``early_stopping``) that resets the patience counter.
    shuffle : bool, default=True
        Shuffle the samples every epoch.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, score it with its mean
        reconstruction log-likelihood (minus the BCE or the Gaussian NLL)
        after every epoch, stop when it stops improving and keep the best
        weights.
    validation_fraction : float in (0, 1), default=0.1
        Held-out fraction for early stopping.
    n_iter_no_change : int, default=10
        Patience, in epochs.
    warm_start : bool, default=False
        Continue from the fitted weights and optimizer state on the next call
        to ``fit`` (the prior is fitted anew at its end).  With
        ``early_stopping``, a warm ``fit`` ends at its best epoch, or with the
        weights it started from if no epoch beats ``best_validation_score_``.
    n_prior_components : int, default=75
        Full-covariance components of the Gaussian-mixture prior fitted to the
        codes of the training data (the paper: 75); capped at the number of
        rows it is fitted on.
    prior_max_samples : int or None, default=None
        Fit the prior on at most this many training rows, drawn at random
        (None: all of them).
    n_mc_samples : int, default=5000
        Prior draws ``S`` of the Monte-Carlo likelihood (the paper: 5000).
    n_completion_steps : int, default=10
        Iterations of :meth:`complete`.
    random_state : int, RandomState instance or None, default=None
        Seeds weights, shuffling, the validation split, the training noise,
        the prior and the Monte-Carlo draws (fixed at fit time).
    verbose : bool, default=False
        Print the training loss (and validation score) per epoch."""

_SHARED_ATTRIBUTES = """encoder_coefs_, encoder_intercepts_ : list of ndarray
        Encoder weights ``W(l)`` of shape ``(n_in, n_out)`` and intercepts.
    decoder_coefs_, decoder_intercepts_ : list of ndarray
        Decoder weights and intercepts (the decoder ends in a sigmoid for
        the Bernoulli likelihood, linearly for the Gaussian one).
    prior_ : GaussianMixture
        Prior over the codes, fitted on the codes (:meth:`transform`) of the
        training data by ``fit`` (or by :meth:`fit_prior`); ``partial_fit``
        removes it.
    loss_ : float
        Mean training loss per sample of the last epoch, before each batch's
        update (penalty included); on incomplete rows the reconstruction
        term sums each row's observed entries only.
    loss_curve_ : list of float
        ``loss_`` after each epoch.
    best_loss_ : float or None
        Lowest ``loss_`` (None with early stopping).
    validation_scores_ : list of float or None
        Minus the held-out reconstruction loss per epoch, with early stopping.
    best_validation_score_ : float or None
        Best of ``validation_scores_``.
    n_iter_ : int
        Number of epochs run.
    t_ : int
        Number of training samples seen.
    feature_means_ : ndarray of shape (`n_features_in_`,)
        Mean of the observed (non-NaN) entries of every feature of the data
        that initialised the networks (0 for a feature with none); it fills
        the missing inputs of the encoder in training.
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Input feature names, when ``X`` has string column names."""

_SHARED_NOTES = """With ``likelihood="bernoulli"`` inputs must lie in [0, 1]: they are the
    means of the Bernoulli decoder (binarised or grey-level pixels); anything
    else raises a ValueError, so scale first (e.g. ``MinMaxScaler(clip=True)``)
    or use ``likelihood="gaussian"``.  A batch loss that becomes NaN, infinite
    or more than 1e4 times the loss of a constant prediction (``n_features log
    2`` for the Bernoulli decoder, predicting 1/2 everywhere; the Gaussian NLL
    of predicting 0 for the Gaussian one) raises a FloatingPointError naming
    ``learning_rate_init``; a failed fit leaves the estimator as it was.
    float32 input is trained and answered in float32.  Inference runs in chunks of rows sized by
    scikit-learn's ``working_memory``.  The generative protocols are those of
    :class:`~sklearn_pc.GNCNAutoencoder`: a full-covariance Gaussian mixture
    fitted to the training codes is the prior of :meth:`sample` and of the
    Monte-Carlo likelihood :meth:`score_samples`.

    Training on incomplete data: NaN in ``fit``, ``partial_fit`` and
    :meth:`fit_prior` marks a missing entry.  In training it enters the
    encoder as its feature's mean ``feature_means_`` (computed on the
    observed entries when the networks are initialised), and the
    reconstruction loss and its gradient run over the observed entries only,
    so an unknown entry sends no learning signal to the decoder; each row's
    loss (``loss_curve_``, the early-stopping score) sums its observed
    entries.  The prior is fitted on the codes of :meth:`transform`, which
    fills missing entries in as :meth:`complete` does.  A row with no
    observed entry is left out; ``fit`` raises a ValueError when a feature is
    missing in every row, ``partial_fit`` does not.  On ``load_digits``
    with 20 % of the training entries missing at random, a
    ``BackpropAutoencoder(n_components=16, hidden_layer_sizes=(64,),
    max_iter=30)`` reconstructed the complete held-out digits with a BCE of
    6.51 nats above their own entropy, against 5.97 when trained on the
    complete data and 6.87 when trained on mean-imputed data."""

_BCE = """BCE(x, l) = sum_d softplus(l_d) - x_d l_d    (l: decoder logits, p = sigmoid(l))

    (with ``likelihood="gaussian"``, ``BCE`` is replaced by the Gaussian
    negative log-density ``||x - l||^2 / 2 + D log(2 pi) / 2`` of the linear
    decoder output ``l``)"""


def _fill_docstring(cls):
    cls.__doc__ = (cls.__doc__.replace("%(shared_parameters)s", _SHARED_PARAMETERS)
                   .replace("%(shared_attributes)s", _SHARED_ATTRIBUTES)
                   .replace("%(shared_notes)s", _SHARED_NOTES).replace("%(bce)s", _BCE))
    return cls


# A batch loss above this many times ``n_features log 2`` means training diverged.
_LOSS_GROWTH = 1e4


def _bce_from_logits(X, logits, observed=None):
    """Per row, ``sum_d softplus(l_d) - x_d l_d`` (the BCE of ``sigmoid(l)``), the
    sum over the ``observed`` entries only when given."""
    out = np.logaddexp(0, logits)
    out -= X * logits
    if observed is not None:
        out *= observed
    return out.sum(axis=1)


def _gaussian_nll(X, means, observed=None):
    """Per row, ``||x - m||^2 / 2 + D log(2 pi) / 2``; with ``observed``, the sum
    over the observed entries and ``D`` their number."""
    residual = X - means
    if observed is None:
        return 0.5 * np.einsum("ij,ij->i", residual, residual) + 0.5 * X.shape[1] * _LOG_2PI
    residual *= observed
    return (0.5 * np.einsum("ij,ij->i", residual, residual)
            + 0.5 * np.count_nonzero(observed, axis=1) * _LOG_2PI)


def _softplus(v):
    return np.logaddexp(0, v)


class _BaseBackpropAutoencoder(_GaussianMixturePriorMixin, _StochasticTrainingMixin,
                               ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Training hooks, inference and generative protocols of every baseline."""

    _parameter_constraints: ClassVar[dict] = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "likelihood": [StrOptions(set(LIKELIHOODS))],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "solver": [StrOptions(set(OPTIMIZERS))],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "shuffle": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "n_prior_components": [Interval(Integral, 1, None, closed="left")],
        "prior_max_samples": [Interval(Integral, 2, None, closed="left"), None],
        "n_mc_samples": [Interval(Integral, 1, None, closed="left")],
        "n_completion_steps": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # Names of the fitted weight lists (early stopping saves them at the best epoch).
    _ARRAYS = ("encoder_coefs_", "encoder_intercepts_", "decoder_coefs_", "decoder_intercepts_")

    def __init__(self, n_components=20, *, hidden_layer_sizes=(500, 500), activation="relu",
                 likelihood="bernoulli", weight_decay=1e-4, learning_rate_init=0.001,
                 solver="adam", momentum=0.9, batch_size="auto",
                 max_iter=50, tol=1e-4, shuffle=True, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, warm_start=False,
                 n_prior_components=75,
                 prior_max_samples=None, n_mc_samples=5000, n_completion_steps=10,
                 random_state=None, verbose=False):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.likelihood = likelihood
        self.weight_decay = weight_decay
        self.learning_rate_init = learning_rate_init
        self.solver = solver
        self.momentum = momentum
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.n_prior_components = n_prior_components
        self.prior_max_samples = prior_max_samples
        self.n_mc_samples = n_mc_samples
        self.n_completion_steps = n_completion_steps
        self.random_state = random_state
        self.verbose = verbose

    # -- hooks of the subclasses ---------------------------------------------------
    def _encoder_width(self):
        """Width of the encoder's linear output."""
        return self.n_components

    def _codes(self, output):
        """The latent code from the encoder's linear output."""
        return output

    def _draw_noise(self, n_samples, rng):
        """Training noise of one batch (None: deterministic)."""

    def _loss_gradients(self, X, noise, observed=None):
        """Mean loss of the batch ``X`` (penalty included) and its gradients in
        the order of :meth:`_params`; the reconstruction term runs over the
        ``observed`` entries only when given (``X`` finite at the others)."""
        raise NotImplementedError

    # -- networks and hooks of the prior mixin ---------------------------------------
    def _encoder(self):
        return MLP(self.encoder_coefs_, self.encoder_intercepts_, self.activation)

    def _decoder(self):
        return MLP(self.decoder_coefs_, self.decoder_intercepts_, self.activation)

    def _params(self):
        """Arrays updated by the autoencoder's optimizer."""
        return self._encoder().params + self._decoder().params

    def _model_dtype(self):
        return self.decoder_coefs_[0].dtype

    def _row_bytes(self):
        """Bytes of the intermediate arrays of one row (input, hidden layers, code)."""
        widths = self._encoder().widths + self._decoder().widths
        return 3 * self._model_dtype().itemsize * sum(widths)

    def _hidden_sizes(self):
        sizes = np.asarray(self.hidden_layer_sizes).reshape(-1)
        if sizes.size and (not np.issubdtype(sizes.dtype, np.integer) or np.any(sizes < 1)):
            raise ValueError("hidden_layer_sizes must be a sequence of positive integers, "
                             f"got {self.hidden_layer_sizes!r}.")
        return [int(s) for s in sizes]

    def _encode(self, X):
        """Codes of ``X`` (model dtype), in chunks of rows."""
        encoder = self._encoder()
        return np.concatenate([self._codes(encoder.predict(X[rows]))
                               for rows in row_chunks(X.shape[0], self._row_bytes())])

    def _prior_latents(self, X):
        """Codes of ``X``, its NaN filled in first as by :meth:`transform`."""
        return self._encode(self._completed(*self._observed_entries(X)))

    def _output(self, logits):
        """The decoder's means from its linear output: ``sigmoid`` (Bernoulli), or
        the output itself (Gaussian)."""
        return expit(logits) if self.likelihood == "bernoulli" else logits

    def _decode(self, Z):
        """Decoder means ``g(decoder(Z))``, in chunks of rows."""
        decoder = self._decoder()
        return np.concatenate([self._output(decoder.predict(Z[rows]))
                               for rows in row_chunks(Z.shape[0], self._row_bytes())])

    # -- shared pieces of the losses -----------------------------------------------------
    def _reconstruction(self, X, Z, observed=None):
        """Mean reconstruction loss (BCE or Gaussian NLL) of decoding ``Z``
        against ``X`` plus the decoder penalty, the decoder's gradients and
        ``dL / dZ``.

        Both losses have the gradient ``g(l) - x`` in the linear output ``l``.
        With ``observed`` (True at observed entries) both the loss and that
        gradient are summed over the observed entries only.
        """
        decoder = self._decoder()
        logits, cache = decoder.forward(Z)
        n = X.shape[0]
        if self.likelihood == "bernoulli":
            loss = float(_bce_from_logits(X, logits, observed).sum()) / n
        else:
            loss = float(_gaussian_nll(X, logits, observed).sum()) / n
        delta = expit(logits) if self.likelihood == "bernoulli" else logits.copy()
        delta -= X
        if observed is not None:
            delta *= observed
        delta /= n
        grads, delta_Z = decoder.backward(cache, delta)
        if self.weight_decay:
            alpha = self._model_dtype().type(self.weight_decay)
            loss += 0.5 * self.weight_decay * sum(float(np.sum(w * w)) for w in decoder.coefs)
            for grad, w in zip(grads, decoder.coefs):
                grad += alpha * w
        return loss, grads, delta_Z

    # -- training -------------------------------------------------------------------------
    def _initialize(self, n_features, dtype, rng):
        hidden = self._hidden_sizes()
        self.encoder_coefs_, self.encoder_intercepts_ = init_layers(
            [n_features, *hidden, self._encoder_width()], rng, dtype)
        self.decoder_coefs_, self.decoder_intercepts_ = init_layers(
            [self.n_components, *hidden[::-1], n_features], rng, dtype)
        self._initialize_extra(rng, dtype)

    def _initialize_extra(self, rng, dtype):
        """More networks (the adversarial discriminator)."""

    def _initialize_arrays(self, X, targets, rng):
        """Fresh networks, and the means of the observed entries of every feature of
        ``X`` (0 for a feature with none), which fill missing inputs in training."""
        super()._initialize_arrays(X, targets, rng)
        observed = ~np.isnan(X)
        counts = observed.sum(axis=0)
        sums = np.where(observed, X, 0).sum(axis=0)
        self.feature_means_ = (sums / np.maximum(counts, 1)).astype(X.dtype)

    def _training_entries(self, X):
        """``(X with its NaN set to feature_means_, observed)``; ``observed`` is
        True where an entry is given, or None (and ``X`` itself) when all are."""
        missing = np.isnan(X)
        if not missing.any():
            return X, None
        return np.where(missing, self.feature_means_.astype(X.dtype, copy=False), X), ~missing

    def _checked(self, loss, grads, X):
        """Raise if a batch's loss or gradients are not finite, or if the loss exceeds
        ``_LOSS_GROWTH`` times that of a constant prediction, about the loss at
        initialisation: ``n_features log 2`` (the BCE of predicting 1/2
        everywhere), or the mean Gaussian NLL of predicting 0 on the batch ``X``."""
        if self.likelihood == "bernoulli":
            limit = _LOSS_GROWTH * X.shape[1] * np.log(2)
        else:
            limit = _LOSS_GROWTH * float(_gaussian_nll(X, 0).mean())
        if (not np.isfinite(loss) or loss > limit
                or not all(np.isfinite(g).all() for g in grads)):
            raise FloatingPointError(
                f"{type(self).__name__} diverged: the training loss of a batch became "
                f"{loss:.3g} (the limit is {limit:.3g}, or gradients were not finite). "
                f"Lower learning_rate_init (now {self.learning_rate_init}).")

    def _train_batch(self, X, rng):
        """One update of the autoencoder; returns the batch's summed loss.

        The NaN of ``X`` (missing entries) enter the encoder as the feature's
        mean ``feature_means_`` and are left out of the reconstruction loss and
        its gradient.
        """
        X, observed = self._training_entries(X)
        with np.errstate(over="ignore", invalid="ignore"):
            loss, grads = self._loss_gradients(X, self._draw_noise(X.shape[0], rng), observed)
        self._checked(loss, grads, X)
        self._optimizer.update_params(self._params(), grads)
        return loss * X.shape[0]

    # -- hooks of the training loop (sklearn_pc._base) ---------------------------------
    def _is_initialized(self):
        return hasattr(self, "decoder_coefs_")

    def _learned_arrays(self):
        return self._params()

    @contextmanager
    def _batch_trainer(self, batch_size):
        yield lambda X, targets, rng, progress: self._train_batch(X, rng)

    def _validation_score(self, X_val, labels):
        """The held-out mean reconstruction log-likelihood (higher is better) over
        the observed entries, the missing ones filled in as by :meth:`reconstruct`."""
        X_val, observed = self._observed_entries(X_val)
        return float(self._reconstruction_log_likelihood(
            X_val, self._decode(self._encode(self._completed(X_val, observed))),
            observed).mean())

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train on ``X`` by minibatch backpropagation, then fit the prior on its codes.

        At the end a :class:`~sklearn.mixture.GaussianMixture` with
        ``min(n_prior_components, n_samples)`` full-covariance components is
        fitted to the codes of ``X`` (or of ``prior_max_samples`` random rows
        of it).  NaN marks a missing entry: it enters the encoder as its
        feature's mean and is left out of the reconstruction loss (class
        Notes); rows with no observed entry are left out.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (in [0, 1] for the Bernoulli decoder), NaN at
            missing entries; every feature must be observed in some row.
            float32 input is trained in float32.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Run one epoch over ``X`` (no shuffling, no early stopping); weights only.

        The prior over the codes is dropped, since the weights it was fitted
        under have moved: call :meth:`fit_prior` after the last call, before
        sampling or scoring.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (in [0, 1] for the Bernoulli decoder); NaN marks a
            missing entry, as in :meth:`fit` (a feature may be missing in
            every row of the batch).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, incremental=True)

    # -- inference ----------------------------------------------------------------------
    def transform(self, X):
        """Latent codes of ``X`` (deterministic, one row at a time).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs (in [0, 1] for the Bernoulli decoder); NaN marks a missing
            entry, filled in first as by
            :meth:`complete`, so that ``inverse_transform(transform(X))``
            completes ``X``.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            The codes.
        """
        check_is_fitted(self)
        return self._encode(self._completed(*self._check_missing(X)))

    def inverse_transform(self, Z):
        """Decoder: Bernoulli means ``sigmoid(decoder(Z))``, or Gaussian means ``decoder(Z)``.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_components)
            Latent codes.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Bernoulli means in (0, 1), or Gaussian means.
        """
        check_is_fitted(self)
        Z = check_array(Z, dtype=[np.float64, np.float32], input_name="Z")
        if Z.shape[1] != self._n_features_out:
            raise ValueError(f"Z has {Z.shape[1]} columns, but {type(self).__name__} has "
                             f"{self._n_features_out} latent units (n_components).")
        return self._decode(Z.astype(self._model_dtype(), copy=False))

    def reconstruct(self, X):
        """Reconstruction ``g(decoder(transform(X)))`` (``g``: sigmoid, or identity).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs (in [0, 1] for the Bernoulli decoder); NaN marks a missing
            entry, filled in first as by
            :meth:`complete`.

        Returns
        -------
        X_rec : ndarray of shape (n_samples, n_features)
            Bernoulli means in (0, 1), or Gaussian means.
        """
        check_is_fitted(self)
        return self._decode(self._encode(self._completed(*self._check_missing(X))))

    _completion_method = "reconstruct"

    def complete(self, X, mask=None, *, method="reconstruct", n_draws=None, temperature=1.0):
        """Pattern completion: fill in the missing pixels of ``X``.

        ``method="reconstruct"``: missing pixels (NaN in ``X``, or 0 in
        ``mask``) start at 0; then ``n_completion_steps`` times they are set
        to the reconstruction of the current image, ``x' = m * x + (1 - m) *
        g(decoder(encoder(x')))``.  Observed pixels are never changed.

        ``method="posterior"``: the Monte-Carlo posterior mean of the missing
        pixels under the decoder and the prior, as in
        :meth:`sklearn_pc.GNCNAutoencoder.complete`: ``n_draws`` latents from
        :attr:`prior_`, decoded, weighted by the likelihood of each row's
        observed pixels raised to ``1 / temperature``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs (in [0, 1] for the Bernoulli decoder); NaN marks a missing pixel.
        mask : array-like of bool or {0, 1}, of shape (n_samples, n_features) \
                or (n_features,), default=None
            ``m``: 1 (True) marks an observed pixel, 0 (False) a missing one,
            whatever ``X`` holds there; a 1-D mask is shared by every sample.
            None: the NaN of ``X`` are the missing pixels.
        method : {"reconstruct", "posterior"}, default="reconstruct"
            How to complete (above).
        n_draws : int, default=None
            ``"posterior"`` only: draws from the prior; None uses ``n_mc_samples``.
        temperature : float, default=1.0
            ``"posterior"`` only: the likelihood's weights are raised to
            ``1 / temperature`` (> 0).

        Returns
        -------
        X_completed : ndarray of shape (n_samples, n_features)
            ``X`` at observed pixels (unchanged), the completion at missing
            ones (a copy of ``X`` if none is missing).
        """
        return self._complete(X, mask, method, n_draws, temperature)

    def _completed(self, X, observed):
        """``X`` with its unobserved entries filled by iterated reconstruction
        (``X`` itself when ``observed`` is None)."""
        if observed is None:
            return X
        encoder, decoder = self._encoder(), self._decoder()
        chunks = []
        for rows in row_chunks(X.shape[0], self._row_bytes()):
            mine = observed if observed.ndim == 1 else observed[rows]
            x = np.where(mine, X[rows], X.dtype.type(0))
            for _ in range(self.n_completion_steps):
                x = np.where(mine, x,
                             self._output(decoder.predict(self._codes(encoder.predict(x)))))
            chunks.append(x)
        return np.concatenate(chunks)

    @property
    def _n_features_out(self):
        """Number of units returned by :meth:`transform`."""
        return self.decoder_coefs_[0].shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # at inference: NaN marks a missing entry
        # the Bernoulli decoder needs X in [0, 1]; the Gaussian one takes any real X
        tags.input_tags.positive_only = self.likelihood == "bernoulli"
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


@_fill_docstring
class BackpropAutoencoder(_BaseBackpropAutoencoder):
    """Regularised deterministic autoencoder (RAE) trained by backpropagation.

    The paper's RAE baseline: a deterministic encoder ``z = enc(x)`` and
    decoder ``p = sigmoid(dec(z))``, dense networks with ``activation``
    hidden layers, trained with Adam (or SGD) on the minibatch loss::

        L = mean_n BCE(x_n, dec(enc(x_n))) + alpha / 2 sum_l ||W_dec(l)||^2   (alpha: weight_decay)
        %(bce)s

    (the reconstruction BCE summed over features, in nats).  The generative
    protocols of :class:`~sklearn_pc.GNCNAutoencoder` apply: a Gaussian
    mixture fitted to the training codes is the prior of :meth:`sample` and
    of :meth:`score_samples`.

    Parameters
    ----------
    %(shared_parameters)s

    Attributes
    ----------
    %(shared_attributes)s

    See Also
    --------
    VariationalAutoencoder : the Gaussian VAE baseline.
    AdversarialAutoencoder : the adversarial autoencoder baseline.
    GNCNAutoencoder : the predictive-coding models these baselines are compared with.

    Notes
    -----
    %(shared_notes)s

    References
    ----------
    Ororbia, A. & Kifer, D. (2022). The neural coding framework for learning
    generative models. Nature Communications 13, 2064.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_pc import BackpropAutoencoder
    >>> X = load_digits().data / 16
    >>> model = BackpropAutoencoder(n_components=8, hidden_layer_sizes=(32,), max_iter=5,
    ...                             n_prior_components=5, n_mc_samples=200, random_state=0)
    >>> model.fit(X).transform(X).shape
    (1797, 8)
    >>> X_new, components = model.sample(3, random_state=0)
    >>> X_new.shape
    (3, 64)
    """

    def _loss_gradients(self, X, noise, observed=None):
        encoder = self._encoder()
        Z, cache = encoder.forward(X)
        loss, decoder_grads, delta_Z = self._reconstruction(X, Z, observed)
        encoder_grads, _ = encoder.backward(cache, delta_Z)
        return loss, encoder_grads + decoder_grads


@_fill_docstring
class VariationalAutoencoder(_BaseBackpropAutoencoder):
    """Gaussian variational autoencoder (GVAE, and GVAE-CV with a fixed variance).

    The encoder gives a diagonal Gaussian posterior ``q(z | x) = N(mu(x),
    diag(sigma^2(x)))``; its output holds ``mu`` and ``log sigma^2`` (or
    ``mu`` only, with ``sigma^2 = fixed_variance`` for GVAE-CV).  With the
    reparameterisation ``z = mu + sigma * eps``, ``eps ~ N(0, I)`` drawn
    fresh for every training row, the minibatch loss is minus the ELBO under
    the prior ``N(0, I)``, plus the decoder penalty::

        L = mean_n [ BCE(x_n, dec(z_n)) + KL(q(z | x_n) || N(0, I)) ]
            + alpha / 2 sum_l ||W_dec(l)||^2   (alpha: weight_decay)
        KL = 1/2 sum_k (mu_k^2 + sigma_k^2 - log sigma_k^2 - 1)
        %(bce)s

    :meth:`transform` returns the posterior mean ``mu(x)``, so it is
    deterministic per sample; :meth:`reconstruct` decodes it.  The
    likelihood protocol (:meth:`score_samples`) uses the Gaussian-mixture
    prior fitted to the posterior means, as for every model of the paper.

    Parameters
    ----------
    %(shared_parameters)s
    fixed_variance : float or None, default=None
        None learns ``sigma^2(x)`` (GVAE); a positive float fixes the
        posterior variance to it (GVAE-CV).

    Attributes
    ----------
    %(shared_attributes)s

    See Also
    --------
    BackpropAutoencoder : the deterministic (RAE) baseline.
    AdversarialAutoencoder : the adversarial autoencoder baseline.

    Notes
    -----
    %(shared_notes)s
    The training noise comes from ``check_random_state(random_state)``.  With
    ``likelihood="gaussian"``, standardise the data: the learned ``sigma =
    exp(log sigma^2 / 2)`` grows exponentially with the scale of the inputs,
    and on unscaled features centred at 100 it overflows (a
    FloatingPointError).

    References
    ----------
    Kingma, D. P. & Welling, M. (2014). Auto-encoding variational Bayes. ICLR.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_pc import VariationalAutoencoder
    >>> X = load_digits().data / 16
    >>> model = VariationalAutoencoder(n_components=8, hidden_layer_sizes=(32,), max_iter=5,
    ...                                n_prior_components=5, n_mc_samples=200, random_state=0)
    >>> model.fit(X).transform(X).shape
    (1797, 8)
    """

    _parameter_constraints: ClassVar[dict] = {
        **_BaseBackpropAutoencoder._parameter_constraints,
        "fixed_variance": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(self, n_components=20, *, hidden_layer_sizes=(500, 500), activation="relu",
                 likelihood="bernoulli", weight_decay=1e-4, fixed_variance=None,
                 learning_rate_init=0.001, solver="adam", momentum=0.9,
                 batch_size="auto", max_iter=50, tol=1e-4, shuffle=True, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, warm_start=False,
                 n_prior_components=75,
                 prior_max_samples=None, n_mc_samples=5000, n_completion_steps=10,
                 random_state=None, verbose=False):
        super().__init__(
            n_components, hidden_layer_sizes=hidden_layer_sizes, activation=activation,
            likelihood=likelihood, weight_decay=weight_decay,
            learning_rate_init=learning_rate_init, solver=solver,
            momentum=momentum,
            batch_size=batch_size, max_iter=max_iter, tol=tol, shuffle=shuffle,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change, warm_start=warm_start,
            n_prior_components=n_prior_components,
            prior_max_samples=prior_max_samples, n_mc_samples=n_mc_samples,
            n_completion_steps=n_completion_steps, random_state=random_state, verbose=verbose)
        self.fixed_variance = fixed_variance

    def _encoder_width(self):
        return self.n_components * (1 if self.fixed_variance is not None else 2)

    def _codes(self, output):
        return output[:, :self.n_components]

    def _draw_noise(self, n_samples, rng):
        return rng.standard_normal((n_samples, self.n_components)).astype(self._model_dtype())

    def _loss_gradients(self, X, noise, observed=None):
        encoder = self._encoder()
        out, cache = encoder.forward(X)
        n, k = X.shape[0], self.n_components
        mu = out[:, :k]
        if self.fixed_variance is None:
            log_var = out[:, k:]
            sigma = np.exp(0.5 * log_var)
            var = sigma * sigma
        else:
            var = out.dtype.type(self.fixed_variance)
            log_var, sigma = np.log(var), np.sqrt(var)
        Z = mu + sigma * noise
        loss, decoder_grads, delta_Z = self._reconstruction(X, Z, observed)
        kl = 0.5 * (mu * mu + var - log_var - 1)  # broadcast when the variance is fixed
        loss += float(np.sum(kl)) / n
        scale = out.dtype.type(1.0 / n)
        delta_mu = delta_Z + mu * scale
        if self.fixed_variance is None:
            delta_log_var = delta_Z * noise * (0.5 * sigma) + (0.5 * scale) * (var - 1)
            delta = np.concatenate([delta_mu, delta_log_var], axis=1)
        else:
            delta = delta_mu
        encoder_grads, _ = encoder.backward(cache, delta)
        return loss, encoder_grads + decoder_grads


@_fill_docstring
class AdversarialAutoencoder(_BaseBackpropAutoencoder):
    """Adversarial autoencoder (the paper's GAN-AE) trained by backpropagation.

    A deterministic autoencoder whose codes are pushed towards the prior
    ``N(0, I)`` by a discriminator ``D`` (a dense network on the code with a
    logit output) that tells prior draws ``z'`` from codes ``z = enc(x)``.
    Every batch takes two steps, each with its own optimizer: first the
    discriminator, on the codes of the batch (held fixed) and as many prior
    draws::

        L_D = mean_n [ softplus(-D(z'_n)) + softplus(D(enc(x_n))) ]

    then the encoder and decoder, with the non-saturating adversarial loss
    weighted by ``adversarial_weight`` (``D`` held fixed)::

        L = mean_n [ BCE(x_n, dec(enc(x_n))) + lambda softplus(-D(enc(x_n))) ]
            + alpha / 2 sum_l ||W_dec(l)||^2   (alpha: weight_decay)
        %(bce)s

    (``softplus(-D) = -log sigmoid(D)``, the log-loss of labelling a code as
    a prior draw).  The likelihood protocol (:meth:`score_samples`) uses the
    Gaussian-mixture prior fitted to the codes, as for every model of the
    paper.

    Parameters
    ----------
    %(shared_parameters)s
    adversarial_weight : float, default=1.0
        ``lambda``, the weight of the adversarial term of the encoder's loss.
    discriminator_hidden_layer_sizes : int or array-like of int, default=(500, 500)
        Hidden layers of the discriminator (``activation`` units).

    Attributes
    ----------
    %(shared_attributes)s
    discriminator_coefs_, discriminator_intercepts_ : list of ndarray
        Discriminator weights and intercepts (one logit output).
    discriminator_loss_ : float
        Mean ``L_D`` of the last epoch, before each batch's update.

    See Also
    --------
    BackpropAutoencoder : the deterministic (RAE) baseline.
    VariationalAutoencoder : the Gaussian VAE baseline.

    Notes
    -----
    %(shared_notes)s
    The prior draws of training come from ``check_random_state(random_state)``.

    References
    ----------
    Makhzani, A., Shlens, J., Jaitly, N., Goodfellow, I. & Frey, B. (2016).
    Adversarial autoencoders. ICLR workshop.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_pc import AdversarialAutoencoder
    >>> X = load_digits().data / 16
    >>> model = AdversarialAutoencoder(n_components=8, hidden_layer_sizes=(32,),
    ...                                discriminator_hidden_layer_sizes=(16,), max_iter=5,
    ...                                n_prior_components=5, n_mc_samples=200, random_state=0)
    >>> model.fit(X).transform(X).shape
    (1797, 8)
    """

    _parameter_constraints: ClassVar[dict] = {
        **_BaseBackpropAutoencoder._parameter_constraints,
        "adversarial_weight": [Interval(Real, 0, None, closed="left")],
        "discriminator_hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    }

    _ARRAYS = (*_BaseBackpropAutoencoder._ARRAYS, "discriminator_coefs_",
               "discriminator_intercepts_")

    def __init__(self, n_components=20, *, hidden_layer_sizes=(500, 500), activation="relu",
                 likelihood="bernoulli", weight_decay=1e-4, adversarial_weight=1.0,
                 discriminator_hidden_layer_sizes=(500, 500),
                 learning_rate_init=0.001, solver="adam", momentum=0.9, batch_size="auto", max_iter=50,
                 tol=1e-4, shuffle=True, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, warm_start=False,
                 n_prior_components=75, prior_max_samples=None,
                 n_mc_samples=5000, n_completion_steps=10, random_state=None, verbose=False):
        super().__init__(
            n_components, hidden_layer_sizes=hidden_layer_sizes, activation=activation,
            likelihood=likelihood, weight_decay=weight_decay,
            learning_rate_init=learning_rate_init, solver=solver,
            momentum=momentum,
            batch_size=batch_size, max_iter=max_iter, tol=tol, shuffle=shuffle,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change, warm_start=warm_start,
            n_prior_components=n_prior_components,
            prior_max_samples=prior_max_samples, n_mc_samples=n_mc_samples,
            n_completion_steps=n_completion_steps, random_state=random_state, verbose=verbose)
        self.adversarial_weight = adversarial_weight
        self.discriminator_hidden_layer_sizes = discriminator_hidden_layer_sizes

    def _discriminator(self):
        return MLP(self.discriminator_coefs_, self.discriminator_intercepts_, self.activation)

    def _initialize_extra(self, rng, dtype):
        hidden = np.asarray(self.discriminator_hidden_layer_sizes).reshape(-1)
        if hidden.size and (not np.issubdtype(hidden.dtype, np.integer) or np.any(hidden < 1)):
            raise ValueError("discriminator_hidden_layer_sizes must be a sequence of positive "
                             f"integers, got {self.discriminator_hidden_layer_sizes!r}.")
        self.discriminator_coefs_, self.discriminator_intercepts_ = init_layers(
            [self.n_components, *(int(h) for h in hidden), 1], rng, dtype)
        self._discriminator_total = 0.0

    def _sync_optimizers(self, reset):
        super()._sync_optimizers(reset)
        self._discriminator_optimizer = self._synced(
            getattr(self, "_discriminator_optimizer", None), self._discriminator().params, reset)

    def _draw_noise(self, n_samples, rng):
        """Prior draws ``z' ~ N(0, I)`` for the discriminator."""
        return rng.standard_normal((n_samples, self.n_components)).astype(self._model_dtype())

    def _discriminator_loss_gradients(self, Z, Z_prior):
        """``L_D`` on codes ``Z`` and prior draws ``Z_prior``, and its gradients."""
        discriminator = self._discriminator()
        n = Z.shape[0]
        logits, cache = discriminator.forward(np.concatenate([Z_prior, Z]))
        logits = logits[:, 0]
        prior_logits, code_logits = logits[:n], logits[n:]
        loss = float(_softplus(-prior_logits).sum() + _softplus(code_logits).sum()) / n
        delta = np.concatenate([-expit(-prior_logits), expit(code_logits)]) / logits.dtype.type(n)
        grads, _ = discriminator.backward(cache, delta[:, None])
        return loss, grads

    def _loss_gradients(self, X, noise, observed=None):
        encoder, discriminator = self._encoder(), self._discriminator()
        Z, cache = encoder.forward(X)
        loss, decoder_grads, delta_Z = self._reconstruction(X, Z, observed)
        n = X.shape[0]
        logits, d_cache = discriminator.forward(Z)
        weight = self.adversarial_weight
        loss += weight * float(_softplus(-logits).sum()) / n
        delta = -expit(-logits) * logits.dtype.type(weight / n)
        _, delta_adv = discriminator.backward(d_cache, delta)
        encoder_grads, _ = encoder.backward(cache, delta_Z + delta_adv)
        return loss, encoder_grads + decoder_grads

    def _train_batch(self, X, rng):
        X, observed = self._training_entries(X)
        Z_prior = self._draw_noise(X.shape[0], rng)
        with np.errstate(over="ignore", invalid="ignore"):
            codes = self._encoder().predict(X)
            d_loss, d_grads = self._discriminator_loss_gradients(codes, Z_prior)
        self._checked(d_loss, d_grads, X)
        self._discriminator_optimizer.update_params(self._discriminator().params, d_grads)
        self._discriminator_total += d_loss * X.shape[0]
        with np.errstate(over="ignore", invalid="ignore"):
            loss, grads = self._loss_gradients(X, None, observed)
        self._checked(loss, grads, X)
        self._optimizer.update_params(self._params(), grads)
        return loss * X.shape[0]

    def _end_epoch(self, n_samples):
        self.discriminator_loss_ = self._discriminator_total / n_samples
        self._discriminator_total = 0.0
