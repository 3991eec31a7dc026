"""scikit-learn's estimator checks over every public estimator, with fast settings."""

import pytest
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_param_validation,
    parametrize_with_checks,
)

from sklearn_pc import PCClassifier, PCGenerator


def fast_estimators():
    """Every public estimator with settings that learn the checks' toy data quickly."""
    return [
        PCClassifier(hidden_layer_sizes=(16,), activation="tanh", n_inference_steps=5, max_iter=100,
                     batch_size=32, learning_rate_init=0.01, random_state=0),
        PCClassifier(hidden_layer_sizes=(8, 8), activation="relu", loss="log_loss",
                     inference="euler", n_inference_steps=5, inference_rate=0.1,
                     max_iter=100, batch_size=32, learning_rate_init=0.01, random_state=0),
        PCGenerator(hidden_layer_sizes=(16,), n_inference_steps=5, max_iter=100, batch_size=32,
                    learning_rate_init=0.01, n_generation_steps=50, random_state=0),
    ]


# Checks that cannot pass, each with its reason.
EXPECTED_FAILED_CHECKS = {}


def expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(fast_estimators(), expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", fast_estimators(), ids=lambda e: type(e).__name__)
def test_param_validation(estimator):
    """Every constructor parameter is declared in ``_parameter_constraints``."""
    check_param_validation(type(estimator).__name__, estimator)


@pytest.mark.parametrize("estimator", fast_estimators(), ids=lambda e: type(e).__name__)
def test_feature_names(estimator):
    """Feature names seen in fit are stored and checked at predict time."""
    pytest.importorskip("pandas")
    check_dataframe_column_names_consistency(type(estimator).__name__, estimator)
