"""PC-decay networks (Sun & Orchard 2020): one network that classifies and generates."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, check_random_state

from ._chunks import row_chunks
from ._core._relaxation import SCHEDULES, relax
from ._pc import _BasePC, class_indices

# Generated states beyond this magnitude mean the generative dynamics diverged.
_DIVERGED = 1e10
# Arrays as wide as the network that generation keeps per row (states, previous states,
# derivatives, predictions, errors, steps): sizes its chunks of rows.
_GENERATION_COPIES = 8

# Factor applied to the weight decay as a function of training progress p in [0, 1).
WEIGHT_DECAY_SCHEDULES = {
    "constant": lambda progress: 1.0,
    "linear": lambda progress: 1.0 - progress,
    "cosine": lambda progress: 0.5 * (1.0 + np.cos(np.pi * progress)),
}


class PCGenerator(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _BasePC):
    """Predictive-coding network trained with weight decay, generating inputs from labels.

    The PC-decay procedure of Sun & Orchard (2020), section 4:

    1. training: input and one-hot label clamped, weight decay on the forward
       and feedback weights (eq 3.12), no activity decay;
    2. discriminative mode: input clamped, no decay (``predict``,
       ``predict_proba``, ``transform``), exactly as :class:`PCClassifier`;
    3. generative mode: label clamped at the top, input free, weights fixed
       and activity decay ``lambda_x`` on every free layer (eq 3.11)::

           dx[l] = sigma'(x[l]) * (eps[l+1] @ W[l]) - eps[l] - lambda_x x[l]

       The settled bottom layer ``x[0]`` is the generated input.  For a linear
       network, weight decay makes ``M`` the minimum-norm solution of
       ``M X = Y`` and activity decay picks the minimum-norm ``x`` with
       ``M x = y``, which is the class prototype (theorem 1).

    ``generate`` and ``inverse_transform`` run the generative mode from zero
    states, so they give one input per top-layer state.  ``sample`` draws
    varied inputs: after training, each class's hidden states of the training
    data get a Gaussian, and a sample clamps the top hidden layer to a draw
    from its class's Gaussian and relaxes the layers below it.

    The defaults are chosen for ordinary data (those of
    :class:`PCClassifier`, no activity decay); the paper's network is
    ``hidden_layer_sizes=(600,), activation="tanh", input_activation=None,
    n_inference_steps=20, inference_tol=0.0, weight_decay=0.05,
    activity_decay=0.05, fit_intercept=False, loss="squared_error"``.

    Parameters
    ----------
    hidden_layer_sizes : int or array-like of int, default=(100,)
        Sizes of the hidden layers (an int: one hidden layer of that size;
        the paper's MNIST networks: ``(600,)`` and ``(600, 600)``).
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Activation of the hidden layers (the paper: ``"tanh"``).
    input_activation : {"identity", "tanh", "logistic", "relu"} or None, \
            default="identity"
        Activation of the input layer: ``"identity"`` predicts from the
        inputs themselves, as MLPClassifier does; None uses ``activation``,
        as Sun & Orchard's networks do (tanh on the pixels too).
    inference : {"alternating", "euler"}, default="alternating"
        Relaxation schedule during training (see :class:`PCClassifier`).
    n_inference_steps : int or "auto", default="auto"
        State updates per training batch (``"auto"``: one more than the
        hidden layers, see :class:`PCClassifier`; the paper settles for 20).
    inference_rate : float, default=0.1
        Training relaxation step, ``dt / tau``.
    inference_tol : float, default=1e-2
        Per-sample early exit of the training relaxation (see
        :class:`PCClassifier`); ``0`` settles every sample for
        ``n_inference_steps``, as the paper does.
    weight_decay : float, default=0.001
        ``lambda_M``, decay of the forward weights during training (eq 3.12;
        the paper: 0.05, which costs accuracy on small data).
    feedback_weight_decay : float or None, default=None
        ``lambda_W``, decay of the feedback weights; None uses
        ``weight_decay``.
    weight_decay_schedule : {"constant", "linear", "cosine"}, default="constant"
        How the decays change over the ``max_iter`` epochs: the paper keeps
        them constant; ``"linear"`` and ``"cosine"`` taper them to zero, as
        its discussion proposes, so that late epochs fit the labels without
        the decay's pull.  ``partial_fit`` always uses the full decay.
    activity_decay : float, default=0.0
        ``lambda_x`` of the generative mode (eq 3.11; the paper: 0.01 to
        0.05).  With a softmax top (``loss="log_loss"``) the decay pulls
        against logits that can never reach a one-hot vector, and ``sample``
        spreads less with it, so the default is 0.
    generation : {"alternating", "euler"}, default="alternating"
        Relaxation schedule of the generative mode.  Both reach the same fixed
        point; ``"euler"`` also integrates the error units (eq 2.2) as the
        paper's simulations do.
    n_generation_steps : int, default=3000
        State updates of the generative mode.
    generation_rate : float, default=0.1
        Generative step, ``dt / tau``.  ``n_generation_steps *
        generation_rate`` is the simulated time in units of ``tau``: the
        paper's 60 s at ``tau = 0.2`` s is 300.
    generation_tol : float, default=0.0
        Per-sample early exit of the ``"alternating"`` generation: a
        generated sample stops, and costs nothing more, once the largest
        component of its state update is at most ``generation_tol`` (it is
        then at the fixed point up to that tolerance).  ``0`` runs every
        sample for ``n_generation_steps``; ``"euler"`` ignores it.  On MNIST
        (the project's generation benchmark), ``1e-4`` generates 1.7 times
        faster with the same mean cosine to the class means, changing pixels
        by at most 1e-3; ``1e-3`` is 2.8 times faster.
    feedback : {"tied", "separate"}, default="tied"
        ``W = M.T``, or separate feedback weights with their own random start
        learned by eq 2.10 (the paper's network).  Separate weights align with
        ``M.T`` only as fast as the weight decay removes their initial
        difference; until they do, the generative dynamics can diverge (an
        error says so), hence the tied default.
    fit_intercept : bool, default=True
        Whether predictions carry a bias (the paper's networks have none).
    loss : {"log_loss", "squared_error"}, default="log_loss"
        Top prediction softmax (see :class:`PCClassifier`) or linear (the
        paper).  A softmax can never equal a clamped one-hot vector, so
        ``generate`` keeps pushing the logits against any activity decay;
        the linear top is the one the paper's analysis covers.
    solver : {"adam", "sgd"}, default="adam"
        Optimizer of the local updates.  The weight decay enters the gradient,
        so both optimizers share the fixed points of eq 3.12.
    learning_rate_init : float, default=0.001
        Learning rate.
    momentum : float, default=0.9
        Nesterov momentum of ``"sgd"``.
    batch_size : int or "auto", default="auto"
        Samples per update; ``"auto"`` is ``min(200, n_samples)``.
    max_iter : int, default=500
        Maximum number of epochs; training usually stops earlier, once the
        objective ``loss_`` stops improving by ``tol``.
    tol : float, default=1e-4
        Minimum improvement of the training energy (or validation accuracy)
        that resets the patience counter.
    shuffle : bool, default=True
        Shuffle samples every epoch.
    early_stopping : bool, default=False
        Stop on a held-out accuracy plateau and keep the best weights.
    validation_fraction : float in (0, 1), default=0.1
        Held-out fraction for early stopping.
    n_iter_no_change : int, default=10
        Patience, in epochs.
    warm_start : bool, default=False
        Continue from the previous weights on the next ``fit``, whose ``y``
        must hold the same classes.  With ``early_stopping``, a warm ``fit``
        ends at its best epoch, or with the weights it started from if no
        epoch beats ``best_validation_score_``.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, the validation split and, unless
        ``sample`` is given its own, the initial states of ``sample``.
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
        Feedback weights ``W[l]`` of shape ``(n_{l+1}, n_l)``.
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
    hidden_means_ : ndarray of shape (n_classes, n_units)
        Mean, per class, of the training inputs' states of the top hidden
        layer (of the output layer when there is no hidden layer) at the
        discriminative equilibrium: the Gaussian ``sample`` draws from.
        ``fit`` computes it after training; ``partial_fit`` adds each call's
        states to the earlier ones (computed with the weights of their time).
    hidden_covariances_ : ndarray of shape (n_classes, n_units, n_units)
        Their covariance per class (maximum likelihood, divided by the count).
    hidden_counts_ : ndarray of shape (n_classes,)
        Training samples behind each class's Gaussian.
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
    PCClassifier : the same network without decay.

    Notes
    -----
    Diverging dynamics raise a ``FloatingPointError`` naming the parameter to
    lower (``inference_rate`` or ``learning_rate_init``; ``generation_rate``
    when generating), and a failed fit leaves the estimator as it was.
    Inference and generation run in chunks of rows sized by scikit-learn's
    ``working_memory`` (``sklearn.config_context``), so their memory is
    bounded whatever the number of samples.

    References
    ----------
    Sun, W. & Orchard, J. (2020). A predictive-coding network that is both
    discriminative and generative. Neural Computation 32(10), 1836-1862.

    Examples
    --------
    >>> from sklearn_pc import PCGenerator
    >>> from sklearn_pc.datasets import make_class_prototypes
    >>> X, y, prototypes = make_class_prototypes(return_prototypes=True, random_state=0)
    >>> gen = PCGenerator(hidden_layer_sizes=(5,), activation="identity", max_iter=200,
    ...                   batch_size=20, learning_rate_init=0.01, random_state=0).fit(X, y)
    >>> gen.score(X, y)
    1.0
    >>> generated = gen.generate([0, 1, 2])
    >>> generated.shape
    (3, 10)
    """

    _parameter_constraints = {
        **_BasePC._parameter_constraints,
        "feedback_weight_decay": [None, Interval(Real, 0, None, closed="left")],
        "weight_decay_schedule": [StrOptions(set(WEIGHT_DECAY_SCHEDULES))],
        "activity_decay": [Interval(Real, 0, None, closed="left")],
        "generation": [StrOptions(set(SCHEDULES))],
        "n_generation_steps": [Interval(Integral, 1, None, closed="left")],
        "generation_rate": [Interval(Real, 0, None, closed="neither")],
        "generation_tol": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *,
                 input_activation="identity", inference="alternating",
                 n_inference_steps="auto", inference_rate=0.1,
                 inference_tol=1e-2, weight_decay=0.001, feedback_weight_decay=None,
                 weight_decay_schedule="constant", activity_decay=0.0,
                 generation="alternating", n_generation_steps=3000, generation_rate=0.1,
                 generation_tol=0.0, feedback="tied", fit_intercept=True,
                 loss="log_loss", solver="adam", learning_rate_init=0.001, momentum=0.9,
                 batch_size="auto", max_iter=500,
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
        self.feedback_weight_decay = feedback_weight_decay
        self.weight_decay_schedule = weight_decay_schedule
        self.activity_decay = activity_decay
        self.generation = generation
        self.n_generation_steps = n_generation_steps
        self.generation_rate = generation_rate
        self.generation_tol = generation_tol

    def _weight_decays(self, progress):
        factor = 1.0 if progress is None else WEIGHT_DECAY_SCHEDULES[self.weight_decay_schedule](
            progress)
        feedback_decay = (self.weight_decay if self.feedback_weight_decay is None
                          else self.feedback_weight_decay)
        return factor * self.weight_decay, factor * feedback_decay

    def transform(self, X):
        """Top-layer (class-side) states at the discriminative equilibrium.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_classes)
            Settled top layer ``x[L]``; close to the one-hot label of ``X``.
        """
        return self._output(X)

    @property
    def _n_features_out(self):
        return self.coefs_[-1].shape[1]

    def inverse_transform(self, Z):
        """Generate inputs by clamping the top layer to ``Z`` and relaxing.

        Every free state starts at zero, so the result is deterministic and
        each row depends on its own ``Z`` only.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_classes)
            Top-layer states, e.g. one-hot class vectors.

        Returns
        -------
        X_generated : ndarray of shape (n_samples, n_features)
            The settled input layer ``x[0]``.
        """
        check_is_fitted(self)
        dtype = self.coefs_[0].dtype
        Z = check_array(Z, dtype=[np.float64, np.float32], input_name="Z").astype(dtype,
                                                                                   copy=False)
        if Z.shape[1] != self.classes_.shape[0]:
            raise ValueError(f"Z has {Z.shape[1]} columns, but {type(self).__name__} has "
                             f"{self.classes_.shape[0]} top-layer units (one per class).")
        sizes = self._network().layer_sizes
        chunks = []
        for rows in row_chunks(Z.shape[0], self._row_bytes(_GENERATION_COPIES)):
            n_rows = Z[rows].shape[0]
            states = [np.zeros((n_rows, size), dtype=dtype) for size in sizes[:-1]] + [Z[rows]]
            chunks.append(self._relax_generative(states))
        return np.concatenate(chunks)

    def generate(self, y):
        """Generate one input per label: ``inverse_transform`` of its one-hot vector.

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            Labels, each in ``classes_``.

        Returns
        -------
        X_generated : ndarray of shape (n_samples, n_features)
            Generated inputs.
        """
        check_is_fitted(self)
        return self.inverse_transform(self._one_hot(y))

    # -- the class-conditional Gaussian of the hidden states ------------------------
    def _hidden_layer(self):
        """The layer ``sample`` draws: the top hidden one (the output without one)."""
        return max(len(self.coefs_) - 1, 1)

    def _finish(self, X, targets, rng, *, incremental):
        """Fit (``fit``) or update (``partial_fit``) the Gaussian of each class's
        hidden states at the discriminative equilibrium."""
        classes = np.argmax(targets, axis=1)
        hidden = self._feedforward(X, self._hidden_layer()).astype(np.float64)
        n_classes, n_units = self.classes_.shape[0], hidden.shape[1]
        counts = np.bincount(classes, minlength=n_classes).astype(np.float64)
        sums = np.zeros((n_classes, n_units))
        np.add.at(sums, classes, hidden)
        scatters = np.stack([hidden[classes == c].T @ hidden[classes == c]
                             for c in range(n_classes)])
        if incremental and hasattr(self, "hidden_counts_"):
            # running statistics: add this call's states to the earlier ones
            old = self.hidden_counts_[:, None]
            sums += old * self.hidden_means_
            scatters += old[:, :, None] * (
                self.hidden_covariances_
                + self.hidden_means_[:, :, None] * self.hidden_means_[:, None, :])
            counts += self.hidden_counts_
        safe = np.maximum(counts, 1.0)
        self.hidden_counts_ = counts
        self.hidden_means_ = sums / safe[:, None]
        self.hidden_covariances_ = (scatters / safe[:, None, None]
                                    - self.hidden_means_[:, :, None]
                                    * self.hidden_means_[:, None, :])
        # h = mean + z @ factor.T, z standard normal, has the covariance factor @ factor.T
        eigenvalues, vectors = np.linalg.eigh(self.hidden_covariances_)
        self._hidden_factors = vectors * np.sqrt(np.maximum(eigenvalues, 0.0))[:, None, :]

    def sample(self, n_samples=1, *, y=None, init="hidden", random_state=None):
        """Generate random inputs of given classes.

        With ``init="hidden"`` (the default), each sample draws the state of
        the top hidden layer (of the output layer when there is no hidden
        layer) from the Gaussian of its class fitted to the training data's
        hidden states at the discriminative equilibrium (``hidden_means_``,
        ``hidden_covariances_``), clamps that layer to it and relaxes the
        layers below it from zero, with activity decay, as in the generative
        mode.  The samples thus vary as the training inputs of the class do,
        seen through the network.  On digits behind MinMaxScaler, a
        LogisticRegression trained on the real digits recognised 99 % of the
        defaults' samples as their class, and they spread within their class
        nearly as much as real digits do (the user guide's "Generation with
        decay" gives the numbers and how they were measured).

        ``init="normal"`` and ``init="zeros"`` are Sun & Orchard's generative
        mode instead: the one-hot label clamped at the top and every free
        state (and, with ``generation="euler"``, error unit) starting
        standard normal, or at zero.  With activity decay these settle to the
        one fixed point of each class, so they vary only as far as the
        relaxation has not settled.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        y : label, array-like of shape (n_samples,) or None, default=None
            Classes to generate: one label for all samples, one label per
            sample, or None for classes in turn (``classes_[i % n_classes]``).
        init : {"hidden", "normal", "zeros"}, default="hidden"
            Source of the samples' variety, as described above.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws; None uses the estimator's ``random_state``.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Generated inputs.
        y : ndarray of shape (n_samples,)
            Their classes, elements of ``classes_`` (as
            :meth:`sklearn.mixture.GaussianMixture.sample` returns its components).
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        if init not in ("hidden", "normal", "zeros"):
            raise ValueError(f"init must be 'hidden', 'normal' or 'zeros', got {init!r}.")
        if y is None:
            y = self.classes_[np.arange(n_samples) % self.classes_.shape[0]]
        elif np.ndim(y) == 0:
            y = np.full(n_samples, y)  # its own type: a label no class matches is an error
        if np.shape(y) != (n_samples,):
            raise ValueError(f"y must hold one label or n_samples={n_samples} labels, "
                             f"got shape {np.shape(y)}.")
        top = self._one_hot(y)
        y = self.classes_[np.argmax(top, axis=1)]
        rng = check_random_state(self.random_state if random_state is None else random_state)
        if init == "hidden":
            return self._sample_hidden(np.argmax(top, axis=1), rng), y
        dtype = self.coefs_[0].dtype
        sizes = self._network().layer_sizes
        # Each row draws its initial free states (and error units) in one go, row after
        # row, so the draws do not depend on how the rows are chunked.
        widths = sizes[:-1] + (sizes[1:] if self.generation == "euler" else [])
        chunks = []
        for rows in row_chunks(n_samples, self._row_bytes(_GENERATION_COPIES)):
            n_rows = top[rows].shape[0]
            if init == "zeros":
                draws = np.zeros((n_rows, sum(widths)), dtype=dtype)
            else:
                draws = rng.standard_normal((n_rows, sum(widths))).astype(dtype)
            initial = np.split(draws, np.cumsum(widths)[:-1], axis=1)
            states = initial[:len(sizes) - 1] + [top[rows]]
            errors = [None] + initial[len(sizes) - 1:] if self.generation == "euler" else None
            chunks.append(self._relax_generative(states, errors))
        return np.concatenate(chunks), y

    def _sample_hidden(self, classes, rng):
        """Inputs generated below hidden states drawn from each class's Gaussian."""
        dtype = self.coefs_[0].dtype
        layer = self._hidden_layer()
        network = self._network(top=layer)
        sizes = network.layer_sizes
        chunks = []
        for rows in row_chunks(classes.shape[0], self._row_bytes(_GENERATION_COPIES)):
            rows_classes = classes[rows]
            hidden = rng.standard_normal((rows_classes.shape[0], sizes[-1]))
            for c in np.unique(rows_classes):
                of_class = rows_classes == c
                hidden[of_class] = (self.hidden_means_[c]
                                    + hidden[of_class] @ self._hidden_factors[c].T)
            hidden = hidden.astype(dtype)
            states = [np.zeros((hidden.shape[0], size), dtype=dtype)
                      for size in sizes[:-1]] + [hidden]
            chunks.append(self._relax_generative(states, network=network))
        return np.concatenate(chunks)

    def _one_hot(self, y):
        eye = np.eye(self.classes_.shape[0], dtype=self.coefs_[0].dtype)
        return eye[class_indices(self.classes_, y)]

    def _relax_generative(self, states, errors=None, network=None):
        """Top clamped, bottom free, activity decay on: return the settled ``x[0]``."""
        relax(self._network() if network is None else network, states, clamp_bottom=False,
              clamp_top=True,
              schedule=self.generation, n_steps=self.n_generation_steps,
              rate=self.generation_rate, activity_decay=self.activity_decay, errors=errors,
              tol=self.generation_tol if self.generation == "alternating" else 0.0)
        if not np.all(np.abs(states[0]) < _DIVERGED):
            raise FloatingPointError(
                "The generative relaxation diverged (states beyond 1e10). Lower "
                f"generation_rate (now {self.generation_rate}); with feedback='separate', "
                "train longer or with more weight decay so that W aligns with M.T.")
        return states[0]
