"""The elementwise kernels of ``_core._kernels`` against their equations.

Written as numpy formulas independently of the kernels (which work in
place, in fewer passes), compared with ``allclose`` at tolerances for the
dtype.  Every test runs twice: on numpy only, and with the compiled
accelerator (``_accel.c``) where it was built; the last tests compare the
two paths with each other and check the package without the accelerator.
"""

import os
import shutil
import subprocess
import sys
import sysconfig

import numpy as np
import pytest

from sklearn_pc._core import _kernels
from sklearn_pc._core._activations import ACTIVATIONS
from sklearn_pc._core._kernels import ACTIVATION_CODES
from sklearn_pc._core._ngc import group_bounds

# rounding of a handful of operations on values of order 1
TOLERANCES = {np.float32: dict(rtol=1e-6, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}


@pytest.fixture(autouse=True, params=["numpy", "accelerated"])
def kernels_path(request):
    """Run the test on numpy only, then with the accelerator (skipped where not built)."""
    accelerated = request.param == "accelerated"
    if accelerated and _kernels.ACCELERATOR is None:
        pytest.skip("the compiled accelerator was not built")
    with _kernels.accelerated(accelerated) as in_use:
        assert in_use == accelerated
        yield request.param


def assert_close(actual, expected, dtype, **kwargs):
    np.testing.assert_allclose(actual, expected, **{**TOLERANCES[dtype], **kwargs})


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))  # each needs a kernel code
def test_state_step_follows_its_equation(dtype, activation):
    """dx = sigma'(x) feedback - error - decay x;  out = x + rate dx;  largest = max |dx|."""
    state_step = _kernels.state_step
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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_state_step_writes_the_new_activity(dtype, activation):
    """``activity_out`` holds ``f(out)``, through inf, NaN and signed zeros."""
    state_step = _kernels.state_step
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


def test_state_step_tracks_the_largest_step_and_keeps_nan():
    state_step = _kernels.state_step
    x = np.zeros((3, 40))
    error = np.zeros((3, 40))
    error[0, 7], error[1, 39], error[2, 3] = 2.0, -5.0, np.nan
    largest = np.array([3.0, 1.0, 0.0])
    state_step(None, None, 0, error, x, 0.0, 0.5, np.empty_like(x), largest)
    np.testing.assert_array_equal(largest[:2], [3.0, 5.0])  # the previous largest is kept
    assert np.isnan(largest[2])
    state_step(None, None, 0, np.zeros_like(x), x, 0.0, 0.5, np.empty_like(x), largest)
    assert np.isnan(largest[2])  # NaN sticks: a diverged row never counts as settled


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_error_and_energy_follow_their_formulas(dtype):
    """mu += b;  eps = (x - mu) / nu;  energy = nu / 2 ||eps||^2 + decay / 2 ||x||^2."""
    error_energy = _kernels.error_energy
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
    kept = energy.copy()
    assert error_energy(mu, None, x, nu, decay, error, None) is error  # no energy wanted
    assert_close(error, (x - mu) / nu, dtype)
    np.testing.assert_array_equal(energy, kept)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ["type1-tanh", "type1-relu", "type2-lateral", "free-entries"])
