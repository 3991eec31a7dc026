"""Predictive-coding networks of Whittington & Bogacz (2017) and Sun & Orchard (2020).

``_BasePCNetwork`` holds what every such estimator shares: the weights, the
hooks of the one training loop (:mod:`sklearn_pc._base`), the divergence
checks and the discriminative sweep.  ``_BasePC`` adds the labels and the
discriminative mode; :class:`PCClassifier` and :class:`PCGenerator` are its
siblings, differing in their defaults, in what ``transform`` returns and in
the generative mode of the latter.
"""

import warnings
from abc import ABCMeta, abstractmethod
from contextlib import contextmanager, nullcontext
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import softmax
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from ._chunks import row_chunks
from ._core._activations import ACTIVATIONS
from ._core._learning import (OPTIMIZERS, decay_penalty, gradient_factors,
                              local_gradients, parameter_regions, parameters)
from ._core._network import PCNetwork
from ._core._relaxation import SCHEDULES, has_diverged, relax
from ._core._threads import map_parts, map_row_blocks, row_parallelism
from ._core._workspace import Workspace, empty
from ._base import _StochasticTrainingMixin

# A training batch whose output error per sample exceeds this many times the error of
# the freshly initialised network means the weights are blowing up.
_TRAINING_GROWTH = 100.0


def class_indices(classes, y, *, error="y contains labels {labels} not in classes {classes}."):
    """Positions of the labels ``y`` in ``classes`` (sorted and unique, a fitted
    ``classes_``), labels compared as Python values: ``"10"`` is not ``10`` and
    ``2.5`` is not ``2`` (``2.0`` is, as ``True`` is ``1``), so a label of another
    type is never cast to a class.  Raises a ValueError, ``error`` formatted with
    the labels that are not classes and the classes."""
    if not isinstance(y, np.ndarray) or y.dtype == object:
        # before np.asarray, which would turn the numbers of a list into strings
        _refuse_mixed_labels(np.asarray(y, dtype=object).reshape(-1))
    try:
        values, inverse = np.unique(np.asarray(y), return_inverse=True)
    except TypeError:  # e.g. None or pandas.NA among the labels
        raise ValueError("y holds labels that cannot be ordered (a missing value such as "
                         "None?); use labels of one type.") from None
    position = {label: i for i, label in enumerate(classes.tolist())}
    found = [position.get(label) for label in values.tolist()]
    unseen = [label for label, i in zip(values.tolist(), found) if i is None]
    if unseen:
        raise ValueError(error.format(labels=unseen, classes=classes.tolist()))
    return np.asarray(found, dtype=np.intp)[inverse.reshape(-1)]


def _refuse_mixed_labels(labels):
    """A ValueError if the object array ``labels`` mixes strings and numbers."""
    if len({isinstance(label, str) for label in labels.tolist()}) > 1:
        raise ValueError("y mixes string and numeric labels, which cannot be ordered; "
                         "use labels of one type.")


def _same_labels(a, b):
    """Whether two sorted, unique label arrays hold the same labels (by value)."""
    return a.shape == b.shape and a.tolist() == b.tolist()


