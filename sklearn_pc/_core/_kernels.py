"""The elementwise steps and updates of the core, in numpy: each next to its equation.

Between the matrix products, a relaxation or settling step and an optimizer
update are elementwise work, done here by one function each, in place in
the buffers it is given (the callers preallocate them).  The numpy code of
each function is the reference and the test oracle.

**The optional accelerator.**  ``_accel.c``, built at install where a C
compiler works (``setup.py``; public Python and numpy C APIs only), does the
same work in one pass over the arrays where numpy makes several, for
``state_step`` (its lateral term for groups tiling the layer), ``error_energy``,
``adam_update`` and ``sgd_update``, and the new activity of the identity
and relu.  Each function here first offers its arguments to the
accelerator, which checks them and declines anything it is not sure of
(arrays that are not C-contiguous or not of the expected shapes and dtype,
read-only outputs, partial overlaps, lateral groups that do not tile the
layer): the numpy code then validates them (raising the errors) and runs.
Numpy runs everything when the accelerator was not built or
``SKLEARN_PC_NO_COMPILED=1`` was set at import.  Its results equal the
reference's to the last bit except the per-row energies, which it sums in
double precision (``tests/test_kernels.py`` runs every kernel test on both
paths and compares them).  It is kept as one unit for its end-to-end gain,
measured by ``benchmarks/bench_accelerator.py``
(``benchmarks/results/bench_accelerator.md``); :func:`accelerated`
switches it within a block (tests, benchmarks); :data:`ACCELERATOR` is the
module or None.

The default alternating step of ``_relaxation._AlternatingRelaxation``
(Sun & Orchard 2020, eq 2.3, 2.4, 3.11; row-major, ``a[l] = sigma(x[l])``)
is, for every free layer ``l`` below the top, between its two matrix
products ``feedback[l] = eps[l+1] @ W[l]`` and ``mu[l+1] = a[l] @ M[l]``::

    dx[l]  = sigma'(x[l]) * feedback[l] - eps[l] - lambda_x x[l]     (state_step)
    x[l]  <- x[l] + rate * dx[l],   a[l] <- sigma(x[l])               (state_step)
    eps[l] = (x[l] - (mu[l] + b[l-1])) / nu[l]                        (error_energy)
    E_l    = nu[l] / 2 ||eps[l]||^2 + lambda_x / 2 ||x[l]||^2, per row (error_energy)

and for a free top ``dx[L] = -eps[L]``.  ``sigma'`` comes from the activity
``a = sigma(x)`` already computed: ``1 - a^2`` for tanh, ``a (1 - a)`` for
the logistic function, ``[x >= 0]`` for relu, 1 for the identity.

The same two functions run a GNCN's settling step (Ororbia & Kifer 2022),
the same alternating step on its stack upside down (``_ngc``): its latent
layer ``z(l)`` is a free layer of the stack whose ``state_step`` adds the
Laplace prior ``-lambda sign(x)`` (type 1) or, without the ``sigma'``
gating, the lateral term by group sums,
``a V = (alpha_e + alpha_h) a - alpha_h groupsum(a)`` (type 2); the free
pixels of its input are a top whose step is masked per entry
(``free = 1 - m``); ``error_energy`` (with ``nu = 1``, no energy) gives
its errors, followed by the product with a precision matrix when there is one.

The optimizer steps of ``_learning`` update in place: Adam (moments stored
as sums, its constants folded into ``step_size`` and ``eps``) and SGD with
(Nesterov) momentum (:func:`adam_update`, :func:`sgd_update`).
"""

import os
from contextlib import contextmanager

import numpy as np

from ._activations import ACTIVATIONS


def _load_accelerator():
    """The compiled ``_accel`` module, or None when it was not built or
    ``SKLEARN_PC_NO_COMPILED`` is set to anything but ``""`` or ``"0"``."""
    if os.environ.get("SKLEARN_PC_NO_COMPILED", "") not in ("", "0"):
        return None
    try:
        from . import _accel
    except ImportError:
        return None
    return _accel


ACCELERATOR = _load_accelerator()
_in_use = ACCELERATOR


@contextmanager
def accelerated(enabled=True):
    """Within the block, run the kernels with the accelerator (where it was
    built) when ``enabled``, else on numpy only; yields whether the
    accelerator is in use."""
    global _in_use
    previous = _in_use
    _in_use = ACCELERATOR if enabled else None
    try:
        yield _in_use is not None
    finally:
        _in_use = previous


