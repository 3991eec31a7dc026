"""Activation functions and their derivatives, looked up by name.

Each entry of :data:`ACTIVATIONS` maps a name to ``(f, df)`` where ``f(x)``
returns ``sigma(x)`` and ``df(x, fx)`` returns ``sigma'(x)`` given both the
state and its already computed activation, so the derivative of tanh and of
the logistic function costs one multiply-add instead of a second
transcendental call.  Both return arrays in the dtype of ``x``: new ones, or
``out`` (an array of the same shape and dtype, possibly ``x`` itself for
``f``) when it is given, which the settling loops use to work in
preallocated buffers.
"""

import numpy as np


def _identity(x, out=None):
    if out is None:
        return x.copy()
    np.copyto(out, x)
    return out


def _identity_derivative(x, fx, out=None):
    if out is None:
        return np.ones_like(x)
    out.fill(1)
    return out


def _tanh(x, out=None):
    return np.tanh(x, out=out)


def _tanh_derivative(x, fx, out=None):
    # 1 - tanh(x)^2
    out = np.multiply(fx, fx, out=out)
    np.subtract(1, out, out=out)
    return out


def _logistic(x, out=None):
    # 1 / (1 + exp(-x)): 4-6 times faster than scipy's expit on large arrays;
    # exp(-x) overflows to inf for very negative x, giving exactly 0
    with np.errstate(over="ignore"):
        out = np.exp(np.negative(x, out=out), out=out)
    out += 1
    return np.reciprocal(out, out=out)


def _logistic_derivative(x, fx, out=None):
    # s(x) (1 - s(x))
    out = np.subtract(1, fx, out=out)
    out *= fx
    return out


def _relu(x, out=None):
    return np.maximum(x, 0, out=out)


def _relu_derivative(x, fx, out=None):
    # Heaviside step with relu'(0) = 1, so that states that start at zero
    # still receive feedback (with states starting at 0, relu'(0) = 0 would never move them).
    if out is None:
        return (x >= 0).astype(x.dtype)
    return np.greater_equal(x, 0, out=out, casting="unsafe")


def _softmax(z, out=None):
    out = np.subtract(z, z.max(axis=1, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=1, keepdims=True)
    return out


# Prediction functions g of mu[l+1] = g(sigma(x[l]) @ M[l] + b[l]) (None: linear).  With
# "softmax" (or "logistic") at the top, eps[L] = y - g(z) is minus the gradient of the
# cross-entropy (or binary cross-entropy) in z, so the same local rules then descend that
# loss instead of the squared error.  "relu" predicts hidden layers of the GNCN-PDH kind.
OUTPUTS = {"identity": None, "softmax": _softmax, "logistic": _logistic, "relu": _relu}

ACTIVATIONS = {
    "identity": (_identity, _identity_derivative),
    "tanh": (_tanh, _tanh_derivative),
    "logistic": (_logistic, _logistic_derivative),
    "relu": (_relu, _relu_derivative),
}
