"""The one training loop of every estimator (as ``BaseMixture.fit_predict`` and
``BaseMultilayerPerceptron._fit_stochastic`` are scikit-learn's).

:class:`_StochasticTrainingMixin` owns what ``fit`` and ``partial_fit`` share
across the families: which call starts afresh (``warm_start``), the
optimizer (rebuilt when ``solver`` changed between calls), the held-out split
and early stopping with the best epoch's arrays, epochs of (shuffled)
mini-batches, ``n_iter_`` / ``t_`` / ``loss_curve_``, ``verbose``, the
``ConvergenceWarning``, and the rollback that leaves the estimator as it was
when a call fails.  A family supplies the hooks below; everything it does
not override is shared.

Hooks (``targets`` is what a batch trains against, None for the autoencoders;
``labels`` what the validation split is stratified by and scored against)::

    _is_initialized()                           fitted arrays exist
    _check_training_data(X, y, reset, classes, incremental)  -> X, targets, labels
    _initialize_arrays(X, targets, rng)         fresh arrays (not the history)
    _learned_arrays()                           what the optimizer updates
    _batch_trainer(batch_size)                  context manager yielding
                                                train(X, targets, rng, progress) -> summed loss
    _validation_score(X_val, labels_val)        higher is better
    _end_epoch(n_samples), _finish(X, targets, rng, incremental)
    _ARRAYS                                     names restored from the best epoch
    _LOSS_NAME                                  how verbose names the loss
"""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_random_state

from ._chunks import epoch_batches, training_batch_size
from ._core._learning import OPTIMIZERS
from ._rollback import rollback_on_error


