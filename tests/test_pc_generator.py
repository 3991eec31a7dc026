"""PCGenerator: the PC-decay procedure against closed forms and the paper's claims."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from sklearn_pc import PCGenerator
from sklearn_pc.datasets import make_class_prototypes
from sklearn_pc.metrics import cosine_to_class_means, make_generation_scorer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# The paper's network (Sun & Orchard 2020), the estimator's former defaults: the closed
# forms below are about it.
PAPER = dict(hidden_layer_sizes=(600,), activation="tanh", input_activation=None,
             n_inference_steps=20, inference_tol=0.0, weight_decay=0.05, activity_decay=0.01,
             fit_intercept=False, loss="squared_error", max_iter=30)


def paper_generator(**params):
    return PCGenerator(**{**PAPER, **params})


@pytest.fixture(scope="module")
def prototypes():
    return make_class_prototypes(n_samples=60, return_prototypes=True, random_state=0)


def linear_generator(weight_decay, **params):
    """Two-layer linear network trained by full-batch descent (seed 001, section 3)."""
    defaults = dict(hidden_layer_sizes=(), activation="identity", weight_decay=weight_decay,
                    feedback="tied", solver="sgd", momentum=0.0, learning_rate_init=0.2,
                    batch_size=3, max_iter=4000, tol=0.0, n_iter_no_change=4000, shuffle=False,
                    activity_decay=1e-4, n_generation_steps=3000, generation_rate=0.5,
                    random_state=0)
    return paper_generator(**{**defaults, **params})


def test_linear_generation_is_the_ridge_solution(prototypes):
    """Generative fixed point of eq 3.11: x (M W + lambda_x I) = y W^T ... solved by hand."""
    X, y, _ = prototypes
    gen = paper_generator(hidden_layer_sizes=(), activation="identity", activity_decay=0.05,
                      feedback="separate", weight_decay=0.05, solver="sgd", momentum=0.0,
                      learning_rate_init=0.1, n_generation_steps=4000, generation_rate=0.2,
                      max_iter=300, batch_size=20, random_state=0).fit(X, y)
    M, W = gen.coefs_[0], gen.feedback_coefs_[0]
    Y = np.eye(3)
    # dx = (y - x M) W - lambda_x x = 0  =>  x = y W (M W + lambda_x I)^-1
    expected = Y @ W @ np.linalg.inv(M @ W + 0.05 * np.eye(10))
    assert np.allclose(gen.inverse_transform(Y), expected, atol=1e-8)


def test_weight_decay_makes_generation_recover_the_prototypes(prototypes):
    """Theorem 1: decay-trained weights + activity decay generate the training inputs."""
    _, _, P = prototypes
    decayed = linear_generator(0.01).fit(P, [0, 1, 2])
    plain = linear_generator(0.0).fit(P, [0, 1, 2])
    for gen in (decayed, plain):
        assert np.allclose(gen.decision_function(P), np.eye(3), atol=0.05)
    decayed_error = np.linalg.norm(decayed.generate([0, 1, 2]) - P, axis=1)
    plain_error = np.linalg.norm(plain.generate([0, 1, 2]) - P, axis=1)
    assert np.all(decayed_error < 0.1 * np.linalg.norm(P, axis=1))
    assert np.all(plain_error > 3 * decayed_error)


def test_activity_decay_makes_samples_unique(prototypes):
    """Table 1: without activity decay samples spread along the solution space."""
    X, y, _ = prototypes
    params = dict(hidden_layer_sizes=(5,), activation="identity", feedback="tied",
                  max_iter=100, batch_size=20, learning_rate_init=0.01, random_state=0,
                  n_generation_steps=2000, generation_rate=0.5)
    spread = {}
    for activity_decay in (0.0, 0.05):
        gen = paper_generator(activity_decay=activity_decay, **params).fit(X, y)
        X_gen, y_gen = gen.sample(60, init="normal", random_state=1)
        spread[activity_decay] = np.mean([X_gen[y_gen == c].std(axis=0).mean() for c in range(3)])
    assert spread[0.0] > 0.3
    assert spread[0.05] < 0.01


def test_euler_and_alternating_generation_agree(prototypes):
    X, y, _ = prototypes
    gen = paper_generator(hidden_layer_sizes=(5,), activation="tanh", max_iter=50, batch_size=20,
                      learning_rate_init=0.01, activity_decay=0.05, random_state=0).fit(X, y)
    alternating = gen.set_params(generation="alternating", n_generation_steps=2000,
                                 generation_rate=0.2).generate([0, 1, 2])
    euler = gen.set_params(generation="euler", n_generation_steps=20000,
                           generation_rate=0.02).generate([0, 1, 2])
    assert np.allclose(alternating, euler, atol=1e-5)


def test_sample_api(prototypes):
    X, y, _ = prototypes
    gen = paper_generator(hidden_layer_sizes=(5,), max_iter=20, batch_size=20, random_state=0,
                      n_generation_steps=200).fit(X, y)
    X_gen, y_gen = gen.sample(7)
    assert X_gen.shape == (7, 10) and y_gen.tolist() == [0, 1, 2, 0, 1, 2, 0]
    again, _ = gen.sample(7)
    assert np.array_equal(X_gen, again)
    assert not np.array_equal(X_gen, gen.sample(7, random_state=5)[0])
    zeros, labels = gen.sample(3, y=2, init="zeros")
    assert labels.tolist() == [2, 2, 2]
    assert np.allclose(zeros, gen.generate([2, 2, 2]))
    with pytest.raises(ValueError, match="n_samples"):
        gen.sample(3, y=[0, 1])
    with pytest.raises(ValueError, match="not in classes"):
        gen.generate([0, 7])
    # labels are compared by value, never cast to the classes' type
    with pytest.raises(ValueError, match=r"labels \['2'\] not in classes"):
        gen.generate(["2"])
    with pytest.raises(ValueError, match=r"labels \[1.5\] not in classes"):
        gen.sample(2, y=1.5)
    with pytest.raises(ValueError, match="mixes string and numeric labels"):
        gen.generate([0, "1"])  # not read as ["0", "1"]
    X_two, labels = gen.sample(2, y=2.0, init="zeros")  # 2.0 is the class 2
    assert labels.dtype == gen.classes_.dtype and labels.tolist() == [2, 2]
    np.testing.assert_allclose(X_two, zeros[:2], rtol=1e-10)
    with pytest.raises(ValueError, match="init"):
        gen.sample(2, init="uniform")


def test_string_classes_generate_and_name_unknown_labels_in_full(prototypes):
    X, y, _ = prototypes
    names = np.array(["cat", "dog", "eel"])[y]
    gen = paper_generator(hidden_layer_sizes=(5,), max_iter=5, batch_size=20, random_state=0,
                          n_generation_steps=50).fit(X, names)
    X_gen, labels = gen.sample(2, y="dog", init="zeros")
    assert labels.tolist() == ["dog", "dog"]
    np.testing.assert_allclose(X_gen[0], gen.generate(["dog"])[0], rtol=1e-10)
    with pytest.raises(ValueError, match=r"labels \['horse'\] not in classes"):
        gen.sample(3, y="horse")
    with pytest.raises(ValueError, match=r"labels \[1\] not in classes"):
        gen.generate([1])


def test_diverging_generation_names_the_parameter(prototypes):
    X, y, _ = prototypes
    gen = paper_generator(hidden_layer_sizes=(5,), activation="identity", max_iter=20,
                      batch_size=20, random_state=0, generation_rate=50.0,
                      n_generation_steps=200, feedback="separate").fit(X, y)
    with pytest.raises(FloatingPointError, match="generation_rate"):
        gen.generate([0])


def test_tied_generation_backtracks_to_the_same_fixed_point(prototypes):
    X, y, _ = prototypes
    gen = paper_generator(hidden_layer_sizes=(5,), activation="identity", max_iter=20,
                      batch_size=20, random_state=0, generation_rate=50.0,
                      n_generation_steps=300).fit(X, y)
    fast = gen.generate([0, 1, 2])
    slow = gen.set_params(generation_rate=0.1, n_generation_steps=3000).generate([0, 1, 2])
    assert np.allclose(fast, slow, atol=1e-5)


def test_transform_and_inverse_transform_shapes(prototypes):
    X, y, _ = prototypes
    gen = paper_generator(hidden_layer_sizes=(5,), max_iter=20, batch_size=20, random_state=0,
                      n_generation_steps=100).fit(X, y)
    Z = gen.transform(X)
    assert Z.shape == (60, 3)
    assert np.array_equal(Z.argmax(axis=1), np.searchsorted(gen.classes_, gen.predict(X)))
    assert gen.inverse_transform(Z).shape == X.shape
    Z_ro = Z.copy()
    Z_ro.setflags(write=False)
    gen.inverse_transform(Z_ro)
    with pytest.raises(ValueError, match="columns"):
        gen.inverse_transform(Z[:, :2])
    assert gen.inverse_transform(Z.astype(np.float32)).dtype == np.float64
    assert list(gen.get_feature_names_out()) == ["pcgenerator0", "pcgenerator1", "pcgenerator2"]


@pytest.fixture
def small_generator(prototypes):
    """A fitted 5-unit generator and the top-layer states of 8 inputs."""
    X, y, _ = prototypes
    gen = paper_generator(hidden_layer_sizes=(5,), max_iter=20, batch_size=20, random_state=0,
                      n_generation_steps=300).fit(X, y)
    return gen, gen.transform(X[:8])


def test_generated_rows_do_not_depend_on_their_batch(small_generator):
    gen, Z = small_generator
    together = gen.inverse_transform(Z)
    alone = np.vstack([gen.inverse_transform(Z[i:i + 1]) for i in range(8)])
    assert np.allclose(together, alone, rtol=1e-12, atol=1e-12)


def test_generation_tol_stops_settled_samples(small_generator):
    gen, Z = small_generator
    full = gen.inverse_transform(Z)
    # a tolerance no update reaches changes nothing; one every update meets stops each
    # sample before its first step, at its zero start
    assert np.array_equal(gen.set_params(generation_tol=1e-300).inverse_transform(Z), full)
    assert np.all(full != 0)
    assert np.array_equal(gen.set_params(generation_tol=1e9).inverse_transform(Z),
                          np.zeros_like(full))
    # in between, samples stop near the fixed point, each on its own
    gen.set_params(generation_tol=1e-3)
    together = gen.inverse_transform(Z)
    alone = np.vstack([gen.inverse_transform(Z[i:i + 1]) for i in range(8)])
    assert np.allclose(together, alone, rtol=1e-12, atol=1e-12)
    assert not np.array_equal(together, full)
    assert np.allclose(together, full, atol=1e-2)
    euler = gen.set_params(generation="euler", generation_tol=1e9).inverse_transform(Z)
    assert np.array_equal(euler, gen.set_params(generation_tol=0.0).inverse_transform(Z))


def test_weight_decay_schedules():
    gen = paper_generator(weight_decay=0.04, feedback_weight_decay=0.02)
    assert gen._weight_decays(0.0) == (0.04, 0.02)
    assert gen._weight_decays(None) == (0.04, 0.02)
    gen.set_params(weight_decay_schedule="linear")
    assert np.allclose(gen._weight_decays(0.75), (0.01, 0.005))
    gen.set_params(weight_decay_schedule="cosine")
    assert np.allclose(gen._weight_decays(0.5), (0.02, 0.01))


def test_generation_scorer_in_grid_search(prototypes):
    X, y, _ = prototypes
    gen = paper_generator(hidden_layer_sizes=(5,), activation="identity", max_iter=40,
                      batch_size=20, learning_rate_init=0.01, random_state=0,
                      n_generation_steps=500, generation_rate=0.2)
    search = GridSearchCV(gen, {"weight_decay": [0.0, 0.05], "activity_decay": [0.01]},
                          scoring=make_generation_scorer(), cv=2).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.all((-1 <= scores) & (scores <= 1))
    assert search.best_params_["weight_decay"] == 0.05


def test_cosine_to_class_means():
    X = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]])
    y = np.array([0, 0, 1])
    generated = np.array([[2.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    cos = cosine_to_class_means(generated, [0, 1, 1], X, y)
    assert np.allclose(cos, [1.0, np.sqrt(0.5), 0.0])
    with pytest.raises(ValueError, match="No reference samples"):
        cosine_to_class_means(generated, [0, 1, 5], X, y)


@pytest.mark.parametrize("feedback", ["tied", "separate"])
def test_loss_is_energy_plus_weight_decay_penalty(prototypes, feedback):
    """loss_ is the objective the updates descend: for a two-layer linear network
    with both ends clamped, 1/2 mean ||y - x M||^2 + lambda_M/2 ||M||^2 (+ lambda_W/2 ||W||^2
    for separate feedback) at the weights before the epoch's one full-batch update."""
    X, y, _ = prototypes
    gen = paper_generator(hidden_layer_sizes=(), activation="identity", feedback=feedback,
                      weight_decay=0.3, feedback_weight_decay=0.2, batch_size=X.shape[0],
                      solver="sgd", momentum=0.0, learning_rate_init=0.05, max_iter=1,
                      random_state=0).fit(X, y)
    M, W = gen.coefs_[0].copy(), gen.feedback_coefs_[0].copy()
    gen.partial_fit(X, y)
    Y = np.eye(3)[y]
    expected = 0.5 * np.mean(np.sum((Y - X @ M) ** 2, axis=1)) + 0.15 * np.sum(M ** 2)
    if feedback == "separate":
        expected += 0.1 * np.sum(W ** 2)
    assert gen.loss_ == pytest.approx(expected, rel=1e-10)


