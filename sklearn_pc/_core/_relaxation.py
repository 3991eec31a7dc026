"""Relaxation schedules: clamp some layers and let the free states settle.

Both schedules follow the state dynamics of Sun & Orchard (2020), eq 2.3 and
3.11, for every free layer ``l`` (row-major, see ``_network``)::

    dx[l] = sigma'(x[l]) * (eps[l+1] @ W[l]) - eps[l] - lambda_x x[l]   hidden layers
    dx[0] = sigma'(x[0]) * (eps[1] @ W[0]) - lambda_x x[0]             free bottom (alpha = 0)
    dx[L] = -eps[L]                                                     free top (beta = 1)

and, on a stack that has them (``_network.LayerStack``; the GNCNs of
``_ngc``), without the ``sigma'`` gating, with ``- lambda_s sign(x[l]) +
a[l] V[l]`` (sparsity, lateral groups), and ``dx[L] = -eps[L] * (1 - m)``
for a top clamped on the entries where ``m = 1``.  These are the
schedules of every estimator: PCClassifier and PCGenerator clamp the
input and the labels or the top, a GNCN settles its stack upside down.

``"euler"`` integrates these and the error units of eq 2.2,
``d eps[l] = x[l] - mu[l] - nu[l] eps[l]``, with step ``rate = dt / tau``.
(Error units with a precision matrix ``P`` would need its inverse,
``d eps = v - mu - P^-1 eps``: the GNCN variants that have one settle with
``"alternating"`` only, and ``"euler"`` refuses them rather than invert
``P`` at every call.)
``"alternating"`` is Whittington & Bogacz's accelerated method: set every
error to its equilibrium (eq 2.4), take one large step ``x += rate * dx``,
repeat.  With tied feedback (``W = M.T``) that step is gradient descent on
the energy (plus ``lambda_x / 2 ||x||^2``), and a step that would raise a
row's energy is undone for that row, whose step size is halved: large
weights can then never make the relaxation diverge.  ``"alternating"`` can
also stop each row on its own once it has settled, ``max |dx| <= tol``: the
row leaves the batch and costs nothing more.  (On a stack whose dynamics
are not an energy descent, ``LayerStack.descends``, nothing is undone, and
the energy is computed only when asked for.)  Both schedules use at most a
fixed number of steps, per-row step sizes and per-row stops, so a sample's
trajectory never depends on the other rows of its batch.

One ``"alternating"`` step of a free layer ``l`` below the top is two matrix
products and two elementwise passes, written out in numpy in ``_kernels``::

    feedback = eps[l+1] @ W[l]
    dx[l]    = sigma'(x[l]) * feedback - eps[l] - lambda_x x[l]     _kernels.state_step
    x[l]    += rate * dx[l];   a[l] = sigma(x[l])                  _kernels.state_step
    mu[l+1]  = a[l] @ M[l]  (+ a[l-1] @ S[l-1]; g(mu + b) for a nonlinear prediction)
    eps[l+1] = (x[l+1] - (mu[l+1] + b[l])) / nu[l+1]                _kernels.error_energy
               (a[l+1] for errors on activities; then @ P[l+1] for a precision matrix)
    e[l+1]   = nu[l+1] / 2 ||eps[l+1]||^2 (+ lambda_x / 2 ||x[l+1]||^2), per row

``sigma'(x)`` comes from the activity already computed: ``1 - a^2`` for
tanh, ``a (1 - a)`` for the logistic function, ``[x >= 0]`` for relu.
"""

import numpy as np

from . import _kernels
from ._kernels import ACTIVATION_CODES
from ._workspace import copy, empty

SCHEDULES = ("alternating", "euler")

# A relaxation whose energy ends this many times above where it started has diverged.
DIVERGENCE_GROWTH = 100.0


def has_diverged(initial_energy, final_energy):
    """Whether a relaxation blew up: its final energy is not finite, or exceeds
    ``DIVERGENCE_GROWTH`` times its initial energy (floored at 1e-6).

    Converging dynamics lower the energy (with tied feedback, every step
    does), so a large rise means too large a step.
    """
    return not np.isfinite(final_energy) or (
        final_energy > DIVERGENCE_GROWTH * max(initial_energy, 1e-6))


