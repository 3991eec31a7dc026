"""PCClassifier: closed forms, learning, determinism and clear errors."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.utils.extmath import softmax

from sklearn_pc import PCClassifier
from sklearn_pc.datasets import make_class_prototypes

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, test_size=0.25, random_state=0)


def small(**params):
    # no weight decay: some tests check that weights without an error do not move
    defaults = dict(hidden_layer_sizes=(16,), n_inference_steps=5, max_iter=20, batch_size=32,
                    learning_rate_init=0.003, weight_decay=0.0, random_state=0)
    return PCClassifier(**{**defaults, **params})


def linear_classifier(weight_decay):
    """The two-layer linear network of seed 001 section 3, trained by full-batch descent."""
    return PCClassifier(hidden_layer_sizes=(), activation="identity", fit_intercept=False,
                        loss="squared_error", solver="sgd", momentum=0.0,
                        learning_rate_init=0.2, batch_size=3, weight_decay=weight_decay,
                        max_iter=4000, tol=0.0, shuffle=False, n_iter_no_change=4000,
                        random_state=0)


def test_linear_network_reaches_the_ridge_solution():
    """With decay lambda, the fixed point of eq 3.12 is M = (X^T X / N + lambda I)^-1 X^T Y / N."""
    X, _, prototypes = make_class_prototypes(n_samples=3, n_features=5, n_classes=3, noise=0.0,
                                             return_prototypes=True, random_state=0)
    X = prototypes
    Y = np.eye(3)
    weight_decay = 0.05
    clf = linear_classifier(weight_decay).fit(X, [0, 1, 2])
    expected = np.linalg.solve(X.T @ X / 3 + weight_decay * np.eye(5), X.T @ Y / 3)
    assert np.allclose(clf.coefs_[0], expected, atol=1e-8)


def test_linear_network_without_decay_solves_y_equals_mx():
    """Without decay training reaches Y = M X (seed 001 section 3), but not the minimum-norm M:
    the component of the initial weights in the null space of X is never removed."""
    _, _, X = make_class_prototypes(n_features=5, n_classes=3, return_prototypes=True,
                                    random_state=1)
    clf = linear_classifier(0.0).fit(X, [0, 1, 2])
    assert np.allclose(clf.decision_function(X), np.eye(3), atol=1e-8)
    minimum_norm = np.linalg.pinv(X) @ np.eye(3)
    assert np.linalg.norm(clf.coefs_[0]) > np.linalg.norm(minimum_norm) + 0.1


def test_digits_accuracy(digits):
    X_train, X_test, y_train, y_test = digits
    clf = PCClassifier(hidden_layer_sizes=(100,), batch_size=64, max_iter=50, random_state=0)
    clf.fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.95
    assert clf.loss_curve_[-1] < clf.loss_curve_[0] / 10


def test_float32_is_kept(digits):
    X_train, X_test, y_train, _ = digits
    clf = small().fit(X_train.astype(np.float32), y_train)
    assert all(m.dtype == np.float32 for m in clf.coefs_ + clf.feedback_coefs_)
    assert clf.predict_proba(X_test.astype(np.float32)).dtype == np.float32
    assert clf.transform(X_test).dtype == np.float32


def test_same_seed_same_fit_and_batch_independent_outputs(digits):
    X_train, X_test, y_train, _ = digits
    a = small().fit(X_train, y_train)
    b = small().fit(X_train, y_train)
    for m, n in zip(a.coefs_ + a.feedback_coefs_, b.coefs_ + b.feedback_coefs_):
        assert np.array_equal(m, n)
    full = a.predict_proba(X_test)
    one_by_one = np.vstack([a.predict_proba(X_test[i:i + 1]) for i in range(10)])
    assert np.allclose(full[:10], one_by_one, rtol=1e-12, atol=1e-14)


def test_inputs_are_not_written(digits):
    X_train, X_test, y_train, _ = digits
    X_train = X_train.copy()
    X_train.setflags(write=False)
    clf = small().fit(X_train, y_train)
    before = [m.copy() for m in clf.coefs_]
    X_test = X_test.copy()
    X_test.setflags(write=False)
    for m in clf.coefs_:
        m.setflags(write=False)
    clf.predict(X_test)
    clf.transform(X_test)
    for m, n in zip(clf.coefs_, before):
        assert np.array_equal(m, n)


def test_partial_fit(digits):
    X_train, X_test, y_train, y_test = digits
    with pytest.raises(ValueError, match="classes must be passed"):
        small().partial_fit(X_train, y_train)
    clf = small()
    for _ in range(15):
        clf.partial_fit(X_train, y_train, classes=np.arange(10))
    assert clf.n_iter_ == 15
    assert clf.loss_curve_[-1] < clf.loss_curve_[0] / 2
    assert clf.score(X_test, y_test) > 0.8
    with pytest.raises(ValueError, match=r"labels \[11\] not in classes"):
        clf.partial_fit(X_train[:5], [0, 1, 2, 3, 11])
    # a subset of the classes is fine after the first call, and the same classes again
    clf.partial_fit(X_train[y_train < 2], y_train[y_train < 2])
    clf.partial_fit(X_train[:50], y_train[:50], classes=np.arange(10)[::-1])
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2\] is not the same as on the "
                                         "first call"):
        clf.partial_fit(X_train[:50], y_train[:50] % 3, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="not in classes"):  # "3" is not 3
        clf.partial_fit(X_train[:2], np.array(["3", "4"]))


def test_early_stopping_keeps_the_best_weights(digits):
    X_train, _, y_train, _ = digits
    clf = small(early_stopping=True, n_iter_no_change=2, max_iter=40).fit(X_train, y_train)
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_warm_start_continues(digits):
    X_train, _, y_train, _ = digits
    clf = small(max_iter=3, warm_start=True).fit(X_train, y_train)
    first = clf.loss_curve_[-1]
    clf.fit(X_train, y_train)
    assert clf.n_iter_ == 6 and clf.loss_curve_[-1] < first
    # as MLPClassifier: a warm fit trains the classes it was built for
    with pytest.raises(ValueError, match="warm_start can only be used where y has the same "
                                         "classes"):
        clf.fit(X_train[y_train < 5], y_train[y_train < 5])
    assert clf.n_iter_ == 6  # and the failed call left it as it was


def test_tied_feedback_survives_pickling(digits):
    X_train, X_test, y_train, _ = digits
    clf = small(feedback="tied").fit(X_train, y_train)
    clone = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(clone.predict_proba(X_test), clf.predict_proba(X_test))
    assert all(np.shares_memory(w, m) for w, m in zip(clone.feedback_coefs_, clone.coefs_))
    clone.set_params(warm_start=True, max_iter=1).fit(X_train, y_train)
    assert all(np.array_equal(w, m.T) for w, m in zip(clone.feedback_coefs_, clone.coefs_))


def test_binary_decision_function_and_proba():
    X, y = make_class_prototypes(n_samples=60, n_classes=2, random_state=0)
    labels = np.array(["no", "yes"])[y]
    clf = small().fit(X, labels)
    decision = clf.decision_function(X)
    assert decision.shape == (60,)
    assert np.array_equal(clf.classes_[(decision > 0).astype(int)], clf.predict(X))
    assert np.allclose(clf.predict_proba(X).sum(axis=1), 1)
    assert clf.score(X, labels) == 1.0


def test_log_loss_gives_probabilities(digits):
    X_train, X_test, y_train, y_test = digits
    clf = small(loss="log_loss", max_iter=30).fit(X_train, y_train)
    proba = clf.predict_proba(X_test)
    assert np.allclose(proba.sum(axis=1), 1) and np.all(proba >= 0)
    assert np.array_equal(proba, clf.decision_function(X_test))
    assert clf.score(X_test, y_test) > 0.9


def test_transform_returns_last_hidden_activity(digits):
    X_train, X_test, y_train, _ = digits
    clf = small(hidden_layer_sizes=(12, 7)).fit(X_train, y_train)
    hidden = clf.transform(X_test)
    assert hidden.shape == (len(X_test), 7)
    assert np.allclose(softmax(hidden @ clf.coefs_[-1] + clf.intercepts_[-1]),
                       clf.predict_proba(X_test))
    assert list(clf.get_feature_names_out()) == [f"pcclassifier{i}" for i in range(7)]


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_is_rejected(digits, bad):
    X_train, _, y_train, _ = digits
    X = X_train.copy()
    X[3, 4] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        small().fit(X, y_train)
    clf = small(max_iter=1).fit(X_train, y_train)
    with pytest.raises(ValueError, match="NaN|infinity"):
        clf.predict(X)


def test_clear_errors(digits):
    X_train, _, y_train, _ = digits
    with pytest.raises(NotFittedError):
        small().predict(X_train)
    with pytest.raises(ValueError, match="one class"):
        small().fit(X_train, np.zeros(len(X_train)))
    clf = small(max_iter=1).fit(X_train, y_train)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X_train[:, :10])
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        small(hidden_layer_sizes=(10, 0)).fit(X_train, y_train)
    with pytest.raises(ValueError, match="binary and multiclass"):
        small().fit(X_train[:4], [0.5, 1.5, 2.5, 3.1])


def test_diverging_relaxation_names_the_parameter(digits):
    """Separate feedback weights follow the paper's dynamics, with no energy guard."""
    X_train, _, y_train, _ = digits
    clf = small(activation="identity", feedback="separate", inference_rate=5.0,
                n_inference_steps=200)
    with pytest.raises(FloatingPointError, match="inference_rate"):
        clf.fit(X_train * 10, y_train)
    assert not hasattr(clf, "coefs_")  # the failed fit left no half-trained weights