# The activation of a kernel, by code (an int, fixed by the network at construction).
ACTIVATION_CODES = {"identity": 0, "tanh": 1, "logistic": 2, "relu": 3}
_ACTIVATION_NAMES = {code: name for name, code in ACTIVATION_CODES.items()}


def _activation(code):
    """``(sigma, sigma')`` of ``_activations`` for an activation code."""
    if code not in _ACTIVATION_NAMES:
        raise ValueError(f"unknown activation code {code}")
    return ACTIVATIONS[_ACTIVATION_NAMES[code]]


def _check_states(x):
    if not isinstance(x, np.ndarray):
        raise TypeError(f"expected an ndarray, got {type(x).__name__}")
    if x.ndim != 2 or x.dtype.char not in "fd":
        raise ValueError("states must be a 2-D float32 or float64 array")


def _check_buffers(x, *arrays):
    """Every array given (None is skipped) has ``x``'s shape and dtype."""
    for array in arrays:
        if array is None:
            continue
        if not isinstance(array, np.ndarray):
            raise TypeError(f"expected an ndarray, got {type(array).__name__}")
        if array.shape != x.shape or array.dtype != x.dtype:
            raise ValueError("relaxation buffers must have the shape of the states and "
                             "their dtype")


def _row_squares(v):
    """``sum_j v[i, j]^2`` for every row (one dot product per row, in ``v``'s dtype)."""
    return np.matmul(v[:, None, :], v[:, :, None]).reshape(-1)


def state_step(feedback, activity, code, error, x, decay, rate, out, largest,
               activity_out=None, *, gated=True, sparsity=0.0, lateral=None, free=None,
               scratch=None):
    """One step of a free layer (eq 2.3, 3.11; Ororbia & Kifer 2022)::

        dx  = sigma'(x) * feedback - error - decay * x           (gated=True)
        dx  =             feedback - error - decay * x           (gated=False)
              - sparsity * sign(x)
              + (excitation + inhibition) * a - inhibition * groupsum(a)   (lateral)
        dx *= free                                               (per-entry clamp)
        out = x + rate * dx
        largest[i] = max(largest[i], max_j |dx[i, j]|)           (NaN sticks)
        activity_out = sigma(out)

    ``feedback`` is ``eps[l+1] @ W[l]``; ``sigma'(x)`` comes from the
    activity ``a = sigma(x)`` (``activity``) by ``code``
    (:data:`ACTIVATION_CODES`), as does ``sigma``.  ``feedback``, ``error``,
    ``largest`` and ``activity_out`` may be None: zero feedback, zero
    error, no tracking, no new activity.  ``lateral`` is None or
    ``(starts, sizes, excitation, inhibition)`` with ``(starts, sizes)``
    contiguous groups of units (two intp arrays, ``_ngc.group_bounds``),
    the term applying to the units in a group.  ``free`` is None or an
    array broadcasting to ``x``: 1 where an entry moves, 0 where it is
    clamped.  ``rate`` is a number or a column of one rate per row, shape
    ``(n_rows, 1)``.  ``out`` may be ``x`` (and ``activity_out``
    ``activity``): a step in place.  ``scratch`` (optional, of ``x``'s
    shape, possibly ``feedback`` itself) may be overwritten: a step in place
    builds ``dx`` there.  The result does not depend on where ``dx`` is
    built, nor on ``largest``.  Returns ``out``.
    """
    accelerator = _in_use
    arguments = (feedback, activity, code, error, x, decay, rate, out, largest, activity_out,
                 gated, sparsity)
    if (accelerator is not None and lateral is None
            and _accelerated_step(accelerator, arguments, (None, 0.0, 0.0), free)):
        return out
    sigma, derivative = _activation(code)
    _check_states(x)
    _check_buffers(x, feedback, activity, error, out, activity_out)
    if out is None:
        raise ValueError("a required relaxation buffer is None")
    if (feedback is not None and gated or lateral is not None) and activity is None:
        raise ValueError("feedback and the lateral term need the activity")
    dtype = x.dtype.type
    _check_buffers(x, scratch)
    if lateral is not None:
        starts, sizes, excitation, inhibition = lateral
        starts, sizes = np.asarray(starts), np.asarray(sizes)
        layout = _group_layout(starts, sizes, x.shape[1])
        if (accelerator is not None and layout != "general" and _accelerated_step(
                accelerator, arguments, (sizes, excitation, inhibition), free)):
            return out

    share = np.may_share_memory

    def overlaps(array, others):
        for other in others:
            if other is not None and share(array, other):
                return True
        return False

    # dx, built in ``out``; when ``out`` overlaps an input (a step in place), in
    # ``scratch`` (possibly the feedback itself), else in a new array
    if not overlaps(out, (x, feedback, activity, error)):
        dx = out
    elif scratch is not None and not overlaps(scratch, (x, out, activity, error)):
        dx = scratch
    else:
        dx = np.empty_like(x)
    if feedback is None:
        dx.fill(0)
    elif gated:
        if dx is feedback:
            dx *= derivative(x, activity)
        else:
            derivative(x, activity, out=dx)
            dx *= feedback
    elif dx is not feedback:
        np.copyto(dx, feedback)
    if error is not None:
        dx -= error
    # the decay and sparsity terms go through a scratch array: the new activity's
    # buffer when nothing reads it before it is written (no allocation per step)
    term = None
    if (decay or sparsity) and activity_out is not None and not overlaps(
            activity_out, (x, dx) + ((activity,) if lateral is not None else ())):
        term = activity_out
    if decay:
        dx -= np.multiply(x, dtype(decay), out=term)
    if sparsity:
        sign = np.sign(x, out=term)
        sign *= dtype(sparsity)
        dx -= sign
    if lateral is not None:
        dx += _lateral(activity, starts, sizes, dtype(excitation), dtype(inhibition), layout)
    if free is not None:
        dx *= free
    if largest is not None:
        # max |dx| = max(max dx, -min dx); NaN propagates through max, min and
        # maximum: a diverged row never settles
        most = np.max(dx, axis=1)
        np.maximum(most, np.negative(np.min(dx, axis=1)), out=most)
        np.maximum(largest, most, out=largest)
    rate = np.asarray(rate, dtype=x.dtype)
    dx *= rate.reshape(-1, 1) if rate.ndim else rate
    np.add(x, dx, out=out)
    if activity_out is not None:
        sigma(out, out=activity_out)
    return out


