"""The elementwise kernels: each numpy reference (``_core._reference``) against its
equation, each compiled kernel against its reference, and estimators fitted
without the compiled ones against estimators fitted with them.

The compiled kernels evaluate the same expressions as the references, but
may round differently (another order of the group sums, float64 lanes in the
sums of squares): every comparison is ``allclose``, at tolerances for the
dtype, never bit-equality.  Tests of a compiled kernel are skipped where the
extension is not built or ``SKLEARN_PC_NO_COMPILED=1`` (then the whole suite
runs on the references).
"""

import itertools
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from sklearn_pc import GNCNAutoencoder, PCClassifier
from sklearn_pc._core import _kernels, _reference
from sklearn_pc._core._activations import ACTIVATIONS
from sklearn_pc._core._kernels import ACTIVATION_CODES
from sklearn_pc._core._ngc import group_bounds

# rounding of a handful of operations on values of order 1
TOLERANCES = {np.float32: dict(rtol=1e-6, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}
IMPLEMENTATIONS = ("reference", "compiled")


def kernel(name, implementation):
    """The kernel ``name`` of ``implementation``, skipping a compiled one that is missing."""
    if implementation == "reference":
        return getattr(_reference, name)
    if name not in _kernels.COMPILED:
        pytest.skip(f"no compiled {name} (not built, removed, or SKLEARN_PC_NO_COMPILED=1)")
    return _kernels.COMPILED[name]


def assert_close(actual, expected, dtype, **kwargs):
    np.testing.assert_allclose(actual, expected, **{**TOLERANCES[dtype], **kwargs})


def test_every_kernel_has_a_reference_and_the_dispatch_says_which_runs():
    for name in _kernels.NAMES:
        assert callable(getattr(_reference, name)) and callable(getattr(_kernels, name))
        expected = "compiled" if name in _kernels.COMPILED else "reference"
        assert _kernels.IN_USE[name] == expected
        assert getattr(_kernels, name) is (_kernels.COMPILED[name] if name in _kernels.COMPILED
                                           else getattr(_reference, name))
    previous = _kernels.use_compiled(False)
    try:
        assert all(getattr(_kernels, name) is getattr(_reference, name)
                   for name in _kernels.NAMES)
        assert set(_kernels.IN_USE.values()) == {"reference"}
    finally:
        _kernels.restore(previous)
    assert _kernels.IN_USE == previous


def test_no_compiled_environment_variable_selects_the_references():
    code = ("from sklearn_pc._core import _kernels; "
            "assert not _kernels.COMPILED, _kernels.COMPILED; "
            "assert set(_kernels.IN_USE.values()) == {'reference'}; "
            "import sklearn_pc")
    subprocess.run([sys.executable, "-c", code], check=True,
                   env={**os.environ, "SKLEARN_PC_NO_COMPILED": "1"})


# --- the equations, for both implementations ---------------------------------------------

@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))  # each needs a kernel code
def test_state_step_follows_its_equation(implementation, dtype, activation):
    """dx = sigma'(x) feedback - error - decay x;  out = x + rate dx;  largest = max |dx|."""
    state_step = kernel("state_step", implementation)
    rng = np.random.default_rng(0)
    x, feedback, error = (rng.normal(size=(5, 300)).astype(dtype) for _ in range(3))
    f, df = ACTIVATIONS[activation]
    activity = f(x)
    decay, rates = dtype(0.05), np.array([[0.1], [0.2], [0.05], [0.1], [0.3]], dtype=dtype)
    code = ACTIVATION_CODES[activation]
    for with_feedback, with_error, with_decay in [(True, True, True), (True, False, False),
                                                  (False, True, False)]:
        step = feedback * df(x, activity) if with_feedback else np.zeros_like(x)
        if with_error:
            step -= error
        if with_decay:
            step -= x * decay
        for rate in (dtype(0.1), rates):
            out, largest = np.empty_like(x), np.zeros(5, dtype=dtype)
            returned = state_step(feedback if with_feedback else None,
                                  activity if with_feedback else None, code,
                                  error if with_error else None, x,
                                  decay if with_decay else 0.0, rate, out, largest)
            assert returned is out
            assert_close(out, x + step * rate, dtype)
            assert_close(largest, np.abs(step).max(axis=1), dtype)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_state_step_writes_the_new_activity(implementation, dtype, activation):
    """``activity_out`` holds ``f(out)``, over rows wider than one kernel block and
    through inf, NaN and signed zeros."""
    state_step = kernel("state_step", implementation)
    rng = np.random.default_rng(1)
    x = (10 * rng.normal(size=(4, 700))).astype(dtype)
    error = rng.normal(size=x.shape).astype(dtype)
    error[0, :6] = [np.inf, -np.inf, np.nan, 0.0, 0.0, 0.0]
    x[0, 3:6] = [-0.0, 0.0, 1e30]
    f = ACTIVATIONS[activation][0]
    out, activity = np.empty_like(x), np.full_like(x, 7.0)
    with np.errstate(all="ignore"):
        state_step(None, None, ACTIVATION_CODES[activation], error, x, 0.0, dtype(0.5), out,
                   None, activity)
        expected = f(out)
    assert_close(activity, expected, dtype)
    assert np.isnan(out[0, 2]) and np.isinf(out[0, 0])  # the special values got through


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_state_step_tracks_the_largest_step_and_keeps_nan(implementation):
    state_step = kernel("state_step", implementation)
    x = np.zeros((3, 40))
    error = np.zeros((3, 40))
    error[0, 7], error[1, 39], error[2, 3] = 2.0, -5.0, np.nan
    largest = np.array([3.0, 1.0, 0.0])
    state_step(None, None, 0, error, x, 0.0, 0.5, np.empty_like(x), largest)
    np.testing.assert_array_equal(largest[:2], [3.0, 5.0])  # the previous largest is kept
    assert np.isnan(largest[2])
    state_step(None, None, 0, np.zeros_like(x), x, 0.0, 0.5, np.empty_like(x), largest)
    assert np.isnan(largest[2])  # NaN sticks: a diverged row never counts as settled


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_prediction_error_is_the_activation_and_a_subtraction(implementation, dtype,
                                                               activation):
    """``logits`` becomes ``f(logits)``, ``error`` ``target - f(logits)``, over rows
    wider than one kernel block and through inf, NaN, signed zeros and logits
    whose exp overflows."""
    prediction_error = kernel("prediction_error", implementation)
    rng = np.random.default_rng(2)
    logits = (10 * rng.normal(size=(3, 700))).astype(dtype)
    logits[0, :7] = [np.inf, -np.inf, np.nan, -0.0, 0.0, -1e30, 1e30]
    target = rng.random(size=logits.shape).astype(dtype)
    with np.errstate(all="ignore"):
        prediction = ACTIVATIONS[activation][0](logits)
        expected_error = target - prediction
        h, error = logits.copy(), np.full_like(logits, 7.0)
        assert prediction_error(h, ACTIVATION_CODES[activation], target, error) is error
    assert_close(h, prediction, dtype)
    assert_close(error, expected_error, dtype)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_error_and_energy_follow_their_formulas(implementation, dtype):
    """mu += b;  eps = (x - mu) / nu;  energy = nu / 2 ||eps||^2 + decay / 2 ||x||^2."""
    error_energy = kernel("error_energy", implementation)
    rng = np.random.default_rng(0)
    x, prediction = (rng.normal(size=(4, 37)).astype(dtype) for _ in range(2))
    bias = rng.normal(size=37).astype(dtype)
    nu, decay = dtype(0.5), dtype(0.1)
    mu = prediction.copy()
    error, energy = np.empty_like(x), np.empty(4, dtype=dtype)
    assert error_energy(mu, bias, x, nu, decay, error, energy) is error
    assert_close(mu, prediction + bias, dtype)  # the bias is added in place
    assert_close(error, (x - (prediction + bias)) / nu, dtype)
    eps64 = error.astype(float)
    expected = nu / 2 * (eps64**2).sum(axis=1) + decay / 2 * (x.astype(float)**2).sum(axis=1)
    assert_close(energy, expected, dtype)
    error_energy(mu, None, x, 1.0, 0.0, error, energy)  # a stored prediction: no bias again
    assert_close(mu, prediction + bias, dtype)
    assert_close(error, x - mu, dtype)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ["type1-tanh", "type1-relu", "type2-lateral"])