class _BasePCNetwork(_StochasticTrainingMixin, BaseEstimator, metaclass=ABCMeta):
    """Shared weights and training hooks of the layered PC estimators."""

    _LOSS_NAME = "energy"

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "input_activation": [None, StrOptions(set(ACTIVATIONS))],
        "inference": [StrOptions(set(SCHEDULES))],
        "n_inference_steps": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "inference_rate": [Interval(Real, 0, None, closed="neither")],
        "inference_tol": [Interval(Real, 0, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "feedback": [StrOptions({"separate", "tied"})],
        "fit_intercept": ["boolean"],
        "loss": [StrOptions({"squared_error", "log_loss"})],
        "solver": [StrOptions(set(OPTIMIZERS))],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "shuffle": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    @abstractmethod
    def __init__(self, hidden_layer_sizes, activation, input_activation, inference,
                 n_inference_steps,
                 inference_rate, inference_tol, weight_decay, feedback, fit_intercept, loss, solver,
                 learning_rate_init, momentum, batch_size, max_iter, tol, shuffle,
                 early_stopping, validation_fraction, n_iter_no_change, warm_start,
                 random_state, verbose):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.input_activation = input_activation
        self.inference = inference
        self.n_inference_steps = n_inference_steps
        self.inference_rate = inference_rate
        self.inference_tol = inference_tol
        self.weight_decay = weight_decay
        self.feedback = feedback
        self.fit_intercept = fit_intercept
        self.loss = loss
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    # -- what subclasses choose -------------------------------------------------
    @abstractmethod
    def _encode_targets(self, y, *, reset, classes=None, incremental=False):
        """Validate ``y`` and return the clamped top-layer states ``Y``."""

    @abstractmethod
    def _validation_score(self, X, y):
        """Score on the held-out fraction used by early stopping."""

    def _weight_decays(self, progress):
        """``(lambda_M, lambda_W)`` for an epoch; ``progress`` in [0, 1) is the
        fraction of ``max_iter`` already run (None for ``partial_fit``)."""
        return self.weight_decay, self.weight_decay

    def _n_inference_steps(self):
        """``n_inference_steps``, with ``"auto"`` resolved to one more than the
        number of hidden layers."""
        if self.n_inference_steps == "auto":
            return len(self.coefs_)
        return self.n_inference_steps

    # -- the network -----------------------------------------------------------
    def _input_activation(self):
        """``input_activation``, with None resolved to ``activation``."""
        return self.activation if self.input_activation is None else self.input_activation

    def _inference_tol(self):
        """The early-exit tolerance the relaxation uses: euler ignores ``inference_tol``."""
        return self.inference_tol if self.inference == "alternating" else 0.0

    def _layer_sizes(self, n_features, n_outputs):
        hidden = np.atleast_1d(np.asarray(self.hidden_layer_sizes))
        if hidden.ndim != 1 or (hidden.size and (not np.issubdtype(hidden.dtype, np.integer)
                                                 or np.any(hidden < 1))):
            raise ValueError("hidden_layer_sizes must be a sequence of positive integers, "
                             f"got {self.hidden_layer_sizes!r}.")
        return [n_features, *hidden.tolist(), n_outputs]

    def _is_initialized(self):
        return hasattr(self, "coefs_")

    def _model_dtype(self):
        return self.coefs_[0].dtype

    def _learned_arrays(self):
        return parameters(self._network())

    def _check_training_data(self, X, y, *, reset, classes, incremental):
        X, y = validate_data(self, X, y, reset=reset, dtype=[np.float64, np.float32])
        return X, self._encode_targets(y, reset=reset, classes=classes,
                                       incremental=incremental), y

    def _stratify(self, labels):
        return labels if type_of_target(labels) in ("binary", "multiclass") else None

    def _initialize_arrays(self, X, Y, rng):
        self._initialize(self._layer_sizes(X.shape[1], Y.shape[1]), X.dtype, rng)

    def _initialize(self, layer_sizes, dtype, rng):
        """Glorot-uniform forward and feedback weights, zero intercepts."""
        factor = 2.0 if self.activation == "logistic" else 6.0

        def glorot(fan_in, fan_out):
            bound = np.sqrt(factor / (fan_in + fan_out))
            return rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype)

        pairs = list(zip(layer_sizes[:-1], layer_sizes[1:]))
        self.coefs_ = [glorot(n_in, n_out) for n_in, n_out in pairs]
        self.intercepts_ = [np.zeros(n_out, dtype=dtype) for _, n_out in pairs]
        if self.feedback == "tied":
            self.feedback_coefs_ = [m.T for m in self.coefs_]
        else:
            self.feedback_coefs_ = [glorot(n_in, n_out).T.copy() for n_in, n_out in pairs]
        self.n_layers_ = len(layer_sizes)
        self._initial_energy = None

    def _network(self, top=None):
        """The fitted arrays, seen as a :class:`PCNetwork` (no copy).

        ``top`` (a layer index) keeps the layers ``0 .. top`` only, with a
        linear prediction of ``x[top]`` when it is below the output layer.
        """
        n_weight_layers = len(self.coefs_) if top is None else top
        output = ("softmax" if self.loss == "log_loss" and n_weight_layers == len(self.coefs_)
                  else "identity")
        return PCNetwork(
            self.coefs_[:n_weight_layers],
            self.intercepts_[:n_weight_layers] if self.fit_intercept else None,
            None if self.feedback == "tied" else self.feedback_coefs_[:n_weight_layers],
            [self._input_activation()] + [self.activation] * (n_weight_layers - 1),
            np.ones(n_weight_layers + 1),
            output=output,
        )

    def _row_bytes(self, copies):
        """Bytes of ``copies`` arrays as wide as all layers together, for one row."""
        return copies * self.coefs_[0].dtype.itemsize * sum(self._network().layer_sizes)

    def _feedforward(self, X, layer, *, activity=False):
        """States ``x[layer]`` after the bottom-up sweep (or their activity
        ``sigma(x[layer])``), computed in chunks of rows."""
        network = self._network()
        X = X.astype(network.dtype, copy=False)
        chunks = []
        for rows in row_chunks(X.shape[0], self._row_bytes(2)):
            x = network.feedforward(X[rows])[layer]
            chunks.append(network.activate(layer, x) if activity else x)
        return np.concatenate(chunks)

    # -- training --------------------------------------------------------------
    def _train_batch(self, network, params, X, Y, decays, n_blocks, workspace):
        """Relax with both ends clamped, then apply the local updates.

        Blocks of rows relax in parallel (see ``_core._threads``), each in
        its thread's buffers of ``workspace``, and write their rows of the
        batch's gradient factors.  The update then runs in as many parts,
        each computing and applying the gradients of its own share of the
        weights from the whole batch (``_learning.parameter_regions``).
        Returns the batch's share of the objective the update descends: the
        summed energy at its relaxed states plus ``n_samples`` times the
        weight-decay penalty (``_learning.decay_penalty``), both at the
        weights before the update.
        """
        n_samples, dtype = X.shape[0], network.dtype
        n_steps = self._n_inference_steps()
        sizes = network.layer_sizes
        factors = [(empty(workspace, ("batch activity", layer), (n_samples, n_in), dtype),
                    empty(workspace, ("batch error", layer), (n_samples, n_out), dtype))
                   for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]))]

        def relax_rows(rows):
            states = network.feedforward(X[rows], workspace)
            initial = float(network.output_energy(Y[rows], states[-1]).sum())
            states[-1] = Y[rows]
            energy = np.empty(states[0].shape[0], dtype=states[0].dtype)
            errors = relax(network, states, clamp_bottom=True, clamp_top=True,
                           schedule=self.inference, n_steps=n_steps,
                           rate=self.inference_rate, feedforward_start=True,
                           tol=self._inference_tol(), workspace=workspace, energy=energy)
            gradient_factors(network, states, errors, n_samples=n_samples,
                             out=[(activity[rows], error[rows]) for activity, error in factors])
            return initial, float(energy.sum())

        # overflows show up as a non-finite energy, checked below
        with np.errstate(over="ignore", invalid="ignore"):
            blocks = map_row_blocks(relax_rows, n_samples, n_blocks)
        initial = sum(block[0] for block in blocks)
        energy = sum(block[1] for block in blocks)
        per_sample = initial / n_samples
        if self._initial_energy is None:
            self._initial_energy = per_sample
        if not np.isfinite(initial) or per_sample > _TRAINING_GROWTH * max(
                self._initial_energy, 1e-6):
            raise FloatingPointError(
                f"Training diverged at epoch {self.n_iter_ + 1}: the output error grew from "
                f"{self._initial_energy:.3g} per sample at initialisation to {per_sample:.3g}. "
                f"Lower learning_rate_init (now {self.learning_rate_init}).")
        if has_diverged(initial, energy):
            raise FloatingPointError(
                f"The PC relaxation diverged at epoch {self.n_iter_ + 1}: its energy rose "
                f"from {initial:.3g} to {energy:.3g}. Lower inference_rate (now "
                f"{self.inference_rate}).")
        forward_decay, feedback_decay = decays
        penalty = decay_penalty(network, forward_decay=forward_decay,
                                feedback_decay=feedback_decay)
        self._update_weights(network, params, factors, decays, len(blocks), workspace)
        return energy + n_samples * penalty

    def _update_weights(self, network, params, factors, decays, n_parts, workspace):
        """One optimizer step from a batch's gradient ``factors``, in ``n_parts``
        parts at once in threads, each computing and applying the gradients of
        its own regions of ``params`` (``_learning.parameter_regions``)."""
        forward_decay, feedback_decay = decays

        def update(part):
            grads = local_gradients(network, factors, forward_decay=forward_decay,
                                    feedback_decay=feedback_decay, workspace=workspace, part=part)
            self._optimizer.update_regions(params, grads, parameter_regions(network, part))

        self._optimizer.start_step()
        map_parts(update, [(k, n_parts) for k in range(n_parts)])

    @contextmanager
    def _batch_trainer(self, batch_size):
        """``train(X, Y, rng, progress)`` of one batch, with the network, its
        parameters and the buffers set up once per call of ``fit``.

        Fixed-length relaxations run in row blocks, one per former BLAS thread,
        each with one BLAS thread.  With early exit, rows leave and the products
        thin out until streaming the weights dominates them, which blocks would
        pay once each: the batch then relaxes whole, on threaded BLAS.
        """
        n_hidden = len(self.coefs_) - 1
        if self._n_inference_steps() < n_hidden:
            warnings.warn(
                f"n_inference_steps={self.n_inference_steps} is less than the {n_hidden} hidden "
                "layers: starting from the bottom-up sweep, the output error reaches one more "
                "hidden layer per step, so the lowest weight layers get no error and do not "
                "learn. Use n_inference_steps='auto' or at least the number of hidden layers.",
                UserWarning)
        network = self._network()
        params = parameters(network)
        workspace = Workspace()
        with nullcontext(1) if self._inference_tol() else row_parallelism(batch_size) as n_blocks:
            yield lambda X, Y, rng, progress: self._train_batch(
                network, params, X, Y, self._weight_decays(progress), n_blocks, workspace)

    def _snapshot_arrays(self):
        coefs = [m.copy() for m in self.coefs_]
        feedback = ([m.T for m in coefs] if self.feedback == "tied"
                    else [w.copy() for w in self.feedback_coefs_])
        return {"coefs_": coefs, "intercepts_": [b.copy() for b in self.intercepts_],
                "feedback_coefs_": feedback}

    def __setstate__(self, state):
        # Re-tie the feedback views, which pickling turns into copies.
        super().__setstate__(state)
        if self.__dict__.get("feedback") == "tied" and "coefs_" in self.__dict__:
            self.feedback_coefs_ = [m.T for m in self.coefs_]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


