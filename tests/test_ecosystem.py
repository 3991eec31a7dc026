"""The scikit-learn ecosystem: persistence, pandas output, dask, the command line."""

import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from sklearn_pc import (
    SKOPS_TRUSTED_TYPES,
    AdversarialAutoencoder,
    BackpropAutoencoder,
    GNCNAutoencoder,
    PCClassifier,
    PCGenerator,
    VariationalAutoencoder,
)
from sklearn_pc.__main__ import main

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X_ALL, Y_ALL = load_digits(return_X_y=True)
X, Y = X_ALL[:300] / 16, Y_ALL[:300]

ESTIMATORS = [
    PCClassifier(hidden_layer_sizes=(16,), n_inference_steps=5, max_iter=3, random_state=0),
    PCClassifier(hidden_layer_sizes=(16,), feedback="separate", solver="sgd", max_iter=3,
                 random_state=0),
    PCGenerator(hidden_layer_sizes=(16,), max_iter=3, n_generation_steps=20, random_state=0),
    GNCNAutoencoder("pdh", latent_sizes=(12, 8, 4), n_inference_steps=10, n_groups=2, max_iter=2,
                    n_prior_components=2, n_mc_samples=16, random_state=0),
    BackpropAutoencoder(n_components=4, hidden_layer_sizes=(12,), max_iter=2,
                        n_prior_components=2, n_mc_samples=16, random_state=0),
    VariationalAutoencoder(n_components=4, hidden_layer_sizes=(12,), max_iter=2,
                           n_prior_components=2, n_mc_samples=16, random_state=0),
    AdversarialAutoencoder(n_components=4, hidden_layer_sizes=(12,),
                           discriminator_hidden_layer_sizes=(8,), solver="sgd", max_iter=2,
                           n_prior_components=2, n_mc_samples=16, random_state=0),
]
IDS = ["PCClassifier", "PCClassifier-separate-sgd", "PCGenerator", "GNCNAutoencoder",
       "BackpropAutoencoder", "VariationalAutoencoder", "AdversarialAutoencoder-sgd"]
# Estimators fitted without labels.
UNSUPERVISED = (GNCNAutoencoder, BackpropAutoencoder, VariationalAutoencoder,
                AdversarialAutoencoder)


def fit(estimator, X_fit=X):
    estimator = clone(estimator)
    return estimator.fit(X_fit) if isinstance(estimator, UNSUPERVISED) else \
        estimator.fit(X_fit, Y[:len(X_fit)])


def train_more(estimator):
    if isinstance(estimator, UNSUPERVISED):
        return estimator.partial_fit(X)
    return estimator.partial_fit(X, Y)


def skops_round_trip(estimator, path):
    sio = pytest.importorskip("skops.io")
    sio.dump(estimator, path)
    assert set(sio.get_untrusted_types(file=path)) <= set(SKOPS_TRUSTED_TYPES)
    return sio.load(path, trusted=SKOPS_TRUSTED_TYPES)


ROUND_TRIPS = {
    "pickle": lambda estimator, path: pickle.loads(pickle.dumps(estimator)),
    "joblib": lambda estimator, path: (joblib.dump(estimator, path), joblib.load(path))[1],
    "skops": skops_round_trip,
}


@pytest.mark.parametrize("how", sorted(ROUND_TRIPS))
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_persistence_round_trip(estimator, how, tmp_path):
    """A reloaded estimator gives the same outputs and trains on exactly as the original."""
    original = fit(estimator)
    loaded = ROUND_TRIPS[how](original, tmp_path / "model")
    np.testing.assert_array_equal(loaded.transform(X), original.transform(X))
    train_more(original)
    train_more(loaded)
    np.testing.assert_array_equal(loaded.transform(X), original.transform(X))
    if getattr(loaded, "feedback", None) == "tied":  # the feedback weights are still M.T
        for m, w in zip(loaded.coefs_, loaded.feedback_coefs_):
            np.testing.assert_array_equal(w, m.T)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_pandas_output_and_feature_names(estimator):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(X.shape[1])],
                         index=np.arange(len(X)) + 1000)
    model = clone(estimator).set_output(transform="pandas")
    model = model.fit(frame) if isinstance(model, UNSUPERVISED) else model.fit(frame, Y)
    Z = model.transform(frame)
    assert isinstance(Z, pd.DataFrame)
    assert list(Z.columns) == list(model.get_feature_names_out())
    prefix = type(model).__name__.lower()
    assert list(Z.columns) == [f"{prefix}{i}" for i in range(Z.shape[1])]
    assert list(Z.index) == list(frame.index)
    np.testing.assert_array_equal(model.feature_names_in_, frame.columns)
    np.testing.assert_allclose(Z.to_numpy(), model.set_output(transform="default")
                               .transform(frame))


def test_grid_search_on_a_dask_cluster_matches_the_sequential_search():
    """GridSearchCV over a PC estimator under joblib's dask backend, on a two-worker
    LocalCluster, gives the scores of the sequential search."""
    distributed = pytest.importorskip("distributed")
    grid = {"weight_decay": [0.0, 0.05], "activity_decay": [0.0, 0.05]}
    search = GridSearchCV(PCGenerator(hidden_layer_sizes=(16,), max_iter=3,
                                      n_generation_steps=20, random_state=0), grid, cv=2)
    sequential = clone(search).fit(X, Y).cv_results_["mean_test_score"]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster, \
            distributed.Client(cluster), joblib.parallel_backend("dask"):
        scores = clone(search).set_params(n_jobs=-1).fit(X, Y).cv_results_["mean_test_score"]
    np.testing.assert_array_equal(scores, sequential)


def test_command_line_reproduce_runs_a_benchmark_and_prints_its_table(capfd):
    assert main(["reproduce", "reproduce_pc_decay", "--quick", "fig5"]) == 0
    out = capfd.readouterr().out
    assert "| PC-decay |" in out and "mean_distance_to_centroid" in out
    with pytest.raises(SystemExit, match="No benchmark 'nope'.*reproduce_pc_decay"):
        main(["reproduce", "nope"])