def test_tied_relaxation_cannot_diverge(digits):
    """With tied feedback, rows backtrack: a huge inference_rate still trains."""
    X_train, X_test, y_train, y_test = digits
    clf = small(activation="identity", inference_rate=5.0, n_inference_steps=50).fit(
        X_train * 10, y_train)
    assert clf.score(X_test * 10, y_test) > 0.8


def test_verbose_prints_the_energy(digits, capsys):
    X_train, _, y_train, _ = digits
    small(max_iter=2, verbose=True).fit(X_train, y_train)
    assert capsys.readouterr().out.count("energy =") == 2


def test_convergence_warning(digits):
    X_train, _, y_train, _ = digits
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        small(max_iter=2).fit(X_train, y_train)


def test_too_few_inference_steps_warn_and_leave_the_lowest_layer_untrained(digits):
    """After the feedforward start the output error descends one hidden layer per
    step: with 2 hidden layers and 1 step, the first weight layer never learns."""
    X_train, _, y_train, _ = digits
    clf = small(hidden_layer_sizes=(12, 7), n_inference_steps=1, max_iter=1)
    initial = small(hidden_layer_sizes=(12, 7), max_iter=1)
    initial._initialize([64, 12, 7, 10], np.float64, np.random.RandomState(0))
    with pytest.warns(UserWarning, match="less than the 2 hidden layers"):
        clf.fit(X_train, y_train)
    np.testing.assert_array_equal(clf.coefs_[0], initial.coefs_[0])
    assert not np.array_equal(clf.coefs_[1], initial.coefs_[1])
    auto = small(hidden_layer_sizes=(12, 7), n_inference_steps="auto", max_iter=1)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="n_inference_steps")
        auto.fit(X_train, y_train)
    assert auto._n_inference_steps() == 3
    assert not np.array_equal(auto.coefs_[0], initial.coefs_[0])