def _accelerated_step(accelerator, arguments, groups, free):
    """Offer :func:`state_step`'s arguments (``groups``: the sizes of lateral groups
    tiling the layer, or None, and the two lateral constants) to the accelerator;
    whether it took the step, the new activity included."""
    done = accelerator.state_step(*arguments, *groups, free)
    code, out, activity_out = arguments[2], arguments[7], arguments[9]
    if done == 1 and activity_out is not None:  # the activations it leaves to numpy
        _activation(code)[0](out, out=activity_out)
    return bool(done)


def error_energy(prediction, bias, x, nu, decay, error, energy):
    """Error and per-row energy of a layer (eq 2.4 and minus eq 2.7)::

        prediction += bias                        (in place, when bias is given)
        error = (x - prediction) / nu
        energy[i] = nu / 2 ||error[i]||^2 + decay / 2 ||x[i]||^2

    ``bias`` has shape ``(n_units,)``, ``energy`` shape ``(n_rows,)``, or
    None when nobody needs it (the relaxation then skips its sums);
    returns ``error``.
    """
    if _in_use is not None and _in_use.error_energy(prediction, bias, x, nu, decay, error,
                                                     energy):
        return error
    _check_states(x)
    if error is None or prediction is None:
        raise ValueError("a required relaxation buffer is None")
    _check_buffers(x, prediction, error)
    dtype = x.dtype.type
    if bias is not None:
        prediction += bias
    np.subtract(x, prediction, out=error)
    if nu != 1:
        error /= dtype(nu)
    if energy is None:
        return error
    total = _row_squares(error)
    total *= dtype(0.5 * nu)
    if decay:
        total += dtype(0.5 * decay) * _row_squares(x)
    energy[...] = total
    return error


# The layout of each distinct set of lateral groups seen (see _group_layout): checked
# once, not at every step (the checks cost about a tenth of a 128-row layer's step).
_GROUP_LAYOUTS = {}
_MAX_GROUP_LAYOUTS = 256