def test_loss_curve_of_small_step_descent_is_non_increasing(prototypes):
    """Full-batch gradient descent at a small step decreases the objective it descends.
    Turning weight decay on after a fit without it pulls the weights away from the
    energy's minimum: the energy alone rises, energy + penalty falls."""
    X, y, _ = prototypes
    gen = paper_generator(hidden_layer_sizes=(), activation="identity", weight_decay=0.0,
                      batch_size=X.shape[0], solver="sgd", momentum=0.0,
                      learning_rate_init=0.05, max_iter=300, tol=0.0, n_iter_no_change=300,
                      shuffle=False, random_state=0).fit(X, y)
    Y = np.eye(3)[y]

    def energy(M):
        return 0.5 * np.mean(np.sum((Y - X @ M) ** 2, axis=1))

    energy_before = energy(gen.coefs_[0])
    gen.set_params(weight_decay=0.5, warm_start=True, max_iter=50, n_iter_no_change=50)
    gen.fit(X, y)
    curve = np.asarray(gen.loss_curve_[-50:])
    assert np.all(np.diff(curve) <= 1e-12)
    assert curve[-1] < curve[0]
    # the energy alone rose, so a loss without the penalty would have risen
    assert energy(gen.coefs_[0]) > energy_before + 1e-3



def test_hidden_gaussian_is_fitted_to_the_settled_hidden_states(prototypes):
    """hidden_means_ / hidden_covariances_ are each class's mean and (maximum-likelihood)
    covariance of the top hidden layer's states at the discriminative equilibrium,
    sigma_in(X) M[0] + b[0] for one hidden layer with a linear input layer."""
    X, y, _ = prototypes
    gen = PCGenerator(hidden_layer_sizes=(4,), fit_intercept=True, max_iter=5,
                      random_state=0).fit(X, y)
    H = X @ gen.coefs_[0] + gen.intercepts_[0]
    for c in range(3):
        assert np.allclose(gen.hidden_means_[c], H[y == c].mean(axis=0))
        assert np.allclose(gen.hidden_covariances_[c], np.cov(H[y == c].T, bias=True))
    assert gen.hidden_counts_.tolist() == np.bincount(y).tolist()