def test_inference_tol_stops_settled_samples(digits):
    """A tolerance no step exceeds stops every sample before its first step: only
    the top layer (whose error is the output's) learns.  A zero tolerance and a
    tolerance no sample reaches give the same fit."""
    X_train, _, y_train, _ = digits
    params = dict(hidden_layer_sizes=(12,), max_iter=2, activation="tanh")
    initial = small(**params)
    initial._initialize([64, 12, 10], np.float64, np.random.RandomState(0))
    stopped = small(**params, inference_tol=1e9).fit(X_train, y_train)
    np.testing.assert_array_equal(stopped.coefs_[0], initial.coefs_[0])
    assert not np.array_equal(stopped.coefs_[1], initial.coefs_[1])
    never = small(**params, inference_tol=1e-300).fit(X_train, y_train)
    off = small(**params, inference_tol=0.0).fit(X_train, y_train)
    for a, b in zip(never.coefs_, off.coefs_):
        np.testing.assert_array_equal(a, b)
    euler = small(**params, inference="euler", inference_tol=1e9).fit(X_train, y_train)
    assert not np.array_equal(euler.coefs_[0], initial.coefs_[0])  # ignored by euler


def test_input_layer_is_linear_by_default(digits):
    """With the default linear input layer the first prediction is X M + b; with
    input_activation=None a ReLU network applies the ReLU to the inputs too, so it cannot
    tell standardised features from their positive parts."""
    X_train, _, y_train, _ = digits
    X = (X_train - X_train.mean(axis=0)) / (X_train.std(axis=0) + 1e-9)
    linear = small(hidden_layer_sizes=(8,), max_iter=2).fit(X, y_train)
    assert linear.get_params()["input_activation"] == "identity"
    expected = np.maximum(X @ linear.coefs_[0] + linear.intercepts_[0], 0.0)
    np.testing.assert_allclose(linear.transform(X), expected, atol=1e-12)
    assert not np.allclose(linear.transform(X), linear.transform(np.maximum(X, 0.0)))
    paper = small(hidden_layer_sizes=(8,), max_iter=2, input_activation=None).fit(X, y_train)
    np.testing.assert_array_equal(paper.transform(X), paper.transform(np.maximum(X, 0.0)))


def test_defaults_stop_before_max_iter_behind_a_standard_scaler():
    """At its defaults the classifier stops on its objective, without a ConvergenceWarning,
    on standardised breast_cancer."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        pipe = make_pipeline(StandardScaler(), PCClassifier(random_state=0)).fit(X, y)
    clf = pipe[-1]
    assert clf.n_iter_ < clf.max_iter
