"""The evaluation metrics of SPEC section 2 against hand-computed values."""

import math

import numpy as np
import pytest
import sklearn

from sklearn_pc.metrics import (
    binary_cross_entropy,
    latent_classification_error,
    masked_mse,
    mc_log_likelihood,
    sparsity,
)


def test_binary_cross_entropy_by_hand():
    X = [[1.0, 0.0, 0.5], [0.0, 1.0, 1.0]]
    R = [[0.8, 0.1, 0.5], [0.3, 0.6, 0.9]]
    first = -(math.log(0.8) + math.log(0.9) + math.log(0.5))
    second = -(math.log(0.7) + math.log(0.6) + math.log(0.9))
    assert binary_cross_entropy(X, R) == pytest.approx((first + second) / 2, rel=1e-12)


def test_binary_cross_entropy_clips_certain_mistakes():
    assert binary_cross_entropy([[1.0, 0.0]], [[0.0, 1.0]]) == pytest.approx(-2 * math.log(1e-7))
    assert binary_cross_entropy([[1.0, 0.0]], [[1.0, 0.0]]) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="different shapes"):
        binary_cross_entropy([[1.0, 0.0]], [[0.5]])
    with pytest.raises(ValueError, match=r"X_rec must lie in \[0, 1\]"):
        binary_cross_entropy([[1.0]], [[1.5]])


def test_masked_mse_by_hand():
    X = np.array([[1.0, 0.0, 0.5, 0.2], [0.0, 1.0, 1.0, 0.4]])
    C = np.array([[0.0, 0.5, 0.5, 0.2], [0.1, 1.0, 0.0, 0.0]])
    observed = np.array([True, False, True, False])
    # occluded pixels 2 and 4: (0.25 + 0) and (0 + 0.16), averaged over the 2 samples
    assert masked_mse(X, C, observed) == pytest.approx((0.25 + 0.16) / 2)
    per_sample = np.array([[1, 1, 1, 0], [0, 1, 1, 1]])  # occluded: x4 | x1
    assert masked_mse(X, C, per_sample) == pytest.approx((0.0 + 0.01) / 2)
    with pytest.raises(ValueError, match="mask must have shape"):
        masked_mse(X, C, observed[:3])
    with pytest.raises(ValueError, match="0 / 1"):
        masked_mse(X, C, [0.5, 1, 1, 1])


def test_mc_log_likelihood_by_hand():
    X = [[1.0, 0.0], [0.0, 0.0]]
    P = [[0.5, 0.5], [0.9, 0.1]]
    # p(x1) = (0.25 + 0.81) / 2, p(x2) = (0.25 + 0.09) / 2
    expected = [math.log((0.25 + 0.81) / 2), math.log((0.25 + 0.09) / 2)]
    np.testing.assert_allclose(mc_log_likelihood(X, P), expected, rtol=1e-12)


def test_mc_log_likelihood_subtracts_log_s():
    """S identical draws must give exactly log p(x | z): the estimator is an average."""
    X = np.array([[1.0, 0.0, 1.0]])
    p = np.array([0.7, 0.2, 0.6])
    exact = math.log(0.7 * 0.8 * 0.6)
    for n_draws in (1, 10, 1000):
        assert mc_log_likelihood(X, np.tile(p, (n_draws, 1)))[0] == pytest.approx(exact)


def test_mc_log_likelihood_blocks_give_the_same_answer():
    rng = np.random.default_rng(0)
    X = (rng.uniform(size=(23, 6)) < 0.5).astype(float)
    P = rng.uniform(0.05, 0.95, size=(40, 6))
    whole = mc_log_likelihood(X, P)
    with sklearn.config_context(working_memory=0.002):  # blocks of 2 rows
        np.testing.assert_allclose(mc_log_likelihood(X, P), whole, rtol=1e-12)
    with pytest.raises(ValueError, match="features"):
        mc_log_likelihood(X, P[:, :5])


def test_gaussian_mc_log_likelihood_by_hand():
    """Unit-variance Gaussian decoders: the mean of the draws' normal densities."""
    X = np.array([[1.0, -2.0], [30.0, 0.5]])
    means = np.array([[0.0, 0.0], [1.5, -1.0], [29.0, 1.0]])
    density = np.exp(-0.5 * ((X[:, None, :] - means[None]) ** 2).sum(-1)) / (2 * math.pi)
    expected = np.log(density.mean(axis=1))
    np.testing.assert_allclose(mc_log_likelihood(X, means, likelihood="gaussian"), expected,
                               rtol=1e-12)
    with sklearn.config_context(working_memory=0.0001):  # blocks of one row
        np.testing.assert_allclose(mc_log_likelihood(X, means, likelihood="gaussian"),
                                   expected, rtol=1e-12)


def test_gaussian_mc_log_likelihood_is_a_normalised_density():
    """In one dimension exp(log p(x)) integrates to 1 over the real line."""
    grid = np.linspace(-20, 25, 9001)[:, None]
    density = np.exp(mc_log_likelihood(grid, [[0.0], [2.0], [5.0]], likelihood="gaussian"))
    assert np.trapezoid(density, grid[:, 0]) == pytest.approx(1.0, rel=1e-9)
    with pytest.raises(ValueError, match="likelihood must be one of"):
        mc_log_likelihood(grid, [[0.0]], likelihood="poisson")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        mc_log_likelihood(grid, [[0.0]])


def test_latent_classification_error_by_hand():
    Z_train = [[-2.0], [-1.5], [-1.0], [1.0], [1.5], [2.0]]
    y_train = [0, 0, 0, 1, 1, 1]
    # Far on either side of the boundary at 0: the third label is wrong on purpose.
    Z_test = [[-3.0], [3.0], [4.0]]
    assert latent_classification_error(Z_train, y_train, Z_test, [0, 1, 0]) == pytest.approx(
        100 / 3)
    assert latent_classification_error(Z_train, y_train, Z_test, [0, 1, 1]) == 0.0


def test_sparsity_by_hand():
    Z = [[0.0, 0.5, 1e-7], [-1.0, 2.0, 3.0]]
    assert sparsity(Z) == pytest.approx(3 / 6)
    assert sparsity(Z, threshold=0.0) == pytest.approx(4 / 6)
    assert sparsity(Z, threshold=2.5) == pytest.approx(1 / 6)
