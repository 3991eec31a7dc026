"""Weights of a layered predictive-coding network and its per-step maths.

Notation follows Sun & Orchard (2020), written row-major for a batch of
``N`` samples (Sun & Orchard 2020, section 2).  Layer ``0`` is the input side, layer ``L``
the class side.  For ``l = 0 .. L-1``::

    mu[l+1]  = sigma_l(x[l]) @ M[l] + b[l]             prediction (mu(i) = M(i-1) sigma(x(i-1)))
    eps[l+1] = (x[l+1] - mu[l+1]) / nu[l+1]            error at equilibrium (eq 2.4)
    fb[l]    = eps[l+1] @ W[l]                         feedback (W(i) eps(i+1) of eq 2.3)

``M[l]`` has shape ``(n_l, n_{l+1})`` (the paper's M(i) transposed) and the
feedback ``W[l]`` shape ``(n_{l+1}, n_l)``; tied feedback uses ``W[l] = M[l].T``.
The energy minimised by relaxation and learning is minus eq 2.7::

    E = sum_{l >= 1} nu[l] / 2 * ||eps[l]||^2          (per sample)
"""

import numpy as np

from ._activations import ACTIVATIONS, OUTPUTS


class PCNetwork:
    """A layered PC network held as plain arrays.

    Parameters
    ----------
    coefs : list of ndarray
        Forward weights ``M[l]`` of shape ``(n_l, n_{l+1})``.
    intercepts : list of ndarray or None
        Biases ``b[l]`` of shape ``(n_{l+1},)`` added to each prediction, or
        None for the bias-free network of the paper.
    feedback : list of ndarray or None
        Feedback weights ``W[l]`` of shape ``(n_{l+1}, n_l)``; None ties
        them to the forward weights (``W[l] = M[l].T``).
    activations : list of str
        Activation name of layers ``0 .. L-1`` (keys of ``ACTIVATIONS``);
        layer ``L`` is linear.
    variances : array-like of shape (L + 1,)
        Variances ``nu[l]``; ``nu[0]`` is only used by the input error of a
        partly clamped bottom layer and is kept for symmetry.
    output : {"identity", "softmax"}, default="identity"
        Nonlinearity ``g`` of the top prediction, ``mu[L] = g(...)``.  With
        ``"softmax"`` the top error ``eps[L] = y - softmax(z)`` is the
        cross-entropy gradient (``nu[L]`` should then be 1).
    """

    def __init__(self, coefs, intercepts, feedback, activations, variances, output="identity"):
        self.coefs = coefs
        self.intercepts = intercepts
        self.tied = feedback is None
        self.feedback = [m.T for m in coefs] if feedback is None else feedback
        self.activation_names = list(activations)
        self.activations = [ACTIVATIONS[name] for name in activations]
        self.variances = np.asarray(variances, dtype=float)
        self.output = OUTPUTS[output]
        if len(self.activations) != self.n_layers or len(self.variances) != self.n_layers + 1:
            raise ValueError("activations and variances must match the number of layers")

    @property
    def n_layers(self):
        """Number of weight layers ``L`` (the network has ``L + 1`` layers of states)."""
        return len(self.coefs)

    @property
    def dtype(self):
        return self.coefs[0].dtype

    @property
    def layer_sizes(self):
        return [self.coefs[0].shape[0]] + [m.shape[1] for m in self.coefs]

    def activate(self, layer, x, out=None):
        """Return ``sigma(x)`` for the states ``x`` of ``layer``, written into
        ``out`` when given."""
        return self.activations[layer][0](x, out=out)

    def activate_with_derivative(self, layer, x):
        """Return ``(sigma(x), sigma'(x))`` for the states ``x`` of ``layer``."""
        f, df = self.activations[layer]
        fx = f(x)
        return fx, df(x, fx)

    def predict_layer(self, layer, activity, out=None, add_bias=True):
        """Prediction ``mu[layer + 1] = activity @ M[layer] + b[layer]``, written
        into ``out`` when given.  ``add_bias=False`` leaves ``b[layer]`` out for
        a caller that adds it later; a softmax output always gets it first."""
        mu = np.matmul(activity, self.coefs[layer], out=out)
        if self.intercepts is not None and (add_bias or self.output is not None
                                            and layer == self.n_layers - 1):
            mu += self.intercepts[layer]
        if self.output is not None and layer == self.n_layers - 1:
            mu = self.output(mu, out=mu)
        return mu

    def error(self, layer, x, mu):
        """Error at equilibrium ``eps = (x - mu) / nu`` of ``layer`` (eq 2.4)."""
        eps = np.subtract(x, mu)
        if self.variances[layer] != 1.0:
            eps /= eps.dtype.type(self.variances[layer])
        return eps

    def feedforward(self, X, workspace=None):
        """States after one bottom-up sweep, ``x[l+1] = mu[l+1]``.

        With the bottom clamped to ``X`` and the top free, this is the
        equilibrium of the discriminative mode (all errors zero, section 2.3).
        With a ``workspace`` (see ``_workspace``; ``X`` of the network's
        dtype) the states are its buffers, valid until the next call with it
        in the same thread.
        """
        def empty(name, shape):
            return None if workspace is None else workspace.empty(name, shape, self.dtype)

        states = [X]
        for layer in range(self.n_layers):
            activity = self.activate(layer, states[-1],
                                     out=empty(("sweep activity", layer), states[-1].shape))
            states.append(self.predict_layer(
                layer, activity, out=empty(("sweep", layer + 1),
                                           (X.shape[0], self.layer_sizes[layer + 1]))))
        return states

    def errors(self, states):
        """Errors at equilibrium of layers ``1 .. L`` (index 0 is None)."""
        errors = [None]
        for layer in range(self.n_layers):
            mu = self.predict_layer(layer, self.activate(layer, states[layer]))
            errors.append(self.error(layer + 1, states[layer + 1], mu))
        return errors

    def output_energy(self, target, mu):
        """Per-sample energy of the top layer: ``1/2 nu[L] ||x[L] - mu[L]||^2``, or
        the cross-entropy ``-sum x[L] log mu[L]`` with a softmax output."""
        if self.output is not None:
            # a probability that underflowed to 0 counts as the smallest positive one,
            # so one confident mistake gives a large, finite energy
            log_mu = np.log(np.maximum(mu, np.finfo(mu.dtype).tiny))
            return -np.einsum("ij,ij->i", target, log_mu)
        residual = np.subtract(target, mu)
        return (0.5 / float(self.variances[-1])) * np.einsum("ij,ij->i", residual, residual)

    def energy(self, states, errors):
        """Per-sample energy ``E = sum_l nu[l] / 2 ||eps[l]||^2`` (minus eq 2.7).

        With a softmax output the top term is the cross-entropy
        ``-sum x[L] log mu[L]`` instead, the objective whose gradient the top
        error is.
        """
        total = np.zeros(errors[-1].shape[0], dtype=errors[-1].dtype)
        for layer, eps in enumerate(errors):
            if eps is None:
                continue
            if layer == self.n_layers and self.output is not None:
                mu = self.predict_layer(layer - 1, self.activate(layer - 1, states[layer - 1]))
                total += self.output_energy(states[layer], mu)
            else:
                nu = float(self.variances[layer])
                total += 0.5 * nu * np.einsum("ij,ij->i", eps, eps)
        return total
