"""The one training loop (sklearn_pc._base) as every estimator uses it."""

import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits

from sklearn_pc import (
    AdversarialAutoencoder,
    BackpropAutoencoder,
    GNCNAutoencoder,
    PCClassifier,
    PCGenerator,
    VariationalAutoencoder,
)

X, Y = load_digits(return_X_y=True)
X, Y = X[:200] / 16, Y[:200]

ESTIMATORS = {
    "PCClassifier": PCClassifier(hidden_layer_sizes=(16,), max_iter=2, batch_size=50,
                                 random_state=0),
    "PCGenerator": PCGenerator(hidden_layer_sizes=(16,), n_inference_steps=5, max_iter=2,
                               batch_size=50, n_generation_steps=20, random_state=0),
    "GNCNAutoencoder": GNCNAutoencoder("t2-lsigma", latent_sizes=(8, 4), n_inference_steps=5,
                                       n_groups=2, max_iter=2, batch_size=50,
                                       n_prior_components=2, n_mc_samples=10, random_state=0),
    "BackpropAutoencoder": BackpropAutoencoder(3, hidden_layer_sizes=(8,), max_iter=2,
                                               batch_size=50, n_prior_components=2,
                                               n_mc_samples=10, random_state=0),
    "VariationalAutoencoder": VariationalAutoencoder(3, hidden_layer_sizes=(8,), max_iter=2,
                                                     batch_size=50, n_prior_components=2,
                                                     n_mc_samples=10, random_state=0),
    "AdversarialAutoencoder": AdversarialAutoencoder(3, hidden_layer_sizes=(8,),
                                                     discriminator_hidden_layer_sizes=(4,),
                                                     max_iter=2, batch_size=50,
                                                     n_prior_components=2, n_mc_samples=10,
                                                     random_state=0),
}
SUPERVISED = {"PCClassifier", "PCGenerator"}


def fit(model, name, **kw):
    return model.fit(X, Y, **kw) if name in SUPERVISED else model.fit(X, **kw)


def weights(model):
    for name in ("coefs_", "weights_", "decoder_coefs_"):
        if hasattr(model, name):
            return [w.copy() for w in getattr(model, name)]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_warm_start_continues_where_the_last_fit_stopped(name):
    """Two warm-started fits of 2 epochs continue one another: 4 epochs in all, the
    second starting from the first's weights (not from a fresh initialisation)."""
    warm = fit(clone(ESTIMATORS[name]).set_params(warm_start=True), name)
    first = weights(warm)
    fit(warm, name)
    assert warm.n_iter_ == 4 and len(warm.loss_curve_) == 4
    cold = fit(clone(ESTIMATORS[name]), name)
    assert all(np.array_equal(a, b) for a, b in zip(first, weights(cold)))
    fit(cold, name)  # without warm_start, the same call starts over
    assert cold.n_iter_ == 2
    assert all(np.array_equal(a, b) for a, b in zip(first, weights(cold)))
    assert not all(np.array_equal(a, b) for a, b in zip(first, weights(warm)))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_verbose_prints_each_epochs_time(name, capsys):
    fit(clone(ESTIMATORS[name]).set_params(verbose=True), name)
    lines = capsys.readouterr().out.splitlines()
    epochs = [line for line in lines if line.startswith("Iteration")]
    assert len(epochs) == 2
    assert all(re.search(r"= [-0-9.e+]+, [0-9.]+ s$", line) for line in epochs)
    if name not in SUPERVISED:  # the prior's fit gets a line of its own
        assert any(re.match(r"Prior: 2 full-covariance components on 200 latents .* s$", line)
                   for line in lines)