def _group_layout(starts, sizes, n_units):
    """Check lateral groups ``(starts, sizes)`` of a layer of ``n_units`` units;
    return their layout: ``"equal"`` (contiguous groups of one size tiling the
    layer, ``_ngc.group_bounds``), ``"tiling"`` (contiguous groups of
    several sizes tiling it) or ``"general"``.  Remembered by value, so a
    relaxation's steps check their groups once."""
    if len(starts) != len(sizes) or starts.dtype != np.intp or sizes.dtype != np.intp:
        raise ValueError("lateral groups must be two contiguous intp arrays of one length")
    key = (starts.tobytes(), sizes.tobytes(), n_units)
    layout = _GROUP_LAYOUTS.get(key)
    if layout is not None:
        return layout
    if np.any(starts < 0) or np.any(sizes < 0) or np.any(starts + sizes > n_units):
        raise ValueError("lateral groups must lie within the layer")
    layout = "general"
    if (len(starts) and starts[0] == 0 and np.all(starts[1:] == starts[:-1] + sizes[:-1])
            and starts[-1] + sizes[-1] == n_units and np.all(sizes > 0)):
        layout = "equal" if np.all(sizes == sizes[0]) else "tiling"
    if len(_GROUP_LAYOUTS) < _MAX_GROUP_LAYOUTS:
        _GROUP_LAYOUTS[key] = layout
    return layout


def _lateral(a, starts, sizes, excitation, inhibition, layout=None):
    """``a V = (excitation + inhibition) a - inhibition groupsum(a)`` on the units of
    the groups (``starts``, ``sizes``, of :func:`_group_layout` ``layout``), zero
    elsewhere."""
    n_rows, n_units = a.shape
    if layout is None:
        layout = _group_layout(np.asarray(starts), np.asarray(sizes), n_units)
    lateral = a * (excitation + inhibition)
    if layout != "general":
        # contiguous groups tiling the layer (``_ngc.group_bounds``)
        if layout == "equal":
            shape = (n_rows, len(sizes), sizes[0])
            lateral.reshape(shape)[...] -= a.reshape(shape).sum(axis=2, keepdims=True) * inhibition
        else:
            sums = np.add.reduceat(a, starts, axis=1)
            sums *= inhibition
            lateral -= np.repeat(sums, sizes, axis=1)
        return lateral
    inside = np.zeros(n_units, dtype=bool)
    for start, size in zip(starts, sizes):
        group = slice(start, start + size)
        lateral[:, group] -= a[:, group].sum(axis=1, keepdims=True) * inhibition
        inside[group] = True
    lateral[:, ~inside] = 0
    return lateral


def _check_optimizer_arrays(arrays):
    """One float dtype and shape; every array but the gradient (position 1) writable."""
    first = arrays[0]
    if first.dtype.char not in "fd":
        raise TypeError(f"optimizer arrays must be float32 or float64, got {first.dtype}")
    for position, array in enumerate(arrays):
        if array.dtype != first.dtype or array.shape != first.shape:
            raise ValueError("optimizer arrays must share one dtype and shape")
        if position != 1 and not array.flags.writeable:
            raise ValueError("an optimizer's parameter or state array is read-only")


def adam_update(param, grad, m_sum, v_sum, beta_1, beta_2, step_size, eps):
    """One Adam step in place, the moments kept as sums (``_learning.AdamOptimizer``)::

        m_sum = beta_1 m_sum + grad
        v_sum = beta_2 v_sum + grad^2
        param -= step_size m_sum / (sqrt(v_sum) + eps)
    """
    if _in_use is not None and _in_use.adam_update(param, grad, m_sum, v_sum, beta_1, beta_2,
                                                    step_size, eps):
        return
    _check_optimizer_arrays((param, grad, m_sum, v_sum))
    dtype = param.dtype.type
    m_sum *= dtype(beta_1)
    m_sum += grad
    v_sum *= dtype(beta_2)
    v_sum += np.square(grad)
    denominator = np.sqrt(v_sum)
    denominator += dtype(eps)
    step = np.divide(m_sum, denominator, out=denominator)
    step *= dtype(step_size)
    param -= step


def sgd_update(param, grad, velocity, learning_rate, momentum, nesterov):
    """One SGD step with momentum in place (``_learning.SGDOptimizer``)::

        velocity = momentum velocity - learning_rate grad
        param += velocity                                      (plain momentum)
        param += momentum velocity - learning_rate grad        (Nesterov)
    """
    if _in_use is not None and _in_use.sgd_update(param, grad, velocity, learning_rate,
                                                   momentum, nesterov):
        return
    _check_optimizer_arrays((param, grad, velocity))
    dtype = param.dtype.type
    step = grad * dtype(learning_rate)
    velocity *= dtype(momentum)
    velocity -= step
    if nesterov:
        param -= step
        param += velocity * dtype(momentum)
    else:
        param += velocity