class _BasePC(ClassifierMixin, _BasePCNetwork):
    """What PCClassifier and PCGenerator share: one-hot targets clamped at the top,
    ``fit`` / ``partial_fit``, and the discriminative mode (``predict``,
    ``predict_proba``, ``decision_function``).  The public estimators are
    siblings that differ in their defaults and in what ``transform`` returns."""

    def _encode_targets(self, y, *, reset, classes=None, incremental=False):
        if y.dtype == object:
            _refuse_mixed_labels(y)
        target_type = type_of_target(y, input_name="y", raise_unknown=True)
        if target_type not in ("binary", "multiclass"):
            raise ValueError(f"{type(self).__name__} supports binary and multiclass targets, "
                             f"got {target_type!r} targets.")
        if reset:
            self.classes_ = np.unique(y if classes is None else np.asarray(classes))
        elif incremental and classes is not None:
            # as scikit-learn's partial_fit: classes, if given again, must not change
            if not _same_labels(np.unique(np.asarray(classes)), self.classes_):
                raise ValueError(f"classes={np.unique(classes).tolist()} is not the same as "
                                 f"on the first call to partial_fit, "
                                 f"{self.classes_.tolist()}.")
        elif not incremental and not _same_labels(np.unique(y), self.classes_):
            # as MLPClassifier: a warm-started fit trains the classes it was built for
            raise ValueError("warm_start can only be used where y has the same classes as in "
                             f"the previous call to fit: previously {self.classes_.tolist()}, "
                             f"y has {np.unique(y).tolist()}.")
        if self.classes_.shape[0] < 2:
            raise ValueError("Classifier can't train when only one class is present: "
                             f"got the single class {self.classes_.tolist()[0]!r}.")
        return np.eye(self.classes_.shape[0])[class_indices(self.classes_, y)]

    def _validation_score(self, X, y):
        return float(np.mean(self.predict(X) == y))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the network on ``(X, y)``.

        Each batch is relaxed with the input clamped to ``X`` and the top
        layer clamped to the one-hot targets, then every weight takes one
        local update.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs; float32 input is trained in float32.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """Run one epoch over ``(X, y)`` (no shuffling, no early stopping).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Class labels, all of them in ``classes``.
        classes : array-like of shape (n_classes,), default=None
            Every class of the problem; required on the first call, and if
            given later, the same classes.

        Returns
        -------
        self : object
            The updated estimator.
        """
        if not hasattr(self, "coefs_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, y, incremental=True, classes=classes)

    def _output(self, X):
        """Top-layer states ``x[L]`` at the discriminative equilibrium."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self._feedforward(X, len(self.coefs_))

    def decision_function(self, X):
        """Settled output layer of the discriminative mode.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            The top-layer states ``x[L]`` at equilibrium with the input
            clamped; they approximate the one-hot targets.  For two classes,
            the difference of the second unit and the first, positive for
            ``classes_[1]``, as scikit-learn expects of binary classifiers.
        """
        scores = self._output(X)
        return scores[:, 1] - scores[:, 0] if scores.shape[1] == 2 else scores

    def predict(self, X):
        """Predict class labels: the largest unit of the settled output layer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels.
        """
        scores = self._output(X)
        return self.classes_[np.argmax(scores, axis=1)]

    def predict_proba(self, X):
        """Class probabilities from the settled output layer.

        With ``loss="log_loss"`` the output layer is a softmax and is
        returned as is.  With ``loss="squared_error"`` the network is trained
        against one-hot targets and these are the softmax of its outputs:
        monotone scores rather than calibrated probabilities (wrap the
        estimator in :class:`~sklearn.calibration.CalibratedClassifierCV` when
        calibration matters).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to one, ordered as ``classes_``.
        """
        scores = self._output(X)
        return scores if self.loss == "log_loss" else softmax(scores)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = False
        return tags


class PCClassifier(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _BasePC):
    """Discriminative predictive-coding network trained with local learning rules.

    Predictions flow up (``mu[l+1] = sigma(x[l]) M[l] + b[l]``), errors
    ``eps = (x - mu) / nu`` settle while the input is clamped to ``X`` and the
    top layer to the one-hot target, and the weights then follow the local
    Hebbian rules of Whittington & Bogacz (2017) as written by Sun & Orchard
    (2020), eq 2.3, 2.9, 2.10.  At inference the input alone is clamped; the
    equilibrium of that mode equals the bottom-up sweep (all errors zero,
    Sun & Orchard section 2.3), which ``predict`` computes directly.

    Parameters
    ----------
    hidden_layer_sizes : int or array-like of int, default=(100,)
        Sizes of the hidden layers (an int: one hidden layer of that size, as
        MLPClassifier; the paper's MNIST network is ``(600, 600)``);
        ``()`` gives the two-layer (linear-readout) network of Sun & Orchard
        section 3.
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Activation ``sigma`` of the hidden layers.
    input_activation : {"identity", "tanh", "logistic", "relu"} or None, \
            default="identity"
        Activation of the input layer, ``sigma_0`` in ``mu[1] = sigma_0(x[0])
        M[0] + b[0]``.  ``"identity"`` predicts from the inputs themselves, as
        MLPClassifier does, so standardised features keep their sign; None
        uses ``activation``, as the paper does (whose MNIST networks apply
        ``"tanh"`` to the pixels).  A ReLU on the input layer discards every
        negative value of standardised features, and a tanh squashes them.
    inference : {"alternating", "euler"}, default="alternating"
        How the clamped network is relaxed during training: Whittington &
        Bogacz's accelerated method (errors at equilibrium, then one large
        state step) or continuous-time Euler integration of states and error
        units (eq 2.2, 2.3).
    n_inference_steps : int or "auto", default="auto"
        Number of state updates per batch.  Training starts the relaxation
        from the bottom-up sweep, where every error but the output's is zero;
        the output error then reaches one more hidden layer per step, so a
        layer's weights learn only once ``n_inference_steps`` is at least
        the number of hidden layers above it.  ``"auto"`` takes one step more
        than there are hidden layers: each layer gets its error, and with
        small steps the updates are close to backpropagation's (Whittington
        & Bogacz 2017; Song et al. 2020), which trains fastest.  Fully
        settled states (tens of steps at rate 0.1) give the paper's
        equilibrium updates; its Euler runs use ``duration / dt`` steps
        (e.g. 4 s / 1 ms = 4000).
    inference_rate : float, default=0.1
        Step size relative to the time constant, ``dt / tau``.  The
        alternating method is stable for rates up to about 0.5; Euler
        simulations use small rates (paper: 0.001 / 0.05 = 0.02).
    inference_tol : float, default=1e-2
        Per-sample early exit of the ``"alternating"`` relaxation: a sample
        stops relaxing once the largest component of its state update
        ``dx`` is at most ``inference_tol`` (it has settled), and leaves the
        batch, so samples the network already fits cost one product less
        per step.  Each sample's stop depends on that sample alone.  ``0``
        relaxes every sample for ``n_inference_steps``; ignored by
        ``inference="euler"``.
    weight_decay : float, default=0.001
        Decay ``lambda_M = lambda_W`` of forward and feedback weights during
        training (eq 3.12); the PC-decay procedure of the paper uses 0.05.
        It enters ``loss_``, so training stops once that objective levels
        off rather than running ``max_iter`` epochs.
    feedback : {"tied", "separate"}, default="tied"
        ``"tied"`` uses ``W = M.T``, which makes relaxation exact gradient
        descent on the energy.  ``"separate"`` learns feedback weights ``W``
        with eq 2.10 from their own random start (the paper's asymmetric
        network): since ``W`` and ``M.T`` receive the same Hebbian update,
        only weight decay removes their initial difference, so use it with
        ``weight_decay > 0``; without decay the relaxation can become
        unstable on deep networks.
    fit_intercept : bool, default=True
        Whether predictions carry a learned bias (the paper's networks have
        none).
    loss : {"log_loss", "squared_error"}, default="log_loss"
        ``"log_loss"`` passes the top prediction through a softmax: the top
        error ``y - softmax(z)`` is then the cross-entropy gradient, the same
        local rules descend the log-loss (as MLPClassifier does), and
        ``predict_proba`` returns the settled probabilities.
        ``"squared_error"`` is the paper's Gaussian energy with a linear top
        prediction (less accurate on MNIST: 95.3 % against 97.7 % for a
        784-600-600-10 tanh network with 80 relaxation steps, 10 epochs, in
        the project's benchmarks).
    solver : {"adam", "sgd"}, default="adam"
        Optimizer applying the local updates.  ``"sgd"`` with ``momentum=0``
        is the Euler discretisation of eq 2.9 with ``learning_rate_init =
        dt / gamma``.
    learning_rate_init : float, default=0.001
        Learning rate of the optimizer.
    momentum : float, default=0.9
        Nesterov momentum of ``"sgd"``; ignored by ``"adam"``.
    batch_size : int or "auto", default="auto"
        Samples per weight update; ``"auto"`` is ``min(200, n_samples)``.
        Updates average the local rule over the batch.
    max_iter : int, default=500
        Maximum number of epochs; training usually stops earlier, once
        ``loss_`` stops improving by ``tol``.
    tol : float, default=1e-4
        Minimum improvement of the training energy (or of the validation
        accuracy with ``early_stopping``) that resets the patience counter.
    shuffle : bool, default=True
        Whether to shuffle samples every epoch.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when its
        accuracy stops improving; the best weights are kept.
    validation_fraction : float in (0, 1), default=0.1
        Held-out fraction for early stopping.
    n_iter_no_change : int, default=10
        Patience, in epochs, of the stopping rule.
    warm_start : bool, default=False
        Continue from the previous weights when ``fit`` is called again, on a
        ``y`` with the same classes.  With ``early_stopping``, a warm ``fit``
        ends at its best epoch, or with the weights it started from if no
        epoch beats ``best_validation_score_``.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and the validation split.
    verbose : bool, default=False
        Print the energy per epoch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coefs_ : list of ndarray
        Forward weights ``M[l]`` of shape ``(n_l, n_{l+1})``.
    intercepts_ : list of ndarray
        Biases of the predictions (zeros when ``fit_intercept=False``).
    feedback_coefs_ : list of ndarray
        Feedback weights ``W[l]`` of shape ``(n_{l+1}, n_l)`` (views of
        ``coefs_`` transposed when ``feedback="tied"``).
    loss_ : float
        The objective the weight updates descend, averaged over the last
        epoch's batches: the mean energy per sample at the relaxed states plus
        the weight-decay penalty ``lambda_M / 2 sum_l ||M[l]||^2`` (and
        ``lambda_W / 2 sum_l ||W[l]||^2`` with ``feedback="separate"``), both
        at the weights before each batch's update.  ``tol`` and
        ``n_iter_no_change`` stop training on it.
    loss_curve_ : list of float
        ``loss_`` after each epoch.
    best_loss_ : float or None
        Lowest ``loss_`` seen (None with early stopping).
    validation_scores_ : list of float or None
        Held-out accuracy per epoch with early stopping.
    best_validation_score_ : float or None
        Best held-out accuracy with early stopping.
    n_iter_ : int
        Number of epochs run.
    t_ : int
        Number of training samples seen.
    n_layers_ : int
        Number of layers of states, input and output included.
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Input feature names, when ``X`` has string column names.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : the backprop network of the same shape.

    Notes
    -----
    Diverging dynamics raise a ``FloatingPointError`` naming the parameter to
    lower (``inference_rate`` or ``learning_rate_init``), and a failed fit
    leaves the estimator as it was.  Inference runs in chunks of rows sized
    by scikit-learn's ``working_memory`` (``sklearn.config_context``), so its
    memory is bounded whatever the number of samples.

    References
    ----------
    Whittington, J. C. R. & Bogacz, R. (2017). An approximation of the error
    backpropagation algorithm in a predictive coding network with local
    Hebbian synaptic plasticity. Neural Computation 29(5).

    Sun, W. & Orchard, J. (2020). A predictive-coding network that is both
    discriminative and generative. Neural Computation 32(10).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn_pc import PCClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0)
    >>> clf = PCClassifier(hidden_layer_sizes=(100,), random_state=0).fit(X_train, y_train)
    >>> clf.score(X_test, y_test) > 0.95
    True
    """

    _parameter_constraints = dict(_BasePC._parameter_constraints)

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *,
                 input_activation="identity", inference="alternating",
                 n_inference_steps="auto", inference_rate=0.1,
                 inference_tol=1e-2, weight_decay=0.001, feedback="tied", fit_intercept=True,
                 loss="log_loss", solver="adam",
                 learning_rate_init=0.001, momentum=0.9, batch_size="auto", max_iter=500,
                 tol=1e-4, shuffle=True, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, warm_start=False, random_state=None, verbose=False):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation,
            input_activation=input_activation, inference=inference,
            n_inference_steps=n_inference_steps, inference_rate=inference_rate,
            inference_tol=inference_tol, weight_decay=weight_decay, feedback=feedback,
            fit_intercept=fit_intercept,
            loss=loss, solver=solver, learning_rate_init=learning_rate_init, momentum=momentum,
            batch_size=batch_size, max_iter=max_iter, tol=tol, shuffle=shuffle,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change, warm_start=warm_start,
            random_state=random_state, verbose=verbose)

    def transform(self, X):
        """Hidden representation: the activity ``sigma(x[L-1])`` of the last hidden layer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        hidden : ndarray of shape (n_samples, n_units)
            Activity of the layer below the output at the discriminative
            equilibrium.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self._feedforward(X, len(self.coefs_) - 1, activity=True)

    @property
    def _n_features_out(self):
        """Number of units returned by :meth:`transform`."""
        return self.coefs_[-1].shape[0]
