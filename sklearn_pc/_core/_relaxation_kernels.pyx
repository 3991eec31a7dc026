# cython: language_level=3, boundscheck=False, wraparound=False
"""One-pass elementwise work of the relaxation loops, compiled: an optional
accelerator of the numpy references in ``_reference`` (where the equations
are written out), which ``_kernels`` uses in their place when this module
imports.

Between its two matrix products, a step of ``_relaxation._AlternatingRelaxation``
moves each free layer from its feedback and error, and recomputes the error
and energy of each layer whose prediction or state changed; a settling step
of ``_ngc.GNCN`` moves each latent layer from its drive, error, prior and
lateral competition.  In numpy that is about a dozen passes over the batch
per layer, each a separate call; here it is one or two.  Built like
``_update_kernels`` (baseline, AVX2 and AVX-512 versions on x86-64 Linux;
no fused multiply-adds), with the GIL released so that row blocks run at
once.  Every array is C-contiguous, ``(n_rows, n_units)`` unless said
otherwise, of one dtype, float32 or float64; the arrays written are checked
to be writable.  Activation codes are ``_reference.ACTIVATION_CODES``.

``state_step`` can also write the new activity ``sigma(x)``, and
``prediction_error`` turns logits into a prediction ``sigma(h)`` and its
error, each on a block of a row while it is in the L1 cache.  ``tanh`` and
``exp`` are C's (``math.h``), so the activities may differ from numpy's in
the last bits; the tests compare with the references by ``allclose``.
"""

cimport numpy as cnp
from libc.stdlib cimport free, malloc

from sklearn_pc._core._reference import ACTIVATION_CODES, activation_function

cnp.import_array()

# the activations that numpy computes after the kernel (see SKPC_ACTIVATE)
cdef frozenset _NUMPY_ACTIVATIONS = frozenset({ACTIVATION_CODES["tanh"],
                                               ACTIVATION_CODES["logistic"]})


cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    #include "_kernels.h"
    /* Each row is swept in blocks of SKPC_BLOCK entries, by one simple loop per
       term (each vectorizes; the block stays in the L1 cache between them). */
    #define SKPC_BLOCK 256
    /* Independent accumulators: the reductions vectorize without reassociating
       one running sum. */
    #define SKPC_LANES 16

    /* act = sigma(x) over n entries of a row block, for the activations that
       vectorize here: the identity copies, relu is max(x, 0) (NaN kept, -0 made +0 as
       numpy does).  tanh and the logistic function are numpy's, applied by the
       callers (math.h's scalar tanhf is about 13 times slower than numpy's
       vectorized one). */
    #define SKPC_ACTIVATE(NAME, T)                                                        \\
    static inline void NAME(const T *x, T *act, ptrdiff_t n, int code) {                  \\
        if (code == 3) {                                                                  \\
            for (ptrdiff_t j = 0; j < n; j++) act[j] = x[j] <= 0 ? (T)0 : x[j];           \\
        } else if (act != x)                                                              \\
            memcpy(act, x, n * sizeof(T));                                                \\
    }
    SKPC_ACTIVATE(skpc_activate_float, float)
    SKPC_ACTIVATE(skpc_activate_double, double)

    /* dx = sigma'(x) fb - eps - decay x;  out = x + rate dx;  largest = max |dx| (NaN sticks);
       act = sigma(out) when act is given */
    #define SKPC_STATE_STEP(NAME, T, U, ABS_MASK, ACTIVATE)                                      \\
    SKPC_CLONES static void NAME(const T *fb, const T *a, int code, const T *eps,        \\
                                 const T *x, T decay, T rate, const T *rates, T *out,    \\
                                 T *largest, T *act, ptrdiff_t n_rows,                   \\
                                 ptrdiff_t n_units) {                                    \\
        T step[SKPC_BLOCK];                                                              \\
        for (ptrdiff_t i = 0; i < n_rows; i++) {                                         \\
            const T r = rates ? rates[i] : rate;                                         \\
            U most = 0;                                                                  \\
            for (ptrdiff_t start = 0; start < n_units; start += SKPC_BLOCK) {            \\
                const ptrdiff_t at = i * n_units + start;                                \\
                const ptrdiff_t w = n_units - start < SKPC_BLOCK ? n_units - start       \\
                                                                 : SKPC_BLOCK;           \\
                if (!fb)                                                                 \\
                    for (ptrdiff_t j = 0; j < w; j++) step[j] = 0;                       \\
                else if (code == 1)                                                      \\
                    for (ptrdiff_t j = 0; j < w; j++)                                    \\
                        step[j] = fb[at + j] * (1 - a[at + j] * a[at + j]);              \\
                else if (code == 2)                                                      \\
                    for (ptrdiff_t j = 0; j < w; j++)                                    \\
                        step[j] = fb[at + j] * ((1 - a[at + j]) * a[at + j]);            \\
                else if (code == 3)                                                      \\
                    for (ptrdiff_t j = 0; j < w; j++)                                    \\
                        step[j] = fb[at + j] * (T)(x[at + j] >= 0 ? 1 : 0);              \\
                else                                                                     \\
                    for (ptrdiff_t j = 0; j < w; j++) step[j] = fb[at + j];              \\
                if (eps)                                                                 \\
                    for (ptrdiff_t j = 0; j < w; j++) step[j] = step[j] - eps[at + j];   \\
                if (decay != 0)                                                          \\
                    for (ptrdiff_t j = 0; j < w; j++)                                    \\
                        step[j] = step[j] - x[at + j] * decay;                           \\
                for (ptrdiff_t j = 0; j < w; j++) out[at + j] = x[at + j] + step[j] * r; \\
                if (act) ACTIVATE(out + at, act + at, w, code);                          \\
                if (largest) {                                                           \\
                    /* |dx| as the bits of a non-negative float, which order like the    \\
                       floats, NaN above inf: an integer max reduction vectorizes */     \\
                    for (ptrdiff_t j = 0; j < w; j++) {                                  \\
                        U bits;                                                          \\
                        memcpy(&bits, &step[j], sizeof bits);                            \\
                        bits &= ABS_MASK;                                                \\
                        most = bits > most ? bits : most;                                \\
                    }                                                                    \\
                }                                                                        \\
            }                                                                            \\
            if (largest) {                                                               \\
                T size;                                                                  \\
                memcpy(&size, &most, sizeof size);                                       \\
                if ((size > largest[i]) | (size != size)) largest[i] = size;             \\
            }                                                                            \\
        }                                                                                \\
    }
    SKPC_STATE_STEP(skpc_state_step_float, float, uint32_t, 0x7fffffffu, skpc_activate_float)
    SKPC_STATE_STEP(skpc_state_step_double, double, uint64_t, 0x7fffffffffffffffull,
                    skpc_activate_double)

    /* sum_j v[j]^2 in double precision, over SKPC_LANES independent sums */
    #define SKPC_SQUARES(NAME, T)                                                         \\
    static inline double NAME(const T *v, ptrdiff_t n) {                                 \\
        double lanes[SKPC_LANES] = {0}, total = 0;                                       \\
        ptrdiff_t j = 0;                                                                 \\
        for (; j + SKPC_LANES <= n; j += SKPC_LANES)                                     \\
            for (int k = 0; k < SKPC_LANES; k++)                                         \\
                lanes[k] += (double)v[j + k] * (double)v[j + k];                         \\
        for (; j < n; j++) total += (double)v[j] * (double)v[j];                         \\
        for (int k = 0; k < SKPC_LANES; k++) total += lanes[k];                          \\
        return total;                                                                    \\
    }
    SKPC_SQUARES(skpc_squares_float, float)
    SKPC_SQUARES(skpc_squares_double, double)

    /* mu += b;  eps = (x - mu) / nu;  energy = nu / 2 ||eps||^2 + decay / 2 ||x||^2 */
    #define SKPC_ERROR_ENERGY(NAME, T, SQUARES)                                           \\
    SKPC_CLONES static void NAME(T *mu, const T *bias, const T *x, T nu, T decay,        \\
                                 T *eps, T *energy, ptrdiff_t n_rows, ptrdiff_t n_units) { \\
        for (ptrdiff_t i = 0; i < n_rows; i++) {                                         \\
            T *m = mu + i * n_units, *e = eps + i * n_units;                             \\
            const T *xi = x + i * n_units;                                               \\
            if (bias)                                                                    \\
                for (ptrdiff_t j = 0; j < n_units; j++) m[j] = m[j] + bias[j];           \\
            for (ptrdiff_t j = 0; j < n_units; j++) e[j] = xi[j] - m[j];                 \\
            if (nu != 1)                                                                 \\
                for (ptrdiff_t j = 0; j < n_units; j++) e[j] = e[j] / nu;                \\
            double total = 0.5 * (double)nu * SQUARES(e, n_units);                       \\
            if (decay != 0) total += 0.5 * (double)decay * SQUARES(xi, n_units);         \\
            energy[i] = (T)total;                                                        \\
        }                                                                                \\
    }
    SKPC_ERROR_ENERGY(skpc_error_energy_float, float, skpc_squares_float)
    SKPC_ERROR_ENERGY(skpc_error_energy_double, double, skpc_squares_double)

    /* h = sigma(h) in place;  e = target - h */
    #define SKPC_PREDICTION_ERROR(NAME, T, ACTIVATE)                                      \\
    SKPC_CLONES static void NAME(T *h, const T *target, T *e, int code,                  \\
                                 ptrdiff_t n_rows, ptrdiff_t n_units) {                  \\
        for (ptrdiff_t i = 0; i < n_rows; i++)                                           \\
            for (ptrdiff_t start = 0; start < n_units; start += SKPC_BLOCK) {            \\
                const ptrdiff_t at = i * n_units + start;                                \\
                const ptrdiff_t w = n_units - start < SKPC_BLOCK ? n_units - start       \\
                                                                 : SKPC_BLOCK;           \\
                ACTIVATE(h + at, h + at, w, code);                                       \\
                for (ptrdiff_t j = 0; j < w; j++) e[at + j] = target[at + j] - h[at + j]; \\
            }                                                                            \\
    }
    SKPC_PREDICTION_ERROR(skpc_prediction_error_float, float, skpc_activate_float)
    SKPC_PREDICTION_ERROR(skpc_prediction_error_double, double, skpc_activate_double)

    /* GNCN settling step of one latent layer (row buffer d of n_units entries):
       d = drive phi'(z) - lambda sign(z) - e + (alpha_e + alpha_h) a - alpha_h groupsum(a)
       z = z keep + beta d,  keep = 1 - beta gamma */
    #define SKPC_LATENT_STEP(NAME, T)                                                     \\
    SKPC_CLONES static void NAME(const T *drive, T *z, const T *a, int code, T sparsity, \\
                                 const T *e, const ptrdiff_t *starts,                    \\
                                 const ptrdiff_t *sizes, ptrdiff_t n_groups,             \\
                                 T excitation_inhibition, T inhibition, T beta, T keep,  \\
                                 T *d, ptrdiff_t n_rows, ptrdiff_t n_units) {            \\
        for (ptrdiff_t i = 0; i < n_rows; i++) {                                         \\
            const T *dr = drive + i * n_units, *ai = a + i * n_units;                    \\
            T *zi = z + i * n_units;                                                     \\
            if (code == 1)                                                               \\
                for (ptrdiff_t j = 0; j < n_units; j++) d[j] = dr[j] * (1 - ai[j] * ai[j]); \\
            else if (code == 2)                                                          \\
                for (ptrdiff_t j = 0; j < n_units; j++)                                  \\
                    d[j] = dr[j] * ((1 - ai[j]) * ai[j]);                                \\
            else if (code == 3)                                                          \\
                for (ptrdiff_t j = 0; j < n_units; j++)                                  \\
                    d[j] = dr[j] * (T)(zi[j] >= 0 ? 1 : 0);                              \\
            else                                                                         \\
                for (ptrdiff_t j = 0; j < n_units; j++) d[j] = dr[j];                    \\
            if (sparsity != 0)                                                           \\
                for (ptrdiff_t j = 0; j < n_units; j++) {                                \\
                    const T sign = zi[j] > 0 ? 1 : (zi[j] < 0 ? -1 : zi[j]);             \\
                    d[j] = d[j] - sign * sparsity;                                       \\
                }                                                                        \\
            if (e) {                                                                     \\
                const T *ei = e + i * n_units;                                           \\
                for (ptrdiff_t j = 0; j < n_units; j++) d[j] = d[j] - ei[j];             \\
            }                                                                            \\
            for (ptrdiff_t g = 0; g < n_groups; g++) {                                   \\
                const ptrdiff_t lo = starts[g], hi = starts[g] + sizes[g];               \\
                T total = 0;                                                             \\
                for (ptrdiff_t j = lo; j < hi; j++) total += ai[j];                      \\
                total = total * inhibition;                                              \\
                for (ptrdiff_t j = lo; j < hi; j++)                                      \\
                    d[j] = (d[j] + ai[j] * excitation_inhibition) - total;               \\
            }                                                                            \\
            if (keep != 1)                                                               \\
                for (ptrdiff_t j = 0; j < n_units; j++) zi[j] = zi[j] * keep;            \\
            for (ptrdiff_t j = 0; j < n_units; j++) zi[j] = zi[j] + d[j] * beta;         \\
        }                                                                                \\
    }
    SKPC_LATENT_STEP(skpc_latent_step_float, float)
    SKPC_LATENT_STEP(skpc_latent_step_double, double)
    """
    void skpc_state_step_float(const float*, const float*, int, const float*, const float*,
                               float, float, const float*, float*, float*, float*,
                               Py_ssize_t, Py_ssize_t) nogil
    void skpc_state_step_double(const double*, const double*, int, const double*,
                                const double*, double, double, const double*, double*,
                                double*, double*, Py_ssize_t, Py_ssize_t) nogil
    void skpc_error_energy_float(float*, const float*, const float*, float, float, float*,
                                 float*, Py_ssize_t, Py_ssize_t) nogil
    void skpc_error_energy_double(double*, const double*, const double*, double, double,
                                  double*, double*, Py_ssize_t, Py_ssize_t) nogil
    void skpc_prediction_error_float(float*, const float*, float*, int, Py_ssize_t,
                                     Py_ssize_t) nogil
    void skpc_prediction_error_double(double*, const double*, double*, int, Py_ssize_t,
                                      Py_ssize_t) nogil
    void skpc_latent_step_float(const float*, float*, const float*, int, float, const float*,
                                const Py_ssize_t*, const Py_ssize_t*, Py_ssize_t, float, float,
                                float, float, float*, Py_ssize_t, Py_ssize_t) nogil
    void skpc_latent_step_double(const double*, double*, const double*, int, double,
                                 const double*, const Py_ssize_t*, const Py_ssize_t*,
                                 Py_ssize_t, double, double, double, double, double*,
                                 Py_ssize_t, Py_ssize_t) nogil


cdef void* _data(array, int typenum, Py_ssize_t size) except? NULL:
    """The buffer of ``array`` (NULL for None), after checking that it is a
    C-contiguous array of ``typenum`` with ``size`` entries."""
    if array is None:
        return NULL
    if not isinstance(array, cnp.ndarray):
        raise TypeError(f"expected an ndarray, got {type(array).__name__}")
    cdef cnp.ndarray checked = <cnp.ndarray> array
    if (cnp.PyArray_TYPE(checked) != typenum or not cnp.PyArray_IS_C_CONTIGUOUS(checked)
            or cnp.PyArray_SIZE(checked) != size):
        raise ValueError("relaxation buffers must be C-contiguous, of the states' dtype "
                         "and shape")
    return cnp.PyArray_DATA(checked)


cdef void* _required(array, int typenum, Py_ssize_t size) except NULL:
    if array is None:
        raise ValueError("a required relaxation buffer is None")
    return _data(array, typenum, size)


cdef void* _written(array, int typenum, Py_ssize_t size) except NULL:
    if isinstance(array, cnp.ndarray) and not cnp.PyArray_ISWRITEABLE(<cnp.ndarray> array):
        raise ValueError("a relaxation buffer to write into is read-only")
    return _required(array, typenum, size)


cdef void* _required_intp(array, Py_ssize_t size) except NULL:
    cdef cnp.ndarray checked
    if not isinstance(array, cnp.ndarray):
        raise ValueError("lateral groups must be two contiguous intp arrays of one length")
    checked = <cnp.ndarray> array
    if (cnp.PyArray_TYPE(checked) != cnp.NPY_INTP or not cnp.PyArray_IS_C_CONTIGUOUS(checked)
            or cnp.PyArray_SIZE(checked) != size):
        raise ValueError("lateral groups must be two contiguous intp arrays of one length")
    return cnp.PyArray_DATA(checked)


cdef int _same_shape(cnp.ndarray x, arrays) except -1:
    """Check that every ndarray of ``arrays`` has the shape of ``x`` (None and
    other objects are left to :func:`_data`)."""
    cdef cnp.ndarray checked
    cdef int axis
    for array in arrays:
        if not isinstance(array, cnp.ndarray):
            continue
        checked = <cnp.ndarray> array
        if cnp.PyArray_NDIM(checked) != cnp.PyArray_NDIM(x):
            raise ValueError("relaxation buffers must have the shape of the states")
        for axis in range(cnp.PyArray_NDIM(x)):
            if cnp.PyArray_DIM(checked, axis) != cnp.PyArray_DIM(x, axis):
                raise ValueError("relaxation buffers must have the shape of the states")
    return 0


cdef int _typenum(cnp.ndarray x) except -1:
    if cnp.PyArray_NDIM(x) != 2 or cnp.PyArray_TYPE(x) not in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64):
        raise ValueError("states must be a 2-D float32 or float64 array")
    return cnp.PyArray_TYPE(x)


def state_step(feedback, activity, int code, error, cnp.ndarray x not None, double decay, rate,
               out, largest, activity_out=None):
    """One alternating step of a free layer below the top (eq 2.3, 3.11)::

        dx = sigma'(x) * feedback - error - decay * x
        out = x + rate * dx
        largest[i] = max(largest[i], max_j |dx[i, j]|)      (NaN sticks)
        activity_out = sigma(out)

    ``feedback`` is ``eps[l+1] @ W[l]`` and ``sigma'(x)`` comes from the
    activity ``a = sigma(x)`` by ``code`` (``_reference.ACTIVATION_CODES``), as
    does ``sigma``.  ``feedback`` (with ``activity``), ``error``,
    ``largest`` and ``activity_out`` may be None: zero feedback, zero
    error, no tracking, no activity.  ``rate`` is a number, or an array
    with one rate per row.  A tanh or logistic ``activity_out`` is numpy's,
    computed after the kernel's pass.
    """
    if not 0 <= code < 4:
        raise ValueError(f"unknown activation code {code}")
    cdef int typenum = _typenum(x)
    _same_shape(x, (feedback, activity, error, out, activity_out))
    cdef Py_ssize_t n_rows = x.shape[0], n_units = x.shape[1], size = n_rows * n_units
    cdef void* rates = NULL
    cdef double scalar_rate = 0
    if isinstance(rate, cnp.ndarray):
        rates = _data(rate, typenum, n_rows)
    else:
        scalar_rate = rate
    cdef void* fb = _data(feedback, typenum, size)
    cdef void* a = _data(activity, typenum, size)
    if fb != NULL and a == NULL:
        raise ValueError("feedback needs the activity")
    cdef void* eps = _data(error, typenum, size)
    cdef void* most = NULL if largest is None else _written(largest, typenum, n_rows)
    cdef void* states = _required(x, typenum, size)
    cdef void* moved = _written(out, typenum, size)
    cdef void* act = NULL if activity_out is None else _written(activity_out, typenum, size)
    if code in _NUMPY_ACTIVATIONS:
        act = NULL
    if typenum == cnp.NPY_FLOAT32:
        with nogil:
            skpc_state_step_float(<const float*> fb, <const float*> a, code,
                                  <const float*> eps, <const float*> states,
                                  <float> decay, <float> scalar_rate, <const float*> rates,
                                  <float*> moved, <float*> most, <float*> act,
                                  n_rows, n_units)
    else:
        with nogil:
            skpc_state_step_double(<const double*> fb, <const double*> a, code,
                                   <const double*> eps, <const double*> states,
                                   decay, scalar_rate, <const double*> rates,
                                   <double*> moved, <double*> most, <double*> act,
                                   n_rows, n_units)
    if activity_out is not None and code in _NUMPY_ACTIVATIONS:
        activation_function(code)(out, out=activity_out)
    return out


def error_energy(prediction, bias, cnp.ndarray x not None, double nu, double decay, error,
                 energy):
    """Error and per-row energy of a layer (eq 2.4 and minus eq 2.7)::

        prediction += bias                        (in place, when bias is given)
        error = (x - prediction) / nu
        energy[i] = nu / 2 ||error[i]||^2 + decay / 2 ||x[i]||^2

    The sums of squares accumulate in double precision.  ``bias`` has shape
    ``(n_units,)``, ``energy`` shape ``(n_rows,)``; returns ``error``.
    """
    cdef int typenum = _typenum(x)
    _same_shape(x, (prediction, error))
    cdef Py_ssize_t n_rows = x.shape[0], n_units = x.shape[1], size = n_rows * n_units
    cdef void* states = _required(x, typenum, size)
    cdef void* shift = _data(bias, typenum, n_units)
    cdef void* mu = (_required(prediction, typenum, size) if shift == NULL
                     else _written(prediction, typenum, size))
    cdef void* eps = _written(error, typenum, size)
    cdef void* per_row = _written(energy, typenum, n_rows)
    if typenum == cnp.NPY_FLOAT32:
        with nogil:
            skpc_error_energy_float(<float*> mu, <const float*> shift,
                                    <const float*> states, <float> nu,
                                    <float> decay, <float*> eps, <float*> per_row,
                                    n_rows, n_units)
    else:
        with nogil:
            skpc_error_energy_double(<double*> mu, <const double*> shift,
                                     <const double*> states, nu, decay,
                                     <double*> eps, <double*> per_row, n_rows, n_units)
    return error


def prediction_error(cnp.ndarray logits not None, int code, target, error):
    """A prediction and its error, in one pass::

        logits = sigma(logits)                    (in place)
        error = target - logits

    ``sigma`` by ``code`` (``_reference.ACTIVATION_CODES``; tanh and the
    logistic function are numpy's, before the kernel's pass), e.g. the
    GNCN's ``mu(0) = sigmoid(h(0))`` and ``e(0) = z(0) - mu(0)``; returns
    ``error``.
    """
    if not 0 <= code < 4:
        raise ValueError(f"unknown activation code {code}")
    cdef int typenum = _typenum(logits)
    _same_shape(logits, (target, error))
    cdef Py_ssize_t n_rows = logits.shape[0], n_units = logits.shape[1]
    cdef Py_ssize_t size = n_rows * n_units
    cdef void* h = _written(logits, typenum, size)
    cdef void* t = _required(target, typenum, size)
    cdef void* e = _written(error, typenum, size)
    if code in _NUMPY_ACTIVATIONS:
        activation_function(code)(logits, out=logits)
        code = ACTIVATION_CODES["identity"]
    if typenum == cnp.NPY_FLOAT32:
        with nogil:
            skpc_prediction_error_float(<float*> h, <const float*> t, <float*> e, code,
                                        n_rows, n_units)
    else:
        with nogil:
            skpc_prediction_error_double(<double*> h, <const double*> t, <double*> e, code,
                                         n_rows, n_units)
    return error


def latent_step(drive, cnp.ndarray z not None, activity, int code, double sparsity, error,
                groups, double excitation, double inhibition, double beta, double keep):
    """One GNCN settling step of a latent layer, ``z`` updated in place
    (``_ngc.GNCN.step``)::

        d = drive * phi'(z) - sparsity * sign(z) - error
            + (excitation + inhibition) * a - inhibition * groupsum(a)
        z = z * keep + beta * d

    ``drive`` is ``e(l-1) W(l)^T`` (type 1) or ``e(l-1) E(l)`` (type 2, with
    ``code=-1``: no derivative); ``phi'(z)`` comes from the activity ``a``
    by ``code`` (``_reference.ACTIVATION_CODES``); ``error`` (``e(l)``) may be
    None; ``groups`` is None or ``(starts, sizes)`` of contiguous groups;
    ``keep`` is the leak factor ``1 - beta gamma``.  The groups are two intp
    arrays (``_ngc.group_bounds``).  ``excitation +
    inhibition`` and the products are rounded in ``z``'s dtype as numpy
    would; the group sums run in order, so they may differ from
    ``np.add.reduceat``'s by rounding.
    """
    cdef int typenum = _typenum(z)
    _same_shape(z, (drive, activity, error))
    cdef Py_ssize_t n_rows = z.shape[0], n_units = z.shape[1], size = n_rows * n_units
    cdef void* states = _written(z, typenum, size)
    cdef void* dr = _required(drive, typenum, size)
    cdef void* a = _required(activity, typenum, size)
    cdef void* e = _data(error, typenum, size)
    cdef Py_ssize_t n_groups = 0, g
    cdef const Py_ssize_t* group_starts = NULL
    cdef const Py_ssize_t* group_sizes = NULL
    if groups is not None:
        starts, sizes = groups
        n_groups = len(starts)
        group_starts = <const Py_ssize_t*> _required_intp(starts, n_groups)
        group_sizes = <const Py_ssize_t*> _required_intp(sizes, n_groups)
        for g in range(n_groups):
            if (group_starts[g] < 0 or group_sizes[g] < 0
                    or group_starts[g] + group_sizes[g] > n_units):
                raise ValueError("lateral groups must lie within the layer")
    cdef void* d = malloc(n_units * cnp.PyArray_ITEMSIZE(z))
    if d == NULL:
        raise MemoryError()
    if typenum == cnp.NPY_FLOAT32:
        with nogil:
            skpc_latent_step_float(<const float*> dr, <float*> states, <const float*> a, code,
                                   <float> sparsity, <const float*> e, group_starts,
                                   group_sizes, n_groups,
                                   <float> excitation + <float> inhibition, <float> inhibition,
                                   <float> beta, <float> keep, <float*> d, n_rows, n_units)
    else:
        with nogil:
            skpc_latent_step_double(<const double*> dr, <double*> states, <const double*> a,
                                    code, sparsity, <const double*> e, group_starts,
                                    group_sizes, n_groups, excitation + inhibition,
                                    inhibition, beta, keep, <double*> d, n_rows, n_units)
    free(d)
