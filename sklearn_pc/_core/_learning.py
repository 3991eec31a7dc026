"""Local Hebbian weight updates, weight decay, and the optimizers that apply them.

At the relaxed states, the learning rules of Sun & Orchard (2020), eq 2.9,
2.10 and 3.12, written as gradients of the energy (descent directions)::

    grad M[l] = -sigma(x[l]).T @ eps[l+1] / N + lambda_M M[l]
    grad W[l] = -eps[l+1].T @ sigma(x[l]) / N + lambda_W W[l]
    grad b[l] = -mean(eps[l+1])

Each update uses only the activity below and the error above a synapse.  The
feedback product is the transpose of the forward one, so it is computed once.
"""

import numpy as np


def local_gradients(network, states, errors, *, forward_decay=0.0, feedback_decay=0.0):
    """Gradients of the energy (plus decay) for every learned array.

    Returns
    -------
    grads : list of ndarray
        In the order of :func:`parameters`: forward weights, then intercepts
        (when present), then feedback weights (when not tied).
    """
    n_samples = states[0].shape[0]
    dtype = network.dtype
    scale = dtype.type(1.0 / n_samples)
    coef_grads, intercept_grads, feedback_grads = [], [], []
    for layer in range(network.n_layers):
        activity = network.activate(layer, states[layer])
        coef_grad = activity.T @ errors[layer + 1]
        coef_grad *= -scale
        if not network.tied:
            feedback_grad = coef_grad.T.copy()
            if feedback_decay:
                feedback_grad += dtype.type(feedback_decay) * network.feedback[layer]
            feedback_grads.append(feedback_grad)
        if forward_decay:
            coef_grad += dtype.type(forward_decay) * network.coefs[layer]
        coef_grads.append(coef_grad)
        if network.intercepts is not None:
            intercept_grads.append(-errors[layer + 1].mean(axis=0))
    return coef_grads + intercept_grads + feedback_grads


def parameters(network):
    """The learned arrays of ``network``, in the order of :func:`local_gradients`."""
    params = list(network.coefs)
    if network.intercepts is not None:
        params += network.intercepts
    if not network.tied:
        params += network.feedback
    return params


class SGDOptimizer:
    """Stochastic gradient descent with momentum, updating arrays in place.

    ``v = momentum * v - lr * grad``; ``param += v`` (or the Nesterov form).
    With ``momentum=0`` this is the Euler step ``dt / gamma`` of eq 2.9.
    """

    def __init__(self, params, learning_rate_init=0.01, momentum=0.9, nesterovs_momentum=True):
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.nesterov = nesterovs_momentum
        self.velocities = [np.zeros_like(p) for p in params]

    def update_params(self, params, grads):
        lr = params[0].dtype.type(self.learning_rate_init)
        mom = params[0].dtype.type(self.momentum)
        for param, grad, velocity in zip(params, grads, self.velocities):
            velocity *= mom
            velocity -= lr * grad
            if self.nesterov:
                param += mom * velocity - lr * grad
            else:
                param += velocity


class AdamOptimizer:
    """Adam (Kingma & Ba, 2015), updating arrays in place.

    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``,
    ``param -= lr_t m / (sqrt(v) + eps)`` with the bias-corrected ``lr_t``.
    """

    def __init__(self, params, learning_rate_init=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.learning_rate_init = learning_rate_init
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.ms = [np.zeros_like(p) for p in params]
        self.vs = [np.zeros_like(p) for p in params]

    def update_params(self, params, grads):
        self.t += 1
        dtype = params[0].dtype.type
        b1, b2 = dtype(self.beta_1), dtype(self.beta_2)
        lr = dtype(self.learning_rate_init * np.sqrt(1 - self.beta_2**self.t)
                   / (1 - self.beta_1**self.t))
        for param, grad, m, v in zip(params, grads, self.ms, self.vs):
            m *= b1
            m += (1 - b1) * grad
            v *= b2
            v += (1 - b2) * (grad * grad)
            step = np.sqrt(v)
            step += dtype(self.epsilon)
            np.divide(m, step, out=step)
            step *= lr
            param -= step


OPTIMIZERS = {"sgd": SGDOptimizer, "adam": AdamOptimizer}
