"""The dynamics core against closed-form and hand-computed results."""

import tracemalloc

import numpy as np
import pytest

from sklearn_pc._core._activations import ACTIVATIONS
from sklearn_pc._core._learning import (OPTIMIZERS, gradient_factors, local_gradients,
                                        parameter_regions, parameters)
from sklearn_pc._core._network import PCNetwork
from sklearn_pc._core._relaxation import relax
from sklearn_pc._core._workspace import Workspace


def make_network(sizes=(4, 5, 3), activation="tanh", tied=False, seed=0, dtype=np.float64,
                 variances=None):
    rng = np.random.default_rng(seed)
    pairs = list(zip(sizes[:-1], sizes[1:]))
    coefs = [rng.normal(0, 0.5, pair).astype(dtype) for pair in pairs]
    intercepts = [rng.normal(0, 0.1, n_out).astype(dtype) for _, n_out in pairs]
    # Separate feedback near M.T keeps the products M W positive definite, the
    # condition under which the clamped equilibrium is unique (seed 001, section 2.2).
    feedback = None if tied else [(m.T + rng.normal(0, 0.1, m.T.shape)).astype(dtype)
                                  for m in coefs]
    if variances is None:
        variances = np.ones(len(sizes))
    return PCNetwork(coefs, intercepts, feedback, [activation] * len(pairs), variances)


def training_states(network, n_samples=6, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, network.layer_sizes[0])).astype(network.dtype)
    n_classes = network.layer_sizes[-1]
    Y = np.eye(n_classes, dtype=network.dtype)[rng.integers(0, n_classes, n_samples)]
    states = network.feedforward(X)
    states[-1] = Y
    return states


def gradients(network, states, errors, *, n_samples=None, **kwargs):
    """The local gradients of ``errors`` at ``states``."""
    factors = gradient_factors(network, states, errors, n_samples=n_samples)
    return local_gradients(network, factors, **kwargs)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_derivatives_match_finite_differences(name):
    f, df = ACTIVATIONS[name]
    x = np.linspace(-2.1, 2.3, 23)
    h = 1e-6
    numeric = (f(x + h) - f(x - h)) / (2 * h)
    assert np.allclose(df(x, f(x)), numeric, atol=1e-6)


def test_relu_derivative_is_one_at_zero():
    f, df = ACTIVATIONS["relu"]
    assert df(np.zeros(3), f(np.zeros(3))).tolist() == [1.0, 1.0, 1.0]


def test_one_alternating_step_matches_hand_computation():
    net = make_network(variances=[1.0, 2.0, 0.5])
    M, b, W = net.coefs, net.intercepts, net.feedback
    x0, x1, x2 = (s.copy() for s in training_states(net))
    rate, decay = 0.3, 0.05
    # by hand: errors at equilibrium (eq 2.4), then one step of eq 3.11 on the hidden layer
    eps1 = (x1 - (np.tanh(x0) @ M[0] + b[0])) / 2.0
    eps2 = (x2 - (np.tanh(x1) @ M[1] + b[1])) / 0.5
    dx1 = (1 - np.tanh(x1) ** 2) * (eps2 @ W[1]) - eps1 - decay * x1
    expected = x1 + rate * dx1

    states = [x0.copy(), x1.copy(), x2.copy()]
    errors = relax(net, states, n_steps=1, rate=rate, activity_decay=decay)
    assert np.allclose(states[1], expected)
    assert np.array_equal(states[0], x0) and np.array_equal(states[2], x2)  # clamped
    # returned errors are the equilibrium errors of the new states
    assert np.allclose(errors[2], (x2 - (np.tanh(expected) @ M[1] + b[1])) / 0.5)


def test_one_euler_step_matches_hand_computation():
    net = make_network()
    M, b, W = net.coefs, net.intercepts, net.feedback
    x0, x1, x2 = (s.copy() for s in training_states(net))
    rng = np.random.default_rng(3)
    e1, e2 = rng.normal(size=x1.shape), rng.normal(size=x2.shape)
    rate = 0.02
    # by hand: eq 2.2 for the error units and eq 2.3 for the states, from the old values
    new_e1 = e1 + rate * (x1 - (np.tanh(x0) @ M[0] + b[0]) - e1)
    new_e2 = e2 + rate * (x2 - (np.tanh(x1) @ M[1] + b[1]) - e2)
    new_x1 = x1 + rate * ((1 - np.tanh(x1) ** 2) * (e2 @ W[1]) - e1)

    states = [x0, x1.copy(), x2]
    errors = relax(net, states, schedule="euler", n_steps=1, rate=rate,
                   errors=[None, e1, e2])
    assert np.allclose(states[1], new_x1)
    assert np.allclose(errors[1], new_e1) and np.allclose(errors[2], new_e2)