def test_state_step_matches_the_settling_equations_of_a_gncn(dtype, case):
    """z + beta (-gamma z + phi'(z) * drive - lambda sign(z) - e + a V), V by group sums,
    or without the phi' gating; with a per-entry clamp only the free entries move."""
    state_step = _kernels.state_step
    rng = np.random.default_rng(0)
    z, drive, error = (rng.normal(size=(4, 23)).astype(dtype) for _ in range(3))
    z[0, :3] = 0.0  # sign(0) = 0, relu'(0) = 1
    activation = {"type1-tanh": "tanh", "type1-relu": "relu", "type2-lateral": "relu",
                  "free-entries": "identity"}[case]
    f, df = ACTIVATIONS[activation]
    a = f(z)
    beta, leak, sparsity, excitation, inhibition = (dtype(c) for c in (0.1, 0.01, 0.02, 0.13,
                                                                      0.125))
    type1 = case.startswith("type1")
    step = drive * df(z, a) - np.sign(z) * sparsity if type1 else drive.copy()
    step -= error
    lateral, free = None, None
    if case == "type2-lateral":
        groups = group_bounds(23, 5)  # sizes 5, 5, 5, 4, 4
        # the dense lateral matrix V = alpha_e I - alpha_h (B * (1 - I))
        blocks = np.zeros((23, 23))
        for start, size in zip(*groups):
            blocks[start:start + size, start:start + size] = 1
        dense = excitation * np.eye(23) - inhibition * (blocks * (1 - np.eye(23)))
        step += (a.astype(float) @ dense).astype(dtype)
        lateral = (*groups, excitation, inhibition)
    expected = z * (1 - beta * leak) + step * beta
    if case == "free-entries":
        free = (rng.random(23) < 0.5).astype(dtype)
        expected = np.where(free == 1, expected, z)
    out = np.empty_like(z)
    state_step(drive, a, ACTIVATION_CODES[activation], error, z, leak, beta, out, None,
               gated=type1, sparsity=sparsity if type1 else 0.0, lateral=lateral, free=free)
    assert_close(out, expected, dtype)


