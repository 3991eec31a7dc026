"""Local Hebbian weight updates, weight decay, and the optimizers that apply them.

At the relaxed states, the learning rules of Sun & Orchard (2020), eq 2.9,
2.10 and 3.12, written as gradients of the energy (descent directions)::

    grad M[l] = -sigma(x[l]).T @ eps[l+1] / N + lambda_M M[l]
    grad W[l] = -eps[l+1].T @ sigma(x[l]) / N + lambda_W W[l]
    grad b[l] = -mean(eps[l+1])
    grad S[l] = -sigma(x[l]).T @ eps[l+2] / N              (skip predictions)

The same Hebbian rule trains the GNCNs of ``_ngc`` (Ororbia & Kifer 2022):
their ``dW``, ``dE`` and ``dM`` are these, on their stack upside down.

Each update uses only the activity below and the error above a synapse.  The
feedback product is the transpose of the forward one, so it is computed once,
and over the rows whose error is not exactly zero only: rows that stopped
relaxing before the error wavefront reached a layer add nothing to it.  An
update can be split into parts that each own some of the weights' input
units, and so run at once in threads (:func:`parameter_regions`).
"""

import numpy as np

from . import _kernels
from ._workspace import copy, empty


def input_unit_slice(n_units, part):
    """The ``k``-th of ``n_parts`` near-equal slices of ``range(n_units)``, for
    ``part = (k, n_parts)``."""
    k, n_parts = part
    return slice(k * n_units // n_parts, (k + 1) * n_units // n_parts)


def parameter_regions(network, part=(0, 1)):
    """The regions of the learned arrays that one part of an update covers, in
    the order of :func:`parameters`.

    Part ``(k, n_parts)`` holds the ``k``-th slice of each weight layer's
    input units (see :func:`input_unit_slice`): those rows of ``M[l]`` and
    those columns of ``W[l]``, and the intercepts when ``k = 0``.  The parts
    cover every learned entry once, so they can be updated at once in
    threads.  Each region is an index (``None``: the part has none of that
    array).
    """
    regions = [input_unit_slice(coef.shape[0], part) for coef in network.coefs]
    if network.intercepts is not None:
        regions += [slice(None) if part[0] == 0 else None for _ in network.intercepts]
    if not network.tied:
        regions += [(slice(None), input_unit_slice(coef.shape[0], part))
                    for coef in network.coefs]
    if network.skip is not None:
        regions += [input_unit_slice(skip.shape[0], part) for skip in network.skip]
    return regions


def gradient_factors(network, states, errors, *, n_samples=None, out=None):
    """The two factors of each weight layer's local gradient.

    For weight layer ``l``: the activity below, ``a[l] = sigma(x[l])``, and
    the error above scaled by the mean, ``e[l] = -eps[l+1] / N``, so that
    ``grad M[l] = a[l].T @ e[l]`` and ``grad b[l] = sum(e[l])``.  ``N`` is
    ``n_samples`` (by default the rows of ``states``): the row blocks of one
    batch, given the batch's size, each write their rows of the batch's
    factors.

    Parameters
    ----------
    out : list of (ndarray, ndarray), optional
        Arrays of the rows' shapes to write ``(a[l], e[l])`` into.

    Returns
    -------
    factors : list of (ndarray, ndarray)
        ``(a[l], e[l])`` for ``l = 0 .. L-1``.
    """
    dtype = network.dtype
    scale = dtype.type(-1.0 / (states[0].shape[0] if n_samples is None else n_samples))
    if out is None:
        out = [(None, None)] * network.n_layers
    return [(network.activate(layer, states[layer], out=activity),
             np.multiply(errors[layer + 1], scale, out=error))
            for layer, (activity, error) in enumerate(out)]


def local_gradients(network, factors, *, forward_decay=0.0, feedback_decay=0.0,
                    workspace=None, part=(0, 1)):
    """Gradients of the energy (plus decay) for every learned array, or for one
    part of them, from the :func:`gradient_factors` of a batch.

    ``part = (k, n_parts)`` restricts the gradients to the regions
    :func:`parameter_regions` gives, which parts running at once in threads
    can each apply: a part reads every row of the batch and computes only its
    own entries, so no gradient is summed or moved between threads.  Rows
    whose error is exactly zero are left out of the products.  With a
    ``workspace`` (see ``_workspace``) the weight gradients are its buffers,
    valid until the next call with it in the same thread.

    Returns
    -------
    grads : list of ndarray or None
        In the order of :func:`parameters`: forward weights, then intercepts
        (when present), then feedback weights (when not tied), then skip
        weights (when present); the gradient of
        each region of ``parameter_regions(network, part)``, None where that
        is None.
    """
    dtype = network.dtype
    coef_grads, intercept_grads, feedback_grads, skip_grads = [], [], [], []
    for layer, (activity, error) in enumerate(factors):
        if network.skip is not None and layer + 1 < len(factors):
            # grad S[l] = a[l].T @ e[l+1]: the activity of l, the error of l + 2
            skip_activity = activity[:, input_unit_slice(activity.shape[1], part)]
            skip_error = factors[layer + 1][1]
            rows = np.flatnonzero(skip_error.any(axis=1))
            if rows.size < skip_error.shape[0]:
                skip_activity, skip_error = skip_activity[rows], skip_error[rows]
            skip_grads.append(np.matmul(skip_activity.T, skip_error))
        inputs = input_unit_slice(activity.shape[1], part)
        activity = activity[:, inputs]
        rows = np.flatnonzero(error.any(axis=1))
        if rows.size < error.shape[0]:
            activity, error = activity[rows], error[rows]
        coef_grad = np.matmul(activity.T, error,
                              out=empty(workspace, ("coef gradient", layer),
                                        (activity.shape[1], error.shape[1]), dtype))
        if not network.tied:
            feedback_grad = copy(workspace, ("feedback gradient", layer), coef_grad.T)
            if feedback_decay:
                feedback_grad += dtype.type(feedback_decay) * network.feedback[layer][:, inputs]
            feedback_grads.append(feedback_grad)
        if forward_decay:
            coef_grad += dtype.type(forward_decay) * network.coefs[layer][inputs]
        coef_grads.append(coef_grad)
        if network.intercepts is not None:
            intercept_grads.append(error.sum(axis=0) if part[0] == 0 else None)
    return coef_grads + intercept_grads + feedback_grads + skip_grads


def decay_penalty(network, *, forward_decay=0.0, feedback_decay=0.0):
    """The weight-decay term of the objective that :func:`local_gradients` descends.

    ``lambda_M / 2 sum_l ||M[l]||^2``, plus ``lambda_W / 2 sum_l ||W[l]||^2``
    when the feedback weights are learned separately (tied feedback weights
    are ``M.T`` and take no decay of their own).  Its gradient is the decay
    part of :func:`local_gradients`, so the mean energy per sample plus this
    penalty is the objective the updates descend.
    """
    penalty = 0.0
    if forward_decay:
        penalty += 0.5 * forward_decay * sum(float(np.vdot(m, m)) for m in network.coefs)
    if feedback_decay and not network.tied:
        penalty += 0.5 * feedback_decay * sum(float(np.vdot(w, w)) for w in network.feedback)
    return penalty


def parameters(network):
    """The learned arrays of ``network``, in the order of :func:`local_gradients`."""
    params = list(network.coefs)
    if network.intercepts is not None:
        params += network.intercepts
    if not network.tied:
        params += network.feedback
    if network.skip is not None:
        params += network.skip
    return params


def _in_order_of(grad, param):
    """``grad`` in ``param``'s dtype, contiguous along the axis ``param`` is
    contiguous along (copied only if needed)."""
    by_columns = (param.ndim == 2 and param.strides[0] == param.itemsize
                  and param.strides[1] != param.itemsize)
    return np.asarray(grad, dtype=param.dtype, order="F" if by_columns else "C")


class _Optimizer:
    """One step of an optimizer, applied to whole arrays or by regions.

    ``update_params`` is one step over whole arrays.  ``start_step`` then
    ``update_regions`` for each part of the arrays is the same step split
    into parts, which may run at once in threads when their regions do not
    overlap (numpy's ufuncs release the GIL).
    """

    def update_params(self, params, grads):
        """One step: ``params`` updated in place from their ``grads``."""
        self.start_step()
        self.update_regions(params, grads, [slice(None)] * len(params))

    def start_step(self):
        """Begin a step (Adam counts them); call once before ``update_regions``."""

    def update_regions(self, params, grads, regions):
        """Apply the step begun by :meth:`start_step` to ``param[region]``, whose
        gradient is ``grad``, for each triple; None regions are skipped."""
        for index, (param, grad, region) in enumerate(zip(params, grads, regions)):
            if region is not None:
                self._update(index, param[region], _in_order_of(grad, param[region]), region)


class SGDOptimizer(_Optimizer):
    """Stochastic gradient descent with momentum, updating arrays in place.

    ``v = momentum * v - lr * grad``; ``param += v``, or with Nesterov's
    momentum ``param += momentum * v - lr * grad``.  With ``momentum=0``
    this is the Euler step ``dt / gamma`` of eq 2.9.  Each array is updated
    in one pass (``_kernels.sgd_update``).
    """

    def __init__(self, params, learning_rate_init=0.01, momentum=0.9, nesterovs_momentum=True):
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.nesterov = nesterovs_momentum
        self.velocities = [np.zeros_like(p) for p in params]

    def _update(self, index, param, grad, region):
        _kernels.sgd_update(param, grad, self.velocities[index][region],
                            self.learning_rate_init, self.momentum, self.nesterov)


class AdamOptimizer(_Optimizer):
    """Adam (Kingma & Ba, 2015), updating arrays in place.

    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``,
    ``param -= lr_t m / (sqrt(v) + eps)`` with the bias-corrected step
    ``lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)``, as in scikit-learn.  The
    moments are stored as the sums ``m / (1 - b1)`` and ``v / (1 - b2)``
    (``sum_k b^(t-k) g_k``); the factors are folded into the step and
    ``eps``.  Each array is updated in place by ``_kernels.adam_update``.
    """

    def __init__(self, params, learning_rate_init=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.learning_rate_init = learning_rate_init
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.first_moment_sums = [np.zeros_like(p) for p in params]
        self.second_moment_sums = [np.zeros_like(p) for p in params]

    def start_step(self):
        self.t += 1
        b1_t, b2_t = self.beta_1**self.t, self.beta_2**self.t
        lr_t = self.learning_rate_init * np.sqrt(1 - b2_t) / (1 - b1_t)
        # m / (sqrt(v) + eps) = (1 - b1) / sqrt(1 - b2) * m_sum / (sqrt(v_sum) + eps / sqrt(1 - b2))
        self._step_size = lr_t * (1 - self.beta_1) / np.sqrt(1 - self.beta_2)
        self._eps = self.epsilon / np.sqrt(1 - self.beta_2)

    def _update(self, index, param, grad, region):
        _kernels.adam_update(param, grad, self.first_moment_sums[index][region],
                             self.second_moment_sums[index][region], self.beta_1, self.beta_2,
                             self._step_size, self._eps)


OPTIMIZERS = {"sgd": SGDOptimizer, "adam": AdamOptimizer}