@pytest.mark.parametrize("name", sorted(set(ESTIMATORS) - SUPERVISED))
def test_too_many_prior_components_warn(name):
    with pytest.warns(UserWarning, match="n_prior_components=300 is more than the 200 rows"):
        fit(clone(ESTIMATORS[name]).set_params(n_prior_components=300, max_iter=1), name)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_an_int_layer_size_means_one_layer(name):
    """As in MLPClassifier, ``hidden_layer_sizes=16`` is ``(16,)``."""
    param = "latent_sizes" if name == "GNCNAutoencoder" else "hidden_layer_sizes"
    as_int = fit(clone(ESTIMATORS[name]).set_params(**{param: 16}), name)
    as_tuple = fit(clone(ESTIMATORS[name]).set_params(**{param: (16,)}), name)
    for a, b in zip(weights(as_int), weights(as_tuple)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", sorted(set(ESTIMATORS) - SUPERVISED))
def test_early_stopping_keeps_the_epoch_that_reconstructs_held_out_data_best(name):
    """The validation score is minus the held-out BCE (at most 0, higher is better), and
    the weights kept are those of the best epoch: a fit that stops right after that epoch
    ends with the same weights."""
    params = dict(early_stopping=True, validation_fraction=0.2, n_iter_no_change=2,
                  max_iter=12, shuffle=False)
    model = fit(clone(ESTIMATORS[name]).set_params(**params), name)
    scores = np.array(model.validation_scores_)
    assert np.all(scores <= 0) and model.best_validation_score_ == scores.max()
    best = int(np.argmax(scores)) + 1
    again = fit(clone(ESTIMATORS[name]).set_params(**{**params, "max_iter": best,
                                                       "n_iter_no_change": 100}), name)
    for a, b in zip(weights(model), weights(again)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_a_warm_fit_that_never_beats_the_best_score_ends_where_it_started(name):
    """With early stopping, ``best_validation_score_`` carries over to a warm fit: an
    epoch must beat it to be kept, and a fit none of whose epochs does ends with the
    weights it started from (the best so far), not a crash nor its last epoch's."""
    params = dict(early_stopping=True, validation_fraction=0.2, warm_start=True)
    model = fit(clone(ESTIMATORS[name]).set_params(**params), name)
    start = every_array(model)
    model.best_validation_score_ = np.inf  # a bar no epoch can pass
    fit(model, name)
    assert model.n_iter_ == 4 and len(model.validation_scores_) == 4
    assert all(np.array_equal(a, b) for a, b in zip(start, every_array(model), strict=True))
    assert not hasattr(model, "_best_arrays")  # the call's copies are not kept
    model.best_validation_score_ = -np.inf  # any epoch beats it: the fit moves on
    fit(model, name)
    assert model.best_validation_score_ == max(model.validation_scores_[4:])
    assert not all(np.array_equal(a, b) for a, b in zip(start, every_array(model)))


def every_array(model):
    """Copies of every array the best epoch's snapshot holds (weights, biases,
    feedback, precisions, discriminator...)."""
    return [a.copy() for arrays in model._snapshot_arrays().values() if arrays is not None
            for a in arrays]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_every_fit_has_its_own_patience(name):
    """A warm fit starts its ``n_iter_no_change`` count afresh: after a fit stopped by
    patience, the next one still runs ``n_iter_no_change + 1`` epochs before stopping."""
    model = clone(ESTIMATORS[name]).set_params(early_stopping=True, validation_fraction=0.2,
                                               n_iter_no_change=1, max_iter=3, warm_start=True)
    fit(model, name)
    model.best_validation_score_ = np.inf  # no epoch improves: patience alone stops
    fit(model, name)
    assert model.n_iter_ == 5  # stopped by patience after 2 epochs, before max_iter
    fit(model, name)
    assert model.n_iter_ == 7


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_a_warm_fit_may_switch_early_stopping(name):
    """Turning ``early_stopping`` on or off between warm fits starts the criterion's
    history afresh (the epochs and the loss curve go on)."""
    model = fit(clone(ESTIMATORS[name]).set_params(warm_start=True), name)
    assert model.validation_scores_ is None
    fit(model.set_params(early_stopping=True, validation_fraction=0.2), name)
    assert model.n_iter_ == 4 and len(model.validation_scores_) == 2
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert model.best_loss_ is None
    fit(model.set_params(early_stopping=False), name)
    assert model.n_iter_ == 6 and len(model.loss_curve_) == 6
    assert model.validation_scores_ is None and model.best_validation_score_ is None
    assert model.best_loss_ == min(model.loss_curve_[4:])