def test_state_step_refuses_groups_outside_the_layer():
    state_step = _kernels.state_step
    z, out = np.zeros((2, 6)), np.empty((2, 6))
    starts, sizes = np.array([0, 4], dtype=np.intp), np.array([4, 3], dtype=np.intp)
    with pytest.raises(ValueError, match="within the layer"):
        state_step(z, z, 0, None, z, 0.0, 0.1, out, None, lateral=(starts, sizes, 0.1, 0.1))
    with pytest.raises(ValueError, match="intp"):
        state_step(z, z, 0, None, z, 0.0, 0.1, out, None,
                   lateral=(starts.astype(np.int32), sizes, 0.1, 0.1))
    with pytest.raises(ValueError, match="need the activity"):
        state_step(None, None, 0, None, z, 0.0, 0.1, out, None,
                   lateral=(starts[:1], sizes[:1], 0.1, 0.1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_updates_follow_their_formulas(dtype):
    adam_update, sgd_update = _kernels.adam_update, _kernels.sgd_update
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


def test_updates_of_a_block_of_columns_leave_the_other_columns_alone():
    adam_update, sgd_update = _kernels.adam_update, _kernels.sgd_update
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


def test_updates_refuse_arrays_they_cannot_update_in_place():
    adam_update, sgd_update = _kernels.adam_update, _kernels.sgd_update
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


def test_relaxation_kernels_refuse_buffers_they_cannot_use():
    x = np.zeros((3, 4))
    out, energy = np.empty_like(x), np.empty(3)
    with pytest.raises(ValueError, match="need the activity"):
        _kernels.state_step(x, None, 1, None, x, 0.0, 0.1, out, None)
    with pytest.raises(ValueError, match="activation code"):
        _kernels.state_step(None, None, 7, None, x, 0.0, 0.1, out, None, np.empty_like(x))
    with pytest.raises(ValueError, match="2-D float32 or float64"):
        _kernels.state_step(None, None, 0, None, np.zeros((3, 4), dtype=int), 0.0, 0.1, out,
                            None)
    with pytest.raises(ValueError, match="shape of the states"):  # same size, other shape
        _kernels.state_step(None, None, 0, np.zeros((4, 3)), x, 0.0, 0.1, out, None)
    with pytest.raises(ValueError, match="shape of the states"):
        _kernels.state_step(None, None, 0, None, x, 0.0, 0.1, out.astype(np.float32), None)
    with pytest.raises(ValueError, match="shape of the states"):
        _kernels.error_energy(x, None, x, 1.0, 0.0, np.empty(12), energy)
    with pytest.raises(TypeError, match="ndarray"):
        _kernels.state_step(None, None, 0, None, x, 0.0, 0.1, [[0.0] * 4] * 3, None)
    read_only = np.empty_like(x)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        _kernels.state_step(None, None, 0, None, x, 0.0, 0.1, read_only, None)
    with pytest.raises(ValueError, match="read-only"):
        _kernels.error_energy(read_only, np.zeros(4), x, 1.0, 0.0, np.empty_like(x), energy)
    _kernels.error_energy(read_only, None, x, 1.0, 0.0, np.empty_like(x), energy)  # only read


@pytest.mark.parametrize("groups", [([0, 7, 12], [7, 5, 4]), ([2, 9], [5, 6])],
                         ids=["uneven-sizes", "not-covering"])
def test_state_step_applies_the_lateral_term_to_the_units_of_a_group_only(groups):
    rng = np.random.default_rng(1)
    z, drive = rng.normal(size=(3, 16)), rng.normal(size=(3, 16))
    a = np.maximum(z, 0)
    starts, sizes = (np.array(g, dtype=np.intp) for g in groups)
    blocks, inside = np.zeros((16, 16)), np.zeros(16)
    for start, size in zip(starts, sizes):
        blocks[start:start + size, start:start + size] = 1
        inside[start:start + size] = 1
    lateral = 0.13 * np.diag(inside) - 0.125 * (blocks * (1 - np.eye(16)))
    expected = z + 0.1 * (drive + a @ lateral)
    out = np.empty_like(z)
    _kernels.state_step(drive, a, 3, None, z, 0.0, 0.1, out, None, gated=False,
                        lateral=(starts, sizes, 0.13, 0.125))
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def _step_cases(dtype):
    """Arguments of ``state_step`` covering its options, with fresh buffers each call."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 48)).astype(dtype)
    x[0, :5] = 0  # sign(0) and relu'(0)
    feedback, error = (rng.normal(size=x.shape).astype(dtype) for _ in range(2))
    free = (rng.random(x.shape) < 0.5).astype(dtype)
    rates = rng.uniform(0.05, 0.3, size=(6, 1)).astype(dtype)
    sizes = np.array([16, 8, 24], dtype=np.intp)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
    for code, (f, _) in enumerate([ACTIVATIONS[name] for name in ("identity", "tanh",
                                                                  "logistic", "relu")]):
        a = f(x)
        yield dict(x=x, feedback=feedback, activity=a, code=code, error=error, decay=0.05,
                   rate=rates, gated=True)
        yield dict(x=x, feedback=feedback, activity=a, code=code, error=None, decay=0.0,
                   rate=dtype(0.1), gated=False, sparsity=0.02,
                   lateral=(starts, sizes, 0.13, 0.125))
        yield dict(x=x, feedback=None, activity=a, code=code, error=error, decay=0.0,
                   rate=0.1, gated=True, free=free)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_accelerated_state_step_equals_numpy(dtype, kernels_path):
    """Bit for bit (same order of operations, no fused multiply-adds), except the
    lateral term's group sums, which may be added in another order."""
    if kernels_path == "numpy":
        pytest.skip("compares the accelerated path with numpy")
    for case in _step_cases(dtype):
        x = case["x"]
        results = {}
        for accelerated in (False, True):
            out, largest = np.empty_like(x), np.full(6, 0.01, dtype=dtype)
            activity_out = np.empty_like(x)
            with _kernels.accelerated(accelerated):
                _kernels.state_step(case["feedback"], case["activity"], case["code"],
                                    case["error"], x, case["decay"], case["rate"], out, largest,
                                    activity_out, gated=case["gated"],
                                    sparsity=case.get("sparsity", 0.0),
                                    lateral=case.get("lateral"), free=case.get("free"))
            results[accelerated] = (out, largest, activity_out)
        exact = case.get("lateral") is None
        for compiled, reference in zip(results[True], results[False]):
            if exact:
                np.testing.assert_array_equal(compiled, reference)
            else:
                assert_close(compiled, reference, dtype)


def test_accelerated_step_in_place_and_nan_rows(kernels_path):
    """A step in place (``out`` is ``x``) equals one into a new buffer; a NaN in a
    row's step makes its largest step NaN, and a NaN largest step stays NaN."""
    rng = np.random.default_rng(5)
    x, feedback = rng.normal(size=(4, 33)), rng.normal(size=(4, 33))
    a = np.tanh(x)
    expected, largest = np.empty_like(x), np.zeros(4)
    _kernels.state_step(feedback, a, 1, None, x, 0.0, 0.2, expected, largest)
    in_place, largest_in_place = x.copy(), np.zeros(4)
    _kernels.state_step(feedback, a, 1, None, in_place, 0.0, 0.2, in_place, largest_in_place)
    np.testing.assert_array_equal(in_place, expected)
    np.testing.assert_array_equal(largest_in_place, largest)
    # Fortran-ordered arrays (which the accelerator declines) step alike
    fortran = [np.asfortranarray(v) for v in (feedback, a, x)]
    out_f, largest_f = np.empty_like(fortran[2]), np.zeros(4)
    _kernels.state_step(fortran[0], fortran[1], 1, None, fortran[2], 0.0, 0.2, out_f, largest_f)
    np.testing.assert_array_equal(out_f, expected)
    np.testing.assert_array_equal(largest_f, largest)
    feedback[1, 7] = np.nan
    largest = np.array([0.0, 0.0, np.nan, 0.0])
    _kernels.state_step(feedback, a, 1, None, x, 0.0, 0.2, np.empty_like(x), largest)
    assert np.isnan(largest[1]) and np.isnan(largest[2])
    assert np.isfinite(largest[[0, 3]]).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_accelerated_error_energy_matches_numpy(dtype, kernels_path):
    """Errors bit for bit; energies, summed in double precision by the accelerator,
    to rounding."""
    if kernels_path == "numpy":
        pytest.skip("compares the accelerated path with numpy")
    rng = np.random.default_rng(6)
    x, mu = rng.normal(size=(5, 70)).astype(dtype), rng.normal(size=(5, 70)).astype(dtype)
    bias = rng.normal(size=70).astype(dtype)
    for nu, decay, with_bias in [(1.0, 0.0, True), (0.7, 0.05, False)]:
        results = {}
        for accelerated in (False, True):
            prediction, error, energy = mu.copy(), np.empty_like(x), np.empty(5, dtype=dtype)
            with _kernels.accelerated(accelerated):
                _kernels.error_energy(prediction, bias if with_bias else None, x, nu, decay,
                                      error, energy)
            results[accelerated] = prediction, error, energy
        np.testing.assert_array_equal(results[True][0], results[False][0])
        np.testing.assert_array_equal(results[True][1], results[False][1])
        assert_close(results[True][2], results[False][2], dtype, rtol=1e-5 if dtype ==
                     np.float32 else 1e-12)


def test_accelerator_is_built_where_a_compiler_is(kernels_path):
    """The install builds the accelerator where a C compiler and Python's headers
    are (as in CI), so the accelerated tests above cannot skip there unnoticed."""
    if os.environ.get("SKLEARN_PC_NO_COMPILED", "") not in ("", "0"):
        pytest.skip("SKLEARN_PC_NO_COMPILED is set")
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}) on the path")
    if not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")):
        pytest.skip("no Python headers to build an extension against")
    assert _kernels.ACCELERATOR is not None


