"""The layer stack every predictive-coding estimator configures, and its per-step maths.

Notation follows Sun & Orchard (2020), written row-major for a batch of
``N`` samples (Sun & Orchard 2020, section 2).  Layer ``0`` is the bottom
of the stack, layer ``L`` its top.  For ``l = 0 .. L-1``, with
``a[l] = sigma_l(x[l])``::

    mu[l+1]  = g_l(a[l] @ M[l] + a[l-1] @ S[l-1] + b[l])      prediction (mu(i) = M(i-1) a(i-1))
    v[l]     = x[l]  or  a[l]                               what a layer's error compares
    eps[l+1] = (v[l+1] - mu[l+1]) / nu[l+1]                  error at equilibrium (eq 2.4)
             or (v[l+1] - mu[l+1]) @ P[l+1]                  with a precision matrix
    fb[l]    = eps[l+1] @ W[l]                               feedback (W(i) eps(i+1) of eq 2.3)

``M[l]`` has shape ``(n_l, n_{l+1})`` (the paper's M(i) transposed) and the
feedback ``W[l]`` shape ``(n_{l+1}, n_l)``; tied feedback uses ``W[l] = M[l].T``.
Each piece is optional and off for the PC estimators: the skip predictions
``S[l-1]`` (shape ``(n_{l-1}, n_{l+1})``), the prediction function ``g_l``
(linear below the top unless ``prediction="relu"``; ``output`` at the top),
errors on activities (``v = a``), and precision matrices.  The state
update direction of a free layer (see ``_relaxation``) is::

    dx[l] = [sigma'(x[l]) *] fb[l] - eps[l] - lambda_x x[l] - lambda_s sign(x[l]) + a[l] V[l]

with the ``sigma'`` gating on (``gated=True``) or off, a sparsity penalty
``lambda_s`` and the lateral term ``a V = (alpha_e + alpha_h) a - alpha_h
groupsum(a)`` on groups of units (applied by group sums, never as a dense
``n x n`` product).  Skip predictions send no feedback.

PCClassifier and PCGenerator use the plain stack (layer 0 the input).  A
GNCN of Ororbia & Kifer (2022) is the same stack upside down (``_ngc``):
its top latent is layer 0, its input layer ``L``, its predictions go up
the stack, with errors on activities and precision matrices on the hidden
layers, relu predictions (type 2), a logistic or linear top output,
ungated learned feedback with the lateral term (type 2) or gated tied
feedback with the sparsity penalty (type 1).

The energy minimised by relaxation and learning is minus eq 2.7::

    E = sum_{l >= 1} nu[l] / 2 * ||eps[l]||^2          (per sample)

(with a precision matrix, ``1/2 (v - mu) P (v - mu)^T``).  It is the
objective of the state dynamics only for the plain stack with tied feedback
(:attr:`LayerStack.descends`): errors on activities, skip predictions,
ungated feedback and the lateral term make the dynamics something else.
"""

import numpy as np

from ._activations import ACTIVATIONS, OUTPUTS


