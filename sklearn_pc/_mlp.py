"""A small dense network with hand-written forward and backward passes.

The encoders, decoders and discriminators of the backprop baselines
(:mod:`sklearn_pc._autoencoders`) are all :class:`MLP` views over lists of
weight matrices and intercepts stored on the estimator (row-major: ``h(l+1)
= f(h(l) W(l) + b(l))``; the last layer is linear, its nonlinearity and loss
belong to the caller).  Everything is vectorised over the rows of a batch and
stays in the dtype of the weights.

It is not the predictive-coding layer stack of :mod:`sklearn_pc._core` on
purpose: the baselines are the backprop models that Ororbia & Kifer (2022)
compare against, with no states to relax and no local errors, so they train
by one forward and one backward pass, as their papers define them.
"""

from itertools import pairwise

import numpy as np

from ._core._activations import ACTIVATIONS


def init_layers(sizes, rng, dtype):
    """Glorot-uniform weights and zero intercepts for layer sizes ``sizes``.

    Returns
    -------
    coefs, intercepts : list of ndarray
        ``coefs[l]`` of shape ``(sizes[l], sizes[l + 1])``, ``intercepts[l]``
        of shape ``(sizes[l + 1],)``.
    """
    coefs, intercepts = [], []
    for fan_in, fan_out in pairwise(sizes):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
        intercepts.append(np.zeros(fan_out, dtype=dtype))
    return coefs, intercepts


class MLP:
    """A view (no copy) of ``coefs`` and ``intercepts`` as a dense network.

    Hidden layers use ``activation`` (a name of the activation table); the
    output layer is linear.
    """

    def __init__(self, coefs, intercepts, activation="relu"):
        self.coefs = coefs
        self.intercepts = intercepts
        self.activation, self.derivative = ACTIVATIONS[activation]

    @property
    def params(self):
        """The learned arrays, in the order of the gradients of :meth:`backward`."""
        return [*self.coefs, *self.intercepts]

    @property
    def widths(self):
        """Widths of every layer, input first."""
        return [self.coefs[0].shape[0], *(w.shape[1] for w in self.coefs)]

    def predict(self, X):
        """Linear output for ``X``, keeping no intermediate arrays."""
        h = X
        for layer, (w, b) in enumerate(zip(self.coefs, self.intercepts)):
            h = h @ w
            h += b
            if layer < len(self.coefs) - 1:
                h = self.activation(h)
        return h

    def forward(self, X):
        """Linear output and the cache :meth:`backward` needs."""
        inputs, pre = [X], []
        h = X
        for layer, (w, b) in enumerate(zip(self.coefs, self.intercepts)):
            a = h @ w
            a += b
            if layer < len(self.coefs) - 1:
                pre.append(a)
                h = self.activation(a)
                inputs.append(h)
            else:
                h = a
        return h, (inputs, pre)

    def backward(self, cache, delta):
        """Gradients of a loss whose gradient in the linear output is ``delta``.

        Parameters
        ----------
        cache : tuple
            From :meth:`forward`.
        delta : ndarray of shape (n_samples, n_outputs)
            ``dL / d output`` (already divided by the batch size if ``L`` is
            a mean).

        Returns
        -------
        grads : list of ndarray
            ``dL / dW(l)`` then ``dL / db(l)``, in the order of :attr:`params`.
        delta_in : ndarray of shape (n_samples, n_inputs)
            ``dL / d input``.
        """
        inputs, pre = cache
        n_layers = len(self.coefs)
        coef_grads, intercept_grads = [None] * n_layers, [None] * n_layers
        for layer in range(n_layers - 1, -1, -1):
            coef_grads[layer] = inputs[layer].T @ delta
            intercept_grads[layer] = delta.sum(axis=0)
            delta = delta @ self.coefs[layer].T
            if layer > 0:
                delta *= self.derivative(pre[layer - 1], inputs[layer])
        return coef_grads + intercept_grads, delta

    def n_synapses(self):
        """Number of weights and intercepts."""
        return sum(w.size + b.size for w, b in zip(self.coefs, self.intercepts))
