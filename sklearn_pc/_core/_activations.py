"""Activation functions and their derivatives, looked up by name.

Each entry of :data:`ACTIVATIONS` maps a name to ``(f, df)`` where ``f(x)``
returns ``sigma(x)`` and ``df(x, fx)`` returns ``sigma'(x)`` given both the
state and its already computed activation, so the derivative of tanh and of
the logistic function costs one multiply-add instead of a second
transcendental call.  Both return new arrays in the dtype of ``x``.
"""

import numpy as np
from scipy.special import expit


def _identity(x):
    return x.copy()


def _identity_derivative(x, fx):
    return np.ones_like(x)


def _tanh(x):
    return np.tanh(x)


def _tanh_derivative(x, fx):
    # 1 - tanh(x)^2
    out = np.multiply(fx, fx)
    np.subtract(1, out, out=out)
    return out


def _logistic(x):
    return expit(x)


def _logistic_derivative(x, fx):
    # s(x) (1 - s(x))
    out = np.subtract(1, fx)
    out *= fx
    return out


def _relu(x):
    return np.maximum(x, 0)


def _relu_derivative(x, fx):
    # Heaviside step with relu'(0) = 1, so that states that start at zero
    # still receive feedback (the phi'(0) pitfall of SPEC section 3).
    return (x >= 0).astype(x.dtype)


def _softmax(z):
    out = z - z.max(axis=1, keepdims=True)
    np.exp(out, out=out)
    out /= out.sum(axis=1, keepdims=True)
    return out


# Output nonlinearities g of the top prediction mu[L] = g(sigma(x[L-1]) @ M + b).  With
# "softmax", eps[L] = y - g(z) is minus the gradient of the cross-entropy in z, so the
# same local rules then descend the log-loss instead of the squared error.
OUTPUTS = {"identity": None, "softmax": _softmax}

ACTIVATIONS = {
    "identity": (_identity, _identity_derivative),
    "tanh": (_tanh, _tanh_derivative),
    "logistic": (_logistic, _logistic_derivative),
    "relu": (_relu, _relu_derivative),
}
