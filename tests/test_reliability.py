"""Reliability of every estimator: bad input, diverging dynamics, determinism, memory.

The table ``BAD_INPUT`` lists each bad-input case with the error it must give.
"""

import tracemalloc

import joblib
import numpy as np
import pytest
import sklearn
from scipy import sparse
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_pc import (
    AdversarialAutoencoder,
    BackpropAutoencoder,
    GNCNAutoencoder,
    PCClassifier,
    PCGenerator,
    VariationalAutoencoder,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
X = X_DIGITS[:200] / 16
Y = Y_DIGITS[:200]


def classifier(**params):
    return PCClassifier(**{**dict(hidden_layer_sizes=(16,), n_inference_steps=5, max_iter=3,
                                  batch_size=50, random_state=0), **params})


def generator(**params):
    return PCGenerator(**{**dict(hidden_layer_sizes=(16,), n_inference_steps=5, max_iter=3,
                                 batch_size=50, n_generation_steps=30, random_state=0),
                          **params})


def autoencoder(**params):
    return GNCNAutoencoder(**{**dict(variant="pdh", latent_sizes=(12, 8, 4), n_inference_steps=10,
                                     n_groups=2, max_iter=3, batch_size=50,
                                     n_prior_components=2, n_mc_samples=16, random_state=0),
                              **params})


def baseline(cls, **extra):
    """A factory of small backprop baselines with 4 latent units."""
    def make(**params):
        defaults = {"n_components": 4, "hidden_layer_sizes": (12,), "max_iter": 3,
                    "batch_size": 50, "n_prior_components": 2, "n_mc_samples": 16,
                    "n_completion_steps": 3, "random_state": 0}
        return cls(**{**defaults, **extra, **params})
    return make


FACTORIES = {"PCClassifier": classifier, "PCGenerator": generator,
             "GNCNAutoencoder": autoencoder,
             "BackpropAutoencoder": baseline(BackpropAutoencoder),
             "VariationalAutoencoder": baseline(VariationalAutoencoder),
             "AdversarialAutoencoder": baseline(AdversarialAutoencoder,
                                                discriminator_hidden_layer_sizes=(8,))}
SUPERVISED = {"PCClassifier", "PCGenerator"}
BASELINES = ("BackpropAutoencoder", "VariationalAutoencoder", "AdversarialAutoencoder")
AUTOENCODERS = ("GNCNAutoencoder", *BASELINES)


def fit(name, X_fit=X, **params):
    model = FACTORIES[name](**params)
    return model.fit(X_fit, Y[:len(X_fit)]) if name in SUPERVISED else model.fit(X_fit)


@pytest.fixture(scope="module")
def fitted():
    return {name: fit(name) for name in FACTORIES}


# Methods that map samples to outputs, per estimator, as (method, argument builder).
def sample_methods(name, model):
    methods = {"transform": lambda A: model.transform(A)}
    if name in SUPERVISED:
        methods.update(predict=model.predict, predict_proba=model.predict_proba,
                       decision_function=model.decision_function)
    else:
        methods.update(score_samples=model.score_samples, reconstruct=model.reconstruct,
                       complete=lambda A: model.complete(A, np.arange(64) % 3 > 0))
    return methods


NAN = X.copy()
NAN[3, 5] = np.nan
# The autoencoders' methods that take NaN as a missing entry and fill it in (fit and
# partial_fit too).
FILLS_NAN = {"transform", "reconstruct", "complete"}
INF = X.copy()
INF[0, 1] = np.inf  # an entry complete's mask below marks observed


def fit_call(X_fit, y_fit=Y, **params):
    """Fit a fresh estimator (with ``params``) on ``X_fit`` (and ``y_fit`` if supervised)."""
    def run(name, _):
        model = FACTORIES[name](**params)
        return model.fit(X_fit, y_fit) if name in SUPERVISED else model.fit(X_fit)
    return run


def method_call(method, data):
    """Call one of the per-sample methods of the fitted estimator on ``data``."""
    return lambda name, model: sample_methods(name, model)[method](data)


def unfitted_call(method):
    return lambda name, _: sample_methods(name, FACTORIES[name]())[method](X)


def partial_fit_unseen_label(name, _):
    model = FACTORIES[name]().partial_fit(X[Y < 9], Y[Y < 9], classes=np.arange(9))
    return model.partial_fit(X, Y)


# (estimator, case, call(name, fitted model), error type, message): every bad input's error.
BAD_INPUT = [
    *[(name, f"fit {case}", call, error, match)
      for name in FACTORIES
      for case, call, error, match in [
          # the autoencoders train on NaN as missing entries (test_gncn, test_autoencoders)
          *([("NaN", fit_call(NAN), ValueError, "NaN")] if name in SUPERVISED else []),
          ("inf", fit_call(INF), ValueError, "infinity"),
          ("empty", fit_call(X[:0], Y[:0]), ValueError, "0 sample"),
          ("sparse", fit_call(sparse.csr_matrix(X)), TypeError, "[Ss]parse"),
          ("1-D X", fit_call(X[0]), ValueError, "2D array"),
          ("strings", fit_call(np.full((200, 3), "a", dtype=object)), ValueError,
           "convert string"),
          ("complex", fit_call(X + 1j), ValueError, "Complex"),
          ("max_iter=0", fit_call(X, max_iter=0), InvalidParameterError, "max_iter"),
          ("learning_rate_init=-1", fit_call(X, learning_rate_init=-1.0),
           InvalidParameterError, "learning_rate_init"),
          ("batch_size=0", fit_call(X, batch_size=0), InvalidParameterError, "batch_size"),
          # the same range for every family: an empty held-out set cannot stop anything
          ("validation_fraction=0", fit_call(X, early_stopping=True, validation_fraction=0.0),
           InvalidParameterError, "validation_fraction")]],
    *[(name, case, call, error, match)
      for name in SUPERVISED
      for case, call, error, match in [
          ("fit one sample", fit_call(X[:1], Y[:1]), ValueError, "one class"),
          ("fit one class", fit_call(X, np.zeros(200)), ValueError, "one class"),
          ("fit mixed labels", fit_call(X, np.array(["a", 1] * 100, dtype=object)),
           ValueError, "mixes string and numeric"),
          ("fit continuous labels", fit_call(X, np.linspace(0, 1, 200)), ValueError,
           "binary and multiclass"),
          ("fit y of wrong length", fit_call(X, Y[:-1]), ValueError,
           "inconsistent numbers of samples"),
          ("fit inference_rate=0", fit_call(X, inference_rate=0.0), InvalidParameterError,
           "inference_rate"),
          ("fit weight_decay=-1", fit_call(X, weight_decay=-1.0), InvalidParameterError,
           "weight_decay"),
          ("partial_fit without classes", lambda name, _: FACTORIES[name]().partial_fit(X, Y),
           ValueError, "classes must be passed"),
          ("partial_fit unseen label", partial_fit_unseen_label, ValueError,
           r"labels \[9\] not in classes")]],
    ("PCGenerator", "fit activity_decay=-1", fit_call(X, activity_decay=-1.0),
     InvalidParameterError, "activity_decay"),
    ("PCGenerator", "fit generation_rate=0", fit_call(X, generation_rate=0.0),
     InvalidParameterError, "generation_rate"),
    *[(name, case, call, error, match)
      for name in AUTOENCODERS
      for case, call, error, match in [
          ("fit one sample", fit_call(X[:1]), ValueError, "at least 2 samples"),
          ("fit outside [0, 1]", fit_call(X * 16), ValueError, r"\[0, 1\]"),
          ("fit negative", fit_call(X - 0.5), ValueError, "Negative values"),
          ("sample n_samples=2.5", lambda _, model: model.sample(2.5), ValueError,
           "positive integer"),
          ("score_samples outside [0, 1]", method_call("score_samples", X * 16), ValueError,
           r"\[0, 1\]"),
          ("complete mask of wrong shape", lambda _, model: model.complete(X, np.ones((3, 64))),
           ValueError, "mask must have shape"),
          ("complete mask not 0 / 1", lambda _, model: model.complete(X, np.full(64, 0.5)),
           ValueError, "0 / 1")]],
    *[(name, case, call, error, match)
      for name in BASELINES
      for case, call, error, match in [
          ("fit n_components=0", fit_call(X, n_components=0), InvalidParameterError,
           "n_components"),
          ("fit weight_decay=-1", fit_call(X, weight_decay=-1.0), InvalidParameterError,
           "weight_decay"),
          ("inverse_transform wrong width",
           lambda _, model: model.inverse_transform(np.zeros((2, 5))), ValueError,
           "4 latent units")]],
    ("GNCNAutoencoder", "fit inference_rate=0", fit_call(X, inference_rate=0.0),
     InvalidParameterError, "inference_rate"),
    ("GNCNAutoencoder", "fit n_inference_steps=0", fit_call(X, n_inference_steps=0),
     InvalidParameterError, "n_inference_steps"),
    *[(name, f"{method} {case}", call, error, match)
      for name in FACTORIES
      for method in sample_methods(name, FACTORIES[name]())
      for case, call, error, match in [
          ("unfitted", unfitted_call(method), NotFittedError, "not fitted"),
          *([("NaN", method_call(method, NAN), ValueError, "NaN")]
            if name in SUPERVISED or method not in FILLS_NAN else []),
          ("inf", method_call(method, INF), ValueError, "infinity"),
          ("empty", method_call(method, X[:0]), ValueError, "0 sample"),
          ("sparse", method_call(method, sparse.csr_matrix(X)), TypeError, "[Ss]parse"),
          ("wrong n_features", method_call(method, X[:, :5]), ValueError, "features"),
          ("1-D X", method_call(method, X[0]), ValueError, "2D array")]],
    ("PCGenerator", "inverse_transform wrong width",
     lambda _, model: model.inverse_transform(np.zeros((2, 11))), ValueError,
     "10 top-layer units"),
    ("PCGenerator", "inverse_transform NaN",
     lambda _, model: model.inverse_transform(np.full((2, 10), np.nan)), ValueError, "NaN"),
    ("PCGenerator", "generate unseen label", lambda _, model: model.generate([42]),
     ValueError, r"labels \[42\] not in classes"),
    ("PCGenerator", "sample n_samples=0", lambda _, model: model.sample(0), ValueError,
     "positive integer"),
    ("PCGenerator", "sample wrong y length", lambda _, model: model.sample(3, y=[1, 2]),
     ValueError, "n_samples=3 labels"),
    ("PCGenerator", "sample init='ones'", lambda _, model: model.sample(2, init="ones"),
     ValueError, "init must be"),
    ("GNCNAutoencoder", "inverse_transform wrong width",
     lambda _, model: model.inverse_transform(np.zeros((2, 5))), ValueError,
     "4 top-layer units"),
]


@pytest.mark.parametrize("name, case, call, error, match", BAD_INPUT,
                         ids=[f"{name}-{case}" for name, case, *_ in BAD_INPUT])
def test_bad_input_gets_a_clear_error(fitted, name, case, call, error, match):
    model = fitted[name]
    state = joblib.hash(model)
    with pytest.raises(error, match=match):
        call(name, model)
    assert joblib.hash(model) == state  # the fitted estimator is untouched


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_edge_shapes_that_must_work(name):
    """One feature, two samples, string labels: these fit and predict."""
    one_feature = fit(name, X[:, 20:21])
    assert sample_methods(name, one_feature)["transform"](X[:5, 20:21]).shape[0] == 5
    if name in SUPERVISED:
        labels = np.array(["cat", "dog", "eel"])[Y % 3]
        model = FACTORIES[name]().fit(X, labels)
        assert set(model.predict(X)) <= set(labels)
    else:
        assert fit(name, X[:2]).transform(X[:2]).shape == (2, 4)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_read_only_and_memory_mapped_input_and_weights(fitted, name, tmp_path):
    """Outputs on read-only (memory-mapped) inputs, from weights loaded read-only, match,
    and such a model can still be trained further."""
    model = fitted[name]
    path = tmp_path / "X.npy"
    np.save(path, X)
    X_mapped = np.load(path, mmap_mode="r")
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib", mmap_mode="r")
    for method, func in sample_methods(name, model).items():
        expected = func(X)
        np.testing.assert_array_equal(sample_methods(name, loaded)[method](X_mapped), expected,
                                      err_msg=method)
    if name in SUPERVISED:
        loaded.partial_fit(X_mapped, Y)
    else:
        loaded.partial_fit(X_mapped)
    assert loaded.n_iter_ == model.n_iter_ + 1


# -- diverging dynamics --------------------------------------------------------------
DIVERGING = [
    ("PCClassifier", dict(inference="euler", inference_rate=3.0), "inference_rate"),
    ("PCClassifier", dict(learning_rate_init=10.0, activation="relu"), "learning_rate_init"),
    ("PCClassifier", dict(solver="sgd", learning_rate_init=10.0), "learning_rate_init"),
    ("PCGenerator", dict(inference="euler", inference_rate=3.0), "inference_rate"),
    ("GNCNAutoencoder", dict(inference_rate=3.0), "inference_rate"),
    *[(name, {"solver": "sgd", "learning_rate_init": 10.0}, "learning_rate_init")
      for name in BASELINES],
]


@pytest.mark.parametrize("name, params, parameter", DIVERGING,
                         ids=[f"{n}-{p}" for n, _, p in DIVERGING])
def test_diverging_training_names_the_parameter_and_changes_nothing(fitted, name, params,
                                                                   parameter):
    with pytest.raises(FloatingPointError, match=f"Lower {parameter}"):
        fit(name, max_iter=20, **params)
    # a fitted estimator whose further training diverges keeps its previous state
    model = fit(name, **{k: v for k, v in params.items() if k != parameter})
    model.set_params(**params)
    state = joblib.hash(model)
    with pytest.raises(FloatingPointError, match=parameter):
        for _ in range(20):
            model.partial_fit(X, Y) if name in SUPERVISED else model.partial_fit(X)
            state = joblib.hash(model)
    assert joblib.hash(model) == state


def test_diverging_generation_names_the_parameter(fitted):
    model = generator(generation="euler", generation_rate=3.0, n_generation_steps=200)
    model.fit(X, Y)
    state = joblib.hash(model)
    with pytest.raises(FloatingPointError, match="Lower generation_rate"):
        model.generate([0, 1])
    assert joblib.hash(model) == state


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_default_steps_do_not_raise(name):
    """The divergence checks never fire on healthy training (float32 too)."""
    model = fit(name, X.astype(np.float32), max_iter=10)
    assert np.isfinite(model.loss_curve_).all()


# -- determinism ---------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_same_seed_gives_bit_identical_fits_and_outputs(fitted, name):
    again = fit(name)
    assert joblib.hash(again) == joblib.hash(fitted[name])
    for method, func in sample_methods(name, again).items():
        np.testing.assert_array_equal(func(X), sample_methods(name, fitted[name])[method](X),
                                      err_msg=method)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_outputs_do_not_depend_on_the_batch(fitted, name):
    """Each row's output is the same alone, in a permuted batch, and in any chunking."""
    model = fitted[name]
    order = np.random.RandomState(0).permutation(len(X))
    for method, func in sample_methods(name, model).items():
        full = func(X)
        np.testing.assert_allclose(func(X[order]), full[order], rtol=1e-6, atol=1e-9,
                                   err_msg=method)
        np.testing.assert_allclose(func(X[7:8]), full[7:8], rtol=1e-6, atol=1e-9,
                                   err_msg=method)
        with sklearn.config_context(working_memory=0.01):  # chunks of a few rows
            np.testing.assert_allclose(func(X), full, rtol=1e-6, atol=1e-9, err_msg=method)


@pytest.mark.parametrize("name", ["PCGenerator", *AUTOENCODERS])
def test_samples_do_not_depend_on_the_chunking(fitted, name):
    model = fitted[name]
    X_gen = model.sample(30, random_state=3)
    with sklearn.config_context(working_memory=0.01):
        X_chunked = model.sample(30, random_state=3)
    # every sample() returns (X, y): the inputs, and their class or prior component
    np.testing.assert_allclose(X_chunked[0], X_gen[0], rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(X_chunked[1], X_gen[1])


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_inference_mutates_neither_the_model_nor_the_input(fitted, name):
    model = fitted[name]
    state = joblib.hash(model)
    X_in = X.copy()
    X_in.setflags(write=False)  # any write would raise
    for func in sample_methods(name, model).values():
        func(X_in)
    if hasattr(model, "sample"):
        model.sample(3)
    if name == "PCGenerator":
        Z = np.eye(10)
        Z.setflags(write=False)
        model.inverse_transform(Z)
    assert joblib.hash(model) == state
    np.testing.assert_array_equal(X_in, X)


# -- memory bounds -------------------------------------------------------------------
def peak_bytes(func):
    tracemalloc.start()
    try:
        result = func()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_inference_memory_is_bounded_by_working_memory(name):
    """With ``working_memory`` = 1 MiB, a wide network's methods on many rows hold
    little more than their outputs: never every layer of every row."""
    wide = {"PCClassifier": dict(hidden_layer_sizes=(512,)),
            "PCGenerator": dict(hidden_layer_sizes=(512,)),
            "GNCNAutoencoder": dict(latent_sizes=(512, 256, 4)),
            **{key: {"hidden_layer_sizes": (512, 256)} for key in BASELINES}}[name]
    model = fit(name, max_iter=1, **wide)
    X_many = np.tile(X, (40, 1))  # 8000 rows; all layers of all rows would be > 40 MB
    calls = dict(sample_methods(name, model))
    if hasattr(model, "sample"):
        calls["sample"] = lambda _: model.sample(2000)
    for method, func in calls.items():
        with sklearn.config_context(working_memory=1):
            peak, result = peak_bytes(lambda: func(X_many))
        output = np.asarray(result[0] if isinstance(result, tuple) else result).nbytes
        assert peak < 4 * output + 6 * 2**20, (method, peak, output)
