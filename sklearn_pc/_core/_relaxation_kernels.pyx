# cython: language_level=3, boundscheck=False, wraparound=False
"""One-pass elementwise work of the alternating relaxation, compiled.

Between its two matrix products, a step of ``_relaxation._AlternatingRelaxation``
moves each free layer from its feedback and error, and recomputes the error
and energy of each layer whose prediction or state changed.  In numpy that
is about a dozen passes over the batch per layer, each a separate call;
here it is two passes.  Built like ``_update_kernels`` (baseline, AVX2 and
AVX-512 versions on x86-64 Linux; numpy's order of operations without fused
multiply-adds), with the GIL released so that row blocks run at once.
Every array is C-contiguous, ``(n_rows, n_units)`` unless said otherwise,
of one dtype, float32 or float64.
"""

cimport numpy as cnp

cnp.import_array()

# How state_step gets sigma'(x) from the activity a = sigma(x) (and x, for relu).
ACTIVATION_CODES = {"identity": 0, "tanh": 1, "logistic": 2, "relu": 3}

cdef extern from *:
    """
    #include <math.h>
    #include <stddef.h>
    #include <stdint.h>
    #include <string.h>
    #if defined(__x86_64__) && defined(__linux__) && defined(__has_attribute)
    #  if __has_attribute(target_clones)
    #    define SKPC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
    #  endif
    #endif
    #ifndef SKPC_CLONES
    #  define SKPC_CLONES
    #endif
    /* Each row is swept in blocks of SKPC_BLOCK entries, by one simple loop per
       term (each vectorizes; the block stays in the L1 cache between them). */
    #define SKPC_BLOCK 256
    /* Independent accumulators: the reductions vectorize without reassociating
       one running sum. */
    #define SKPC_LANES 16

    /* dx = sigma'(x) fb - eps - decay x;  out = x + rate dx;  largest = max |dx| (NaN sticks) */
    #define SKPC_STATE_STEP(NAME, T, U, ABS_MASK)                                                \\
    SKPC_CLONES static void NAME(const T *fb, const T *a, int code, const T *eps,        \\
                                 const T *x, T decay, T rate, const T *rates, T *out,    \\
                                 T *largest, ptrdiff_t n_rows, ptrdiff_t n_units) {      \\
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
    SKPC_STATE_STEP(skpc_state_step_float, float, uint32_t, 0x7fffffffu)
    SKPC_STATE_STEP(skpc_state_step_double, double, uint64_t, 0x7fffffffffffffffull)

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
    """
    void skpc_state_step_float(const float*, const float*, int, const float*, const float*,
                               float, float, const float*, float*, float*, Py_ssize_t,
                               Py_ssize_t) nogil
    void skpc_state_step_double(const double*, const double*, int, const double*,
                                const double*, double, double, const double*, double*,
                                double*, Py_ssize_t, Py_ssize_t) nogil
    void skpc_error_energy_float(float*, const float*, const float*, float, float, float*,
                                 float*, Py_ssize_t, Py_ssize_t) nogil
    void skpc_error_energy_double(double*, const double*, const double*, double, double,
                                  double*, double*, Py_ssize_t, Py_ssize_t) nogil


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


cdef int _typenum(cnp.ndarray x) except -1:
    if cnp.PyArray_NDIM(x) != 2 or cnp.PyArray_TYPE(x) not in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64):
        raise ValueError("states must be a 2-D float32 or float64 array")
    return cnp.PyArray_TYPE(x)


def state_step(feedback, activity, int code, error, cnp.ndarray x, double decay, rate, out,
               largest):
    """One alternating step of a free layer below the top (eq 2.3, 3.11)::

        dx = sigma'(x) * feedback - error - decay * x
        out = x + rate * dx
        largest[i] = max(largest[i], max_j |dx[i, j]|)      (NaN sticks)

    ``feedback`` is ``eps[l+1] @ W[l]`` and ``sigma'(x)`` comes from the
    activity ``a = sigma(x)`` by ``code`` (:data:`ACTIVATION_CODES`).
    ``feedback`` (with ``activity``), ``error`` and ``largest`` may be None:
    zero feedback, zero error, no tracking.  ``rate`` is a number, or an
    array with one rate per row.
    """
    cdef int typenum = _typenum(x)
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
    cdef void* most = _data(largest, typenum, n_rows)
    cdef void* states = _required(x, typenum, size)
    cdef void* moved = _required(out, typenum, size)
    if typenum == cnp.NPY_FLOAT32:
        with nogil:
            skpc_state_step_float(<const float*> fb, <const float*> a, code,
                                  <const float*> eps, <const float*> states,
                                  <float> decay, <float> scalar_rate, <const float*> rates,
                                  <float*> moved, <float*> most,
                                  n_rows, n_units)
    else:
        with nogil:
            skpc_state_step_double(<const double*> fb, <const double*> a, code,
                                   <const double*> eps, <const double*> states,
                                   decay, scalar_rate, <const double*> rates,
                                   <double*> moved, <double*> most,
                                   n_rows, n_units)
    return out


def error_energy(prediction, bias, cnp.ndarray x, double nu, double decay, error, energy):
    """Error and per-row energy of a layer (eq 2.4 and minus eq 2.7)::

        prediction += bias                        (in place, when bias is given)
        error = (x - prediction) / nu
        energy[i] = nu / 2 ||error[i]||^2 + decay / 2 ||x[i]||^2

    The sums of squares accumulate in double precision.  ``bias`` has shape
    ``(n_units,)``, ``energy`` shape ``(n_rows,)``; returns ``error``.
    """
    cdef int typenum = _typenum(x)
    cdef Py_ssize_t n_rows = x.shape[0], n_units = x.shape[1], size = n_rows * n_units
    cdef void* states = _required(x, typenum, size)
    cdef void* mu = _required(prediction, typenum, size)
    cdef void* shift = _data(bias, typenum, n_units)
    cdef void* eps = _required(error, typenum, size)
    cdef void* per_row = _required(energy, typenum, n_rows)
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