def test_latent_step_matches_the_settling_equations(implementation, dtype, case):
    """z += beta (-gamma z + phi'(z) * drive - lambda sign(z) - e + a V), V by group sums."""
    latent_step = kernel("latent_step", implementation)
    rng = np.random.default_rng(0)
    z, drive, error = (rng.normal(size=(4, 23)).astype(dtype) for _ in range(3))
    z[0, :3] = 0.0  # sign(0) = 0, relu'(0) = 1
    activation = {"type1-tanh": "tanh", "type1-relu": "relu", "type2-lateral": "relu"}[case]
    f, df = ACTIVATIONS[activation]
    a = f(z)
    beta, leak, sparsity, excitation, inhibition = (dtype(c) for c in (0.1, 0.01, 0.02, 0.13,
                                                                      0.125))
    type1 = case.startswith("type1")
    step = drive * df(z, a) - np.sign(z) * sparsity if type1 else drive.copy()
    step -= error
    groups = None
    if not type1:
        groups = group_bounds(23, 5)  # sizes 5, 5, 5, 4, 4
        # the dense lateral matrix V = alpha_e I - alpha_h (B * (1 - I))
        blocks = np.zeros((23, 23))
        for start, size in zip(*groups):
            blocks[start:start + size, start:start + size] = 1
        lateral = excitation * np.eye(23) - inhibition * (blocks * (1 - np.eye(23)))
        step += (a.astype(float) @ lateral).astype(dtype)
    expected = z * (1 - beta * leak) + step * beta
    latent_step(drive, z, a, ACTIVATION_CODES[activation] if type1 else -1,
                sparsity if type1 else 0.0, error, groups, excitation, inhibition, beta,
                1 - beta * leak)
    assert_close(z, expected, dtype)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_latent_step_refuses_misshapen_buffers_and_groups_outside_the_layer(implementation):
    latent_step = kernel("latent_step", implementation)
    z = np.zeros((2, 6))
    with pytest.raises(ValueError, match="shape of the states"):  # same size, other shape
        latent_step(np.zeros((3, 4)), z, z, -1, 0.0, None, None, 0.1, 0.1, 0.1, 1.0)
    starts, sizes = np.array([0, 4], dtype=np.intp), np.array([4, 3], dtype=np.intp)
    with pytest.raises(ValueError, match="within the layer"):
        latent_step(z, z, z, -1, 0.0, None, (starts, sizes), 0.1, 0.1, 0.1, 1.0)
    with pytest.raises(ValueError, match="intp"):
        latent_step(z, z, z, -1, 0.0, None, (starts.astype(np.int32), sizes), 0.1, 0.1, 0.1,
                    1.0)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_updates_follow_their_formulas(implementation, dtype):
    adam_update, sgd_update = (kernel(name, implementation)
                               for name in ("adam_update", "sgd_update"))
    rng = np.random.default_rng(0)
    param, grad, m_sum, v_sum = (rng.normal(size=1000).astype(dtype) for _ in range(4))
    v_sum = np.abs(v_sum)
    b1, b2, step, eps = (dtype(c) for c in (0.9, 0.999, 1e-3, 1e-7))
    expected_m = m_sum * b1 + grad
    expected_v = v_sum * b2 + grad * grad
    expected = param - (expected_m / (np.sqrt(expected_v) + eps)) * step
    adam_update(param, grad, m_sum, v_sum, 0.9, 0.999, 1e-3, 1e-7)
    assert_close(m_sum, expected_m, dtype)
    assert_close(v_sum, expected_v, dtype)
    assert_close(param, expected, dtype)

    lr, mom = dtype(0.01), dtype(0.9)
    velocity = rng.normal(size=1000).astype(dtype)
    for nesterov in (True, False):
        start, start_velocity = param.copy(), velocity.copy()
        expected_velocity = start_velocity * mom - grad * lr
        expected = ((start - grad * lr) + expected_velocity * mom if nesterov
                    else start + expected_velocity)
        sgd_update(param, grad, velocity, 0.01, 0.9, nesterov)
        assert_close(velocity, expected_velocity, dtype)
        assert_close(param, expected, dtype)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_updates_of_a_block_of_columns_leave_the_other_columns_alone(implementation):
    adam_update, sgd_update = (kernel(name, implementation)
                               for name in ("adam_update", "sgd_update"))
    rng = np.random.default_rng(0)
    param, m_sum, v_sum = rng.normal(size=(3, 6)), rng.normal(size=(3, 6)), np.ones((3, 6))
    grad = rng.normal(size=(3, 2))
    expected = param.copy()
    expected_m = m_sum[:, 1:3] * 0.9 + grad
    expected_v = v_sum[:, 1:3] * 0.999 + grad * grad
    expected[:, 1:3] -= (expected_m / (np.sqrt(expected_v) + 1e-8)) * 1e-3
    adam_update(param[:, 1:3], grad, m_sum[:, 1:3], v_sum[:, 1:3], 0.9, 0.999, 1e-3, 1e-8)
    assert_close(param, expected, np.float64)
    assert_close(m_sum[:, 1:3], expected_m, np.float64)
    # Fortran-ordered arrays get the same values
    param_f, state_f = np.asfortranarray(expected), np.zeros((3, 6), order="F")
    velocity = np.zeros((3, 6))
    sgd_update(expected, np.ones((3, 6)), velocity, 0.1, 0.9, True)
    sgd_update(param_f, np.ones((3, 6), order="F"), state_f, 0.1, 0.9, True)
    assert_close(param_f, expected, np.float64)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_updates_refuse_arrays_they_cannot_update_in_place(implementation):
    adam_update, sgd_update = (kernel(name, implementation)
                               for name in ("adam_update", "sgd_update"))
    param, grad, state = np.ones(6), np.ones(6), np.zeros(6)
    read_only = np.ones(6)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        sgd_update(read_only, grad, state, 0.1, 0.9, True)
    with pytest.raises(ValueError, match="read-only"):
        adam_update(param, grad, state, read_only, 0.9, 0.999, 1e-3, 1e-8)
    sgd_update(param, read_only, state, 0.1, 0.9, True)  # a read-only gradient is fine
    with pytest.raises(ValueError, match="shape"):
        sgd_update(param, np.ones(5), state, 0.1, 0.9, True)
    with pytest.raises(ValueError, match="shape"):
        sgd_update(param, grad.astype(np.float32), state, 0.1, 0.9, True)
    with pytest.raises(TypeError, match="float32 or float64"):
        sgd_update(np.ones(6, dtype=int), np.ones(6, dtype=int), np.zeros(6, dtype=int),
                   0.1, 0.9, True)


