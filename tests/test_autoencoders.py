"""The backprop baselines (RAE, GVAE, GVAE-CV, GAN-AE): gradients, training, protocols."""

import pickle

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state

from sklearn_pc import (
    AdversarialAutoencoder,
    BackpropAutoencoder,
    GNCNAutoencoder,
    VariationalAutoencoder,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

BASELINES = {
    "RAE": (BackpropAutoencoder, {}),
    "GVAE": (VariationalAutoencoder, {}),
    "GVAE-CV": (VariationalAutoencoder, {"fixed_variance": 0.3}),
    "GAN-AE": (AdversarialAutoencoder, {"discriminator_hidden_layer_sizes": (5,)}),
}

X_DIGITS = load_digits().data / 16


def tiny(name, X=None, **params):
    """A tiny float64 baseline on 7 features (hidden (6, 4), 3 latents), one epoch."""
    cls, extra = BASELINES[name]
    if X is None:
        X = np.random.default_rng(0).uniform(size=(20, 7))
    defaults = {"n_components": 3, "hidden_layer_sizes": (6, 4), "activation": "tanh",
                "weight_decay": 0.1, "max_iter": 1, "batch_size": 10, "n_prior_components": 2,
                "n_mc_samples": 30, "random_state": 0}
    return cls(**{**defaults, **extra, **params}).fit(X), X


def numerical_gradients(loss, params, eps=1e-6):
    """Central finite differences of ``loss()`` in every entry of every array."""
    grads = []
    for param in params:
        grad = np.empty_like(param)
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + eps
            up = loss()
            param[index] = saved - eps
            down = loss()
            param[index] = saved
            grad[index] = (up - down) / (2 * eps)
        grads.append(grad)
    return grads


@pytest.mark.parametrize("incomplete", [False, True])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("name", sorted(BASELINES))
def test_gradients_match_finite_differences(name, likelihood, incomplete):
    """Encoder and decoder gradients of every baseline's loss (the VAE's with its noise
    fixed; the adversarial term through a fixed discriminator), for both decoders, and
    with the reconstruction loss masked to the observed entries."""
    model, X = tiny(name, likelihood=likelihood)
    noise = np.random.default_rng(1).standard_normal((len(X), 3))
    observed = np.random.default_rng(2).uniform(size=X.shape) < 0.7 if incomplete else None
    if incomplete:
        X = X * observed  # missing entries enter the encoder as 0
    _, grads = model._loss_gradients(X, noise, observed)
    params = model._params()
    assert len(grads) == len(params) == 2 * (3 + 3)
    expected = numerical_gradients(lambda: model._loss_gradients(X, noise, observed)[0],
                                   params)
    for grad, numeric in zip(grads, expected):
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def test_discriminator_gradients_match_finite_differences():
    model, _ = tiny("GAN-AE")
    rng = np.random.default_rng(2)
    Z, Z_prior = rng.standard_normal((9, 3)), rng.standard_normal((9, 3))
    _, grads = model._discriminator_loss_gradients(Z, Z_prior)
    params = model._discriminator().params
    expected = numerical_gradients(
        lambda: model._discriminator_loss_gradients(Z, Z_prior)[0], params)
    for grad, numeric in zip(grads, expected):
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def test_loss_values_match_their_equations():
    """The RAE loss and the VAE's -ELBO, written out in numpy."""
    model, X = tiny("GVAE", weight_decay=0.5)
    noise = np.random.default_rng(1).standard_normal((len(X), 3))
    tanh = np.tanh
    (W1, W2, W3), (b1, b2, b3) = model.encoder_coefs_, model.encoder_intercepts_
    out = tanh(tanh(X @ W1 + b1) @ W2 + b2) @ W3 + b3
    mu, log_var = out[:, :3], out[:, 3:]
    Z = mu + np.exp(0.5 * log_var) * noise
    (V1, V2, V3), (c1, c2, c3) = model.decoder_coefs_, model.decoder_intercepts_
    p = expit(tanh(tanh(Z @ V1 + c1) @ V2 + c2) @ V3 + c3)
    bce = -(X * np.log(p) + (1 - X) * np.log(1 - p)).sum(axis=1)
    kl = 0.5 * (mu**2 + np.exp(log_var) - log_var - 1).sum(axis=1)
    penalty = 0.25 * sum((V**2).sum() for V in (V1, V2, V3))
    assert model._loss_gradients(X, noise)[0] == pytest.approx((bce + kl).mean() + penalty,
                                                                rel=1e-10)
    np.testing.assert_allclose(model.transform(X), mu, rtol=1e-12)


def test_gaussian_loss_is_the_negative_log_density_of_a_unit_variance_decoder():
    """The RAE loss with likelihood="gaussian": linear output, Gaussian NLL, penalty."""
    X = np.random.default_rng(3).normal(size=(20, 7)) * 3 - 1  # any real data
    model, _ = tiny("RAE", X, likelihood="gaussian", weight_decay=0.5)
    tanh = np.tanh
    (W1, W2, W3), (b1, b2, b3) = model.encoder_coefs_, model.encoder_intercepts_
    Z = tanh(tanh(X @ W1 + b1) @ W2 + b2) @ W3 + b3
    (V1, V2, V3), (c1, c2, c3) = model.decoder_coefs_, model.decoder_intercepts_
    mean = tanh(tanh(Z @ V1 + c1) @ V2 + c2) @ V3 + c3
    nll = -stats.multivariate_normal(np.zeros(7), np.eye(7)).logpdf(X - mean)
    penalty = 0.25 * sum((V**2).sum() for V in (V1, V2, V3))
    assert model._loss_gradients(X, None)[0] == pytest.approx(nll.mean() + penalty, rel=1e-10)
    np.testing.assert_allclose(model.reconstruct(X), mean, rtol=1e-12)
    np.testing.assert_allclose(model._validation_score(X, None), -nll.mean(), rtol=1e-12)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_masked_loss_sums_the_observed_entries(likelihood):
    """The RAE loss on incomplete rows: the missing entries enter the encoder as the
    feature means of the training data and the reconstruction loss sums the observed
    entries only (Gaussian: ``D_obs log(2 pi) / 2``); so do the training loss and the
    early-stopping score."""
    rng = np.random.default_rng(3)
    X = rng.uniform(size=(20, 7))
    observed = rng.uniform(size=X.shape) < 0.7
    holes = np.where(observed, X, np.nan)
    model, _ = tiny("RAE", holes, likelihood=likelihood, weight_decay=0.5)
    means = np.array([X[observed[:, j], j].mean() for j in range(7)])
    np.testing.assert_allclose(model.feature_means_, means, rtol=1e-12)
    filled = np.where(observed, X, means)
    tanh = np.tanh
    (W1, W2, W3), (b1, b2, b3) = model.encoder_coefs_, model.encoder_intercepts_
    Z = tanh(tanh(filled @ W1 + b1) @ W2 + b2) @ W3 + b3
    (V1, V2, V3), (c1, c2, c3) = model.decoder_coefs_, model.decoder_intercepts_
    logits = tanh(tanh(Z @ V1 + c1) @ V2 + c2) @ V3 + c3
    if likelihood == "bernoulli":
        p = expit(logits)
        per_entry = -(X * np.log(p) + (1 - X) * np.log(1 - p))
    else:
        per_entry = 0.5 * (X - logits) ** 2 + 0.5 * np.log(2 * np.pi)
    loss = (per_entry * observed).sum(axis=1).mean()
    penalty = 0.25 * sum((V**2).sum() for V in (V1, V2, V3))
    got = model._loss_gradients(filled, None, observed)[0]
    assert got == pytest.approx(loss + penalty, rel=1e-10)
    assert not np.isclose(got, per_entry.sum(axis=1).mean() + penalty)
    # the early-stopping score: observed entries of the reconstruction of the completion
    completed = model.complete(holes)
    score = model._reconstruction_log_likelihood(completed * observed,
                                                 model.reconstruct(completed), observed)
    np.testing.assert_allclose(model._validation_score(holes, None), score.mean(),
                               rtol=1e-12)
    # an epoch of one batch reports the same loss, before its update
    assert model.set_params(batch_size=20).partial_fit(holes).loss_ == pytest.approx(
        loss + penalty, rel=1e-10)


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_a_feature_missing_from_a_batch_sends_no_learning_signal(name):
    """Feature 3 missing in every row of a batch (left out of the loss): the decoder's
    weights and intercept of output 3 get exactly zero gradient and, in one SGD step
    without momentum, stay exactly as they were while the rest learns (no weight
    decay, which would shrink them).  The encoder's weights from input 3 do learn: they
    see the constant fill ``feature_means_[3]``."""
    model, X = tiny(name, weight_decay=0.0)
    holes = X.copy()
    holes[:, 3] = np.nan
    observed = ~np.isnan(holes)
    noise = np.random.default_rng(1).standard_normal((len(X), 3))
    _, grads = model._loss_gradients(model._training_entries(holes)[0], noise, observed)
    n_layers = len(model.encoder_coefs_)
    decoder_out, decoder_intercept = grads[3 * n_layers - 1], grads[-1]
    assert np.all(decoder_out[:, 3] == 0) and decoder_intercept[3] == 0
    assert np.abs(decoder_out).max() > 0 and np.abs(grads[0][3]).max() > 0

    before = [w.copy() for w in model._params()]
    model.set_params(solver="sgd", momentum=0.0, batch_size=len(X)).partial_fit(holes)
    after = model._params()
    for index, part in [(3 * n_layers - 1, np.s_[:, 3]), (-1, np.s_[3])]:
        np.testing.assert_array_equal(after[index][part], before[index][part])
    assert not np.allclose(after[3 * n_layers - 1], before[3 * n_layers - 1])
    assert not np.allclose(after[-1], before[-1])


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_gaussian_baselines_fit_standardised_digits_and_beat_the_training_mean(name):
    """On StandardScaler output (values outside [0, 1]) the held-out squared error of
    the reconstruction is below that of the training mean, and the loss falls."""
    X_train, X_test = train_test_split(load_digits().data, test_size=0.25, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    cls, extra = BASELINES[name]
    model = cls(n_components=8, hidden_layer_sizes=(64,), likelihood="gaussian", max_iter=20,
                n_prior_components=3, n_mc_samples=100, random_state=0,
                **extra).fit(X_train)
    baseline = ((X_test - X_train.mean(axis=0)) ** 2).sum(axis=1).mean()
    error = ((X_test - model.reconstruct(X_test)) ** 2).sum(axis=1).mean()
    assert error < 0.8 * baseline
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    assert np.isfinite(model.score_samples(X_test)).all()


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("name", sorted(BASELINES))
def test_pickle_round_trip(name, likelihood):
    model, X = tiny(name, likelihood=likelihood)
    restored = pickle.loads(pickle.dumps(model))
    for method in ("transform", "reconstruct", "score_samples"):
        np.testing.assert_array_equal(getattr(restored, method)(X), getattr(model, method)(X))
    np.testing.assert_array_equal(restored.sample(3)[0], model.sample(3)[0])


GNCN_VARIANTS = ("t1", "t1-sigma", "t2-lsigma", "pdh")


@pytest.mark.parametrize("name", [*sorted(BASELINES), *(f"GNCN {v}" for v in GNCN_VARIANTS)])
def test_gaussian_score_samples_is_a_normalised_density_in_one_dimension(name):
    """For every autoencoder: with one feature, exp(score_samples) integrates to 1 over
    the real line, and each score is the mean over the prior draws of scipy's
    unit-variance normal density."""
    x = np.random.default_rng(4).normal(size=(40, 1)) * 2 + 3
    if name.startswith("GNCN"):
        model = GNCNAutoencoder(name.split()[1], latent_sizes=(4, 3), likelihood="gaussian",
                                n_inference_steps=4, n_groups=2, max_iter=2, batch_size=20,
                                n_prior_components=2, n_mc_samples=25, random_state=0).fit(x)
    else:
        model, _ = tiny(name, x, likelihood="gaussian", n_mc_samples=25)
    grid = np.linspace(-40, 50, 9001)[:, None]
    density = np.exp(model.score_samples(grid))
    assert np.trapezoid(density, grid[:, 0]) == pytest.approx(1.0, rel=1e-6)
    means = np.concatenate([model._decode(Z) for Z, _ in model._draw_prior(
        25, np.random.RandomState(model._mc_seed))])[:, 0]
    expected = np.log(stats.norm.pdf(x - means[None, :]).mean(axis=1))
    np.testing.assert_allclose(model.score_samples(x), expected, rtol=1e-10)


def test_vae_elbo_on_held_out_digits_improves_with_training():
    X_train, X_test = train_test_split(X_DIGITS, test_size=0.2, random_state=0)
    model = VariationalAutoencoder(n_components=8, hidden_layer_sizes=(64,), weight_decay=0.0,
                                   max_iter=15, n_prior_components=5, n_mc_samples=100,
                                   random_state=0)
    noise = np.random.default_rng(0).standard_normal((len(X_test), 8))
    model._initialize(64, np.dtype(np.float64), check_random_state(0))
    at_init = model._loss_gradients(X_test, noise)[0]
    model.fit(X_train)
    trained = model._loss_gradients(X_test, noise)[0]
    assert trained < 0.75 * at_init
    assert model.loss_curve_[-1] < model.loss_curve_[0]


def test_adversarial_updates_both_networks_and_the_discriminator_learns():
    X = X_DIGITS
    model = AdversarialAutoencoder(n_components=4, hidden_layer_sizes=(32,),
                                   discriminator_hidden_layer_sizes=(16,), max_iter=1,
                                   batch_size=32, n_prior_components=2, n_mc_samples=20,
                                   random_state=0).fit(X)
    discriminator = [w.copy() for w in model.discriminator_coefs_]
    encoder = [w.copy() for w in model.encoder_coefs_]
    model.partial_fit(X)
    assert all(not np.array_equal(a, b) for a, b in zip(discriminator,
                                                         model.discriminator_coefs_))
    assert all(not np.array_equal(a, b) for a, b in zip(encoder, model.encoder_coefs_))
    assert np.isfinite(model.discriminator_loss_)
    # The discriminator tells codes (label 0) from prior draws (label 1) better than
    # chance: balanced accuracy above 1/2, log-loss below 2 log 2.
    codes = model.transform(X)
    prior = np.random.default_rng(0).standard_normal(codes.shape)
    discriminator = model._discriminator()
    accuracy = (np.mean(discriminator.predict(codes)[:, 0] < 0)
                + np.mean(discriminator.predict(prior)[:, 0] > 0)) / 2
    assert accuracy > 0.6
    assert model._discriminator_loss_gradients(codes, prior)[0] < 2 * np.log(2)


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_float32_is_preserved(name):
    model, X = tiny(name)
    X32 = X.astype(np.float32)
    model32 = type(model)(**model.get_params()).fit(X32)
    arrays = [*model32._params(), *getattr(model32, "discriminator_coefs_", [])]
    assert all(a.dtype == np.float32 for a in arrays)
    Z = model32.transform(X32)
    outputs = [Z, model32.reconstruct(X32), model32.complete(X32, [1, 0] * 3 + [1]),
               model32.inverse_transform(Z), model32.inverse_transform(Z.astype(np.float64)),
               model32.sample(2)[0], model32.score_samples(X32)]
    assert all(out.dtype == np.float32 for out in outputs)
    np.testing.assert_allclose(Z, model.transform(X), rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_transform_is_per_sample_deterministic(name):
    model, _ = tiny(name, X_DIGITS[:100], activation="relu", max_iter=3)
    X = X_DIGITS[100:130]
    Z = model.transform(X)
    np.testing.assert_allclose([model.transform(x[None])[0] for x in X], Z, rtol=1e-12,
                               atol=1e-14)
    np.testing.assert_array_equal(model.transform(X), Z)
    np.testing.assert_allclose(model.reconstruct(X), model.inverse_transform(Z), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_complete_changes_only_the_masked_pixels(name):
    model, _ = tiny(name, X_DIGITS[:300], activation="relu", max_iter=10, batch_size=50)
    observed = np.tile(np.arange(8) < 4, 8)
    X = X_DIGITS[300:350]
    completed = model.complete(X, observed)
    np.testing.assert_array_equal(completed[:, observed], X[:, observed])
    assert np.all((completed >= 0) & (completed <= 1))
    scrambled = np.where(observed, X, 1 - X)  # occluded values are never read
    np.testing.assert_array_equal(model.complete(scrambled, observed), completed)
    for placeholder in (-1.0, 99.0, np.inf, np.nan):  # nor checked, whatever they hold
        np.testing.assert_array_equal(
            model.complete(np.where(observed, X, placeholder), observed), completed)
    np.testing.assert_array_equal(model.complete(X, np.tile(observed, (50, 1))), completed)
    # One step from zeros is the reconstruction of the zero-filled image.
    one = model.set_params(n_completion_steps=1).complete(X, observed)
    np.testing.assert_allclose(one[:, ~observed], model.reconstruct(X * observed)[:, ~observed])


def test_score_samples_equals_a_direct_numpy_evaluation():
    model, X = tiny("RAE", n_mc_samples=50)
    gmm = model.prior_
    # The S prior draws, as GNCNAutoencoder documents them: components, then normals.
    rng = np.random.RandomState(model._mc_seed)
    weights = gmm.weights_ / gmm.weights_.sum()
    components = rng.choice(len(weights), size=50, p=weights)
    noise = rng.standard_normal((50, gmm.means_.shape[1]))
    Z = np.stack([gmm.means_[k] + np.linalg.cholesky(gmm.covariances_[k]) @ eps
                  for k, eps in zip(components, noise)])
    (V1, V2, V3), (c1, c2, c3) = model.decoder_coefs_, model.decoder_intercepts_
    p = expit(np.tanh(np.tanh(Z @ V1 + c1) @ V2 + c2) @ V3 + c3)
    np.testing.assert_allclose(model.inverse_transform(Z), p, rtol=1e-12)
    p = np.clip(p, 1e-7, 1 - 1e-7)
    log_px_given_z = (X[:, None, :] * np.log(p) + (1 - X[:, None, :]) * np.log(1 - p)).sum(-1)
    expected = np.log(np.exp(log_px_given_z).mean(axis=1))  # logsumexp - log S
    np.testing.assert_allclose(model.score_samples(X), expected, rtol=1e-10)
    assert model.score(X) == pytest.approx(expected.mean())
    # The prior is fitted on the codes of the training data.
    assert gmm.means_.shape == (2, 3)


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_partial_fit_runs_one_epoch_and_drops_the_prior_until_fit_prior(name):
    model, X = tiny(name)
    first = model.decoder_coefs_[0].copy()
    model.partial_fit(X[:10])
    assert model.n_iter_ == 2 and model.t_ == 30 and len(model.loss_curve_) == 2
    assert not np.array_equal(model.decoder_coefs_[0], first)
    with pytest.raises(NotFittedError, match="fit_prior"):
        model.sample(2)
    with pytest.raises(NotFittedError, match="fit_prior"):
        model.score_samples(X)
    decoder = [w.copy() for w in model.decoder_coefs_]
    model.fit_prior(X)
    assert all(np.array_equal(a, b) for a, b in zip(decoder, model.decoder_coefs_))
    assert model.prior_.means_.shape[0] == min(model.n_prior_components, X.shape[0])
    assert np.isfinite(model.score_samples(X)).all()


def test_early_stopping_keeps_the_best_validation_weights():
    model = BackpropAutoencoder(n_components=4, hidden_layer_sizes=(16,), max_iter=6,
                                early_stopping=True, n_iter_no_change=2,
                                n_prior_components=2, random_state=0).fit(X_DIGITS[:300])
    assert len(model.validation_scores_) == model.n_iter_
    assert model.best_validation_score_ == max(model.validation_scores_)


def test_default_architecture_has_the_papers_parameter_budget():
    """784-500-500-20 encoder and mirrored decoder: about 1.3 M synapses (paper: <= 1.4 M)."""
    model = BackpropAutoencoder()
    model._initialize(784, np.dtype(np.float32), check_random_state(0))
    n_synapses = model._encoder().n_synapses() + model._decoder().n_synapses()
    assert 1.25e6 < n_synapses < 1.4e6
    assert [w.shape for w in model.decoder_coefs_] == [(20, 500), (500, 500), (500, 784)]


def test_divergence_names_learning_rate_init_and_changes_nothing():
    model, X = tiny("RAE", X_DIGITS[:200], activation="relu", solver="sgd",
                    learning_rate_init=1e-3)
    before = [w.copy() for w in model._params()]
    model.set_params(learning_rate_init=10.0)
    with pytest.raises(FloatingPointError, match="Lower learning_rate_init"):
        for _ in range(10):
            model.partial_fit(X)
            before = [w.copy() for w in model._params()]
    for w, w_before in zip(model._params(), before):
        np.testing.assert_array_equal(w, w_before)


def test_clear_errors():
    model, X = tiny("GVAE")
    with pytest.raises(ValueError, match=r"\[0, 1\].*maximum 2.0"):
        BackpropAutoencoder().fit(np.vstack([X, np.full(7, 2.0)]))
    with pytest.raises(ValueError, match="Negative values"):
        model.score_samples(X - 0.5)
    with pytest.raises(ValueError, match="3 latent units"):
        model.inverse_transform(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        BackpropAutoencoder(hidden_layer_sizes=(4, 0)).fit(X)
    with pytest.raises(ValueError, match="at least 2 samples"):
        AdversarialAutoencoder().fit(X[:1])
    with pytest.raises(ValueError, match="likelihood='gaussian'"):
        BackpropAutoencoder().fit(X - 0.5)
    with pytest.raises(ValueError, match="likelihood"):
        BackpropAutoencoder(likelihood="poisson").fit(X)
    gaussian, _ = tiny("RAE", X - 0.5, likelihood="gaussian")
    with pytest.raises(ValueError, match="infinity"):
        gaussian.score_samples(np.where(X > 0.5, np.inf, X))
    with pytest.raises(ValueError, match="NaN.*needs complete rows"):
        gaussian.score(np.where(X > 0.5, np.nan, X))
    with pytest.raises(ValueError, match="Every row of X is missing"):
        gaussian.fit(np.full_like(X, np.nan))
    never_seen = X.copy()
    never_seen[:, 4] = np.nan
    with pytest.raises(ValueError, match=r"Feature\(s\) \[4\] of X are missing"):
        gaussian.fit(never_seen)


@pytest.mark.parametrize("make", [
    lambda **p: GNCNAutoencoder("pdh", latent_sizes=(10, 6, 4), n_inference_steps=5,
                                n_groups=2, **p),
    lambda **p: GNCNAutoencoder("t1", latent_sizes=(10, 6, 4), n_inference_steps=5,
                                n_groups=2, **p),
    lambda **p: BackpropAutoencoder(4, hidden_layer_sizes=(10,), **p),
], ids=["GNCN-pdh", "GNCN-t1", "RAE"])
def test_the_prior_is_fitted_on_at_most_prior_max_samples_rows(make):
    """A cap the rows do not exceed fits the prior on all of them, exactly as no cap
    does; a lower cap fits it on a subsample: another prior, the same weights."""
    X = X_DIGITS[:150]
    params = dict(max_iter=2, batch_size=50, n_prior_components=3, n_mc_samples=40,
                  random_state=0)
    uncapped = make(**params).fit(X)
    for cap in (150, 1000):
        capped = make(prior_max_samples=cap, **params).fit(X)
        np.testing.assert_array_equal(capped.prior_.means_, uncapped.prior_.means_)
        np.testing.assert_array_equal(capped.score_samples(X), uncapped.score_samples(X))
        np.testing.assert_array_equal(capped.sample(7, random_state=2)[0],
                                      uncapped.sample(7, random_state=2)[0])
    subsampled = make(prior_max_samples=60, **params).fit(X)
    np.testing.assert_array_equal(subsampled.reconstruct(X), uncapped.reconstruct(X))
    assert not np.allclose(subsampled.prior_.means_, uncapped.prior_.means_)


def tiny_autoencoder(name, X, **params):
    """A tiny float64 fitted autoencoder: a baseline of :func:`tiny` or a small GNCN."""
    if name.startswith("GNCN"):
        return GNCNAutoencoder(name.split()[1], latent_sizes=(6, 4), n_inference_steps=5,
                               n_groups=2, max_iter=2, batch_size=20, n_prior_components=2,
                               random_state=0, **params).fit(X)
    return tiny(name, X, **params)[0]


@pytest.mark.parametrize("temperature", [1.0, 2.5])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("name", ["RAE", "GVAE", "GNCN t1-sigma", "GNCN pdh"])
def test_posterior_completion_equals_a_direct_numpy_evaluation(name, likelihood, temperature):
    """complete(method="posterior") is the likelihood-weighted mean of the decoded prior
    draws (those of score_samples by default), row by row, with scipy's densities."""
    rng = np.random.default_rng(3)
    X = rng.uniform(size=(40, 7)) if likelihood == "bernoulli" else rng.normal(size=(40, 7))
    model = tiny_autoencoder(name, X, likelihood=likelihood, n_mc_samples=30)
    observed = rng.uniform(size=X.shape) < 0.6
    X_holes = np.where(observed, X, np.nan)
    kept = X_holes.copy()
    completed = model.complete(X_holes, method="posterior", temperature=temperature)
    np.testing.assert_array_equal(X_holes, kept)  # the caller's array is not written
    means = np.concatenate([model._decode(Z) for Z, _ in model._draw_prior(
        30, np.random.RandomState(model._mc_seed))])
    for x, m, c in zip(X, observed, completed):
        if likelihood == "bernoulli":
            p = np.clip(means[:, m], 1e-7, 1 - 1e-7)
            log_w = stats.bernoulli.logpmf(0, p) * (1 - x[m]) + stats.bernoulli.logpmf(1, p) * x[m]
        else:
            log_w = stats.norm.logpdf(x[m], loc=means[:, m])
        w = np.exp(log_w.sum(axis=1) / temperature - (log_w.sum(axis=1) / temperature).max())
        expected = np.where(m, x, (w / w.sum()) @ means)
        np.testing.assert_allclose(c, expected, rtol=1e-9, atol=1e-12)
    # rows are independent of each other; a mask instead of NaN is the same completion
    np.testing.assert_allclose(model.complete(X_holes[5:6], method="posterior",
                                              temperature=temperature)[0], completed[5],
                               rtol=1e-12)
    np.testing.assert_allclose(model.complete(X, observed, method="posterior",
                                              temperature=temperature), completed, rtol=1e-12)


def test_posterior_completion_temperature_limits():
    """A very high temperature weighs every draw alike (the mean of the samples); a very
    low one keeps the single draw that explains the observed pixels best."""
    X = X_DIGITS[:120]
    model = tiny_autoencoder("RAE", X, n_mc_samples=50)
    observed = np.tile(np.arange(8) < 4, 8)
    draws = np.concatenate([model._decode(Z) for Z, _ in model._draw_prior(
        50, np.random.RandomState(model._mc_seed))])
    hot = model.complete(X[:10], observed, method="posterior", temperature=1e12)
    np.testing.assert_allclose(hot[:, ~observed], np.tile(draws.mean(axis=0)[~observed], (10, 1)),
                               rtol=1e-6)
    cold = model.complete(X[:10], observed, method="posterior", temperature=1e-6)
    p = np.clip(draws, 1e-7, 1 - 1e-7)
    log_like = X[:10] * observed @ np.log(p).T + (1 - X[:10]) * observed @ np.log1p(-p).T
    np.testing.assert_allclose(cold[:, ~observed], draws[log_like.argmax(axis=1)][:, ~observed],
                               rtol=1e-9)
    # n_draws sets the number of draws: the first 10 of 50 are not the 10 of n_draws=10
    few = model.complete(X[:10], observed, method="posterior", n_draws=10, temperature=1e12)
    assert few.shape == hot.shape and not np.allclose(few, hot)


@pytest.mark.parametrize("name", ["RAE", "GNCN t1"])
def test_complete_checks_its_method_and_arguments(name):
    X = X_DIGITS[:60]
    model = tiny_autoencoder(name, X)
    own = model._completion_method
    np.testing.assert_array_equal(model.complete(X, method=own), X)  # nothing missing
    assert model.complete(X, method="posterior") is not X
    observed = np.tile(np.arange(8) < 4, 8)
    with pytest.raises(ValueError, match="method must be"):
        model.complete(X, observed, method="knn")
    with pytest.raises(ValueError, match="apply to method='posterior' only"):
        model.complete(X, observed, temperature=2.0)
    with pytest.raises(ValueError, match="apply to method='posterior' only"):
        model.complete(X, observed, n_draws=10)
    for bad in (0, -1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="temperature must be a positive number"):
            model.complete(X, observed, method="posterior", temperature=bad)
    for bad in (0, 2.5):
        with pytest.raises(ValueError, match="n_draws must be a positive integer"):
            model.complete(X, observed, method="posterior", n_draws=bad)
    model.partial_fit(X)  # the prior is dropped: the posterior needs it back
    with pytest.raises(NotFittedError, match="fit_prior"):
        model.complete(X, observed, method="posterior")
    model.complete(X, observed)  # the model's own completion does not need the prior
    model.fit_prior(X).complete(X, observed, method="posterior")
