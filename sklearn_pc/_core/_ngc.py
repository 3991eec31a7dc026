"""Neural generative coding (Ororbia & Kifer 2022): a configuration of the shared core.

Row-major notation (Ororbia & Kifer 2022) for a batch of ``N`` samples.  Layer 0
is the input ``z0`` (``D`` units, clamped to ``x`` except for the free pixels
of pattern completion), layers ``1..L`` are latent states ``z(l)`` of ``J_l``
units with activities ``a(l) = phi(z(l))``.  The learned arrays, stored in
lists whose index ``i`` holds the matrix of layer ``l`` given on the right::

    W(l)      (J_l, J_{l-1})   generative weights          l = 1..L,   i = l - 1
    M(l)      (J_l, J_{l-2})   skip weights (GNCN-PDH)     l = 2..L,   i = l - 2
    E(l)      (J_{l-1}, J_l)   error synapses (type 2)     l = 1..L,   i = l - 1
    Sigma(l)  (J_l, J_l)       error covariance            l = 1..L-1, i = l - 1
    P(l)      (J_l, J_l)       precision, Sigma(l)^-1      l = 1..L-1, i = l - 1

One settling step updates every layer from the same old states (Jacobi)::

    h(l)   = a(l+1) W(l+1) + a(l+2) M(l+2)                       l = 0..L-1
    mu(0)  = g(h(0)),  mu(l) = f(h(l))                           predictions
    e(0)   = z0 - mu(0)
    e(l)   = (a(l) - mu(l)) P(l),   e(L) = 0                     errors
    type 1: z(l) += beta (-gamma z(l) + phi'(z(l)) * (e(l-1) W(l)^T) - e(l) - lambda sign(z(l)))
    type 2: z(l) += beta (-gamma z(l) + e(l-1) E(l) - e(l) + a(l) V(l))
    free pixels of z0: z0 += -beta e(0) (1 - m)                  pattern completion

``f`` is the identity, or a ReLU (``prediction="relu"``, as the public
GNCN-PDH implementation of Ororbia & Kifer predicts its hidden layers).  The
output function ``g`` follows the likelihood of the input: ``sigmoid`` for a
Bernoulli decoder (``output="logistic"``), the identity for a unit-variance Gaussian
one (``output="identity"``).  In both cases ``e(0) = z0 - mu(0)`` is minus the
gradient of the input energy in ``h(0)`` (the binary cross-entropy, or
``||z0 - h(0)||^2 / 2``), so the settling and learning rules are the same.

The top layer has nothing above it, so it has no error units (``e(L) = 0``)
and no covariance.  The lateral matrix ``V(l) = alpha_e I - alpha_h
(B(l) * (1 - I))``, with ``B(l)`` the block-diagonal ones of contiguous groups
of units, is applied by group sums: ``a V = (alpha_e + alpha_h) a - alpha_h
groupsum(a)``, never as a dense ``J x J`` product.

After settling, the local updates (ascent directions of the log-likelihood)::

    dW(l) = a(l)^T e(l-1) / N,   dM(l) = a(l)^T e(l-2) / N,   dE(l) = e(l-1)^T a(l) / N
    dSigma(l) = (e(l)^T e(l) / N - P(l)) / 2

When training on incomplete data the missing pixels of ``z0`` settle freely (as
in pattern completion) and the updates use the masked input error ``e(0) * m``
(``m = 1`` on observed pixels): an unknown pixel sends no learning signal.

(The paper's factor ``lambda_E`` of ``dE`` is 1 here: Adam, the default optimizer, is
blind to a constant factor.)  After each optimizer step every column of ``W``,
``E`` and ``M`` (the incoming synapses of one receiving unit) is rescaled to
unit L2 norm.

How it runs on the shared core (``_network.LayerStack``, ``_relaxation.relax``,
``_learning``): the GNCN is the layer stack upside down, stack layer
``k = L - l`` holding ``z(l)``::

    stack x[0]  = z(L)            free bottom: no error (e(L) = 0)
    stack x[k]  = z(L - k)        activity errors, precision P(L - k)
    stack x[L]  = z0              top: output g, clamped (or free where m = 0)
    M[k] = W(L - k),  S[k] = M(L - k),  feedback W[k] = E(L - k) (type 2) or M[k]^T (type 1)
    h(l) -> a[k] M[k] + a[k-1] S[k-1],  e(l) -> eps[k],  beta -> rate,  gamma -> lambda_x

so one settling step is one step of the ``"alternating"`` schedule (errors
at their equilibrium, every free layer moved from the same old values: the
Jacobi step above, written in ``_kernels.state_step`` and
``_kernels.error_energy``), with ``gated=False`` and the lateral term for
type 2, the sparsity term for type 1, and the per-entry clamp of the top
for pattern completion.  Settling never backtracks or stops rows early:
with errors on activities, ungated feedback or the lateral term the step
is not the gradient of an energy, and the paper's ``T`` is fixed.  The
updates ``dW``, ``dE``, ``dM`` are the Hebbian rule of ``_learning`` on that
stack (the error above times the activity below).  What only a GNCN has
stays here, since no PC estimator learns its like: the covariance update
and its eigenvalue projection, the unit-norm columns, the lateral groups.

``dSigma`` is the gradient in ``Sigma`` of the Gaussian log-density
``-log|Sigma| / 2 - d Sigma^-1 d^T / 2`` of the error ``d = a - mu`` (eq 3 of
the paper).  After each step ``Sigma`` is symmetrised and its eigenvalues are
clipped from below at ``min_variance``, which keeps it positive definite and
gives the precision from the same eigendecomposition.
"""

