# cython: language_level=3, boundscheck=False, wraparound=False
"""Single-pass optimizer updates, compiled.

In numpy, one Adam step is ten passes over every array (each ufunc reads
and writes whole arrays), about 1 ns per parameter on our benchmark
machine, whatever the array's size: a fifth of a training epoch of the
784-600-600-10 PC MLP with the defaults.  Here each entry is read once and
written once.  The loops are compiled for the baseline instruction set and,
with GCC or Clang on x86-64 Linux, also for AVX2 and AVX-512, the processor
picking its version at load time (``target_clones``).  They keep numpy's
order of operations, without fused multiply-adds (``-ffp-contract=off``),
so each entry gets exactly the value the numpy formula gives.  An update
runs row by row, so it can apply to a block of rows or columns of a larger
array (one part of an update split over threads, see ``_learning``).
"""

cimport numpy as cnp

cnp.import_array()

cdef extern from *:
    """
    #include "_kernels.h"

    /* m = b1 m + g;  v = b2 v + g g;  p -= step (m / (sqrt(v) + eps)) */
    #define SKPC_ADAM(NAME, T, SQRT)                                                  \\
    SKPC_CLONES static void NAME(T *p, const T *g, T *m, T *v, T b1, T b2, T step,   \\
                                 T eps, ptrdiff_t n) {                               \\
        for (ptrdiff_t i = 0; i < n; i++) {                                          \\
            T mi = m[i] * b1 + g[i];                                                 \\
            T vi = v[i] * b2 + g[i] * g[i];                                          \\
            m[i] = mi;                                                               \\
            v[i] = vi;                                                               \\
            p[i] -= (mi / (SQRT(vi) + eps)) * step;                                  \\
        }                                                                            \\
    }
    SKPC_ADAM(skpc_adam_float, float, sqrtf)
    SKPC_ADAM(skpc_adam_double, double, sqrt)

    /* u = lr g;  v = momentum v - u;  p += v, or p = (p - u) + momentum v (Nesterov) */
    #define SKPC_SGD(NAME, T)                                                         \\
    SKPC_CLONES static void NAME(T *p, const T *g, T *v, T lr, T momentum,           \\
                                 int nesterov, ptrdiff_t n) {                        \\
        if (nesterov) {                                                              \\
            for (ptrdiff_t i = 0; i < n; i++) {                                      \\
                T u = g[i] * lr;                                                     \\
                T vi = v[i] * momentum - u;                                          \\
                v[i] = vi;                                                           \\
                p[i] = (p[i] - u) + vi * momentum;                                   \\
            }                                                                        \\
        } else {                                                                     \\
            for (ptrdiff_t i = 0; i < n; i++) {                                      \\
                T vi = v[i] * momentum - g[i] * lr;                                  \\
                v[i] = vi;                                                           \\
                p[i] += vi;                                                          \\
            }                                                                        \\
        }                                                                            \\
    }
    SKPC_SGD(skpc_sgd_float, float)
    SKPC_SGD(skpc_sgd_double, double)
    """
    void skpc_adam_float(float*, const float*, float*, float*, float, float, float, float,
                         Py_ssize_t) nogil
    void skpc_adam_double(double*, const double*, double*, double*, double, double, double,
                          double, Py_ssize_t) nogil
    void skpc_sgd_float(float*, const float*, float*, float, float, int, Py_ssize_t) nogil
    void skpc_sgd_double(double*, const double*, double*, double, double, int,
                         Py_ssize_t) nogil