def test_compiled_updates_refuse_arrays_they_cannot_walk_by_rows():
    sgd_update = kernel("sgd_update", "compiled")
    grad, state = np.ones(6), np.zeros(6)
    with pytest.raises(ValueError, match="contiguous"):
        sgd_update(np.ones(12)[::2], grad, state, 0.1, 0.9, True)
    param_f, state_f = np.ones((3, 6), order="F"), np.zeros((3, 6), order="F")
    with pytest.raises(ValueError, match="one axis"):  # mixed memory orders
        sgd_update(param_f, np.ones((3, 6)), state_f, 0.1, 0.9, True)


def test_compiled_prediction_error_refuses_buffers_it_cannot_use():
    """Read-only, non-contiguous, mistyped or misshapen buffers, and unknown codes,
    raise instead of being read or written."""
    prediction_error = kernel("prediction_error", "compiled")
    logits, target = np.zeros((3, 4)), np.zeros((3, 4))
    read_only = np.zeros((3, 4))
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        prediction_error(read_only, 2, target, np.empty_like(logits))
    with pytest.raises(ValueError, match="read-only"):
        prediction_error(logits, 2, target, read_only)
    with pytest.raises(ValueError, match="C-contiguous"):
        prediction_error(logits, 2, np.asfortranarray(target), np.empty_like(logits))
    with pytest.raises(ValueError, match="C-contiguous"):
        prediction_error(logits, 2, target.astype(np.float32), np.empty_like(logits))
    with pytest.raises(ValueError, match="activation code"):
        prediction_error(logits, 4, target, np.empty_like(logits))
    with pytest.raises(ValueError, match="shape of the states"):  # same size, other shape
        prediction_error(logits, 2, np.zeros((4, 3)), np.empty_like(logits))
    with pytest.raises(ValueError, match="shape of the states"):
        prediction_error(logits, 2, target, np.empty(12))
    with pytest.raises(TypeError):
        prediction_error(None, 2, target, np.empty_like(logits))