def test_free_top_and_free_bottom_steps():
    net = make_network()
    states = training_states(net)
    x0, x2 = states[0].copy(), states[2].copy()
    eps = net.errors(states)
    rate, decay = 0.1, 0.2
    expected_top = x2 - rate * eps[2]  # beta = 1
    expected_bottom = x0 + rate * ((1 - np.tanh(x0) ** 2) * (eps[1] @ net.feedback[0]) - decay * x0)
    relax(net, states, clamp_bottom=False, clamp_top=False, n_steps=1, rate=rate,
          activity_decay=decay)
    assert np.allclose(states[2], expected_top)
    assert np.allclose(states[0], expected_bottom)


@pytest.mark.parametrize("tied", [True, False])
def test_feedforward_start_does_not_change_the_result(tied):
    net = make_network(sizes=(4, 6, 5, 6, 3), tied=tied)
    reference = training_states(net)
    fast = [s.copy() for s in reference]
    reference_errors = relax(net, reference, n_steps=7, rate=0.1)
    fast_errors = relax(net, fast, n_steps=7, rate=0.1, feedforward_start=True)
    for a, b in zip(reference + reference_errors[1:], fast + fast_errors[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    # the top error reaches hidden layer L - k at step k: after one step only L - 1 moved
    one_step = training_states(net)
    relax(net, one_step, n_steps=1, rate=0.1, feedforward_start=True)
    start = training_states(net)
    assert np.array_equal(one_step[1], start[1]) and np.array_equal(one_step[2], start[2])
    assert not np.array_equal(one_step[3], start[3])


@pytest.mark.parametrize("clamp_top", [True, False])
def test_rows_settled_at_a_feedforward_start_never_enter_the_relaxation(clamp_top):
    """With ``tol`` after a feedforward start, rows whose first step is at most
    ``tol`` keep their states and zero errors without being relaxed; the result
    equals the relaxation that does not know the start is a feedforward sweep."""
    net = make_network(sizes=(4, 6, 5, 3), tied=True)
    rng = np.random.default_rng(2)
    states = net.feedforward(rng.normal(size=(9, 4)))
    states[-1][3:] += rng.normal(size=(6, 3))  # rows 0..2 keep a zero top error
    kwargs = dict(clamp_top=clamp_top, n_steps=50, rate=0.2, tol=1e-4)
    reference = [s.copy() for s in states]
    reference_errors = relax(net, reference, **kwargs)
    fast = [s.copy() for s in states]
    fast_errors = relax(net, fast, feedforward_start=True, **kwargs)
    for a, b in zip(reference + reference_errors[1:], fast + fast_errors[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    for layer in range(1, 3):
        assert np.array_equal(fast_errors[layer][:3], np.zeros((3, states[layer].shape[1])))
    for layer in range(1, 4 if not clamp_top else 3):  # the settled rows never moved
        assert np.array_equal(fast[layer][:3], states[layer][:3])
        assert not np.array_equal(fast[layer][3:], states[layer][3:])


@pytest.mark.parametrize("tol", [0.0, 1e-3])
@pytest.mark.parametrize("rate", [0.2, 3.0])  # 3.0: steps are undone and rates halved
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_relaxation_in_a_workspace_equals_one_in_new_arrays(tol, rate, dtype):
    """Batch after batch (a smaller one between two full ones), a relaxation in a
    workspace gives the same states and errors, to the last bit, as one in new
    arrays: a reused buffer carries nothing from one batch to the next."""
    net = make_network(sizes=(4, 6, 5, 3), tied=True, dtype=dtype)
    workspace = Workspace()
    for seed, n_samples in [(1, 9), (2, 4), (3, 9)]:
        states = training_states(net, n_samples=n_samples, seed=seed)
        kwargs = dict(n_steps=30, rate=rate, feedforward_start=True, tol=tol)
        reference = list(states)
        reference_errors = relax(net, reference, **kwargs)
        in_workspace = list(states)
        errors = relax(net, in_workspace, workspace=workspace, **kwargs)
        for a, b in zip(reference + reference_errors[1:], in_workspace + errors[1:]):
            assert a.dtype == b.dtype and np.array_equal(a, b)


@pytest.mark.parametrize("tol", [0.0, 1e-3])
@pytest.mark.parametrize("rate", [0.2, 3.0])
def test_a_relaxation_in_a_warm_workspace_allocates_little(tol, rate):
    """After a first batch, the next relaxation in the same workspace allocates less
    than a tenth of what one in new arrays does (it reuses the buffers)."""
    net = make_network(sizes=(50, 200, 200, 10), tied=True)
    kwargs = dict(n_steps=30, rate=rate, feedforward_start=True, tol=tol)
    workspace = Workspace()
    relax(net, training_states(net, n_samples=500, seed=1), workspace=workspace, **kwargs)

    def peak_bytes(workspace):
        states = training_states(net, n_samples=500, seed=2)
        tracemalloc.start()
        try:
            relax(net, states, workspace=workspace, **kwargs)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert peak_bytes(workspace) < peak_bytes(None) / 10


@pytest.mark.parametrize("tied", [True, False])
def test_sweep_and_gradients_in_a_workspace_equal_those_in_new_arrays(tied):
    net = make_network(sizes=(4, 6, 5, 3), tied=tied)
    workspace = Workspace()
    for seed, n_samples in [(1, 9), (2, 4)]:
        states = training_states(net, n_samples=n_samples, seed=seed)
        for a, b in zip(net.feedforward(states[0]), net.feedforward(states[0], workspace)):
            assert np.array_equal(a, b)
        errors = net.errors(states)
        errors[1][0] = 0.0  # a row without error at layer 1 is left out of its gradient
        reference = gradients(net, states, errors, n_samples=20)
        in_workspace = gradients(net, states, errors, n_samples=20, workspace=workspace)
        assert len(reference) == len(in_workspace)
        for a, b in zip(reference, in_workspace):
            assert np.array_equal(a, b)


@pytest.mark.parametrize("tied", [True, False])
def test_euler_and_alternating_reach_the_same_equilibrium(tied):
    net = make_network(sizes=(4, 6, 5, 3), tied=tied)
    euler_states = training_states(net)
    alternating_states = [s.copy() for s in euler_states]
    relax(net, euler_states, schedule="euler", n_steps=6000, rate=0.01)
    relax(net, alternating_states, schedule="alternating", n_steps=600, rate=0.2)
    for a, b in zip(euler_states, alternating_states):
        assert np.allclose(a, b, atol=1e-6)
    # the equilibrium is a fixed point: the hidden state increments vanish
    eps = net.errors(alternating_states)
    for layer in (1, 2):
        fx, dfx = net.activate_with_derivative(layer, alternating_states[layer])
        assert np.allclose(dfx * (eps[layer + 1] @ net.feedback[layer]) - eps[layer], 0, atol=1e-8)


def test_discriminative_equilibrium_is_the_feedforward_sweep():
    net = make_network(sizes=(4, 6, 3))
    X = np.random.default_rng(0).normal(size=(5, 4))
    expected = net.feedforward(X)
    states = [s + 0.3 for s in expected]
    states[0] = X
    relax(net, states, clamp_top=False, n_steps=2000, rate=0.1)
    for a, b in zip(states, expected):
        assert np.allclose(a, b, atol=1e-6)


def test_backtracking_keeps_large_steps_stable():
    """Far beyond the stability limit of plain steps, tied relaxation still converges."""
    net = make_network(sizes=(4, 6, 5, 3), tied=True)
    slow = training_states(net)
    fast = [s.copy() for s in slow]
    relax(net, slow, n_steps=3000, rate=0.05)
    relax(net, fast, n_steps=400, rate=5.0)
    for a, b in zip(slow, fast):
        assert np.allclose(a, b, atol=1e-6)
    # the same feedback as separate arrays gets no guard, and a step of 5 diverges
    untied = PCNetwork(net.coefs, net.intercepts, [m.T.copy() for m in net.coefs],
                       ["tanh"] * 3, np.ones(4))
    plain = training_states(untied)
    relax(untied, plain, n_steps=400, rate=5.0)
    assert not np.allclose(plain[1], slow[1], atol=1e-3)


def test_relaxation_lowers_the_energy_with_tied_weights():
    net = make_network(sizes=(4, 6, 5, 3), tied=True)
    states = training_states(net)
    energies = []
    for _ in range(30):
        errors = relax(net, states, n_steps=1, rate=0.05)
        energies.append(net.energy(states, errors).sum())
    assert np.all(np.diff(energies) <= 1e-12)


def test_local_gradients_are_energy_gradients():
    """At fixed states, the local rule is the gradient of the mean energy (eq 2.9)."""
    # 5 rows: the mean's scale goes on the gradient of layer 0 (3 inputs) and on the
    # errors of layer 1 (6 inputs)
    net = make_network(sizes=(3, 6, 2), tied=True, variances=[1.0, 1.5, 0.7])
    states = training_states(net, n_samples=5)

    def mean_energy():
        return net.energy(states, net.errors(states)).mean()

    grads = gradients(net, states, net.errors(states), forward_decay=0.0)
    h = 1e-6
    for param, grad in zip(parameters(net), grads):
        numeric = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            param[index] += h
            up = mean_energy()
            param[index] -= 2 * h
            numeric[index] = (up - mean_energy()) / (2 * h)
            param[index] += h
        assert np.allclose(grad, numeric, atol=1e-6)


def test_weight_decay_and_feedback_gradient():
    net = make_network(sizes=(3, 4, 2))
    states = training_states(net)
    errors = net.errors(states)
    plain = gradients(net, states, errors)
    decayed = gradients(net, states, errors, forward_decay=0.1, feedback_decay=0.2)
    n_weights = net.n_layers
    for layer in range(n_weights):
        assert np.allclose(decayed[layer] - plain[layer], 0.1 * net.coefs[layer])
        feedback_index = 2 * n_weights + layer  # after coefs and intercepts
        assert np.allclose(plain[feedback_index], plain[layer].T)  # eq 2.10 is eq 2.9 transposed
        assert np.allclose(decayed[feedback_index] - plain[feedback_index],
                           0.2 * net.feedback[layer])


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("n_parts", [2, 3])
def test_gradient_parts_cover_each_entry_once_and_make_the_whole_gradient(tied, n_parts):
    net = make_network(sizes=(5, 4, 2), tied=tied)
    states = training_states(net, n_samples=7)
    errors = net.errors(states)
    errors[1][2] = 0.0  # a row without error at layer 1 is left out of its gradient
    decays = dict(forward_decay=0.1, feedback_decay=0.2)
    whole = gradients(net, states, errors, **decays)
    assembled = [np.zeros_like(g) for g in whole]
    covered = [np.zeros(g.shape, dtype=int) for g in whole]
    for k in range(n_parts):
        part = (k, n_parts)
        grads = gradients(net, states, errors, part=part, **decays)
        for index, (grad, region) in enumerate(zip(grads, parameter_regions(net, part))):
            assert (grad is None) == (region is None)
            if region is not None:
                assembled[index][region] = grad
                covered[index][region] += 1
    for grad, part_grads, count in zip(whole, assembled, covered):
        assert np.all(count == 1)
        np.testing.assert_allclose(part_grads, grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["adam", "sgd"])
def test_an_update_in_parts_equals_the_whole_update_to_the_last_bit(name):
    """Parts update rows of one array and columns of another, as the forward
    and separate feedback weights are split (``parameter_regions``)."""
    rng = np.random.default_rng(0)
    starts = [rng.normal(size=(5, 4)).astype(np.float32), rng.normal(size=(4, 5))]
    whole_params = [p.copy() for p in starts]
    part_params = [p.copy() for p in starts]
    whole = OPTIMIZERS[name](whole_params, learning_rate_init=0.1)
    in_parts = OPTIMIZERS[name](part_params, learning_rate_init=0.1)
    for _ in range(3):
        grads = [rng.normal(size=p.shape).astype(p.dtype) for p in starts]
        whole.update_params(whole_params, grads)
        in_parts.start_step()
        for rows in (slice(0, 2), slice(2, 5)):
            regions = [rows, (slice(None), rows)]
            in_parts.update_regions(part_params, [g[r] for g, r in zip(grads, regions)],
                                    regions)
    for a, b in zip(part_params, whole_params):
        np.testing.assert_array_equal(a, b)


def test_adam_and_sgd_first_steps():
    param = np.array([1.0, -2.0])
    grad = np.array([0.5, -0.1])
    adam = OPTIMIZERS["adam"]([param], learning_rate_init=0.1)
    adam.update_params([param], [grad])
    # the first Adam step moves each coordinate by about lr against the gradient sign
    assert np.allclose(param, [0.9, -1.9], atol=1e-6)
    param = np.array([1.0, -2.0])
    sgd = OPTIMIZERS["sgd"]([param], learning_rate_init=0.1, momentum=0.0)
    sgd.update_params([param], [grad])
    assert np.allclose(param, [0.95, -1.99])


@pytest.mark.parametrize("param_order, grad_order", [("C", "C"), ("F", "F"), ("C", "F")])
def test_optimizers_match_their_textbook_updates(param_order, grad_order):
    # a gradient in another memory order than its parameter is matched entry by entry
    rng = np.random.default_rng(0)
    start = np.asarray(rng.normal(size=(5, 4)), order=param_order)
    grads = [np.asarray(rng.normal(size=(5, 4)), order=grad_order) for _ in range(4)]
    lr, b1, b2, eps, mom = 0.01, 0.9, 0.999, 1e-8, 0.9

    param, m, v = start.copy(), np.zeros((5, 4)), np.zeros((5, 4))
    adam_param = np.array(start, order=param_order)
    adam = OPTIMIZERS["adam"]([adam_param], learning_rate_init=lr)
    for t, grad in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * grad
        v = b2 * v + (1 - b2) * grad**2
        param -= lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
        adam.update_params([adam_param], [grad])
        np.testing.assert_allclose(adam_param, param, rtol=1e-12)

    for nesterov in (True, False):
        param, velocity = start.copy(), np.zeros((5, 4))
        sgd_param = np.array(start, order=param_order)
        sgd = OPTIMIZERS["sgd"]([sgd_param], learning_rate_init=lr, momentum=mom,
                                nesterovs_momentum=nesterov)
        for grad in grads:
            velocity = mom * velocity - lr * grad
            param += mom * velocity - lr * grad if nesterov else velocity
            sgd.update_params([sgd_param], [grad])
            np.testing.assert_allclose(sgd_param, param, rtol=1e-12)


@pytest.mark.parametrize("schedule", ["alternating", "euler"])
def test_float32_stays_float32(schedule):
    net = make_network(sizes=(4, 6, 3), dtype=np.float32)
    states = training_states(net)
    errors = relax(net, states, schedule=schedule, n_steps=3, rate=0.1, activity_decay=0.01)
    assert all(s.dtype == np.float32 for s in states)
    assert all(e.dtype == np.float32 for e in errors[1:])
    grads = gradients(net, states, errors, forward_decay=0.1)
    assert all(g.dtype == np.float32 for g in grads)
    assert net.energy(states, errors).dtype == np.float32


def test_rows_relax_independently():
    net = make_network(sizes=(4, 6, 3))
    states = training_states(net, n_samples=8)
    single = [s[3:4].copy() for s in states]
    relax(net, states, n_steps=10, rate=0.2)
    relax(net, single, n_steps=10, rate=0.2)
    for a, b in zip(states, single):
        assert np.allclose(a[3:4], b, rtol=1e-12, atol=1e-12)


def test_backtracking_halves_the_step_of_the_undone_rows_only():
    """At a step size where some rows' steps are undone and others' are not, each
    row still relaxes exactly as it does alone."""
    net = make_network(sizes=(4, 6, 5, 3), tied=True)
    states = training_states(net, n_samples=8)
    together = [s.copy() for s in states]
    relax(net, together, n_steps=30, rate=1.5)
    for row in range(8):
        alone = [s[row:row + 1].copy() for s in states]
        relax(net, alone, n_steps=30, rate=1.5)
        for a, b in zip(together, alone):
            np.testing.assert_allclose(a[row:row + 1], b, rtol=1e-10, atol=1e-12)


def test_softmax_output_errors_are_cross_entropy_gradients():
    """With a softmax top, the local rule for the top weights descends the log-loss."""
    rng = np.random.default_rng(0)
    coefs = [rng.normal(0, 0.5, (4, 5)), rng.normal(0, 0.5, (5, 3))]
    intercepts = [np.zeros(5), np.zeros(3)]
    net = PCNetwork(coefs, intercepts, None, ["tanh", "tanh"], np.ones(3), output="softmax")
    states = training_states(net, n_samples=5)
    Y = states[-1]

    def mean_log_loss():
        p = net.predict_layer(1, np.tanh(states[1]))
        return -np.mean(np.sum(Y * np.log(p), axis=1))

    grad = gradients(net, states, net.errors(states))[1]
    numeric = np.zeros_like(coefs[1])
    h = 1e-6
    for index in np.ndindex(coefs[1].shape):
        coefs[1][index] += h
        up = mean_log_loss()
        coefs[1][index] -= 2 * h
        numeric[index] = (up - mean_log_loss()) / (2 * h)
        coefs[1][index] += h
    assert np.allclose(grad, numeric, atol=1e-7)
    assert np.allclose(net.feedforward(states[0])[-1].sum(axis=1), 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_energy_stays_finite_when_a_probability_underflows(dtype):
    """A confident mistake (softmax probability 0 in floating point) has a finite energy:
    ``-log`` of the smallest positive number, not infinity."""
    net = PCNetwork([np.array([[2000.0, -2000.0]], dtype=dtype)], None, None, ["identity"],
                    np.ones(2), output="softmax")
    states = [np.ones((1, 1), dtype=dtype), np.array([[0.0, 1.0]], dtype=dtype)]
    energy = net.energy(states, net.errors(states))
    assert energy.dtype == dtype
    assert energy[0] == pytest.approx(-np.log(np.finfo(dtype).tiny), rel=1e-6)


@pytest.mark.parametrize("clamp_top,decay,budget", [
    (True, 0.0, "ample"), (False, 0.05, "ample"),
    (True, 0.0, "tight"),  # rows settle in the last steps, others never do
])
def test_rows_stop_on_their_own_once_settled(clamp_top, decay, budget):
    """With ``tol``, each row stops when its own max |dx| drops to ``tol``: it
    ends where a lone relaxation of that row stopped by the same rule ends, and
    a row still moving is not affected by the rows that stopped before it, nor
    by those that stop in the last steps of the budget."""
    net = make_network(sizes=(4, 6, 5, 3), tied=True)
    states = training_states(net, n_samples=9)
    # rows 0..2 start at their feedforward states: without decay dx = 0, they stop
    # before any step
    states[-1][:3] = net.feedforward(states[0][:3])[-1]
    tol = 1e-4

    def gradient_max(row_states):
        """max |dx| over the free layers at the given states of one row."""
        row_errors = net.errors(row_states)
        free = range(1, len(row_states) if not clamp_top else len(row_states) - 1)
        largest = 0.0
        for layer in free:
            if layer == net.n_layers:
                dx = -row_errors[layer]
            else:
                _, d = net.activate_with_derivative(layer, row_states[layer])
                dx = d * (row_errors[layer + 1] @ net.feedback[layer]) - row_errors[layer]
                dx -= decay * row_states[layer]
            largest = max(largest, np.abs(dx).max())
        return largest

    def lone_relaxation(row, n_steps):
        """The row alone, one step at a time, stopped by hand; and its step count."""
        lone = [s[row:row + 1].copy() for s in states]
        for step in range(n_steps + 1):
            if step == n_steps or gradient_max(lone) <= tol:
                break
            relax(net, lone, n_steps=1, rate=0.2, activity_decay=decay, clamp_top=clamp_top)
        return lone, step

    n_steps = 300
    if budget == "tight":  # the budget ends two steps after the third moving row stops
        settle_steps = sorted(lone_relaxation(row, n_steps)[1] for row in range(3, 9))
        n_steps = settle_steps[2] + 2
        assert n_steps not in settle_steps  # every row stops before the budget or never
    batch = [s.copy() for s in states]
    errors = relax(net, batch, tol=tol, clamp_top=clamp_top, n_steps=n_steps, rate=0.2,
                   activity_decay=decay)
    n_steps_taken = []
    for row in range(9):
        lone, step = lone_relaxation(row, n_steps)
        n_steps_taken.append(step)
        for a, b in zip(batch, lone):
            np.testing.assert_allclose(a[row:row + 1], b, rtol=1e-10, atol=1e-10)
        assert (gradient_max([s[row:row + 1] for s in batch]) <= tol) == (step < n_steps)
        lone_errors = net.errors(lone)
        for a, b in zip(errors[1:], lone_errors[1:]):
            np.testing.assert_allclose(a[row:row + 1], b, rtol=1e-10, atol=1e-10)
    assert (n_steps_taken[:3] == [0, 0, 0]) == (decay == 0)
    assert min(n_steps_taken[3:]) > 0
    assert len(set(n_steps_taken)) > 2  # rows settled at different steps
    n_unsettled = sum(step == n_steps for step in n_steps_taken)
    assert (n_unsettled > 0) == (budget == "tight")


@pytest.mark.parametrize("schedule,tol,feedforward_start,clamp_top,decay,n_at_rest", [
    ("alternating", 0.0, False, True, 0.0, 0),
    ("alternating", 0.0, True, False, 0.05, 3),
    ("alternating", 1e-3, True, True, 0.0, 3),    # rows that never move, and rows that stop
    ("alternating", 1e-3, True, True, 0.0, 0),    # every row moves
    ("alternating", 1e-3, True, False, 0.0, 3),
    ("alternating", 1e-3, False, True, 0.05, 0),
    ("euler", 0.0, False, True, 0.05, 0),
])
@pytest.mark.parametrize("output", ["identity", "softmax"])
def test_relaxation_reports_the_energy_of_its_final_states(schedule, tol, feedforward_start,
                                                           clamp_top, decay, n_at_rest, output):
    """``energy`` receives, per row, the energy of the final states and errors
    (plus the activity decay of the free layers below the top)."""
    net = make_network(sizes=(4, 6, 5, 3), tied=True)
    net = PCNetwork(net.coefs, net.intercepts, None, net.activation_names, net.variances,
                    output=output)
    states = training_states(net, n_samples=9)
    if feedforward_start:
        sweep = net.feedforward(states[0])
        states = sweep[:-1] + [states[-1]]
        states[-1][:n_at_rest] = sweep[-1][:n_at_rest]  # rows without error: never move
    energy = np.full(9, np.nan)
    errors = relax(net, states, schedule=schedule, tol=tol, feedforward_start=feedforward_start,
                   clamp_top=clamp_top, activity_decay=decay, n_steps=40, rate=0.1,
                   energy=energy)
    expected = net.energy(states, errors)
    for layer in range(1, net.n_layers + (0 if clamp_top else 1)):
        if layer < net.n_layers:
            expected += decay / 2 * (states[layer] ** 2).sum(axis=1)
    np.testing.assert_allclose(energy, expected, rtol=1e-12, atol=1e-14)
    assert np.ptp(energy) > 0


def make_stack(sizes=(3, 6, 5, 7), *, gated=False, seed=0, dtype=np.float64, **pieces):
    """A stack with the pieces of a GNCN: relu predictions of the hidden layers, a
    logistic top, errors on activities and precision matrices below the top, skip
    predictions, learned feedback (``gated=False``), lateral groups, sparsity."""
    rng = np.random.default_rng(seed)
    pairs = list(zip(sizes[:-1], sizes[1:]))
    n_layers = len(pairs)
    coefs = [rng.normal(0, 0.5, pair).astype(dtype) for pair in pairs]
    precisions = [None]
    for size in sizes[1:-1]:
        factor = rng.normal(0, 0.3, (size, size))
        precisions.append((np.eye(size) + factor @ factor.T / size).astype(dtype))
    precisions.append(None)
    options = dict(
        prediction="relu", precisions=precisions, activity_errors=range(1, n_layers),
        skip=[rng.normal(0, 0.5, (sizes[k], sizes[k + 2])).astype(dtype)
              for k in range(n_layers - 1)],
        gated=gated, sparsity=0.02,
        lateral=[(np.array([0, 2], dtype=np.intp), np.array([2, sizes[k] - 2], dtype=np.intp))
                 for k in range(n_layers)],
        lateral_excitation=0.13, lateral_inhibition=0.125)
    options.update(pieces)
    feedback = None if gated else [(m.T + rng.normal(0, 0.1, m.T.shape)).astype(dtype)
                                   for m in coefs]
    return PCNetwork(coefs, None, feedback, ["relu"] * n_layers, np.ones(n_layers + 1),
                     output="logistic", **options)


def reference_stack_step(net, states, rate, decay, observed=None):
    """One alternating step of a stack, from the equations of ``_network`` in plain
    numpy: errors at equilibrium, then every free layer moved from the old values."""
    top = net.n_layers
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    a = [relu(x) for x in states[:top]]
    eps = [None]
    for k in range(top):
        h = a[k] @ net.coefs[k]
        if net.skip is not None and k > 0:
            h = h + a[k - 1] @ net.skip[k - 1]
        mu = 1 / (1 + np.exp(-h)) if k == top - 1 else relu(h)
        v = a[k + 1] if net.activity_errors[k + 1] else states[k + 1]
        mismatch = v - mu
        P = net.precisions[k + 1]
        eps.append(mismatch @ P if P is not None else mismatch)
    new = []
    for k in range(top):
        drive = eps[k + 1] @ net.feedback[k]
        if net.gated:
            drive = drive * (states[k] >= 0)
        dx = drive - decay * states[k] - net.sparsity * np.sign(states[k])
        if k > 0:
            dx = dx - eps[k]
        if net.lateral is not None:
            starts, sizes = net.lateral[k]
            V = np.zeros((a[k].shape[1],) * 2)
            for start, size in zip(starts, sizes):
                V[start:start + size, start:start + size] = -net.inhibition
            V[np.diag_indices_from(V)] = net.excitation
            dx = dx + a[k] @ V
        new.append(states[k] + rate * dx)
    free = 1 - observed
    new.append(states[top] - rate * eps[top] * free)
    return new


@pytest.mark.parametrize("gated", [False, True])
@pytest.mark.parametrize("skip", [True, False])
def test_one_alternating_step_of_a_general_stack_matches_its_equations(gated, skip):
    """Relu and logistic predictions, errors on activities with precision matrices,
    skip predictions, gated or ungated feedback, sparsity, lateral groups, and a top
    clamped entry by entry: one step of ``relax`` against the equations."""
    net = make_stack(gated=gated, **({} if skip else {"skip": None}))
    rng = np.random.default_rng(3)
    states = [rng.normal(size=(5, n)) for n in net.layer_sizes]
    states[-1] = rng.random(states[-1].shape)
    observed = (rng.random(states[-1].shape) < 0.5).astype(float)
    expected = reference_stack_step(net, states, 0.1, 0.01, observed)
    passed, given = list(states), [s.copy() for s in states]
    relax(net, states, clamp_bottom=False, clamp_top=False, observed=observed, n_steps=1,
          rate=0.1, activity_decay=0.01)
    for got, want in zip(states, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    # clamped entries of the top keep their values exactly; the caller's arrays are not written
    np.testing.assert_array_equal(states[-1][observed == 1], given[-1][observed == 1])
    assert not np.array_equal(states[-1], given[-1])
    for array, copy in zip(passed, given):
        np.testing.assert_array_equal(array, copy)


def test_a_general_stack_reports_its_final_errors_predictions_and_energy():
    """The errors, predictions and energy returned are those of the final states
    (the energy: the error terms, ``1/2 (v - mu) P (v - mu)^T`` with a precision
    matrix and the binary cross-entropy at a logistic top, plus the decay and the
    sparsity of the free layers below the top); a stack with these pieces does not
    descend its energy, so it refuses to backtrack."""
    net = make_stack()
    assert not net.descends
    rng = np.random.default_rng(4)
    states = [rng.normal(size=(6, n)) for n in net.layer_sizes]
    states[-1] = rng.random(states[-1].shape)
    energy = np.empty(6)
    errors, predictions = relax(net, states, clamp_bottom=False, n_steps=7, rate=0.05,
                                activity_decay=0.01, energy=energy, return_predictions=True)
    want_predictions, want_errors = net.predictions_and_errors(states)
    for got, want in zip(errors[1:] + predictions[1:], want_errors[1:] + want_predictions[1:]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    expected = net.energy(states, errors)
    for k in range(net.n_layers):
        expected += 0.01 / 2 * (states[k] ** 2).sum(axis=1) + 0.02 * np.abs(states[k]).sum(1)
    np.testing.assert_allclose(energy, expected, rtol=1e-12)
    mu = want_predictions[1]
    mismatch = np.maximum(states[1], 0) - mu
    np.testing.assert_allclose(
        net.energy(states, errors) - net.energy(states, [None, None] + errors[2:]),
        0.5 * np.einsum("ij,jk,ik->i", mismatch, net.precisions[1], mismatch), rtol=1e-12)
    with pytest.raises(ValueError, match="descend"):
        relax(net, states, clamp_bottom=False, n_steps=1, backtrack=True)
    with pytest.raises(NotImplementedError, match="precision"):
        relax(net, states, clamp_bottom=False, n_steps=1, schedule="euler")


def test_euler_runs_the_step_of_a_general_stack():
    """Without precision matrices, Euler's states take the same step as the
    alternating schedule's from error units at equilibrium, and its error units
    integrate d eps = v - mu - nu eps."""
    net = make_stack(precisions=None)
    rng = np.random.default_rng(5)
    states = [rng.normal(size=(4, n)) for n in net.layer_sizes]
    states[-1] = rng.random(states[-1].shape)
    alternating, euler = [s.copy() for s in states], [s.copy() for s in states]
    relax(net, alternating, clamp_bottom=False, clamp_top=True, n_steps=1, rate=0.1)
    start = net.errors(states)
    errors = relax(net, euler, clamp_bottom=False, clamp_top=True, n_steps=1, rate=0.1,
                   schedule="euler")
    for got, want in zip(euler, alternating):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    predictions = net.predictions_and_errors(states)[0]
    for k in range(1, net.n_layers + 1):
        v = net.compared(k, states[k])
        want = start[k] + 0.1 * (v - predictions[k] - start[k])
        np.testing.assert_allclose(errors[k], want, rtol=1e-12, atol=1e-12)


def test_skip_gradients_are_hebbian_and_split_into_parts():
    """grad S[k] = -a[k].T eps[k+2] / N, and the parts of ``parameter_regions``
    cover every entry of every learned array once."""
    net = make_stack()
    rng = np.random.default_rng(6)
    states = [rng.normal(size=(5, n)) for n in net.layer_sizes]
    errors = net.errors(states)
    whole = gradients(net, states, errors)
    params = parameters(net)
    assert len(whole) == len(params) == 3 * net.n_layers - 1
    for k, skip in enumerate(net.skip):
        want = -np.maximum(states[k], 0).T @ errors[k + 2] / 5
        np.testing.assert_allclose(whole[2 * net.n_layers + k], want, rtol=1e-12)
        assert whole[2 * net.n_layers + k].shape == skip.shape
    assembled = [np.full(p.shape, np.nan) for p in params]
    for part in [(0, 2), (1, 2)]:
        grads = gradients(net, states, errors, part=part)
        for target, grad, region in zip(assembled, grads, parameter_regions(net, part)):
            if region is not None:
                assert np.all(np.isnan(target[region]))
                target[region] = grad
    for got, want in zip(assembled, whole):
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("held", [[1], [2], [0, 3]])
def test_any_layer_can_be_clamped(held, skip):
    """A clamped layer keeps its states exactly; the others take the step of the
    equations (every free layer moves from the same old values)."""
    # errors on activities, precisions, lateral groups, sparsity, skip predictions
    net = make_stack(**({} if skip else {"skip": None}))
    rng = np.random.default_rng(7)
    states = [rng.normal(size=(5, n)) for n in net.layer_sizes]
    states[-1] = rng.random(states[-1].shape)
    expected = reference_stack_step(net, states, 0.1, 0.0, np.zeros_like(states[-1]))
    given = list(states)
    relax(net, states, clamp=held, n_steps=1, rate=0.1)
    for layer, (got, want) in enumerate(zip(states, expected)):
        if layer in held:
            assert got is given[layer]
        else:
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="clamp names layers"):
        relax(net, states, clamp=[4], n_steps=1)


def test_rows_of_a_general_stack_stop_on_their_own():
    """With ``tol``, each row of a stack with the GNCN pieces (and a top clamped
    entry by entry) ends where it ends when relaxed alone, and some rows stop early."""
    net = make_stack()
    rng = np.random.default_rng(8)
    states = [rng.normal(size=(7, n)) * (0.3 + np.arange(7)[:, None]) / 4
              for n in net.layer_sizes]
    states[-1] = rng.random(states[-1].shape)
    observed = (rng.random(states[-1].shape) < 0.5).astype(float)
    options = dict(clamp_bottom=False, clamp_top=False, n_steps=60, rate=0.05, tol=0.2)
    batch = list(states)
    errors = relax(net, batch, observed=observed, **options)
    for row in range(7):
        alone = [s[row:row + 1] for s in states]
        alone_errors = relax(net, alone, observed=observed[row:row + 1], **options)
        for got, want in zip(batch, alone):
            np.testing.assert_allclose(got[row:row + 1], want, rtol=1e-12, atol=1e-12)
        for got, want in zip(errors[1:], alone_errors[1:]):
            np.testing.assert_allclose(got[row:row + 1], want, rtol=1e-12, atol=1e-12)
    full = list(states)
    relax(net, full, observed=observed, **{**options, "tol": 0.0})
    stopped = [not np.allclose(batch[0][row], full[0][row]) for row in range(7)]
    assert any(stopped) and not all(stopped)