def relax(network, states, *, clamp_bottom=True, clamp_top=True, schedule="alternating",
          n_steps=20, rate=0.1, activity_decay=0.0, errors=None, feedforward_start=False,
          tol=0.0, workspace=None, energy=None, observed=None, return_predictions=False,
          backtrack=None, clamp=None):
    """Relax the free layers of ``states``, replacing their entries in the list.

    Parameters
    ----------
    network : LayerStack
    states : list of ndarray
        States ``x[0] .. x[L]``, each of shape ``(n_samples, n_l)``.  Free
        entries are replaced by new arrays (the arrays passed in are never
        written); clamped ones are left untouched.
    clamp_bottom, clamp_top : bool
        Whether ``x[0]`` (input) and ``x[L]`` (class side) are held fixed.
    clamp : iterable of int, optional
        The layers held fixed, any of ``0 .. L``, instead of
        ``clamp_bottom`` and ``clamp_top``.
    schedule : {"alternating", "euler"}
    n_steps : int
        Number of state updates.
    rate : float
        Step size relative to the time constant: ``dt / tau``.
    activity_decay : float
        ``lambda_x`` of eq 3.11, applied to the free layers below the top.
    errors : list of ndarray, optional
        Initial error units for ``"euler"`` (index 0 unused); by default they
        start at their equilibrium values.
    feedforward_start : bool, default=False
        For ``"alternating"``: the caller promises that ``x[1] .. x[L-1]`` are
        the bottom-up sweep ``network.feedforward(x[0])``, so their errors are
        exactly zero.  The relaxation then reuses them as the predictions
        instead of recomputing them, and skips the products of errors that
        are still zero: after a feedforward start the top error reaches
        layer ``L - k`` only at step ``k``.
    tol : float, default=0.0
        For ``"alternating"``: a row stops, before its next step, once the
        largest component of its state update direction ``dx`` over all free
        layers is at most ``tol`` (its energy gradient, with tied feedback).
        It is then at a stationary point up to ``tol``, and leaves the batch:
        the remaining steps are computed for the other rows only (after a
        feedforward start without decay, rows that stop before the first
        step never enter it).  ``0`` runs every row for ``n_steps`` steps.
    workspace : Workspace, optional
        For ``"alternating"``: where its buffers live (see ``_workspace``), so
        that a training loop reuses them from batch to batch.  The new free
        states and the returned errors may then be views of those buffers,
        valid until the next call with the same workspace in the same
        thread.  By default every call allocates its own.
    energy : ndarray of shape (n_samples,), optional
        Receives each row's energy at its final states:
        ``PCNetwork.energy(states, errors)`` plus ``lambda_x / 2 ||x[l]||^2``
        for the free layers below the top.  ``"alternating"`` has it at no
        cost when it backtracks (it tracks each layer's energy per row then);
        a stack whose dynamics do not descend the energy computes it only
        when asked.
    observed : ndarray, optional
        With ``clamp_top=False``: a per-entry clamp of the top layer, of the
        shape of ``x[L]`` or of one row, 1 on entries held fixed, 0 on free
        ones (pattern completion: ``dx[L] = -eps[L] * (1 - observed)``).
    return_predictions : bool, default=False
        Also return the predictions ``mu[1] .. mu[L]`` at the final states.
    backtrack : bool, optional
        For ``"alternating"``: whether a step that raises a row's energy is
        undone (and the row's step size halved).  By default, whenever the
        dynamics descend the energy (``network.descends``); it needs them to.

    Returns
    -------
    errors : list of ndarray
        Error units ``eps[1] .. eps[L]`` at the final states (index 0 is None):
        equilibrium values (eq 2.4) for ``"alternating"``, the integrated error
        units for ``"euler"``.
    predictions : list of ndarray
        With ``return_predictions``: ``mu[1] .. mu[L]`` (index 0 is None).
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if tol and schedule != "alternating":
        raise ValueError(f"tol > 0 needs the 'alternating' schedule, got {schedule!r}")
    if feedforward_start and (any(network.activity_errors) or network.skip is not None):
        raise ValueError("a feedforward start zeroes the errors on states, without skip "
                         "predictions, only")
    n_layers = network.n_layers
    if clamp is None:
        clamp = [0] * clamp_bottom + [n_layers] * clamp_top
    clamp = set(clamp)
    if not clamp <= set(range(n_layers + 1)):
        raise ValueError(f"clamp names layers of 0 .. {n_layers}, got {sorted(clamp)}")
    free = [layer for layer in range(n_layers + 1) if layer not in clamp]
    # A product with a transposed view (tied feedback) is about 10 % slower in OpenBLAS
    # than with a contiguous copy, and the copy costs about three such slowdowns: it is
    # made, once per call, for a layer that takes part in more than three products.
    feedback = {}
    for layer in free:
        if layer < n_layers:
            n_products = n_steps - (n_layers - 1 - layer if feedforward_start else 0)
            feedback[layer] = network.feedback[layer]
            if n_products > 3 and not feedback[layer].flags.c_contiguous:
                feedback[layer] = copy(workspace, ("feedback", layer), feedback[layer])

    free_entries = None
    if observed is not None:
        if n_layers in clamp:
            raise ValueError("observed clamps entries of a free top: pass clamp_top=False")
        free_entries = 1 - np.asarray(observed, dtype=states[n_layers].dtype)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if schedule == "euler":
            errors = _relax_euler(network, states, free, feedback, n_steps=n_steps,
                                  rate=rate, decay=activity_decay, errors=errors,
                                  free_entries=free_entries)
            if energy is not None:
                energy[...] = network.energy(states, errors)
                for layer in free:
                    if layer < n_layers:
                        energy += _penalty(network, layer, states[layer], activity_decay)
            if return_predictions:
                return errors, network.predictions_and_errors(states)[0]
            return errors
        if (tol and feedforward_start and not activity_decay and not return_predictions
                and backtrack is None
                and not network.sparsity and network.lateral is None and network.skip is None):
            return _relax_moving_rows(network, states, free, feedback, n_steps=n_steps,
                                      rate=rate, tol=tol, workspace=workspace, energy=energy)
        relaxation = _AlternatingRelaxation(network, states, free, feedback, rate=rate,
                                            decay=activity_decay, tol=tol,
                                            feedforward_start=feedforward_start,
                                            workspace=workspace,
                                            track_energy=energy is not None,
                                            free_entries=free_entries, backtrack=backtrack)
        errors = relaxation.run(n_steps, energy)
        if return_predictions:
            return errors, relaxation.predictions()
        return errors


def _relax_moving_rows(network, states, free, feedback, *, n_steps, rate, tol, workspace,
                       energy):
    """``"alternating"`` with ``tol`` after a feedforward start, without decay:
    rows that stop before the first step never enter the relaxation.

    Only the top error is non-zero at the start, so the first step moves only
    a free top, ``dx[L] = -eps[L]``, and the layer below it,
    ``dx[L-1] = sigma'(x[L-1]) * (eps[L] @ W[L-1])``.  A row whose largest
    ``|dx|`` is at most ``tol`` keeps its states and zero errors below the
    top, exactly as if it had left at step 0; the others relax as usual.
    The final states and errors live in ``workspace``'s buffers, if given.
    """
    top = network.n_layers
    below = top - 1
    dtype = states[top].dtype
    n_rows = states[top].shape[0]
    activity = network.activate(below, states[below],
                                out=empty(workspace, ("first step", "a"), states[below].shape,
                                          dtype))
    top_prediction = network.predict_layer(below, activity)
    top_error = network.error(top, states[top], top_prediction)
    if energy is not None:
        # the energy of a row that does not move: its errors below the top are zero
        energy[...] = network.output_energy(states[top], top_prediction)
    largest = np.zeros(n_rows, dtype=dtype)
    if top in free:
        np.abs(top_error).max(axis=1, out=largest)
    if below in free:
        shape = states[below].shape
        step = np.matmul(top_error, feedback[below],
                         out=empty(workspace, ("first step", "feedback"), shape, dtype))
        # only largest |dx[L-1]| is kept: the step itself is retaken by the relaxation
        _kernels.state_step(step, activity, ACTIVATION_CODES[network.activation_names[below]],
                            None, states[below], 0.0, 0.0,
                            empty(workspace, ("first step", "x"), shape, dtype), largest,
                            gated=network.gated)
    moving = np.flatnonzero(~(largest <= dtype.type(tol)))
    if moving.size == n_rows:
        return _AlternatingRelaxation(network, states, free, feedback, rate=rate, decay=0.0,
                                      tol=tol, feedforward_start=True,
                                      workspace=workspace).run(n_steps, energy)
    errors = [None]
    for layer in range(1, top):
        errors.append(empty(workspace, ("stopped rows", "eps", layer), states[layer].shape,
                            dtype))
        errors[layer].fill(0)
    errors.append(top_error)
    # the clamped bottom is not read after a feedforward start (it predicts x[1] = mu[1])
    unread = 0 not in free and top > 1
    moving_states = [None if unread and layer == 0 else s.take(moving, axis=0)
                     for layer, s in enumerate(states)]
    if moving.size:
        relaxation = _AlternatingRelaxation(network, moving_states, free, feedback, rate=rate,
                                            decay=0.0, tol=tol, feedforward_start=True,
                                            workspace=workspace)
        moving_energy = None if energy is None else np.empty(moving.size, dtype)
        for layer, moving_error in enumerate(relaxation.run(n_steps, moving_energy)[1:],
                                             start=1):
            errors[layer][moving] = moving_error
        if energy is not None:
            energy[moving] = moving_energy
    for layer in free:
        final = copy(workspace, ("stopped rows", "x", layer), states[layer])
        final[moving] = moving_states[layer]
        states[layer] = final
    return errors


def _relax_euler(network, states, free, feedback, *, n_steps, rate, decay, errors,
                 free_entries=None):
    """Euler integration of the states (eq 2.3, 3.11) and error units (eq 2.2).

    Every free layer takes the step of ``_kernels.state_step`` (as in the
    alternating schedule), and every error unit ``d eps = v - mu - nu eps``.
    A layer with a precision matrix ``P`` would need ``d eps = v - mu -
    P^-1 eps``, the covariance itself: no estimator integrates such error
    units, so they are refused rather than inverted here.
    """
    if any(precision is not None for precision in network.precisions):
        raise NotImplementedError("the 'euler' schedule has no error units with a "
                                  "precision matrix; use 'alternating'")
    n_layers = network.n_layers
    dtype = states[0].dtype
    rate, decay = dtype.type(rate), dtype.type(decay)
    codes = [ACTIVATION_CODES[name] for name in network.activation_names]

    def drive():
        """Activities and predictions of the current states."""
        activities = [network.activate(layer, states[layer]) for layer in range(n_layers)]
        predictions = [None] + [
            network.predict_layer(layer, activities[layer],
                                  below=activities[layer - 1] if layer else None)
            for layer in range(n_layers)]
        return activities, predictions

    def compared(layer):
        return network.compared(layer, states[layer],
                                activities[layer] if layer < n_layers else None)

    activities, predictions = drive()
    errors = ([None] + [network.error(layer, compared(layer), predictions[layer])
                        for layer in range(1, n_layers + 1)] if errors is None
              else [None] + [np.array(e, dtype=dtype) for e in errors[1:]])
    for _ in range(n_steps):
        new_states = {}
        for layer in free:
            out = np.empty_like(states[layer])
            if layer == n_layers:
                # dx[L] = -eps[L] (on the free entries)
                new_states[layer] = _kernels.state_step(None, None, 0, errors[layer],
                                                        states[layer], 0.0, rate, out, None,
                                                        free=free_entries)
                continue
            new_states[layer] = _kernels.state_step(
                errors[layer + 1] @ feedback[layer], activities[layer], codes[layer],
                errors[layer] if layer > 0 else None, states[layer], decay, rate, out, None,
                gated=network.gated, sparsity=network.sparsity,
                lateral=_lateral(network, layer))
        for layer in range(1, n_layers + 1):
            # d eps = v - mu - nu eps   (eq 2.2)
            d_eps = compared(layer) - predictions[layer]
            d_eps -= dtype.type(network.variances[layer]) * errors[layer]
            errors[layer] += rate * d_eps
        for layer, x in new_states.items():
            states[layer] = x
        activities, predictions = drive()
    return errors


def _lateral(network, layer):
    """The ``lateral`` argument of ``_kernels.state_step`` for ``layer``, or None."""
    if network.lateral is None or network.lateral[layer] is None:
        return None
    starts, sizes = network.lateral[layer]
    return starts, sizes, network.excitation, network.inhibition


def _penalty(network, layer, x, decay):
    """Per-row ``decay / 2 ||x||^2 + lambda_s ||x||_1`` of a free layer below the top."""
    total = np.zeros(x.shape[0], dtype=x.dtype)
    if decay:
        total += x.dtype.type(decay / 2) * _squared_norms(x)
    if network.sparsity:
        total += x.dtype.type(network.sparsity) * np.abs(x).sum(axis=1)
    return total


def _squared_norms(a):
    """Row-wise ``||a_i||^2`` (one dot product per row)."""
    return np.matmul(a[:, None, :], a[:, :, None]).reshape(-1)


class _AlternatingRelaxation:
    """The ``"alternating"`` schedule, in preallocated buffers.

    Each quantity that changes during relaxation (free states ``x``, their
    activities ``a = sigma(x)``, the predictions ``mu`` and errors ``eps``
    they feed, and, when tracked, each layer's per-row energy ``e``) has two
    C-contiguous buffers: one holds the accepted value, the other receives a
    step's proposal.  A step recomputes only what depends on a layer that
    moved, so layers the error wavefront has not reached cost nothing, and
    when the dynamics descend the energy (``LayerStack.descends``) rows
    whose energy would rise get their accepted values copied back into the
    proposal before the two swap.  The energy is tracked only then, or when
    the caller asks for it.  Without backtracking and without stops (a GNCN
    settling) nothing is ever undone, and every quantity has one buffer,
    which each step overwrites.  With ``tol > 0``, rows whose update direction
    is at most ``tol`` leave every buffer (their final values are kept
    aside) before the step is computed further; rows that settle so late
    that carrying them to the end costs less than one step of the batch
    stay instead, their proposals undone like rejected ones (their
    direction, and so their settling, stays the same).  ``feedback`` maps
    each free layer below the top to its ``W[l]``.  The elementwise work
    between the matrix products is two kernels of ``_kernels``, where their
    equations are written out: ``state_step`` per moving layer for its step
    and new activity, ``error_energy`` per changed layer for its error and
    energy (with a precision matrix, a product ``(v - mu) @ P`` instead).
    With a ``workspace``, every buffer comes from it.
    """

    def __init__(self, network, states, free, feedback, *, rate, decay, feedforward_start,
                 tol=0.0, workspace=None, track_energy=True, free_entries=None,
                 backtrack=None):
        self.network, self.states, self.free = network, states, free
        self.workspace = workspace
        top = self.top = network.n_layers
        dtype = self.dtype = states[top].dtype
        n_rows = states[top].shape[0]
        self.decay = dtype.type(decay)
        self.nu = [dtype.type(v) for v in network.variances]
        if backtrack and not network.descends:
            raise ValueError("backtracking needs dynamics that descend the energy")
        self.backtrack = network.descends if backtrack is None else backtrack
        self.track = self.backtrack or track_energy
        self.codes = [ACTIVATION_CODES[name] for name in network.activation_names]
        self.lateral = [_lateral(network, layer) for layer in range(top)]
        self.sparsity = dtype.type(network.sparsity)
        self.free_entries = free_entries
        self.skip = network.skip is not None
        # one step size for every row until a row's step is first undone; then a
        # column of per-row step sizes
        self.rates = dtype.type(rate)
        self.feedback = feedback
        self.scratch = {layer: self._empty(("scratch", layer), states[layer].shape)
                        for layer in free if layer < top}
        # v - mu of the layers with a precision matrix, before its product
        self.mismatch = {layer: self._empty(("mismatch", layer), states[layer].shape)
                         for layer in range(1, top + 1)
                         if network.precisions[layer] is not None}
        self.current, self.spare = {}, {}
        self.tol = dtype.type(tol)
        # Rows still relaxing (indices into the caller's batch), the largest
        # |dx| of each in the step being proposed, and the final values of
        # the rows that have stopped, by key.
        self.rows = np.arange(n_rows)
        self.largest_step = np.zeros(n_rows, dtype=dtype)
        self.stopped = None

        # Without backtracking or stops no proposal is ever undone: each step then
        # writes its values over the accepted ones (a layer's new state and
        # activity are read by no other layer's step, and the predictions and
        # errors are recomputed only after every step is taken).
        in_place = not self.backtrack and not tol

        def hold(key, value, variable):
            self.current[key] = value = np.ascontiguousarray(value)
            if variable:
                self.spare[key] = (value if in_place
                                   else self._empty(("spare",) + key, value.shape))

        # x[L] of a clamped top and mu[1] of a clamped bottom are held, never written;
        # x[0] of a clamped bottom is not read at all.
        for layer in range(top + 1):
            if layer in free:
                hold(("x", layer), copy(workspace, ("x", layer), states[layer]), True)
            elif layer > 0:
                hold(("x", layer), states[layer], False)
        activities = [None] * top
        for layer in range(top):
            reuse_prediction = feedforward_start and layer + 1 < top
            if layer in free:
                activities[layer] = network.activate(
                    layer, self.current[("x", layer)],
                    out=self._empty(("a", layer), states[layer].shape))
                hold(("a", layer), activities[layer], True)
            elif not reuse_prediction or network.activity_errors[layer]:
                activities[layer] = network.activate(layer, states[layer])
                if network.activity_errors[layer] or self.skip:
                    # held: its error, or a skip prediction of a moving layer, reads it
                    hold(("a", layer), activities[layer], False)
            if reuse_prediction:
                prediction = copy(workspace, ("mu", layer + 1), states[layer + 1])
            else:
                prediction = network.predict_layer(
                    layer, activities[layer],
                    out=self._empty(("mu", layer + 1), states[layer + 1].shape),
                    below=activities[layer - 1] if layer else None)
            hold(("mu", layer + 1), prediction,
                 layer in free or self.skip and layer - 1 in free)
        # After a feedforward start the errors below the top are exactly zero
        # (x[l] is its own prediction), and known to be without looking at them.
        self.zero_error = [feedforward_start and 0 < layer < top for layer in range(top + 1)]
        for layer in range(1, top + 1):
            new = {("eps", layer): self._empty(("eps", layer), states[layer].shape)}
            if self.track:
                new[("e", layer)] = self._empty(("e", layer), (n_rows,))
            self._error_and_energy(layer, new, fresh_prediction=False)
            for key, value in new.items():
                hold(key, value, self._inputs_move(layer))
        if self.track:
            hold(("e", 0), self._bottom_energy({}), 0 in free)

    def _inputs_move(self, layer):
        """Whether the error of ``layer`` depends on a free layer."""
        return (layer in self.free or layer - 1 in self.free
                or self.skip and layer - 2 in self.free)

    def _empty(self, name, shape):
        """An uninitialised array of the states' dtype (the workspace's buffer ``name``)."""
        return empty(self.workspace, name, shape, self.dtype)

    def _get(self, key, new):
        return new.get(key, self.current.get(key))

    def _error_and_energy(self, layer, new, *, fresh_prediction):
        """``eps[l] = (v[l] - mu[l]) / nu[l]`` (eq 2.4), or ``(v[l] - mu[l]) @
        P[l]``, and, when tracked, the per-row energy of layer ``l``,
        ``nu[l] / 2 ||eps[l]||^2`` (``1/2 (v - mu) . eps`` with a precision
        matrix; the cross-entropy at a softmax or logistic top), plus
        ``lambda_x / 2 ||x[l]||^2 + lambda_s ||x[l]||_1`` when the layer is
        free and below the top, written into ``new``'s buffers.  ``v[l]`` is
        the state, or the activity for a layer with errors on activities.  A
        ``fresh_prediction`` is a bare product ``a[l-1] M[l-1]`` (+ skip) to
        which the bias of a linear prediction is added first, in place.
        """
        network = self.network
        x, mu = self._get(("x", layer), new), self._get(("mu", layer), new)
        v = self._get(("a", layer), new) if network.activity_errors[layer] else x
        eps, energy = new[("eps", layer)], new.get(("e", layer))
        if layer == self.top and network.output is not None:
            np.subtract(x, mu, out=eps)
            if self.nu[layer] != 1:
                eps /= self.nu[layer]
            if energy is not None:
                new[("e", layer)] = network.output_energy(x, mu)
            return
        intercepts = network.intercepts
        bias = (intercepts[layer - 1] if fresh_prediction and intercepts is not None
                and network.prediction_function(layer - 1) is None else None)
        free_below_top = layer in self.free and layer < self.top
        decay = self.decay if free_below_top else 0.0
        if network.precisions[layer] is not None:
            mismatch = self.mismatch[layer]
            _kernels.error_energy(mu, bias, v, 1.0, 0.0, mismatch, None)
            np.matmul(mismatch, network.precisions[layer], out=eps)
            if energy is not None:
                energy[...] = np.einsum("ij,ij->i", mismatch, eps)
                energy *= self.dtype.type(0.5)
                if decay:
                    energy += self.dtype.type(0.5 * decay) * _squared_norms(x)
        else:
            _kernels.error_energy(mu, bias, v, self.nu[layer], decay, eps, energy)
        if energy is not None and free_below_top and self.sparsity:
            energy += self.sparsity * np.abs(x).sum(axis=1)

    def _bottom_energy(self, new):
        """Per-row energy of layer 0, which has no error: ``lambda_x / 2
        ||x[0]||^2 + lambda_s ||x[0]||_1`` when it is free, else zero."""
        if 0 in self.free and (self.decay or self.sparsity):
            return _penalty(self.network, 0, self._get(("x", 0), new), self.decay)
        return np.zeros(self.rows.size, dtype=self.dtype)

    def _propose(self):
        """One step ``x + rate * dx`` of every free layer that moves, and the
        activity ``sigma(x)`` of each below the top, written into the spare
        buffers; returns the new values by key."""
        current, top, new = self.current, self.top, {}
        largest = self.largest_step if self.tol else None
        if self.tol:
            largest.fill(0)
        for layer in self.free:
            out = self.spare[("x", layer)]
            if layer == top:
                if self.zero_error[top]:
                    continue
                # dx[L] = -eps[L] (on the free entries)
                new[("x", top)] = _kernels.state_step(None, None, 0, current[("eps", top)],
                                                      current[("x", top)], 0.0, self.rates, out,
                                                      largest, free=self.free_entries)
                continue
            feedback_zero = self.zero_error[layer + 1]
            own_zero = layer == 0 or self.zero_error[layer]
            lateral = self.lateral[layer]
            if (feedback_zero and own_zero and not self.decay and not self.sparsity
                    and lateral is None):
                continue  # dx = 0: the error wavefront has not reached this layer
            feedback = None
            if not feedback_zero:
                feedback = np.matmul(current[("eps", layer + 1)], self.feedback[layer],
                                     out=self.scratch[layer])
            error = None if own_zero else current[("eps", layer)]
            new[("a", layer)] = self.spare[("a", layer)]
            new[("x", layer)] = _kernels.state_step(
                feedback, current[("a", layer)], self.codes[layer], error, current[("x", layer)],
                self.decay, self.rates, out, largest, new[("a", layer)],
                gated=self.network.gated, sparsity=self.sparsity, lateral=lateral,
                scratch=feedback)
        return new

    def _stop_rows(self, settled, new):
        """Set aside the final states, errors and energies of the ``settled``
        rows and drop them from every buffer; returns the proposal ``new``
        re-pointed at the shrunk buffers."""
        final_keys = [("x", layer) for layer in self.free] + [
            ("eps", layer) for layer in range(1, self.top + 1)]
        if self.track:
            final_keys += [("e", layer) for layer in range(self.top + 1)]
        if self.stopped is None:
            n_rows = self.states[self.top].shape[0]
            self.stopped = {key: np.empty((n_rows,) + self.current[key].shape[1:],
                                          dtype=self.current[key].dtype) for key in final_keys}
        leaving, kept = np.flatnonzero(settled), np.flatnonzero(~settled)
        for key in final_keys:
            self.stopped[key][self.rows[leaving]] = self.current[key].take(leaving, axis=0)
        self.rows = self.rows[kept]
        self.largest_step = self.largest_step[kept]
        n_rows = kept.size

        def shrunk(value, content):
            """``value`` without the settled rows: copied when its content matters."""
            if content:
                return value.take(kept, axis=0)
            return np.empty((n_rows,) + value.shape[1:], value.dtype)

        for key, value in self.current.items():
            self.current[key] = shrunk(value, True)
        # spare buffers hold the proposal (``new``) and otherwise stale values
        for key, value in self.spare.items():
            self.spare[key] = shrunk(value, key in new)
        for layer, value in self.scratch.items():
            self.scratch[layer] = shrunk(value, False)
        for layer, value in self.mismatch.items():
            self.mismatch[layer] = shrunk(value, False)
        if np.ndim(self.rates):
            self.rates = self.rates[kept]
        if self.free_entries is not None and np.ndim(self.free_entries) == 2 and (
                self.free_entries.shape[0] == settled.size):
            self.free_entries = self.free_entries[kept]
        return {key: self.spare[key] for key in new}

    def _recompute(self, new):
        """Predictions, errors and energies downstream of the moved layers."""
        network, spare, top = self.network, self.spare, self.top
        moved = {layer for _, layer in new}
        for layer in range(top):
            if layer in moved or self.skip and layer - 1 in moved:
                # the bias of a linear prediction is added with the error
                new[("mu", layer + 1)] = network.predict_layer(
                    layer, self._get(("a", layer), new), out=spare[("mu", layer + 1)],
                    add_bias=False, below=self._get(("a", layer - 1), new) if layer else None)
        for layer in range(1, top + 1):
            if (layer in moved or layer - 1 in moved
                    or self.skip and layer - 2 in moved):
                new[("eps", layer)] = spare[("eps", layer)]
                if self.track:
                    new[("e", layer)] = spare[("e", layer)]
                self._error_and_energy(layer, new,
                                       fresh_prediction=("mu", layer) in new)
                self.zero_error[layer] = False
        if 0 in moved and self.track:
            new[("e", 0)] = self._bottom_energy(new)

    def _objective(self, new):
        return sum(self._get(("e", layer), new) for layer in range(self.top + 1))

    def predictions(self):
        """``mu[1] .. mu[L]`` at the final states (index 0 is None)."""
        if self.stopped is not None:
            return self.network.predictions_and_errors(self.states)[0]
        return [None] + [self.current[("mu", layer)] for layer in range(1, self.top + 1)]

    def run(self, n_steps, energy=None):
        """Take ``n_steps`` steps; write the free states back into the caller's
        list, each row's final energy into ``energy`` (if given), and return
        the final errors."""
        objective = self._objective({}) if self.backtrack else None
        for step in range(n_steps):
            new = self._propose()
            if not new:
                break  # nothing moves, now or later
            held = None
            if self.tol:
                settled = self.largest_step <= self.tol
                n_settled = np.count_nonzero(settled)
                if n_settled == self.rows.size:
                    break
                if n_settled * (n_steps - step) < self.rows.size:
                    # carrying these rows through the remaining steps costs less than
                    # one step of all rows: undo their proposals instead of dropping
                    # them from every buffer (their values stay the same)
                    held = settled if n_settled else None
                else:
                    new = self._stop_rows(settled, new)
                    if self.backtrack:
                        objective = objective[~settled]
            current = self.current
            self._recompute(new)
            if self.backtrack:
                proposed = self._objective(new)
                rejected = ~(proposed <= objective)
                if rejected.any():
                    for key, value in new.items():
                        value[rejected] = current[key][rejected]
                    proposed[rejected] = objective[rejected]
                    if not np.ndim(self.rates):
                        self.rates = np.full((self.rows.size, 1), self.rates, dtype=self.dtype)
                    self.rates[rejected] *= self.dtype.type(0.5)
                if held is not None:
                    proposed[held] = objective[held]
                objective = proposed
            if held is not None:
                for key, value in new.items():
                    value[held] = current[key][held]
            for key, value in new.items():
                self.spare[key], current[key] = current[key], value
        final = self.current
        if self.stopped is not None:
            for key, value in self.stopped.items():
                value[self.rows] = self.current[key]
            final = self.stopped
        for layer in self.free:
            self.states[layer] = final[("x", layer)]
        if energy is not None:
            energy[...] = self._objective(final)
        return [None] + [final[("eps", layer)] for layer in range(1, self.top + 1)]