def test_compiled_relaxation_kernels_refuse_buffers_they_cannot_use():
    state_step, error_energy = (kernel(name, "compiled")
                                for name in ("state_step", "error_energy"))
    x = np.zeros((3, 4))
    out, energy = np.empty_like(x), np.empty(3)
    with pytest.raises(ValueError, match="C-contiguous"):
        state_step(None, None, 0, np.asfortranarray(np.ones((3, 4))), x, 0.0, 0.1, out, None)
    with pytest.raises(ValueError, match="C-contiguous"):
        state_step(None, None, 0, None, x, 0.0, 0.1, out.astype(np.float32), None)
    with pytest.raises(ValueError, match="C-contiguous"):
        error_energy(x, None, x, 1.0, 0.0, np.empty_like(x), np.empty(2))
    with pytest.raises(ValueError, match="None"):
        error_energy(x, None, x, 1.0, 0.0, None, energy)
    with pytest.raises(ValueError, match="feedback needs the activity"):
        state_step(x, None, 1, None, x, 0.0, 0.1, out, None)
    with pytest.raises(ValueError, match="2-D float32 or float64"):
        state_step(None, None, 0, None, np.zeros((3, 4), dtype=int), 0.0, 0.1, out, None)
    read_only = np.empty_like(x)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        state_step(None, None, 0, None, x, 0.0, 0.1, read_only, None)
    with pytest.raises(ValueError, match="read-only"):
        error_energy(read_only, np.zeros(4), x, 1.0, 0.0, np.empty_like(x), energy)
    error_energy(read_only, None, x, 1.0, 0.0, np.empty_like(x), energy)  # only read
    with pytest.raises(TypeError, match="ndarray"):
        state_step(None, None, 0, None, x, 0.0, 0.1, [[0.0] * 4] * 3, None)
    with pytest.raises(ValueError, match="read-only"):
        state_step(None, None, 1, None, x, 0.0, 0.1, out, None, read_only)
    with pytest.raises(ValueError, match="activation code"):
        state_step(None, None, 7, None, x, 0.0, 0.1, out, None, np.empty_like(x))
    with pytest.raises(TypeError):
        state_step(None, None, 0, None, None, 0.0, 0.1, out, None)
    with pytest.raises(ValueError, match="shape of the states"):  # same size, other shape
        state_step(None, None, 0, np.zeros((4, 3)), x, 0.0, 0.1, out, None)
    with pytest.raises(ValueError, match="shape of the states"):
        error_energy(x, None, x, 1.0, 0.0, np.empty(12), energy)
    with pytest.raises(TypeError):
        error_energy(x, None, None, 1.0, 0.0, np.empty_like(x), energy)