class _StochasticTrainingMixin:
    """``fit`` / ``partial_fit`` by epochs of mini-batches, for every family."""

    _ARRAYS = ()
    _LOSS_NAME = "loss"

    # -- hooks with a default ------------------------------------------------------
    def _optimizer_kwargs(self):
        """Keyword arguments of the optimizer besides its learning rate."""
        return {"momentum": self.momentum} if self.solver == "sgd" else {}

    def _sync_optimizers(self, reset):
        """Build the optimizer, or keep its state and take the current learning rate."""
        self._optimizer = self._synced(getattr(self, "_optimizer", None),
                                       self._learned_arrays(), reset)

    def _synced(self, optimizer, params, reset):
        """``optimizer`` with the current learning rate; a fresh one if ``reset``,
        if there is none, or if ``solver`` changed since it was built."""
        if reset or optimizer is None or type(optimizer) is not OPTIMIZERS[self.solver]:
            return OPTIMIZERS[self.solver](params, learning_rate_init=self.learning_rate_init,
                                           **self._optimizer_kwargs())
        optimizer.learning_rate_init = self.learning_rate_init
        if self.solver == "sgd":
            optimizer.momentum = self.momentum
        return optimizer

    def _end_epoch(self, n_samples):
        """Per-epoch statistics of a family."""

    def _finish(self, X, targets, rng, *, incremental):
        """Work after the epochs on all the training rows of the call (the autoencoders'
        prior, PCGenerator's class-conditional hidden states)."""

    def _snapshot_arrays(self):
        """Copies of the fitted arrays, kept from the best validation epoch."""
        return {name: None if getattr(self, name) is None
                else [a.copy() for a in getattr(self, name)] for name in self._ARRAYS}

    def _restore_arrays(self, snapshot):
        for name, arrays in snapshot.items():
            setattr(self, name, arrays)

    # -- the loop ----------------------------------------------------------------------
    def _reset_history(self):
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self._reset_stopping()

    def _reset_stopping(self):
        """The stopping criterion's history: the held-out scores with
        ``early_stopping``, else the best training loss."""
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_, self.best_validation_score_ = [], -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = self.best_validation_score_ = None
            self.best_loss_ = np.inf

    def _fit(self, X, y=None, *, incremental, classes=None):
        with rollback_on_error(self):
            return self._fit_unsafe(X, y, incremental=incremental, classes=classes)

    def _fit_unsafe(self, X, y, *, incremental, classes):
        """Body of :meth:`_fit`, which undoes it if it raises."""
        first_call = not self._is_initialized() or (not incremental and not self.warm_start)
        X, targets, labels = self._check_training_data(X, y, reset=first_call, classes=classes,
                                                      incremental=incremental)
        rng = check_random_state(self.random_state)
        if first_call:
            self._initialize_arrays(X, targets, rng)
            self._reset_history()
        elif not incremental:
            if self.early_stopping != (self.validation_scores_ is not None):
                # a warm fit that switched early_stopping since the last call: the
                # criterion has no history yet (n_iter_ and the loss curve go on)
                self._reset_stopping()
            # every fit has its own patience; the score (or loss) to beat carries over
            self._no_improvement_count = 0
        self._sync_optimizers(reset=first_call)
        dtype = self._model_dtype()
        X = X.astype(dtype, copy=False)
        if targets is not None:
            targets = targets.astype(dtype, copy=False)
        X_all, targets_all = X, targets
        validation = None
        if self.early_stopping and not incremental:
            X, targets, labels, validation = self._split_validation(X, targets, labels, rng)
            # the arrays the call starts from: a warm fit none of whose epochs beats
            # best_validation_score_ (that of an earlier fit) ends where it started
            self._best_arrays = self._snapshot_arrays()
        n_samples = X.shape[0]
        batch_size = training_batch_size(self.batch_size, n_samples, incremental)
        try:
            self._run_epochs(X, targets, rng, n_samples, batch_size, incremental, validation)
        finally:  # the best arrays are the call's, never kept on the estimator
            best = self.__dict__.pop("_best_arrays", None)
        if validation is not None:
            self._restore_arrays(best)
        self._finish(X_all, targets_all, rng, incremental=incremental)
        return self

    def _run_epochs(self, X, targets, rng, n_samples, batch_size, incremental, validation):
        """The epochs of one call (one for ``partial_fit``), until the stopping rule."""
        with self._batch_trainer(batch_size) as train_batch:
            for epoch in range(1 if incremental else self.max_iter):
                start = time.perf_counter()
                progress = None if incremental else epoch / self.max_iter
                total = 0.0
                for rows in epoch_batches(n_samples, batch_size, rng,
                                          self.shuffle and not incremental):
                    total += train_batch(X[rows], None if targets is None else targets[rows],
                                         rng, progress)
                self.n_iter_ += 1
                self.t_ += n_samples
                self.loss_ = total / n_samples
                self.loss_curve_.append(self.loss_)
                self._end_epoch(n_samples)
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, {self._LOSS_NAME} = {self.loss_:.8f}, "
                          f"{time.perf_counter() - start:.2f} s")
                if incremental or self._stop_now(validation):
                    break
            else:
                warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                              "reached and the optimization hasn't converged yet.",
                              ConvergenceWarning)

    def _split_validation(self, X, targets, labels, rng):
        """Hold out ``validation_fraction`` of the rows (stratified by the labels of a
        classifier); returns the training part and ``(X_val, labels_val)``."""
        arrays = [a for a in (X, targets, labels) if a is not None]
        parts = train_test_split(*arrays, random_state=rng, test_size=self.validation_fraction,
                                 stratify=self._stratify(labels))
        train, held_out = parts[0::2], parts[1::2]
        if held_out[0].shape[0] < 2:
            raise ValueError("The validation set is too small for early stopping; "
                             "increase validation_fraction or disable early_stopping.")
        X, rest = train[0], list(train[1:])
        targets = rest.pop(0) if targets is not None else None
        labels = rest.pop(0) if labels is not None else None
        return X, targets, labels, (held_out[0], held_out[-1] if labels is not None else None)

    def _stratify(self, labels):
        """Labels to stratify the validation split by (None: plain split)."""
        return None

    def _stop_now(self, validation):
        """Track the best epoch (as MLPClassifier does) and say whether to stop."""
        if validation is not None:
            score = self._validation_score(*validation)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:.6f}")
            improved = score > self.best_validation_score_ + self.tol
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_arrays = self._snapshot_arrays()
        else:
            improved = self.loss_ < self.best_loss_ - self.tol
            self.best_loss_ = min(self.best_loss_, self.loss_)
        self._no_improvement_count = 0 if improved else self._no_improvement_count + 1
        if self._no_improvement_count > self.n_iter_no_change:
            if self.verbose:
                criterion = ("Validation score" if validation is not None
                             else f"Training {self._LOSS_NAME}")
                print(f"{criterion} did not improve more than tol={self.tol} for "
                      f"{self.n_iter_no_change} consecutive epochs. Stopping.")
            return True
        return False
