"""Local Hebbian weight updates, weight decay, and the optimizers that apply them.

At the relaxed states, the learning rules of Sun & Orchard (2020), eq 2.9,
2.10 and 3.12, written as gradients of the energy (descent directions)::

    grad M[l] = -sigma(x[l]).T @ eps[l+1] / N + lambda_M M[l]
    grad W[l] = -eps[l+1].T @ sigma(x[l]) / N + lambda_W W[l]
    grad b[l] = -mean(eps[l+1])

Each update uses only the activity below and the error above a synapse.  The
feedback product is the transpose of the forward one, so it is computed once,
and over the rows whose error is not exactly zero only: rows that stopped
relaxing before the error wavefront reached a layer add nothing to it.
"""

import numpy as np

from ._update_kernels import adam_update, sgd_update
from ._workspace import copy, empty


def local_gradients(network, states, errors, *, forward_decay=0.0, feedback_decay=0.0,
                    n_samples=None, workspace=None):
    """Gradients of the energy (plus decay) for every learned array.

    ``n_samples`` is the size of the batch the mean runs over (by default the
    rows of ``states``): gradients of row blocks of one batch, each computed
    with the batch's size and without decay, sum to the batch's gradient
    (see :func:`add_weight_decay`).  With a ``workspace`` (see
    ``_workspace``) the weight gradients and the intermediate arrays are its
    buffers, valid until the next call with it in the same thread.

    Returns
    -------
    grads : list of ndarray
        In the order of :func:`parameters`: forward weights, then intercepts
        (when present), then feedback weights (when not tied).
    """
    dtype = network.dtype
    scale = dtype.type(-1.0 / (states[0].shape[0] if n_samples is None else n_samples))
    coef_grads, intercept_grads, feedback_grads = [], [], []
    for layer in range(network.n_layers):
        x, eps = states[layer], errors[layer + 1]
        rows = np.flatnonzero(eps.any(axis=1))
        if rows.size < eps.shape[0]:
            x, eps = x[rows], eps[rows]
        activity = network.activate(
            layer, x, out=empty(workspace, ("gradient activity", layer), x.shape, dtype))
        # the scale goes on the errors or on the gradient, whichever has fewer entries
        scale_errors = eps.shape[0] <= activity.shape[1]
        if scale_errors:
            eps = np.multiply(eps, scale,
                              out=empty(workspace, ("scaled error", layer), eps.shape, dtype))
        coef_grad = np.matmul(activity.T, eps,
                              out=empty(workspace, ("coef gradient", layer),
                                        (activity.shape[1], eps.shape[1]), dtype))
        if not scale_errors:
            coef_grad *= scale
        if not network.tied:
            feedback_grads.append(copy(workspace, ("feedback gradient", layer), coef_grad.T))
        coef_grads.append(coef_grad)
        if network.intercepts is not None:
            bias_grad = eps.sum(axis=0)
            intercept_grads.append(bias_grad if scale_errors else scale * bias_grad)
    return add_weight_decay(network, coef_grads + intercept_grads + feedback_grads,
                            forward_decay=forward_decay, feedback_decay=feedback_decay)


def add_weight_decay(network, grads, *, forward_decay=0.0, feedback_decay=0.0):
    """Add ``lambda_M M`` and ``lambda_W W`` to the gradients of ``M`` and ``W``, in place."""
    dtype = network.dtype
    n_layers = network.n_layers
    for layer in range(n_layers if forward_decay else 0):
        grads[layer] += dtype.type(forward_decay) * network.coefs[layer]
    if feedback_decay and not network.tied:
        for layer, feedback_grad in enumerate(grads[-n_layers:]):
            feedback_grad += dtype.type(feedback_decay) * network.feedback[layer]
    return grads


def parameters(network):
    """The learned arrays of ``network``, in the order of :func:`local_gradients`."""
    params = list(network.coefs)
    if network.intercepts is not None:
        params += network.intercepts
    if not network.tied:
        params += network.feedback
    return params


def _in_order_of(grad, param):
    """``grad`` contiguous in ``param``'s memory order and dtype (copied only if needed)."""
    order = "F" if param.flags.f_contiguous and not param.flags.c_contiguous else "C"
    return np.asarray(grad, dtype=param.dtype, order=order)


class SGDOptimizer:
    """Stochastic gradient descent with momentum, updating arrays in place.

    ``v = momentum * v - lr * grad``; ``param += v``, or with Nesterov's
    momentum ``param += momentum * v - lr * grad``.  With ``momentum=0``
    this is the Euler step ``dt / gamma`` of eq 2.9.  Each array is updated
    in one compiled pass (``_update_kernels``).
    """

    def __init__(self, params, learning_rate_init=0.01, momentum=0.9, nesterovs_momentum=True):
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.nesterov = nesterovs_momentum
        self.velocities = [np.zeros_like(p) for p in params]

    def update_params(self, params, grads):
        for param, grad, velocity in zip(params, grads, self.velocities):
            sgd_update(param, _in_order_of(grad, param), velocity, self.learning_rate_init,
                       self.momentum, self.nesterov)


class AdamOptimizer:
    """Adam (Kingma & Ba, 2015), updating arrays in place.

    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``,
    ``param -= lr_t m / (sqrt(v) + eps)`` with the bias-corrected step
    ``lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)``, as in scikit-learn.  The
    moments are stored as the sums ``m / (1 - b1)`` and ``v / (1 - b2)``
    (``sum_k b^(t-k) g_k``); the factors are folded into the step and
    ``eps``.  Each array is updated in one compiled pass
    (``_update_kernels``).
    """

    def __init__(self, params, learning_rate_init=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.learning_rate_init = learning_rate_init
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.first_moment_sums = [np.zeros_like(p) for p in params]
        self.second_moment_sums = [np.zeros_like(p) for p in params]

    def update_params(self, params, grads):
        self.t += 1
        b1_t, b2_t = self.beta_1**self.t, self.beta_2**self.t
        lr_t = self.learning_rate_init * np.sqrt(1 - b2_t) / (1 - b1_t)
        # m / (sqrt(v) + eps) = (1 - b1) / sqrt(1 - b2) * m_sum / (sqrt(v_sum) + eps / sqrt(1 - b2))
        step_size = lr_t * (1 - self.beta_1) / np.sqrt(1 - self.beta_2)
        eps = self.epsilon / np.sqrt(1 - self.beta_2)
        for param, grad, m_sum, v_sum in zip(params, grads, self.first_moment_sums,
                                             self.second_moment_sums):
            adam_update(param, _in_order_of(grad, param), m_sum, v_sum, self.beta_1,
                        self.beta_2, step_size, eps)


OPTIMIZERS = {"sgd": SGDOptimizer, "adam": AdamOptimizer}
