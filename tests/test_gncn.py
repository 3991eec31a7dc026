"""GNCNAutoencoder: the NGC equations against hand computations, and the estimator's contract."""

import copy
import pickle

import numpy as np
import pytest
from scipy import sparse, stats
from scipy.special import expit
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state

from sklearn_pc import GNCNAutoencoder, _gncn
from sklearn_pc._core._activations import ACTIVATIONS
from sklearn_pc._core import _ngc
from sklearn_pc._core._ngc import group_bounds, project_covariance
from sklearn_pc.metrics import binary_cross_entropy, masked_mse

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

VARIANTS = ("t1", "t1-sigma", "t2-lsigma", "pdh")

# SPEC section 3, written out independently of the estimator's variant table:
# (type 1, precision, lateral competition, skip path M, phi, phi').
SPEC_TABLE = {
    "t1": (True, False, False, False, np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "t1-sigma": (True, True, False, False, lambda z: np.maximum(z, 0), lambda z: 1.0 * (z >= 0)),
    "t2-lsigma": (False, True, True, False, lambda z: np.maximum(z, 0), None),
    "pdh": (False, True, True, True, lambda z: np.maximum(z, 0), None),
}


def tiny_model(variant, **params):
    """A GNCN on 7 features with latents (5, 4, 3), after one epoch on random data."""
    X = np.random.default_rng(0).uniform(size=(20, 7))
    defaults = dict(latent_sizes=(5, 4, 3), n_inference_steps=4, inference_rate=0.1,
                    n_groups=2, max_iter=1,
                    batch_size=10, n_prior_components=2, n_mc_samples=30, random_state=0)
    return GNCNAutoencoder(variant, **{**defaults, **params}).fit(X), X


def random_covariances(model, seed=0):
    """Overwrite Sigma / P with a random positive-definite pair (nonzero off-diagonals)."""
    rng = np.random.default_rng(seed)
    for covariance, precision in zip(model.covariances_, model.precisions_):
        factor = rng.normal(size=covariance.shape)
        covariance[...] = factor @ factor.T / covariance.shape[0] + np.eye(covariance.shape[0])
        precision[...] = np.linalg.inv(covariance)


def lateral_matrix(n_units, n_groups, excitation, inhibition):
    """Dense ``V = alpha_e I - alpha_h (B * (1 - I))`` with B block-diagonal ones."""
    blocks = np.zeros((n_units, n_units))
    for group in np.array_split(np.arange(n_units), n_groups):
        blocks[np.ix_(group, group)] = 1
    eye = np.eye(n_units)
    return excitation * eye - inhibition * blocks * (1 - eye)


def hand_errors(model, z0, z):
    """Activities ``a(1..L)`` and errors ``e(0..L)`` of SPEC section 3 at input ``z0``
    and states ``z``; mu(l) = relu(h(l)) for l >= 1 where the variant's row of the
    configuration table says so (mu(l) = h(l) otherwise)."""
    type1, precision, lateral, skip, phi, dphi = SPEC_TABLE[model.variant]
    relu_predictions = _gncn.VARIANTS[model.variant]["prediction"] == "relu"
    W = model.weights_
    L = len(z)
    a = [phi(zl) for zl in z]

    def prediction(l):  # h(l) = a(l+1) W(l+1) + a(l+2) M(l+2)
        h = a[l] @ W[l]
        if skip and l + 2 <= L:
            h = h + a[l + 1] @ model.skip_weights_[l]
        return h

    g0 = expit if model.likelihood == "bernoulli" else (lambda h: h)  # mu(0) = g(h(0))
    e = [z0 - g0(prediction(0))]
    for l in range(1, L):
        d = a[l - 1] - (np.maximum(prediction(l), 0) if relu_predictions else prediction(l))
        e.append(d @ np.linalg.inv(model.covariances_[l - 1]) if precision else d)
    e.append(np.zeros_like(z[-1]))
    return a, e


def hand_step(model, x, z, observed=None):
    """One settling step of SPEC section 3, computed from the equations with dense V."""
    type1, precision, lateral, skip, phi, dphi = SPEC_TABLE[model.variant]
    W = model.weights_
    L = len(z)
    z0 = x.copy() if observed is None else x * observed
    a, e = hand_errors(model, z0, z)
    beta, gamma = model.inference_rate, model.leak
    new = []
    for l in range(1, L + 1):
        zl = z[l - 1]
        if type1:
            drive = (-gamma * zl + dphi(zl) * (e[l - 1] @ W[l - 1].T) - e[l]
                     - model.sparsity_penalty * np.sign(zl))
        else:
            V = lateral_matrix(zl.shape[1], model.n_groups, model.lateral_excitation,
                               model.lateral_inhibition)
            drive = -gamma * zl + e[l - 1] @ model.error_weights_[l - 1] - e[l] + a[l - 1] @ V
        new.append(zl + beta * drive)
    if observed is not None:
        z0 = x * observed + (z0 - beta * e[0]) * (1 - observed)
    return new, z0


@pytest.mark.parametrize("prediction", ["identity", "relu"])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("completion", [False, True])
def test_one_settling_step_matches_hand_computation(variant, completion, likelihood,
                                                    prediction, monkeypatch):
    monkeypatch.setitem(_gncn.VARIANTS, variant,
                        {**_gncn.VARIANTS[variant], "prediction": prediction})
    model, X = tiny_model(variant, sparsity_penalty=0.05, likelihood=likelihood)
    if model.covariances_ is not None:
        random_covariances(model)
    rng = np.random.default_rng(1)
    x = X[:6]
    z = [rng.normal(size=(6, size)) for size in (5, 4, 3)]
    observed = (rng.uniform(size=x.shape) < 0.5).astype(float) if completion else None
    expected, expected_z0 = hand_step(model, x, z, observed)

    network = model._network()
    before = [zl.copy() for zl in z]
    states, z0, errors, mu0 = network.settle(x, 1, observed, initial=z)
    for given, kept in zip(z, before):  # the starting states are not written
        np.testing.assert_array_equal(given, kept)
    # the errors and prediction returned are those at the new states
    _, expected_errors = hand_errors(model, expected_z0, expected)
    for got, want in zip(errors, expected_errors):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mu0, expected_z0 - expected_errors[0], rtol=1e-12, atol=1e-12)
    for got, want in zip(states, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(z0, expected_z0, rtol=1e-12, atol=1e-12)


def test_type2_variants_predict_hidden_layers_through_a_relu():
    """As the authors' public GNCN-PDH does; the type-1 variants predict linearly."""
    assert {v: _gncn.VARIANTS[v]["prediction"] for v in VARIANTS} == {
        "t1": "identity", "t1-sigma": "identity", "t2-lsigma": "relu", "pdh": "relu"}


def hand_gradients(model, x, z, observed=None):
    """Minus the local updates of SPEC section 3 at input ``x`` and states ``z``:
    ``dW(l) = a(l)^T e(l-1) / N``, ``dE(l) = dW(l)^T``, ``dM(l) = a(l)^T e(l-2) / N``,
    with the input error ``e(0) = (x - mu(0)) * m`` masked to the observed entries."""
    a, e = hand_errors(model, x, z)
    if observed is not None:
        e[0] = e[0] * observed
    n = x.shape[0]
    dW = [a[l - 1].T @ e[l - 1] / n for l in range(1, len(z) + 1)]
    grads = [-d for d in dW]
    if model.error_weights_ is not None:
        grads += [-d.T for d in dW]
    if model.skip_weights_ is not None:
        grads += [-(a[l - 1].T @ e[l - 2]) / n for l in range(2, len(z) + 1)]
    return grads


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("incomplete", [False, True])
def test_local_gradients_match_hand_computation(variant, likelihood, incomplete):
    """The updates of training, on complete data and with missing entries (whose
    input error is set to 0), against the equations."""
    model, X = tiny_model(variant, likelihood=likelihood)
    if model.covariances_ is not None:
        random_covariances(model)
    rng = np.random.default_rng(2)
    x = X[:6]
    z = [rng.normal(size=(6, size)) for size in (5, 4, 3)]
    observed = (rng.uniform(size=x.shape) < 0.6).astype(float) if incomplete else None
    x_in = x if observed is None else x * observed  # missing entries enter as 0
    grads, errors, _ = model._network().gradients(x_in, z, observed=observed)
    expected = hand_gradients(model, x_in, z, observed)
    assert len(grads) == len(expected)
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    if incomplete:
        assert np.all(errors[0][observed == 0] == 0)
        # the mask matters: without it the missing entries would send errors
        unmasked = hand_gradients(model, x_in, z)
        assert not np.allclose(unmasked[0], expected[0])


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_feature_missing_from_a_batch_sends_no_learning_signal(variant):
    """Feature 3 missing in every row of a batch: exactly zero updates of the synapses
    onto it (column 3 of dW(1) and dM(2), row 3 of dE(1)).  Columns of W and M are
    normalised one by one, so one SGD step without momentum leaves column 3 of W(1)
    and M(2) exactly renormalised, unmoved, while the other columns learn."""
    model, X = tiny_model(variant)
    holes = X.copy()
    holes[:, 3] = np.nan
    z = model.transform_layers(holes)
    observed = np.ones_like(X)
    observed[:, 3] = 0
    grads, _, _ = model._network().gradients(np.nan_to_num(holes), z, observed=observed)
    n_layers = len(model.weights_)
    assert np.all(grads[0][:, 3] == 0) and np.abs(grads[0]).max() > 0
    if model.error_weights_ is not None:
        assert np.all(grads[n_layers][3] == 0)
    if model.skip_weights_ is not None:
        assert np.all(grads[-(n_layers - 1)][:, 3] == 0)

    before = [w.copy() for w in model.weights_ + (model.skip_weights_ or [])]
    model.set_params(solver="sgd", momentum=0.0, learning_rate_init=0.1,
                     batch_size=len(X)).partial_fit(holes)
    after = model.weights_ + (model.skip_weights_ or [])
    for index in [0] + ([n_layers] if model.skip_weights_ is not None else []):
        expected = before[index].copy()
        _ngc.normalize_columns(expected)
        np.testing.assert_array_equal(after[index][:, 3], expected[:, 3])
        assert not np.allclose(after[index][:, :3], expected[:, :3])


def test_training_loss_sums_the_observed_entries():
    """One epoch of one batch with missing entries: loss_ is the mean over rows of the
    Gaussian NLL of the observed entries, ``sum_obs (x - mu)^2 / 2 + D_obs log(2 pi)
    / 2``, at the states settled with the missing entries free, before the update."""
    X = np.random.default_rng(5).normal(size=(12, 7))
    observed = np.random.default_rng(6).uniform(size=X.shape) < 0.7
    params = dict(latent_sizes=(5, 3), likelihood="gaussian", n_inference_steps=4,
                  max_iter=1, batch_size=12, shuffle=False, n_prior_components=2,
                  random_state=0)
    model = GNCNAutoencoder("t1", **params).fit(np.where(observed, X, np.nan))
    before = GNCNAutoencoder("t1", **params)
    before._initialize(7, X.dtype, check_random_state(0))
    mean = before._settle(X * observed, observed, output="mu0")
    nll = (0.5 * ((X - mean) ** 2 * observed).sum(axis=1)
           + 0.5 * observed.sum(axis=1) * np.log(2 * np.pi))
    assert model.loss_ == pytest.approx(nll.mean(), rel=1e-10)
    # the missing entries left out: a different number from the complete rows' NLL
    complete = 0.5 * ((X - mean) ** 2).sum(axis=1) + 3.5 * np.log(2 * np.pi)
    assert not np.isclose(model.loss_, complete.mean())
    # the early-stopping score: the same masked log-likelihood, at the fitted weights
    mean = model._settle(X * observed, observed, output="mu0")
    log_likelihood = -(0.5 * ((X - mean) ** 2 * observed).sum(axis=1)
                       + 0.5 * observed.sum(axis=1) * np.log(2 * np.pi))
    assert model._validation_score(np.where(observed, X, np.nan), None) == pytest.approx(
        log_likelihood.mean(), rel=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_memory_order_of_the_input_does_not_change_settling_or_training(dtype):
    """The compiled passes need C-contiguous rows: a Fortran-ordered input is
    settled and trained on exactly as its C-ordered copy."""
    X = np.random.default_rng(0).uniform(size=(20, 7)).astype(dtype)
    params = dict(latent_sizes=(5, 4, 3), n_inference_steps=4, n_groups=2, max_iter=2,
                  batch_size=10, n_prior_components=2, n_mc_samples=30, random_state=0)
    c_model = GNCNAutoencoder("pdh", **params).fit(X)
    f_model = GNCNAutoencoder("pdh", **params).fit(np.asfortranarray(X))
    for c_weights, f_weights in zip(c_model.weights_, f_model.weights_):
        np.testing.assert_array_equal(c_weights, f_weights)
    np.testing.assert_array_equal(c_model.transform(X), c_model.transform(np.asfortranarray(X)))
    np.testing.assert_array_equal(c_model.score_samples(X),
                                  c_model.score_samples(np.asfortranarray(X)))
    mask = np.random.default_rng(1).random(X.shape) > 0.5  # completion writes z0 in place
    np.testing.assert_array_equal(c_model.complete(X, mask),
                                  c_model.complete(np.asfortranarray(X), mask))
    # a C-contiguous input of its dtype, which settling need not copy, is never written
    np.testing.assert_array_equal(X, np.random.default_rng(0).uniform(size=(20, 7)).astype(dtype))


@pytest.mark.parametrize("variant", ["t1", "t1-sigma"])
def test_type1_models_move_from_the_zero_state(variant):
    """phi'(0) != 0 (relu'(0) = 1): from zero states the input error climbs a layer per step."""
    model, X = tiny_model(variant)
    for n_steps in (1, 2, 3):
        states = model.set_params(n_inference_steps=n_steps).transform_layers(X)
        assert np.abs(states[n_steps - 1]).max() > 1e-4
        assert all(np.all(z == 0) for z in states[n_steps:])


@pytest.mark.parametrize("variant", ["t1-sigma", "t2-lsigma", "pdh"])
def test_sigma_stays_positive_definite_through_training(variant):
    model, _ = tiny_model(variant, max_iter=15, min_variance=0.2, precision_learning_rate=0.5,
                          batch_size=5)
    for covariance, precision in zip(model.covariances_, model.precisions_):
        assert not np.allclose(covariance, np.eye(covariance.shape[0]))  # it did learn
        np.testing.assert_allclose(covariance, covariance.T, atol=1e-12)
        assert np.linalg.eigvalsh(covariance).min() >= 0.2 - 1e-9
        np.testing.assert_allclose(precision @ covariance, np.eye(covariance.shape[0]),
                                   atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_covariance_projection_clips_eigenvalues_and_inverts(dtype):
    """Closed form: the symmetric part keeps its eigenvectors, its eigenvalues
    below the bound are raised to it, and the precision is the inverse."""
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    eigenvalues = np.array([-1.0, 0.1, 0.5, 1.0, 2.0, 3.0])
    antisymmetric = rng.standard_normal((6, 6))
    antisymmetric -= antisymmetric.T
    covariance = ((basis * eigenvalues) @ basis.T + antisymmetric).astype(dtype)
    precision = np.empty_like(covariance)
    project_covariance(covariance, precision, 0.5)
    expected = (basis * np.maximum(eigenvalues, 0.5)) @ basis.T
    atol = 1e-5 if dtype == np.float32 else 1e-12
    assert covariance.dtype == precision.dtype == dtype
    np.testing.assert_allclose(covariance, expected, atol=atol)
    np.testing.assert_allclose(precision, np.linalg.inv(expected), atol=2 * atol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("previous_above", [None, 0, 2, 20])
def test_covariance_projection_from_the_eigenpairs_above_the_floor(dtype, previous_above):
    """Same closed form whatever the count of eigenvalues above the floor at the
    previous projection (a hint: few of them, and only those eigenpairs are
    computed), whether the hint is right or not; returns how many are above the
    floor now."""
    rng = np.random.default_rng(1)
    basis, _ = np.linalg.qr(rng.standard_normal((20, 20)))
    eigenvalues = np.concatenate([rng.uniform(0.2, 0.9, 17), [1.3, 2.0, 4.0]])
    covariance = ((basis * eigenvalues) @ basis.T).astype(dtype)
    precision = np.empty_like(covariance)
    n_above = project_covariance(covariance, precision, 1.0, previous_above)
    expected = (basis * np.maximum(eigenvalues, 1.0)) @ basis.T
    atol = 1e-5 if dtype == np.float32 else 1e-12
    assert n_above == 3
    assert covariance.dtype == precision.dtype == dtype
    np.testing.assert_allclose(covariance, expected, atol=atol)
    np.testing.assert_allclose(precision, np.linalg.inv(expected), atol=2 * atol)


@pytest.mark.parametrize("variant", VARIANTS)
def test_weights_keep_unit_norm_columns(variant):
    model, _ = tiny_model(variant, max_iter=3)
    arrays = model.weights_ + (model.error_weights_ or []) + (model.skip_weights_ or [])
    assert len(arrays) == {"t1": 3, "t1-sigma": 3, "t2-lsigma": 6, "pdh": 8}[variant]
    for matrix in arrays:
        np.testing.assert_allclose(np.linalg.norm(matrix, axis=0), 1.0, rtol=1e-12)


@pytest.fixture(scope="module")
def digits():
    X = load_digits().data / 16
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
    model = GNCNAutoencoder("pdh", latent_sizes=(32, 16), n_inference_steps=20, max_iter=20,
                            batch_size=32, learning_rate_init=0.01, n_prior_components=5,
                            n_mc_samples=200, random_state=0).fit(X_train)
    return model, X_train, X_test


def test_reconstruction_beats_the_independent_pixel_baseline(digits):
    """Held-out BCE well below that of the best input-free model (the training mean).

    PCA with as many components as the bottom layer (32) reconstructs these 8x8
    grey-level digits better (BCE 14.4) than this small, briefly trained network;
    the baseline here is the one every latent-variable model must beat.
    """
    model, X_train, X_test = digits
    baseline = binary_cross_entropy(X_test, np.tile(X_train.mean(axis=0), (len(X_test), 1)))
    bce = binary_cross_entropy(X_test, model.reconstruct(X_test))
    assert bce < 0.8 * baseline
    assert model.loss_curve_[-1] < model.loss_curve_[0]


def test_score_samples_equals_a_direct_numpy_evaluation():
    model, X = tiny_model("pdh", n_mc_samples=50)
    gmm = model.prior_
    # The S prior draws, as documented: components, then standard normals, from the fit seed.
    rng = np.random.RandomState(model._mc_seed)
    weights = gmm.weights_ / gmm.weights_.sum()
    components = rng.choice(len(weights), size=50, p=weights)
    noise = rng.standard_normal((50, gmm.means_.shape[1]))
    Z = np.stack([gmm.means_[k] + np.linalg.cholesky(gmm.covariances_[k]) @ eps
                  for k, eps in zip(components, noise)])
    # Ancestral pass: each state set to its prediction, skip path included.
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    W, M = model.weights_, model.skip_weights_
    z2 = relu(Z) @ W[2]
    z1 = relu(z2) @ W[1] + relu(Z) @ M[1]
    p = np.clip(expit(relu(z1) @ W[0] + relu(z2) @ M[0]), 1e-7, 1 - 1e-7)
    log_px_given_z = (X[:, None, :] * np.log(p) + (1 - X[:, None, :]) * np.log(1 - p)).sum(-1)
    expected = np.log(np.exp(log_px_given_z).mean(axis=1))  # logsumexp - log S
    np.testing.assert_allclose(model.score_samples(X), expected, rtol=1e-10)
    np.testing.assert_allclose(model.inverse_transform(Z), expit(relu(z1) @ W[0]
                                                                 + relu(z2) @ M[0]), rtol=1e-10)


@pytest.fixture(scope="module")
def standardised_digits():
    X_train, X_test = train_test_split(load_digits().data, test_size=0.25, random_state=0)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test)


@pytest.mark.parametrize("variant", ["t1", "t1-sigma"])
def test_gaussian_fits_standardised_digits_and_beats_the_training_mean(standardised_digits,
                                                                       variant):
    """likelihood="gaussian" trains on StandardScaler output (values outside [0, 1]):
    held-out squared error below that of the training mean, falling loss."""
    X_train, X_test = standardised_digits
    model = GNCNAutoencoder(variant, latent_sizes=(64,), likelihood="gaussian",
                            inference_rate=0.1, n_inference_steps=20, max_iter=10, batch_size=64,
                            learning_rate_init=0.01, n_prior_components=3, n_mc_samples=100,
                            random_state=0).fit(X_train)
    baseline = ((X_test - X_train.mean(axis=0)) ** 2).sum(axis=1).mean()
    reconstruction = model.reconstruct(X_test)
    assert reconstruction.min() < 0 and reconstruction.max() > 1  # a linear output
    assert ((X_test - reconstruction) ** 2).sum(axis=1).mean() < 0.8 * baseline
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    assert np.isfinite(model.score_samples(X_test)).all()


def test_gaussian_training_loss_is_the_negative_log_density_at_the_settled_states():
    """One epoch of one batch: loss_ is the unit-variance Gaussian NLL of the
    reconstruction at the states settled before the update."""
    X = np.random.default_rng(5).normal(size=(12, 7))
    model = GNCNAutoencoder("t1", latent_sizes=(5, 3), likelihood="gaussian",
                            n_inference_steps=4, max_iter=1, batch_size=12, shuffle=False,
                            n_prior_components=2, random_state=0).fit(X)
    before = GNCNAutoencoder("t1", latent_sizes=(5, 3), likelihood="gaussian",
                             n_inference_steps=4, max_iter=1, batch_size=12, random_state=0)
    before._initialize(7, X.dtype, check_random_state(0))
    mean = before._settle(X, output="mu0")
    nll = -stats.multivariate_normal(np.zeros(7), np.eye(7)).logpdf(X - mean)
    assert model.loss_ == pytest.approx(nll.mean(), rel=1e-10)


@pytest.mark.parametrize("n_features, sizes", [(7, [14]), (64, [128]), (179, [358]),
                                               (180, [360, 360, 360]), (784, [360, 360, 360])])
def test_auto_latent_sizes_follow_the_number_of_features(n_features, sizes):
    """One layer of min(360, 2 D) units below 180 features, the paper's three of 360 above."""
    model = GNCNAutoencoder("t1")
    model._initialize(n_features, np.dtype(np.float64), check_random_state(0))
    assert [w.shape for w in model.weights_] == list(zip(sizes, [n_features, *sizes[:-1]]))
    # inference_rate="auto": 1 for one type-1 layer, the paper's 0.1 for more
    assert model._network().beta == (1.0 if len(sizes) == 1 else 0.1)


@pytest.mark.parametrize("variant, rate", [("t1", 1.0), ("t1-sigma", 1.0), ("t2-lsigma", 0.1),
                                           ("pdh", 0.1)])
def test_auto_defaults_on_small_data(variant, rate):
    """latent_sizes, inference_rate and n_prior_components "auto" on 100 rows of 7 features:
    one layer of 14 units, rate 1 for type 1, min(75, 100 // 14) = 7 prior components
    (3 with prior_max_samples=50)."""
    X = np.random.default_rng(0).uniform(size=(100, 7))
    model = GNCNAutoencoder(variant, n_inference_steps=5, max_iter=1, n_mc_samples=10,
                            random_state=0).fit(X)
    assert [w.shape for w in model.weights_] == [(14, 7)]
    assert model._network().beta == rate
    assert model.prior_.n_components == 7
    model.set_params(prior_max_samples=50).fit_prior(X)
    assert model.prior_.n_components == 3
    assert model.get_params()["inference_rate"] == "auto"  # fit leaves parameters alone


def test_score_samples_does_not_depend_on_the_batch(digits):
    model, _, X_test = digits
    scores = model.score_samples(X_test[:20])
    np.testing.assert_allclose(model.score_samples(X_test[:5]), scores[:5], rtol=1e-10)
    np.testing.assert_allclose([model.score_samples(x[None])[0] for x in X_test[:3]],
                               scores[:3], rtol=1e-10)
    assert np.all(scores < 0)
    assert model.score(X_test[:20]) == pytest.approx(scores.mean())


def test_complete_changes_only_the_masked_pixels(digits):
    model, _, X_test = digits
    observed = np.tile(np.arange(8) < 4, 8)  # right half occluded
    X = X_test[:50]
    completed = model.complete(X, observed)
    np.testing.assert_array_equal(completed[:, observed], X[:, observed])
    assert np.all((completed >= 0) & (completed <= 1))
    # The occluded values are never read...
    scrambled = np.where(observed, X, 1 - X)
    np.testing.assert_array_equal(model.complete(scrambled, observed), completed)
    for placeholder in (-1.0, 99.0, np.inf, np.nan):  # ...nor checked, whatever they hold
        np.testing.assert_array_equal(
            model.complete(np.where(observed, X, placeholder), observed), completed)
    with pytest.raises(ValueError, match="infinity at entries that mask marks observed"):
        model.complete(np.where(observed, np.inf, X), observed)
    with pytest.raises(ValueError, match="must lie in"):
        model.complete(np.where(observed, 2.0, X), observed)
    # ...a per-sample mask gives the same answer, and filling beats leaving the zeros.
    np.testing.assert_array_equal(model.complete(X, np.tile(observed, (50, 1))), completed)
    assert masked_mse(X, completed, observed) < 0.6 * masked_mse(X, X * observed, observed)
    np.testing.assert_array_equal(X, X_test[:50])  # the input was not written to
    top_only = model.inverse_transform(model.transform(X * observed))
    assert np.all((top_only > 0) & (top_only < 1))


def test_sample_shapes_range_and_seed(digits):
    model, _, _ = digits
    samples, components = model.sample(40, random_state=1)
    assert samples.shape == (40, 64) and components.shape == (40,)
    assert np.all((samples > 0) & (samples < 1))
    # like GaussianMixture.sample: y is the component each latent was drawn from, drawn
    # first from the mixture's weights
    weights = model.prior_.weights_ / model.prior_.weights_.sum()
    expected = np.random.RandomState(1).choice(len(weights), size=40, p=weights)
    np.testing.assert_array_equal(components, expected)
    again, components_again = model.sample(40, random_state=1)
    np.testing.assert_array_equal(again, samples)
    np.testing.assert_array_equal(components_again, components)
    assert not np.array_equal(model.sample(40, random_state=2)[0], samples)


def test_samples_of_one_component_decode_latents_drawn_from_it(digits):
    """A prior with one component: y is all zeros, X the decoded draws of that Gaussian."""
    model, X_train, _ = digits
    model = copy.deepcopy(model)
    model.set_params(n_prior_components=1).fit_prior(X_train)
    samples, components = model.sample(5, random_state=3)
    np.testing.assert_array_equal(components, np.zeros(5))
    rng = np.random.RandomState(3)
    rng.choice(1, size=5, p=[1.0])
    Z = model.prior_.means_[0] + rng.standard_normal((5, 16)) @ np.linalg.cholesky(
        model.prior_.covariances_[0]).T
    np.testing.assert_allclose(samples, model.inverse_transform(Z), rtol=1e-10)


@pytest.mark.parametrize("variant", VARIANTS)
def test_float32_is_preserved(variant):
    model, X = tiny_model(variant)
    X32 = X.astype(np.float32)
    model32 = GNCNAutoencoder(**model.get_params()).fit(X32)
    arrays = model32.weights_ + (model32.covariances_ or [])
    assert all(a.dtype == np.float32 for a in arrays)
    outputs = [model32.transform(X32), model32.reconstruct(X32), model32.complete(X32, [1] * 7),
               model32.inverse_transform(model32.transform(X32)), model32.sample(2)[0],
               model32.score_samples(X32), *model32.transform_layers(X32)]
    assert all(out.dtype == np.float32 for out in outputs)
    np.testing.assert_allclose(model32.transform(X32), model.transform(X), rtol=1e-3, atol=1e-4)


def test_pickle_round_trip(digits):
    model, _, X_test = digits
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.transform(X_test[:10]), model.transform(X_test[:10]))
    np.testing.assert_array_equal(restored.score_samples(X_test[:10]),
                                  model.score_samples(X_test[:10]))


def test_gaussian_pickle_round_trip():
    model, X = tiny_model("pdh", likelihood="gaussian")
    restored = pickle.loads(pickle.dumps(model))
    for method in ("transform", "reconstruct", "score_samples"):
        np.testing.assert_array_equal(getattr(restored, method)(X), getattr(model, method)(X))


def test_fit_is_deterministic_and_leaves_parameters_alone():
    model, X = tiny_model("t2-lsigma")
    params = model.get_params()
    again = GNCNAutoencoder(**params)
    public = dict(vars(again))
    again.fit(X)
    assert again.get_params() == params
    assert {k: v for k, v in vars(again).items() if not k.endswith("_")
            and not k.startswith("_")} == public
    np.testing.assert_array_equal(again.transform(X), model.transform(X))


def test_partial_fit_runs_one_epoch_and_drops_the_prior_until_fit_prior():
    model, X = tiny_model("pdh")
    first = model.weights_[0].copy()
    model.partial_fit(X[:10])
    assert model.n_iter_ == 2 and model.t_ == 30
    assert not np.array_equal(model.weights_[0], first)
    with pytest.raises(NotFittedError, match="fit_prior"):
        model.sample(2)
    # the prior of fit_prior is the one fit would fit on the same latents
    model.fit_prior(X)
    refit = GaussianMixture(2, covariance_type="full", random_state=np.random.RandomState(
        model.random_state).randint(np.iinfo(np.int32).max)).fit(model.transform(X))
    np.testing.assert_allclose(model.prior_.means_, refit.means_, rtol=1e-6, atol=1e-9)


def test_early_stopping_keeps_the_best_validation_weights():
    X = load_digits().data[:300] / 16
    model = GNCNAutoencoder("t1", latent_sizes=(8,), n_inference_steps=5, max_iter=8,
                            early_stopping=True, n_iter_no_change=2, n_prior_components=2,
                            random_state=0).fit(X)
    assert len(model.validation_scores_) == model.n_iter_
    assert model.best_validation_score_ == max(model.validation_scores_)


def test_feature_names():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(np.random.default_rng(0).uniform(size=(20, 3)), columns=["a", "b", "c"])
    model = GNCNAutoencoder("t1", latent_sizes=(4, 2), n_inference_steps=3, max_iter=2,
                            n_prior_components=2, random_state=0).fit(X)
    np.testing.assert_array_equal(model.feature_names_in_, ["a", "b", "c"])
    assert list(model.get_feature_names_out()) == ["gncnautoencoder0", "gncnautoencoder1"]
    with pytest.raises(ValueError, match="feature names"):
        model.transform(X.rename(columns={"a": "z"}))


def test_clear_errors():
    model, X = tiny_model("pdh")
    with pytest.raises(NotFittedError):
        GNCNAutoencoder().transform(X)
    with pytest.raises(ValueError, match="Every row of X is missing"):
        GNCNAutoencoder().fit(np.full_like(X, np.nan))
    never_seen = X.copy()
    never_seen[:, [2, 5]] = np.nan
    with pytest.raises(ValueError, match=r"Feature\(s\) \[2, 5\] of X are missing"):
        GNCNAutoencoder().fit(never_seen)
    with pytest.raises(ValueError, match="NaN.*needs complete rows"):
        model.score_samples(np.where(X > 0.5, np.nan, X))
    with pytest.raises(ValueError, match="NaN at entries that mask marks observed"):
        model.complete(np.where(X > 0.5, np.nan, X), np.ones(7))
    with pytest.raises(ValueError, match="infinity"):
        GNCNAutoencoder().fit(np.where(X > 0.5, np.inf, X))
    with pytest.raises(ValueError, match=r"\[0, 1\].*maximum 2.0"):
        GNCNAutoencoder().fit(np.vstack([X, np.full(7, 2.0)]))
    with pytest.raises(ValueError, match="Negative values"):
        model.score_samples(X - 0.5)
    with pytest.raises(TypeError, match="[Ss]parse"):
        model.transform(sparse.csr_matrix(X))
    with pytest.raises(ValueError, match="7 features"):
        model.transform(X[:, :5])
    with pytest.raises(ValueError, match=r"mask must have shape \(20, 7\)"):
        model.complete(X, np.ones(6))
    with pytest.raises(ValueError, match="0 / 1"):
        model.complete(X, np.full(7, 0.5))
    with pytest.raises(ValueError, match="3 top-layer units"):
        model.inverse_transform(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="n_samples"):
        model.sample(0)
    with pytest.raises(ValueError, match="latent_sizes"):
        GNCNAutoencoder(latent_sizes=(4, 0)).fit(X)
    with pytest.raises(ValueError, match="likelihood='gaussian'"):
        GNCNAutoencoder().fit(X - 0.5)
    with pytest.raises(ValueError, match="likelihood"):
        GNCNAutoencoder(likelihood="poisson").fit(X)
    gaussian, _ = tiny_model("t1", likelihood="gaussian")
    with pytest.raises(ValueError, match="infinity"):
        gaussian.transform(np.where(X > 0.5, np.inf, X))
    with pytest.raises(ValueError, match="Every row of X is missing"):
        gaussian.fit_prior(np.full_like(X, np.nan))


def test_divergence_names_inference_rate_and_leaves_the_weights_finite():
    model, X = tiny_model("pdh")
    before = [w.copy() for w in model.weights_]
    model.set_params(inference_rate=50.0, n_inference_steps=400)
    with pytest.raises(FloatingPointError, match="Lower inference_rate"):
        model.partial_fit(X)
    for w, w_before in zip(model.weights_, before):
        np.testing.assert_array_equal(w, w_before)


@pytest.mark.parametrize("variant", VARIANTS)
def test_settling_in_a_workspace_gives_what_fresh_buffers_give(variant):
    """A training loop's workspace is reused from batch to batch (the smaller last
    batch in a view of the buffers): each call's results are those of a call
    with buffers of its own, whatever the calls before it left there."""
    from sklearn_pc._core._workspace import Workspace

    model, X = tiny_model(variant, sparsity_penalty=0.05)
    if model.covariances_ is not None:
        random_covariances(model)
    network, workspace = model._network(), Workspace()
    for rows in (slice(0, 8), slice(8, 11), slice(3, 11)):
        fresh = network.settle(X[rows], 5)
        reused = network.settle(X[rows], 5, workspace=workspace)
        for got, want in zip(reused[0] + [reused[1]] + reused[2] + [reused[3]],
                             fresh[0] + [fresh[1]] + fresh[2] + [fresh[3]]):
            np.testing.assert_array_equal(got, want)
