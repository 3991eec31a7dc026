"""Property-based tests of the relaxation over shapes, dtypes and hyperparameters."""

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sklearn_pc._core._activations import ACTIVATIONS  # noqa: E402
from sklearn_pc._core._network import PCNetwork  # noqa: E402
from sklearn_pc._core._relaxation import relax  # noqa: E402

SMOOTH = ["identity", "logistic", "tanh"]  # relu's kink breaks first-order descent


@st.composite
def networks(draw, activations=tuple(sorted(ACTIVATIONS)), tied=None):
    """A small network, its states (input, hidden, one-hot or free top) and its dtype."""
    sizes = draw(st.lists(st.integers(1, 6), min_size=2, max_size=4))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    tied = draw(st.booleans()) if tied is None else tied
    activation = draw(st.sampled_from(activations))
    n_samples = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    pairs = list(zip(sizes[:-1], sizes[1:]))
    coefs = [rng.normal(0, 0.4, pair).astype(dtype) for pair in pairs]
    intercepts = [rng.normal(0, 0.1, n_out).astype(dtype) for _, n_out in pairs]
    feedback = None if tied else [(m.T + rng.normal(0, 0.05, m.T.shape)).astype(dtype)
                                  for m in coefs]
    network = PCNetwork(coefs, intercepts, feedback, [activation] * len(pairs),
                        np.ones(len(sizes)))
    states = network.feedforward(rng.normal(size=(n_samples, sizes[0])).astype(dtype))
    states[-1] = rng.normal(size=states[-1].shape).astype(dtype)
    return network, states


def energy(network, states):
    return network.energy(states, network.errors(states))


@settings(max_examples=60, deadline=None)
@given(networks(), st.sampled_from(["alternating", "euler"]), st.booleans(), st.booleans(),
       st.floats(1e-3, 0.2), st.integers(1, 30), st.floats(0, 0.1))
def test_relaxation_stays_finite_in_the_callers_dtype(net_states, schedule, clamp_bottom,
                                                      clamp_top, rate, n_steps, decay):
    network, states = net_states
    before = [s.copy() for s in states]
    errors = relax(network, states, clamp_bottom=clamp_bottom, clamp_top=clamp_top,
                   schedule=schedule, n_steps=n_steps, rate=rate, activity_decay=decay)
    for layer, (x, eps) in enumerate(zip(states, errors)):
        assert x.dtype == network.dtype and np.isfinite(x).all()
        assert eps is None or (eps.dtype == network.dtype and np.isfinite(eps).all())
    if clamp_bottom:
        np.testing.assert_array_equal(states[0], before[0])
    if clamp_top:
        np.testing.assert_array_equal(states[-1], before[-1])


@settings(max_examples=60, deadline=None)
@given(networks(activations=SMOOTH, tied=True), st.floats(1e-4, 1e-3), st.booleans())
def test_one_euler_step_from_equilibrium_never_raises_the_energy(net_states, rate, clamp_top):
    """With tied weights, an Euler step whose errors start at equilibrium is a gradient
    step on the energy: small enough, it cannot raise it (eq 2.3, 2.4, 2.7)."""
    network, states = net_states
    before = energy(network, states)
    relax(network, states, clamp_top=clamp_top, schedule="euler", n_steps=1, rate=rate)
    after = energy(network, states)
    tolerance = 1e-4 if network.dtype == np.float32 else 1e-10
    assert np.all(after <= before + tolerance * (1 + before))


@settings(max_examples=60, deadline=None)
@given(networks(tied=True), st.floats(1e-3, 10.0), st.integers(1, 30))
def test_tied_alternating_relaxation_never_raises_any_rows_energy(net_states, rate, n_steps):
    """Backtracking makes every row's energy non-increasing, whatever the step size."""
    network, states = net_states
    before = energy(network, states)
    relax(network, states, schedule="alternating", n_steps=n_steps, rate=rate)
    after = energy(network, states)
    tolerance = 1e-4 if network.dtype == np.float32 else 1e-10
    assert np.all(after <= before + tolerance * (1 + before))


@settings(max_examples=40, deadline=None)
@given(networks(), st.sampled_from(["alternating", "euler"]), st.integers(1, 20))
def test_each_row_relaxes_as_if_alone(net_states, schedule, n_steps):
    network, states = net_states
    together = list(states)
    relax(network, together, schedule=schedule, n_steps=n_steps, rate=0.1)
    for row in range(states[0].shape[0]):
        alone = [x[row:row + 1] for x in states]
        relax(network, alone, schedule=schedule, n_steps=n_steps, rate=0.1)
        for x_alone, x_together in zip(alone, together):
            np.testing.assert_allclose(x_alone[0], x_together[row], rtol=1e-4, atol=1e-5)