# --- compiled against reference, on random inputs -----------------------------------------

def run_both(name, make_arguments, written):
    """Call the compiled and the reference kernel ``name`` on copies of the same
    arguments; return the arrays at positions ``written`` after each call."""
    compiled, reference = kernel(name, "compiled"), kernel(name, "reference")
    results = []
    for function in (compiled, reference):
        arguments = make_arguments()
        with np.errstate(all="ignore"):
            function(*arguments)
        results.append([arguments[i] for i in written])
    return results


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("options", list(itertools.product([False, True], repeat=5)))
def test_compiled_state_step_matches_the_reference(dtype, activation, options):
    """Every combination of the optional arguments: feedback, error, decay, largest
    and the new activity; a scalar rate or one per row."""
    with_feedback, with_error, with_decay, with_largest, with_activity = options
    rng = np.random.default_rng(3)
    x, feedback, error = (rng.normal(size=(7, 530)).astype(dtype) for _ in range(3))
    activity = ACTIVATIONS[activation][0](x)
    for rate in (dtype(0.2), rng.uniform(0.05, 0.3, size=(7, 1)).astype(dtype)):
        def arguments():
            return [feedback if with_feedback else None, activity if with_feedback else None,
                    ACTIVATION_CODES[activation], error if with_error else None, x,
                    0.03 if with_decay else 0.0, rate, np.empty_like(x),
                    np.full(7, 0.5, dtype) if with_largest else None,
                    np.empty_like(x) if with_activity else None]
        compiled, reference = run_both("state_step", arguments, written=(7, 8, 9))
        for a, b in zip(compiled, reference):
            if b is not None:
                assert_close(a, b, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("nu,decay", [(1.0, 0.0), (0.7, 0.0), (1.0, 0.05), (2.0, 0.1)])
def test_compiled_error_energy_matches_the_reference(dtype, with_bias, nu, decay):
    rng = np.random.default_rng(4)
    x, prediction = (rng.normal(size=(9, 250)).astype(dtype) for _ in range(2))
    bias = rng.normal(size=250).astype(dtype)

    def arguments():
        return [prediction.copy(), bias if with_bias else None, x, nu, decay,
                np.empty_like(x), np.empty(9, dtype)]
    compiled, reference = run_both("error_energy", arguments, written=(0, 5, 6))
    for a, b in zip(compiled, reference):
        assert_close(a, b, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_compiled_prediction_error_matches_the_reference(dtype, activation):
    rng = np.random.default_rng(5)
    logits = (3 * rng.normal(size=(6, 784))).astype(dtype)
    target = rng.random(size=logits.shape).astype(dtype)

    def arguments():
        return [logits.copy(), ACTIVATION_CODES[activation], target, np.empty_like(logits)]
    compiled, reference = run_both("prediction_error", arguments, written=(0, 3))
    for a, b in zip(compiled, reference):
        assert_close(a, b, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("code", [-1] + sorted(ACTIVATION_CODES.values()))
@pytest.mark.parametrize("options", list(itertools.product([False, True], repeat=4)))
def test_compiled_latent_step_matches_the_reference(dtype, code, options):
    """Every combination of sparsity, error, lateral groups and leak."""
    with_sparsity, with_error, with_groups, with_leak = options
    rng = np.random.default_rng(6)
    z, drive, error = (rng.normal(size=(5, 360)).astype(dtype) for _ in range(3))
    z[0, :5] = 0.0
    activation = {-1: "relu"}.get(code, {v: k for k, v in ACTIVATION_CODES.items()}.get(code))
    a = ACTIVATIONS[activation][0](z)

    def arguments():
        return [drive, z.copy(), a, code, 0.02 if with_sparsity else 0.0,
                error if with_error else None, group_bounds(360, 20) if with_groups else None,
                0.13, 0.125, 0.1, 1 - 0.1 * 0.001 if with_leak else 1.0]
    (compiled,), (reference,) = run_both("latent_step", arguments, written=(1,))
    assert_close(compiled, reference, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["contiguous", "columns", "fortran"])
def test_compiled_updates_match_the_reference(dtype, layout):
    """On whole arrays, on a block of columns of a larger one, and on Fortran-ordered
    ones (as ``_learning`` updates the regions of its parameters)."""
    rng = np.random.default_rng(7)
    param, grad, m_sum, v_sum, velocity = (rng.normal(size=(40, 30)).astype(dtype)
                                           for _ in range(5))
    v_sum = np.abs(v_sum)

    def view(base):
        """A fresh copy of ``base``, laid out as ``layout`` says."""
        if layout == "columns":
            return base.copy()[:, 5:17]
        return np.asfortranarray(base) if layout == "fortran" else base.copy()

    gradient = grad[:, 5:17].copy() if layout == "columns" else view(grad)
    compiled, reference = run_both(
        "adam_update",
        lambda: [view(param), gradient, view(m_sum), view(v_sum), 0.9, 0.999, 1e-3, 1e-7],
        written=(0, 2, 3))
    for a, b in zip(compiled, reference):
        assert_close(a, b, dtype)
    for nesterov in (False, True):
        compiled, reference = run_both(
            "sgd_update", lambda: [view(param), gradient, view(velocity), 0.01, 0.9, nesterov],
            written=(0, 2))
        for a, b in zip(compiled, reference):
            assert_close(a, b, dtype)


# --- whole fits without the compiled kernels ----------------------------------------------

@pytest.fixture
def reference_kernels(monkeypatch):
    """Force the numpy references in the dispatch, for one test."""
    if not _kernels.COMPILED:
        pytest.skip("no compiled kernels to compare with")

    def force():
        for name in _kernels.NAMES:
            monkeypatch.setattr(_kernels, name, getattr(_reference, name))
    return force


def fitted_arrays(model):
    names = ("coefs_", "intercepts_", "feedback_coefs_", "weights_", "error_weights_",
             "skip_weights_", "covariances_")
    arrays = [getattr(model, name, None) for name in names]
    return [array for group in arrays if group for array in group]


@pytest.mark.parametrize("make_model", [
    lambda: PCClassifier(hidden_layer_sizes=(20, 16), batch_size=25, max_iter=3,
                         random_state=0),
    lambda: PCClassifier(hidden_layer_sizes=(20,), activation="relu", solver="sgd",
                         feedback="separate", batch_size=25, max_iter=3, random_state=0),
    lambda: GNCNAutoencoder("t1", latent_sizes=(12, 10), n_inference_steps=10, batch_size=25,
                            max_iter=2, n_prior_components=2, n_mc_samples=30,
                            random_state=0),
    lambda: GNCNAutoencoder("pdh", latent_sizes=(12, 10, 8), n_inference_steps=10,
                            batch_size=25, max_iter=2, n_prior_components=2,
                            n_mc_samples=30, random_state=0),
], ids=["pc-tanh-adam", "pc-relu-sgd-untied", "gncn-t1", "gncn-pdh"])
def test_a_fit_without_the_compiled_kernels_agrees_with_one_with_them(make_model,
                                                                       reference_kernels):
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(100, 15))
    y = (X[:, 0] + X[:, 1] > 1).astype(int) + (X[:, 2] > 0.5)
    model = make_model()
    fit_args = (X, y) if isinstance(model, PCClassifier) else (X,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = make_model().fit(*fit_args)
        reference_kernels()
        reference = make_model().fit(*fit_args)
    compiled_arrays, reference_arrays = fitted_arrays(compiled), fitted_arrays(reference)
    assert len(compiled_arrays) == len(reference_arrays) > 0
    for a, b in zip(compiled_arrays, reference_arrays):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