import numpy as np
from scipy import linalg

from ._learning import gradient_factors, local_gradients
from ._network import LayerStack
from ._relaxation import relax
from ._threads import one_blas_thread
from ._workspace import empty


def group_bounds(n_units, n_groups):
    """Starts and sizes of ``min(n_groups, n_units)`` contiguous, nearly equal groups."""
    n_groups = min(n_groups, n_units)
    sizes = np.full(n_groups, n_units // n_groups)
    sizes[: n_units % n_groups] += 1
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    return starts.astype(np.intp), sizes.astype(np.intp)


def normalize_columns(matrix):
    """Scale every column of ``matrix`` to unit L2 norm, in place."""
    norms = np.linalg.norm(matrix, axis=0, keepdims=True)
    np.maximum(norms, np.finfo(matrix.dtype).tiny, out=norms)
    matrix /= norms


# Above this fraction of eigenvalues over the floor, computing only those eigenpairs
# (syevr) costs more than all of them (syevd): at 360 units, float32, one thread,
# 4.8 ms against 7.2 ms for 19 of them, as much for about 60, 32 ms for all 360.
_SUBSET_FRACTION = 0.1


def project_covariance(covariance, precision, min_variance, previous_above=None):
    """Make ``covariance`` symmetric with eigenvalues >= ``min_variance``; set ``precision``.

    Both arrays are overwritten in place.  With ``S = V diag(lambda) V^T`` the
    symmetric part and ``f = min_variance``::

        Sigma = V diag(max(lambda, f)) V^T = f I + V+ diag(lambda+ - f) V+^T
        P     = Sigma^-1                   = I / f + V+ diag(1 / lambda+ - 1 / f) V+^T

    where ``V+, lambda+`` are the eigenpairs above the floor.  When few were
    at the previous projection of this covariance (``previous_above``, at
    most a tenth of its size), only those are computed (LAPACK's ``syevr``
    over the interval ``(f, inf)``), else all of them with the
    divide-and-conquer ``syevd``; both through scipy, whose float32 build
    took half the time of ``numpy.linalg.eigh`` at 360 units.  Both give
    the same arrays up to rounding.

    Returns
    -------
    n_above : int
        The number of eigenvalues above ``min_variance``.
    """
    symmetric = (covariance + covariance.T) / 2
    n_units = covariance.shape[0]
    with one_blas_thread():
        if previous_above is not None and previous_above <= _SUBSET_FRACTION * n_units:
            above, vectors = linalg.eigh(symmetric, subset_by_value=(min_variance, np.inf),
                                         driver="evr", overwrite_a=True, check_finite=False)
            floor = above.dtype.type(min_variance)
            diagonal = np.s_[::n_units + 1]
            np.matmul(vectors * (above - floor), vectors.T, out=covariance)
            covariance.flat[diagonal] += floor
            np.matmul(vectors * (1 / above - 1 / floor), vectors.T, out=precision)
            precision.flat[diagonal] += 1 / floor
            return above.size
        eigenvalues, eigenvectors = linalg.eigh(symmetric, driver="evd", overwrite_a=True,
                                                check_finite=False)
    n_above = int(np.count_nonzero(eigenvalues > min_variance))
    np.maximum(eigenvalues, min_variance, out=eigenvalues)
    covariance[...] = (eigenvectors * eigenvalues) @ eigenvectors.T
    precision[...] = (eigenvectors / eigenvalues) @ eigenvectors.T
    return n_above


class GNCN:
    """A generative neural coding network held as plain arrays (no copies),
    settled and trained on the shared layer stack (``_network.LayerStack``).

    The stack is the GNCN upside down: its layer ``k`` is ``z(L - k)``, so
    the top latent ``z(L)`` is the stack's free bottom (no error) and the
    input ``z0`` its top, and ``W(l)``, ``E(l)``, ``M(l)``, ``P(l)`` are the
    stack's ``M[L-l]``, ``W[L-l]``, ``S[L-l]``, ``P[L-l]``.  Settling is the
    ``"alternating"`` relaxation of ``_relaxation.relax`` (Jacobi steps,
    errors at equilibrium) from zero states with ``rate = beta`` and
    ``activity_decay = gamma``, the input clamped (or clamped on its
    observed entries); the updates are the Hebbian rule of ``_learning``.
    What stays here is what only a GNCN has: the covariance update and its
    projection, the column normalisation, the lateral groups.

    Parameters
    ----------
    weights : list of ndarray
        ``W(1..L)``; ``W(l)`` has shape ``(J_l, J_{l-1})``.
    error_weights : list of ndarray or None
        ``E(1..L)`` of a type-2 network; None makes it type 1 (error
        synapses ``W^T``, ``phi'`` in the state update, Laplace prior).
    skip_weights : list of ndarray or None
        ``M(2..L)`` of GNCN-PDH, or None for no skip path.
    covariances, precisions : list of ndarray or None
        ``Sigma(1..L-1)`` and their inverses, or None for unit precision.
    activation : str
        Name of ``phi`` in ``ACTIVATIONS``.
    beta : float
        State step size.
    leak : float
        Leak ``gamma``.
    sparsity_penalty : float
        Laplace prior ``lambda`` (type 1 only).
    groups : list of (ndarray, ndarray) or None
        ``(starts, sizes)`` of the lateral groups of layers ``1..L``, or None
        for no lateral competition.
    lateral_excitation, lateral_inhibition : float
        ``alpha_e`` and ``alpha_h``.
    output : {"logistic", "identity"}, default="logistic"
        Output function ``g`` of ``mu(0) = g(h(0))``: a Bernoulli decoder
        (sigmoid) or a unit-variance Gaussian one (identity).
    prediction : {"identity", "relu"}, default="identity"
        Function ``f`` of the latent predictions ``mu(l) = f(h(l))``, ``l >= 1``.
    """

    def __init__(self, weights, error_weights, skip_weights, covariances, precisions, *,
                 activation, beta, leak, sparsity_penalty, groups, lateral_excitation,
                 lateral_inhibition, output="logistic", prediction="identity"):
        self.weights = weights
        self.error_weights = error_weights
        self.skip_weights = skip_weights
        self.covariances = covariances
        self.precisions = precisions
        # eigenvalues above the floor at each covariance's last projection (see
        # project_covariance), None before the first
        self.n_above_floor = [None] * len(covariances or [])
        scalar = weights[0].dtype.type
        self.beta = scalar(beta)
        self.leak = scalar(leak)
        n_layers = len(weights)
        self.stack = LayerStack(
            weights[::-1], None, None if error_weights is None else error_weights[::-1],
            [activation] * n_layers, np.ones(n_layers + 1), output=output,
            prediction=prediction,
            precisions=[None] + (precisions[::-1] if precisions is not None
                                 else [None] * (n_layers - 1)) + [None],
            activity_errors=range(1, n_layers),
            skip=None if skip_weights is None else skip_weights[::-1],
            gated=error_weights is None,
            sparsity=sparsity_penalty if error_weights is None else 0.0,
            lateral=None if groups is None else groups[::-1],
            lateral_excitation=lateral_excitation, lateral_inhibition=lateral_inhibition)

    @property
    def dtype(self):
        return self.weights[0].dtype

    @property
    def n_layers(self):
        """Number of latent layers ``L``."""
        return len(self.weights)

    @property
    def latent_sizes(self):
        return [w.shape[0] for w in self.weights]

    @property
    def is_type1(self):
        return self.error_weights is None

    def learned_arrays(self):
        """Arrays updated by the optimizer: ``W``, then ``E``, then ``M``."""
        return self.weights + (self.error_weights or []) + (self.skip_weights or [])

    def _stack_states(self, z0, states):
        """The stack's states ``[z(L), ..., z(1), z0]`` of latents ``z(1..L)``."""
        return states[::-1] + [z0]

    def errors(self, z0, states):
        """Errors ``e(0..L-1)`` and the prediction ``mu(0)`` of the input at the
        latents ``states`` = ``z(1..L)``."""
        predictions, errors = self.stack.predictions_and_errors(self._stack_states(z0, states))
        return errors[:0:-1], predictions[-1]

    def settle(self, x, n_steps, observed=None, initial=None, workspace=None):
        """Run ``n_steps`` settling steps, from zero states by default.

        Parameters
        ----------
        x : ndarray of shape (N, D)
            Input; never written to.
        n_steps : int
            Number of steps ``T`` (fixed: each sample's result is independent
            of the rest of the batch).
        observed : ndarray of shape (N, D) or (D,), or None
            Pattern completion: 1 on observed pixels, 0 on free ones, which
            start at 0.  None clamps every pixel.
        initial : list of ndarray, optional
            Starting latents ``z(1..L)`` instead of zeros (not written to).
        workspace : Workspace, optional
            Where the settling's buffers live (``_workspace``), so that a
            training loop reuses them from batch to batch: everything
            returned, but a ``z0`` that is ``x``, is then a view of them,
            valid until the next call with it in the same thread.

        Returns
        -------
        states : list of ndarray
            Settled ``z(1..L)``.
        z0 : ndarray of shape (N, D)
            Settled input layer (when every pixel is clamped, ``x`` itself, or
            its C-contiguous copy in the network's dtype if ``x`` is not one).
        errors : list of ndarray
            ``e(0..L-1)`` at the settled states.
        mu0 : ndarray of shape (N, D)
            The prediction ``g(h(0))`` of the input at the settled states.
        """
        n_samples = x.shape[0]
        if initial is None:
            states = [empty(workspace, ("zero start", layer), (n_samples, size), self.dtype)
                      for layer, size in enumerate(self.latent_sizes)]
            for state in states:
                state.fill(0)
        else:
            states = [np.asarray(z, dtype=self.dtype) for z in initial]
        z0 = (np.ascontiguousarray(x, dtype=self.dtype) if observed is None
              else np.multiply(x, observed, dtype=self.dtype, order="C"))
        stack_states = self._stack_states(z0, states)
        errors, predictions = relax(
            self.stack, stack_states, clamp_bottom=False, clamp_top=observed is None,
            observed=observed, schedule="alternating", n_steps=n_steps, rate=self.beta,
            activity_decay=self.leak, return_predictions=True, backtrack=False,
            workspace=workspace)
        return stack_states[-2::-1], stack_states[-1], errors[:0:-1], predictions[-1]

    def ancestral(self, top):
        """Top-down pass from ``z(L) = top``, each state set to its prediction; ``mu(0)``."""
        return self.stack.feedforward(top)[-1]

    def gradients(self, x, states, n_samples=None, observed=None, errors=None):
        """Descent directions of the learned arrays at the settled states.

        The mean runs over ``n_samples`` rows (by default those of ``x``), so
        row blocks of one batch given the batch's size have gradients that
        sum to the batch's.  ``observed`` (training on incomplete data: 1 on
        observed entries, 0 on missing ones, of the shape of ``x``) sets the
        input error to 0 at the missing entries before the products,
        ``e(0) = (x - mu(0)) * m``: an unknown pixel sends no learning signal.
        The latent errors ``e(1..L-1)`` are those of the settled states.
        ``errors`` (``e(0..L-1)``, from :meth:`settle`) saves recomputing
        them; its ``e(0)`` is masked in place.

        Returns
        -------
        grads : list of ndarray
            Minus ``dW``, ``dE``, ``dM``, in the order of :meth:`learned_arrays`.
        errors : list of ndarray
            ``e(0..L-1)`` at the settled states (``e(0)`` masked by ``observed``).
        mu0 : ndarray of shape (N, D) or None
            The reconstruction ``g(h(0))`` (None when ``errors`` are given).
        """
        mu0 = None
        if errors is None:
            errors, mu0 = self.errors(x, states)
        if observed is not None:
            errors[0] *= observed
        stack = self.stack
        factors = gradient_factors(stack, self._stack_states(x, states), [None] + errors[::-1],
                                   n_samples=x.shape[0] if n_samples is None else n_samples)
        grads = local_gradients(stack, factors)
        n_layers = self.n_layers
        # the stack's order (M, then W when learned, then S) and layers, reversed
        parts = [grads[:n_layers][::-1]]
        if self.error_weights is not None:
            parts.append(grads[n_layers:2 * n_layers][::-1])
        if self.skip_weights is not None:
            parts.append(grads[len(grads) - (n_layers - 1):][::-1])
        return [g for part in parts for g in part], errors, mu0

    def normalize(self):
        """Unit-norm columns of ``W``, ``E``, ``M``, in place.

        A column holds the incoming synapses of one receiving unit: a
        predicted unit of layer ``l - 1`` (``W(l)``) or ``l - 2`` (``M(l)``),
        a latent unit of layer ``l`` (``E(l)``).  Every unit of ``h(l)`` is
        then at most ``||a(l+1)|| + ||a(l+2)||`` in magnitude, whatever the
        learning rate.
        """
        for matrix in self.learned_arrays():
            normalize_columns(matrix)

    def update_covariances(self, errors, learning_rate, min_variance):
        """One ascent step on ``Sigma(1..L-1)`` (eq 3), then the projection."""
        rate = self.dtype.type(learning_rate / 2)
        scale = self.dtype.type(1.0 / errors[0].shape[0])
        for layer, (covariance, precision, e) in enumerate(
                zip(self.covariances, self.precisions, errors[1:])):
            grad = np.matmul(e.T, e)
            grad *= scale
            grad -= precision
            grad *= rate
            covariance += grad
            self.n_above_floor[layer] = project_covariance(
                covariance, precision, min_variance, self.n_above_floor[layer])