def test_package_runs_without_the_accelerator(kernels_path, tmp_path):
    """With ``SKLEARN_PC_NO_COMPILED=1`` the package imports without it and fits
    what it fits with it, to rounding (float64)."""
    if kernels_path == "accelerated":
        pytest.skip("runs once, in a subprocess")
    code = """
import numpy as np, sys
from sklearn.datasets import load_digits
from sklearn_pc import PCClassifier
from sklearn_pc._core import _kernels
X, y = load_digits(return_X_y=True)
X = X[:200] / 16.0
model = PCClassifier(hidden_layer_sizes=32, max_iter=3, random_state=0).fit(X, y[:200])
np.save(sys.argv[1], model.coefs_[0])
print(_kernels.ACCELERATOR is None)
"""
    weights, outputs = {}, {}
    for flag in ("1", "0"):
        path = tmp_path / f"weights_{flag}.npy"
        env = {**os.environ, "SKLEARN_PC_NO_COMPILED": flag}
        done = subprocess.run([sys.executable, "-c", code, str(path)], env=env,
                              capture_output=True, text=True, timeout=300, check=True)
        outputs[flag] = done.stdout.split()[-1]
        weights[flag] = np.load(path)
    assert outputs["1"] == "True"
    np.testing.assert_allclose(weights["0"], weights["1"], rtol=1e-7, atol=1e-10)
