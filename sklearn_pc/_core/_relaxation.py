"""Relaxation schedules: clamp some layers and let the free states settle.

Both schedules follow the state dynamics of Sun & Orchard (2020), eq 2.3 and
3.11, for every free layer ``l`` (row-major, see ``_network``)::

    dx[l] = sigma'(x[l]) * (eps[l+1] @ W[l]) - eps[l] - lambda_x x[l]   hidden layers
    dx[0] = sigma'(x[0]) * (eps[1] @ W[0]) - lambda_x x[0]             free bottom (alpha = 0)
    dx[L] = -eps[L]                                                     free top (beta = 1)

``"euler"`` integrates these and the error units of eq 2.2,
``d eps[l] = x[l] - mu[l] - nu[l] eps[l]``, with step ``rate = dt / tau``.
``"alternating"`` is Whittington & Bogacz's accelerated method: set every
error to its equilibrium (eq 2.4), take one large step ``x += rate * dx``,
repeat.  With tied feedback (``W = M.T``) that step is gradient descent on
the energy (plus ``lambda_x / 2 ||x||^2``), and a step that would raise a
row's energy is undone for that row, whose step size is halved: large
weights can then never make the relaxation diverge.  Both schedules use a
fixed number of steps and per-row step sizes, so a sample's trajectory never
depends on the other rows of its batch.
"""

import numpy as np

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
          n_steps=20, rate=0.1, activity_decay=0.0, errors=None):
    """Relax the free layers of ``states``, replacing their entries in the list.

    Parameters
    ----------
    network : PCNetwork
    states : list of ndarray
        States ``x[0] .. x[L]``, each of shape ``(n_samples, n_l)``.  Free
        entries are replaced by new arrays (the arrays passed in are never
        written); clamped ones are left untouched.
    clamp_bottom, clamp_top : bool
        Whether ``x[0]`` (input) and ``x[L]`` (class side) are held fixed.
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

    Returns
    -------
    errors : list of ndarray
        Error units ``eps[1] .. eps[L]`` at the final states (index 0 is None):
        equilibrium values (eq 2.4) for ``"alternating"``, the integrated error
        units for ``"euler"``.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    n_layers = network.n_layers
    dtype = states[0].dtype
    rate = dtype.type(rate)
    decay = dtype.type(activity_decay)
    free = [layer for layer in range(n_layers + 1)
            if not (layer == 0 and clamp_bottom) and not (layer == n_layers and clamp_top)]
    # The clamped input's activity and the prediction it sends up never change.
    bottom_prediction = (network.predict_layer(0, network.activate(0, states[0]))
                         if clamp_bottom else None)

    def drive():
        """Activities, derivatives and predictions of the current states."""
        derivatives = [None] * n_layers
        predictions = [None] * (n_layers + 1)
        for layer in range(n_layers):
            if layer == 0 and clamp_bottom:
                predictions[1] = bottom_prediction
                continue
            activity, derivatives[layer] = network.activate_with_derivative(layer, states[layer])
            predictions[layer + 1] = network.predict_layer(layer, activity)
        return derivatives, predictions

    def state_step(derivatives, errors):
        """Increments ``dx`` of every free layer from the current errors."""
        steps = {}
        for layer in free:
            if layer == n_layers:
                steps[layer] = -errors[layer]
                continue
            dx = errors[layer + 1] @ network.feedback[layer]
            dx *= derivatives[layer]
            if layer > 0:
                dx -= errors[layer]
            if decay:
                dx -= decay * states[layer]
            steps[layer] = dx
        return steps

    def equilibrium_errors(predictions):
        return [None] + [network.error(layer, states[layer], predictions[layer])
                         for layer in range(1, n_layers + 1)]

    def objective(errors):
        """Per-row energy plus the activity-decay term of the free layers."""
        total = network.energy(states, errors)
        if decay:
            for layer in free:
                if layer < n_layers:
                    total += (decay / 2) * np.einsum("ij,ij->i", states[layer], states[layer])
        return total

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        derivatives, predictions = drive()
        if schedule == "euler":
            errors = (equilibrium_errors(predictions) if errors is None
                      else [None] + [np.array(e, dtype=dtype) for e in errors[1:]])
            for _ in range(n_steps):
                steps = state_step(derivatives, errors)
                for layer in range(1, n_layers + 1):
                    # d eps = x - mu - nu eps   (eq 2.2)
                    d_eps = states[layer] - predictions[layer]
                    d_eps -= dtype.type(network.variances[layer]) * errors[layer]
                    errors[layer] += rate * d_eps
                for layer, dx in steps.items():
                    states[layer] = states[layer] + rate * dx
                derivatives, predictions = drive()
            return errors

        errors = equilibrium_errors(predictions)
        # With tied feedback each step is gradient descent on the energy: a row whose
        # objective would rise keeps its states and halves its own step instead.
        backtrack = network.tied
        if backtrack:
            rates = np.full((states[0].shape[0], 1), rate, dtype=dtype)
            current = objective(errors)
        for _ in range(n_steps):
            steps = state_step(derivatives, errors)
            previous = ({layer: states[layer] for layer in steps}, derivatives, predictions,
                        errors)
            for layer, dx in steps.items():
                states[layer] = states[layer] + (rates if backtrack else rate) * dx
            derivatives, predictions = drive()
            errors = equilibrium_errors(predictions)
            if backtrack:
                proposed = objective(errors)
                rejected = ~(proposed <= current)
                if rejected.any():
                    for layer, old in previous[0].items():
                        states[layer][rejected] = old[rejected]
                    for new_list, old_list in zip((derivatives, predictions, errors),
                                                  previous[1:]):
                        for new, old in zip(new_list, old_list):
                            if new is not None and new is not old:
                                new[rejected] = old[rejected]
                    proposed[rejected] = current[rejected]
                    rates[rejected] *= dtype.type(0.5)
                current = proposed
    return errors