def _as_rows(arrays):
    """The arrays as 2-D views with contiguous rows, checked: one float dtype and
    shape, the state (every array but the gradient, position 1) writable.

    Contiguous arrays are one row.  2-D arrays may also have their rows
    apart (a block of columns of a larger array), or their columns (a block
    of rows of a Fortran-ordered one: then they are transposed), all alike.
    """
    first = arrays[0]
    if first.dtype.char not in "fd":
        raise TypeError(f"optimizer arrays must be float32 or float64, got {first.dtype}")
    for position, array in enumerate(arrays):
        if array.dtype != first.dtype or array.shape != first.shape:
            raise ValueError("optimizer arrays must share one dtype and shape")
        if position != 1 and not array.flags.writeable:
            raise ValueError("an optimizer's parameter or state array is read-only")
    if all(array.flags.c_contiguous for array in arrays):  # one row
        return [array.reshape(1, -1) for array in arrays]
    if all(array.flags.f_contiguous for array in arrays):
        return [array.T.reshape(1, -1) for array in arrays]
    if first.ndim == 2:
        for rows in (arrays, [array.T for array in arrays]):
            if all(array.shape[1] < 2 or array.strides[1] == array.itemsize for array in rows):
                return rows
    raise ValueError("optimizer arrays must be contiguous along one axis, the same for all")


def adam_update(cnp.ndarray param, cnp.ndarray grad, cnp.ndarray m_sum, cnp.ndarray v_sum,
                double beta_1, double beta_2, double step_size, double eps):
    """In place: ``m_sum = beta_1 m_sum + grad``, ``v_sum = beta_2 v_sum + grad^2``,
    ``param -= step_size m_sum / (sqrt(v_sum) + eps)``, row by row (see
    :func:`_as_rows`)."""
    cdef cnp.ndarray p_rows, g_rows, m_rows, v_rows
    p_rows, g_rows, m_rows, v_rows = _as_rows((param, grad, m_sum, v_sum))
    cdef Py_ssize_t n_rows = p_rows.shape[0], n = p_rows.shape[1], i
    cdef char* p = <char*> cnp.PyArray_DATA(p_rows)
    cdef char* g = <char*> cnp.PyArray_DATA(g_rows)
    cdef char* m = <char*> cnp.PyArray_DATA(m_rows)
    cdef char* v = <char*> cnp.PyArray_DATA(v_rows)
    cdef Py_ssize_t ps = p_rows.strides[0], gs = g_rows.strides[0]
    cdef Py_ssize_t ms = m_rows.strides[0], vs = v_rows.strides[0]
    if param.dtype.char == "f":
        with nogil:
            for i in range(n_rows):
                skpc_adam_float(<float*> (p + i * ps), <const float*> (g + i * gs),
                                <float*> (m + i * ms), <float*> (v + i * vs), <float> beta_1,
                                <float> beta_2, <float> step_size, <float> eps, n)
    else:
        with nogil:
            for i in range(n_rows):
                skpc_adam_double(<double*> (p + i * ps), <const double*> (g + i * gs),
                                 <double*> (m + i * ms), <double*> (v + i * vs), beta_1,
                                 beta_2, step_size, eps, n)


def sgd_update(cnp.ndarray param, cnp.ndarray grad, cnp.ndarray velocity,
               double learning_rate, double momentum, bint nesterov):
    """In place: ``velocity = momentum velocity - learning_rate grad``, then
    ``param += velocity``, or with Nesterov's momentum
    ``param += momentum velocity - learning_rate grad``, row by row (see
    :func:`_as_rows`)."""
    cdef cnp.ndarray p_rows, g_rows, v_rows
    p_rows, g_rows, v_rows = _as_rows((param, grad, velocity))
    cdef Py_ssize_t n_rows = p_rows.shape[0], n = p_rows.shape[1], i
    cdef char* p = <char*> cnp.PyArray_DATA(p_rows)
    cdef char* g = <char*> cnp.PyArray_DATA(g_rows)
    cdef char* v = <char*> cnp.PyArray_DATA(v_rows)
    cdef Py_ssize_t ps = p_rows.strides[0], gs = g_rows.strides[0], vs = v_rows.strides[0]
    if param.dtype.char == "f":
        with nogil:
            for i in range(n_rows):
                skpc_sgd_float(<float*> (p + i * ps), <const float*> (g + i * gs),
                               <float*> (v + i * vs), <float> learning_rate, <float> momentum,
                               nesterov, n)
    else:
        with nogil:
            for i in range(n_rows):
                skpc_sgd_double(<double*> (p + i * ps), <const double*> (g + i * gs),
                                <double*> (v + i * vs), learning_rate, momentum, nesterov, n)