class LayerStack:
    """A layered PC network held as plain arrays (no copies).

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
    output : {"identity", "softmax", "logistic"}, default="identity"
        Nonlinearity ``g`` of the top prediction, ``mu[L] = g(...)``.  With
        ``"softmax"`` (``"logistic"``) the top error ``eps[L] = y - g(z)`` is
        the cross-entropy (binary cross-entropy) gradient (``nu[L]`` should
        then be 1).
    prediction : {"identity", "relu"}, default="identity"
        Function of the hidden predictions ``mu[1] .. mu[L-1]``.
    precisions : list of (ndarray or None), optional
        Per layer ``0 .. L``: a precision matrix ``P[l]`` (shape
        ``(n_l, n_l)``) that replaces ``1 / nu[l]``, or None.
    activity_errors : iterable of int, default=()
        Layers whose error compares the activity ``a[l]`` with its
        prediction instead of the state ``x[l]`` (layers below the top).
    skip : list of ndarray or None
        Skip weights ``S[l]`` of shape ``(n_l, n_{l+2})``, ``l = 0 .. L-2``:
        ``a[l] @ S[l]`` joins the prediction of layer ``l + 2``.
    gated : bool, default=True
        Whether the feedback reaching a layer is multiplied by ``sigma'(x)``.
    sparsity : float, default=0.0
        ``lambda_s`` of the term ``-lambda_s sign(x)`` of the layers below the top.
    lateral : list of (ndarray, ndarray) or None
        Per layer ``0 .. L-1``: ``(starts, sizes)`` of its lateral groups
        (``_ngc.group_bounds``), or None (no lateral term on any layer).
    lateral_excitation, lateral_inhibition : float
        ``alpha_e`` and ``alpha_h`` of the lateral term.
    """

    def __init__(self, coefs, intercepts, feedback, activations, variances, output="identity",
                 *, prediction="identity", precisions=None, activity_errors=(), skip=None,
                 gated=True, sparsity=0.0, lateral=None, lateral_excitation=0.0,
                 lateral_inhibition=0.0):
        self.coefs = coefs
        self.intercepts = intercepts
        self.tied = feedback is None
        self.feedback = [m.T for m in coefs] if feedback is None else feedback
        self.activation_names = list(activations)
        self.activations = [ACTIVATIONS[name] for name in activations]
        self.variances = np.asarray(variances, dtype=float)
        self.output_name = output
        self.output = OUTPUTS[output]
        self.prediction = OUTPUTS[prediction]
        n_layers = len(coefs)
        self.precisions = [None] * (n_layers + 1) if precisions is None else list(precisions)
        activity_errors = set(activity_errors)
        self.activity_errors = [layer in activity_errors for layer in range(n_layers + 1)]
        self.skip = skip
        self.gated = bool(gated)
        self.sparsity = float(sparsity)
        self.lateral = lateral
        self.excitation = float(lateral_excitation)
        self.inhibition = float(lateral_inhibition)
        if len(self.activations) != self.n_layers or len(self.variances) != self.n_layers + 1:
            raise ValueError("activations and variances must match the number of layers")
        if len(self.precisions) != n_layers + 1 or self.activity_errors[n_layers]:
            raise ValueError("precisions must have L + 1 entries; the top has no activity")
        if skip is not None and len(skip) != max(n_layers - 1, 0):
            raise ValueError("skip must hold L - 1 matrices")

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

    @property
    def descends(self):
        """Whether the state dynamics descend :meth:`energy`: tied, gated
        feedback, errors on states, no skip predictions, no lateral term.
        Only then may a relaxation undo the steps that raise it."""
        return (self.tied and self.gated and self.skip is None and self.lateral is None
                and not any(self.activity_errors))

    def prediction_function(self, layer):
        """``g`` of ``mu[layer + 1]`` (None: linear)."""
        return self.output if layer == self.n_layers - 1 else self.prediction

    def activate(self, layer, x, out=None):
        """Return ``sigma(x)`` for the states ``x`` of ``layer``, written into
        ``out`` when given."""
        return self.activations[layer][0](x, out=out)

    def activate_with_derivative(self, layer, x):
        """Return ``(sigma(x), sigma'(x))`` for the states ``x`` of ``layer``."""
        f, df = self.activations[layer]
        fx = f(x)
        return fx, df(x, fx)

    def predict_layer(self, layer, activity, out=None, add_bias=True, below=None):
        """Prediction ``mu[layer + 1] = g(activity @ M[layer] + below @ S[layer-1]
        + b[layer])``, written into ``out`` when given; ``below`` is the
        activity ``a[layer - 1]``, needed with skip predictions.
        ``add_bias=False`` leaves ``b[layer]`` out for a caller that adds it
        later; a nonlinear ``g`` always gets it first."""
        mu = np.matmul(activity, self.coefs[layer], out=out)
        if self.skip is not None and layer > 0:
            mu += np.matmul(below, self.skip[layer - 1])
        function = self.prediction_function(layer)
        if self.intercepts is not None and (add_bias or function is not None):
            mu += self.intercepts[layer]
        if function is not None:
            mu = function(mu, out=mu)
        return mu

    def compared(self, layer, x, activity=None):
        """``v[layer]``: the state ``x``, or its activity for a layer whose
        error is on activities (computed unless given)."""
        if not self.activity_errors[layer]:
            return x
        return self.activate(layer, x) if activity is None else activity

    def error(self, layer, v, mu):
        """Error at equilibrium ``eps = (v - mu) / nu`` of ``layer`` (eq 2.4), or
        ``(v - mu) @ P`` with a precision matrix."""
        eps = np.subtract(v, mu)
        if self.precisions[layer] is not None:
            return np.matmul(eps, self.precisions[layer])
        if self.variances[layer] != 1.0:
            eps /= eps.dtype.type(self.variances[layer])
        return eps

    def feedforward(self, X, workspace=None):
        """States after one bottom-up sweep, ``x[l+1] = mu[l+1]``.

        With the bottom clamped to ``X`` and the top free, this is the
        equilibrium of the discriminative mode (all errors zero, section 2.3),
        and for a GNCN the ancestral pass from its top latents.
        With a ``workspace`` (see ``_workspace``; ``X`` of the network's
        dtype) the states are its buffers, valid until the next call with it
        in the same thread.
        """
        def empty(name, shape):
            return None if workspace is None else workspace.empty(name, shape, self.dtype)

        states, activities = [X], [None]
        for layer in range(self.n_layers):
            activities.append(self.activate(
                layer, states[-1], out=empty(("sweep activity", layer), states[-1].shape)))
            states.append(self.predict_layer(
                layer, activities[-1], below=activities[-2],
                out=empty(("sweep", layer + 1), (X.shape[0], self.layer_sizes[layer + 1]))))
        return states

    def predictions_and_errors(self, states):
        """Predictions and errors at equilibrium of layers ``1 .. L`` (index 0 is None)."""
        activities = [self.activate(layer, states[layer]) for layer in range(self.n_layers)]
        predictions, errors = [None], [None]
        for layer in range(self.n_layers):
            mu = self.predict_layer(layer, activities[layer],
                                    below=activities[layer - 1] if layer else None)
            v = (activities[layer + 1] if self.activity_errors[layer + 1]
                 else states[layer + 1])
            predictions.append(mu)
            errors.append(self.error(layer + 1, v, mu))
        return predictions, errors

    def errors(self, states):
        """Errors at equilibrium of layers ``1 .. L`` (index 0 is None)."""
        return self.predictions_and_errors(states)[1]

    def output_energy(self, target, mu):
        """Per-sample energy of the top layer: ``1/2 nu[L] ||x[L] - mu[L]||^2``, or
        the cross-entropy ``-sum x[L] log mu[L]`` with a softmax output (the
        binary cross-entropy with a logistic one)."""
        tiny = np.finfo(mu.dtype).tiny
        if self.output_name == "softmax":
            # a probability that underflowed to 0 counts as the smallest positive one,
            # so one confident mistake gives a large, finite energy
            log_mu = np.log(np.maximum(mu, tiny))
            return -np.einsum("ij,ij->i", target, log_mu)
        if self.output_name == "logistic":
            return -(np.einsum("ij,ij->i", target, np.log(np.maximum(mu, tiny)))
                     + np.einsum("ij,ij->i", 1 - target, np.log(np.maximum(1 - mu, tiny))))
        residual = np.subtract(target, mu)
        return (0.5 / float(self.variances[-1])) * np.einsum("ij,ij->i", residual, residual)

    def energy(self, states, errors):
        """Per-sample energy ``E = sum_l nu[l] / 2 ||eps[l]||^2`` (minus eq 2.7).

        With a softmax (logistic) output the top term is the cross-entropy
        (binary cross-entropy) instead, the objective whose gradient the top
        error is; with a precision matrix a layer's term is
        ``1/2 (v - mu) P (v - mu)^T = 1/2 (v - mu) . eps``.
        """
        total = np.zeros(errors[-1].shape[0], dtype=errors[-1].dtype)
        predictions = None
        for layer, eps in enumerate(errors):
            if eps is None:
                continue
            if (layer == self.n_layers and self.output is not None) or (
                    self.precisions[layer] is not None):
                if predictions is None:
                    predictions = self.predictions_and_errors(states)[0]
                if layer == self.n_layers and self.output is not None:
                    total += self.output_energy(states[layer], predictions[layer])
                else:
                    mismatch = self.compared(layer, states[layer]) - predictions[layer]
                    total += 0.5 * np.einsum("ij,ij->i", mismatch, eps)
            else:
                nu = float(self.variances[layer])
                total += 0.5 * nu * np.einsum("ij,ij->i", eps, eps)
        return total


# The stack of Sun & Orchard's networks: the name PCClassifier and PCGenerator use.
PCNetwork = LayerStack