def test_partial_fit_accumulates_the_hidden_gaussian(prototypes):
    """With a learning rate too small to move the weights, two partial_fit calls give the
    statistics of their data together."""
    X, y, _ = prototypes
    gen = PCGenerator(hidden_layer_sizes=(4,), learning_rate_init=1e-12, random_state=0)
    gen.partial_fit(X[:25], y[:25], classes=[0, 1, 2]).partial_fit(X[25:], y[25:])
    together = PCGenerator(hidden_layer_sizes=(4,), learning_rate_init=1e-12,
                           random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    assert np.allclose(gen.hidden_counts_, together.hidden_counts_)
    assert np.allclose(gen.hidden_means_, together.hidden_means_, atol=1e-8)
    assert np.allclose(gen.hidden_covariances_, together.hidden_covariances_, atol=1e-8)


def test_hidden_samples_vary_and_keep_their_class(prototypes):
    """init="hidden" samples spread within their class (the noise-free generative mode
    gives one image per class), and the network recognises their class."""
    X, y, _ = prototypes
    gen = PCGenerator(hidden_layer_sizes=(8,), max_iter=100, batch_size=20,
                      learning_rate_init=0.01, random_state=0).fit(X, y)
    X_gen, y_gen = gen.sample(60, random_state=0)
    spread = np.mean([X_gen[y_gen == c].std(axis=0).mean() for c in range(3)])
    fixed, _ = gen.sample(60, init="zeros")
    fixed_spread = np.mean([fixed[y_gen == c].std(axis=0).mean() for c in range(3)])
    assert fixed_spread < 1e-12 < spread
    assert np.mean(gen.predict(X_gen) == y_gen) > 0.9
