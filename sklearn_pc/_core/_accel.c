/*
 * Optional compiled accelerator of the core's elementwise steps.
 *
 * Each function here does, in one pass over its arrays, what the numpy
 * function of the same name in ``_kernels.py`` does in several; that numpy
 * function is the reference (its docstring has the equation) and the test
 * oracle, and it runs wherever this module is missing or declines a call.
 * Only the public Python and numpy C APIs are used.
 *
 * Every function returns a true value when it did the work and False when
 * it declines anything it is not sure of (arrays that are not C-contiguous,
 * aligned, native-order, of one float dtype and of the expected shapes, a
 * read-only output, an output that partly overlaps an input): the caller
 * then runs the numpy function, which checks the arguments and raises the
 * errors, so declining is never an error here.
 *
 * The loops keep the reference's order of operations, and the build turns
 * off fused multiply-adds (``-ffp-contract=off``), so the updated arrays
 * equal the reference's to the last bit; the per-row energies are summed in
 * double precision here (the reference sums in the array's dtype), so they
 * agree to rounding.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <numpy/arrayobject.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* The array behind ``object`` if it is an aligned, C-contiguous, native-order array of
 * ``typenum`` with ``size`` elements, else NULL (no exception set). */
static PyArrayObject *
usable(PyObject *object, int typenum, npy_intp size)
{
    PyArrayObject *array;
    if (!PyArray_Check(object)) {
        return NULL;
    }
    array = (PyArrayObject *)object;
    if (PyArray_TYPE(array) != typenum || PyArray_SIZE(array) != size
            || !PyArray_ISCARRAY_RO(array) || !PyArray_ISNOTSWAPPED(array)) {
        return NULL;
    }
    return array;
}

/* The data of an optional array as a T pointer (NULL for a missing one). */
#define DATA(a, T) ((a) ? (T *)PyArray_DATA(a) : NULL)

/* ``usable`` and of the shape of ``like``. */
static PyArrayObject *
usable_like(PyObject *object, int typenum, PyArrayObject *like)
{
    PyArrayObject *array = usable(object, typenum, PyArray_SIZE(like));
    if (array == NULL || PyArray_NDIM(array) != PyArray_NDIM(like)
            || !PyArray_CompareLists(PyArray_DIMS(array), PyArray_DIMS(like),
                                     PyArray_NDIM(like))) {
        return NULL;
    }
    return array;
}

/* Whether an input may be read while ``out`` is written element by element:
 * the same memory (same start: each entry is read before it is written) or
 * no memory in common. */
static int
readable_beside(const void *input, const void *out, npy_intp nbytes)
{
    const char *a = (const char *)input, *b = (const char *)out;
    return input == NULL || a == b || a + nbytes <= b || b + nbytes <= a;
}

/* Each loop is compiled for AVX-512, AVX2 and baseline x86-64, the loader
 * picking the version for the processor (GCC or Clang on x86-64 Linux; elsewhere
 * the baseline only), as numpy dispatches its own loops. */
#if defined(__x86_64__) && defined(__linux__) && defined(__has_attribute)
#  if __has_attribute(target_clones)
#    define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#  endif
#endif
#ifndef CLONES
#  define CLONES
#endif

/* Sums of squares per row with LANES independent partial sums, which the
 * compiler vectorises (a single running sum may not be reordered). */
#define LANES 16
#define SUM_OF_SQUARES(NAME, T)                                                           \
static inline double                                                                      \
NAME(const T *v, npy_intp n)                                                              \
{                                                                                         \
    T partial[LANES] = {0};                                                               \
    npy_intp k = 0;                                                                       \
    for (; k + LANES <= n; k += LANES) {                                                  \
        for (int l = 0; l < LANES; l++) {                                                 \
            partial[l] += v[k + l] * v[k + l];                                            \
        }                                                                                 \
    }                                                                                     \
    double total = 0;                                                                     \
    for (int l = 0; l < LANES; l++) {                                                     \
        total += partial[l];                                                              \
    }                                                                                     \
    for (; k < n; k++) {                                                                  \
        total += (double)v[k] * v[k];                                                     \
    }                                                                                     \
    return total;                                                                         \
}
SUM_OF_SQUARES(sum_of_squares_float, float)
SUM_OF_SQUARES(sum_of_squares_double, double)

/* ------------------------------------------------------------------------
 * state_step: for every entry of a (rows x cols) layer,
 *   dx = sigma'(x) * feedback - error - decay * x - sparsity * sign(x)
 *        + (excitation + inhibition) * a - inhibition * groupsum(a)
 *   dx *= free;  largest[i] = max(largest[i], max_j |dx[i, j]|)  (NaN sticks)
 *   out = x + rate[i] * dx
 * with sigma'(x) from the activity a = sigma(x) by activation code
 * (0 identity: 1, 1 tanh: 1 - a a, 2 logistic: (1 - a) a, 3 relu: [x >= 0])
 * or 1 when the step is not gated; for the identity and relu, the new
 * activity sigma(out) too (into ``activity_out``; numpy's loops compute tanh
 * and the logistic function).  The lateral term applies with ``sizes``:
 * contiguous groups of units of those sizes, tiling the layer.  Missing
 * arrays are zeros (feedback, error), ones (free) or no tracking (largest).  A row at a time: dx is built
 * in ``d`` (one row, in the cache) by short passes that each vectorise, then
 * written out.  max |dx| compares the bits of |dx| as unsigned integers,
 * which order non-negative floats like their values and put every NaN above
 * infinity, so a NaN is kept.
 * ---------------------------------------------------------------------- */
#define STATE_STEP(NAME, T, U, ABS_BITS, INF_BITS)                                        \
CLONES static void                                                                        \
NAME(const T *feedback, const T *activity, int code, const T *error, const T *x,          \
     T decay, T sparsity, const npy_intp *sizes, npy_intp n_groups, T excitation,         \
     T inhibition, const T *free, const T *rates, T rate, T *out, T *largest,             \
     T *activity_out, int activation, npy_intp rows, npy_intp cols, T *d)                 \
{                                                                                         \
    const T both = excitation + inhibition;                                               \
    for (npy_intp i = 0; i < rows; i++) {                                                 \
        const npy_intp row = i * cols;                                                    \
        const T *xr = x + row;                                                            \
        if (feedback) {                                                                   \
            const T *f = feedback + row, *a = activity + row;                             \
            switch (code) {                                                               \
            case 1:                                                                       \
                for (npy_intp k = 0; k < cols; k++) d[k] = (1 - a[k] * a[k]) * f[k];      \
                break;                                                                    \
            case 2:                                                                       \
                for (npy_intp k = 0; k < cols; k++) d[k] = ((1 - a[k]) * a[k]) * f[k];    \
                break;                                                                    \
            case 3:                                                                       \
                for (npy_intp k = 0; k < cols; k++) d[k] = (xr[k] >= 0 ? 1 : 0) * f[k];   \
                break;                                                                    \
            default:                                                                      \
                for (npy_intp k = 0; k < cols; k++) d[k] = f[k];                          \
            }                                                                             \
        } else {                                                                          \
            for (npy_intp k = 0; k < cols; k++) d[k] = 0;                                 \
        }                                                                                 \
        if (error) {                                                                      \
            const T *e = error + row;                                                     \
            for (npy_intp k = 0; k < cols; k++) d[k] -= e[k];                             \
        }                                                                                 \
        if (decay != 0) {                                                                 \
            for (npy_intp k = 0; k < cols; k++) d[k] -= xr[k] * decay;                    \
        }                                                                                 \
        if (sparsity != 0) {                                                              \
            for (npy_intp k = 0; k < cols; k++) {                                         \
                const T v = xr[k];                                                        \
                const T sign = v > 0 ? 1 : (v < 0 ? -1 : (v == 0 ? 0 : v));               \
                d[k] -= sign * sparsity;                                                  \
            }                                                                             \
        }                                                                                 \
        if (sizes) {                                                                      \
            const T *a = activity + row;                                                  \
            npy_intp start = 0;                                                           \
            for (npy_intp g = 0; g < n_groups; g++) {                                     \
                const npy_intp end = start + sizes[g];                                    \
                T sum = 0;                                                                \
                for (npy_intp k = start; k < end; k++) sum += a[k];                       \
                const T shared = sum * inhibition;                                        \
                for (npy_intp k = start; k < end; k++) d[k] += a[k] * both - shared;      \
                start = end;                                                              \
            }                                                                             \
        }                                                                                 \
        if (free) {                                                                       \
            const T *m = free + row;                                                      \
            for (npy_intp k = 0; k < cols; k++) d[k] *= m[k];                             \
        }                                                                                 \
        if (largest) {                                                                    \
            U most = 0;                                                                   \
            for (npy_intp k = 0; k < cols; k++) {                                         \
                U bits;                                                                   \
                memcpy(&bits, d + k, sizeof bits);                                        \
                bits &= ABS_BITS;                                                         \
                most = bits > most ? bits : most;                                         \
            }                                                                             \
            T size;                                                                       \
            memcpy(&size, &most, sizeof size);                                            \
            const T previous = largest[i];                                                \
            if (most > INF_BITS || previous != previous) {                                \
                largest[i] = most > INF_BITS ? (T)NAN : previous;                         \
            } else if (size > previous) {                                                 \
                largest[i] = size;                                                        \
            }                                                                             \
        }                                                                                 \
        const T r = rates ? rates[i] : rate;                                              \
        T *o = out + row;                                                                 \
        for (npy_intp k = 0; k < cols; k++) o[k] = xr[k] + d[k] * r;                     \
        if (activity_out) {                                                               \
            T *s = activity_out + row;                                                    \
            if (activation == 3) { /* numpy's maximum(x, 0): NaN kept, -0 gives +0 */    \
                for (npy_intp k = 0; k < cols; k++)                                       \
                    s[k] = o[k] > 0 ? o[k] : (o[k] == o[k] ? 0 : o[k]);                   \
            } else {                                                                      \
                for (npy_intp k = 0; k < cols; k++) s[k] = o[k];                          \
            }                                                                             \
        }                                                                                 \
    }                                                                                     \
}
STATE_STEP(state_step_float, float, uint32_t, 0x7fffffffu, 0x7f800000u)
STATE_STEP(state_step_double, double, uint64_t, 0x7fffffffffffffffull, 0x7ff0000000000000ull)

static PyObject *
state_step(PyObject *self, PyObject *args)
{
    PyObject *feedback_o, *activity_o, *error_o, *x_o, *rate_o, *out_o, *largest_o, *free_o;
    PyObject *sizes_o, *activity_out_o;
    PyArrayObject *x, *out, *feedback = NULL, *activity = NULL, *error = NULL;
    PyArrayObject *largest = NULL, *free = NULL, *rates = NULL, *sizes = NULL;
    PyArrayObject *activity_out = NULL;
    int code, gated, typenum, writes_activity;
    double decay, sparsity, excitation, inhibition, rate = 0;
    npy_intp rows, cols, size, nbytes, n_groups = 0;

    if (!PyArg_ParseTuple(args, "OOiOOdOOOOpdOddO", &feedback_o, &activity_o, &code,
                          &error_o, &x_o, &decay, &rate_o, &out_o, &largest_o,
                          &activity_out_o, &gated, &sparsity, &sizes_o, &excitation,
                          &inhibition, &free_o)) {
        return NULL;
    }
    if (!PyArray_Check(x_o) || PyArray_NDIM((PyArrayObject *)x_o) != 2) {
        Py_RETURN_FALSE;
    }
    x = (PyArrayObject *)x_o;
    typenum = PyArray_TYPE(x);
    if ((typenum != NPY_FLOAT && typenum != NPY_DOUBLE) || code < 0 || code > 3) {
        Py_RETURN_FALSE;
    }
    rows = PyArray_DIM(x, 0);
    cols = PyArray_DIM(x, 1);
    size = rows * cols;
    nbytes = size * PyArray_ITEMSIZE(x);
    if (!usable(x_o, typenum, size) || !(out = usable_like(out_o, typenum, x))
            || !PyArray_ISWRITEABLE(out)
            || (feedback_o != Py_None && !(feedback = usable_like(feedback_o, typenum, x)))
            || (error_o != Py_None && !(error = usable_like(error_o, typenum, x)))
            || (free_o != Py_None && !(free = usable_like(free_o, typenum, x)))
            || (activity_out_o != Py_None
                && (!(activity_out = usable_like(activity_out_o, typenum, x))
                    || !PyArray_ISWRITEABLE(activity_out)))) {
        Py_RETURN_FALSE;
    }
    if (sizes_o != Py_None) {
        /* contiguous groups tiling the layer */
        npy_intp total = 0;
        if (!PyArray_Check(sizes_o) || PyArray_NDIM((PyArrayObject *)sizes_o) != 1) {
            Py_RETURN_FALSE;
        }
        n_groups = PyArray_DIM((PyArrayObject *)sizes_o, 0);
        if (!(sizes = usable(sizes_o, NPY_INTP, n_groups))) {
            Py_RETURN_FALSE;
        }
        for (npy_intp g = 0; g < n_groups; g++) {
            npy_intp group = ((npy_intp *)PyArray_DATA(sizes))[g];
            if (group < 0) {
                Py_RETURN_FALSE;
            }
            total += group;
        }
        if (total != cols) {
            Py_RETURN_FALSE;
        }
    }
    if ((feedback && gated) || sizes) {
        if (activity_o == Py_None || !(activity = usable_like(activity_o, typenum, x))) {
            Py_RETURN_FALSE;
        }
    }
    if (largest_o != Py_None) {
        largest = usable(largest_o, typenum, rows);
        if (!largest || PyArray_NDIM(largest) != 1 || !PyArray_ISWRITEABLE(largest)) {
            Py_RETURN_FALSE;
        }
    }
    if (PyArray_Check(rate_o) && PyArray_NDIM((PyArrayObject *)rate_o) > 0) {
        if (!(rates = usable(rate_o, typenum, rows)) || PyArray_NDIM(rates) > 2) {
            Py_RETURN_FALSE;
        }
    } else {
        rate = PyFloat_AsDouble(rate_o);
        if (rate == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();  /* not a number: the reference converts it */
            Py_RETURN_FALSE;
        }
    }
    /* every input is read at the index being written, so out may be an input
     * itself but must not partly overlap one */
    {
        void *o = PyArray_DATA(out);
        if (!readable_beside(PyArray_DATA(x), o, nbytes)
                || !readable_beside(feedback ? PyArray_DATA(feedback) : NULL, o, nbytes)
                || !readable_beside(activity ? PyArray_DATA(activity) : NULL, o, nbytes)
                || !readable_beside(error ? PyArray_DATA(error) : NULL, o, nbytes)
                || !readable_beside(free ? PyArray_DATA(free) : NULL, o, nbytes)
                || (largest && !readable_beside(PyArray_DATA(largest), o, nbytes))
                || (rates && !readable_beside(PyArray_DATA(rates), o, nbytes))) {
            Py_RETURN_FALSE;
        }
    }
    /* the new activity is written after the whole row of out: apart from out and
     * from every input but the activity itself (read before it is written) */
    writes_activity = activity_out != NULL && (code == 0 || code == 3);
    if (writes_activity) {
        char *s = PyArray_DATA(activity_out);
        PyArrayObject *inputs[] = {out, x, feedback, error, free};
        for (int k = 0; k < 5; k++) {
            const char *a = inputs[k] ? PyArray_DATA(inputs[k]) : NULL;
            if (a && a < s + nbytes && s < a + nbytes) {
                writes_activity = 0;
            }
        }
        if (activity && !readable_beside(PyArray_DATA(activity), s, nbytes)) {
            writes_activity = 0;
        }
    }
    const int activation = code;
    if (!gated) {
        code = 0;
    }
    {
    void *scratch = PyMem_RawMalloc(cols ? cols * PyArray_ITEMSIZE(x) : 1);
    if (scratch == NULL) {
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    if (typenum == NPY_FLOAT) {
        state_step_float(DATA(feedback, float), DATA(activity, float), code,
                         DATA(error, float), DATA(x, float), (float)decay, (float)sparsity,
                         DATA(sizes, npy_intp), n_groups, (float)excitation, (float)inhibition,
                         DATA(free, float), DATA(rates, float), (float)rate, DATA(out, float),
                         DATA(largest, float), writes_activity ? DATA(activity_out, float) : NULL,
                         activation, rows, cols, scratch);
    } else {
        state_step_double(DATA(feedback, double), DATA(activity, double), code,
                          DATA(error, double), DATA(x, double), decay, sparsity,
                          DATA(sizes, npy_intp), n_groups, excitation, inhibition,
                          DATA(free, double), DATA(rates, double), rate, DATA(out, double),
                          DATA(largest, double),
                          writes_activity ? DATA(activity_out, double) : NULL, activation,
                          rows, cols, scratch);
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(scratch);
    }
    return PyLong_FromLong(writes_activity ? 2 : 1);
}

/* ------------------------------------------------------------------------
 * error_energy: prediction += bias;  error = (x - prediction) / nu;
 *   energy[i] = nu / 2 sum_j error[i, j]^2 + decay / 2 sum_j x[i, j]^2
 * ---------------------------------------------------------------------- */
#define ERROR_ENERGY(NAME, T, SUM_OF_SQUARES)                                              \
CLONES static void                                                                        \
NAME(T *prediction, const T *bias, const T *x, T nu, T decay, T *error, T *energy,        \
     npy_intp rows, npy_intp cols)                                                        \
{                                                                                         \
    for (npy_intp i = 0; i < rows; i++) {                                                 \
        const npy_intp row = i * cols;                                                    \
        T *p = prediction + row, *e = error + row;                                        \
        const T *xr = x + row;                                                            \
        if (bias) {                                                                       \
            for (npy_intp k = 0; k < cols; k++) p[k] += bias[k];                          \
        }                                                                                 \
        for (npy_intp k = 0; k < cols; k++) e[k] = xr[k] - p[k];                          \
        if (nu != 1) {                                                                    \
            for (npy_intp k = 0; k < cols; k++) e[k] /= nu;                               \
        }                                                                                 \
        if (energy) {                                                                     \
            double total = 0.5 * nu * SUM_OF_SQUARES(e, cols);                            \
            if (decay != 0) {                                                             \
                total += 0.5 * decay * SUM_OF_SQUARES(xr, cols);                          \
            }                                                                             \
            energy[i] = (T)total;                                                         \
        }                                                                                 \
    }                                                                                     \
}
ERROR_ENERGY(error_energy_float, float, sum_of_squares_float)
ERROR_ENERGY(error_energy_double, double, sum_of_squares_double)

static PyObject *
error_energy(PyObject *self, PyObject *args)
{
    PyObject *prediction_o, *bias_o, *x_o, *error_o, *energy_o;
    PyArrayObject *prediction, *bias = NULL, *x, *error, *energy = NULL;
    double nu, decay;
    int typenum;
    npy_intp rows, cols, size, nbytes;

    if (!PyArg_ParseTuple(args, "OOOddOO", &prediction_o, &bias_o, &x_o, &nu, &decay,
                          &error_o, &energy_o)) {
        return NULL;
    }
    if (!PyArray_Check(x_o) || PyArray_NDIM((PyArrayObject *)x_o) != 2) {
        Py_RETURN_FALSE;
    }
    typenum = PyArray_TYPE((PyArrayObject *)x_o);
    if (typenum != NPY_FLOAT && typenum != NPY_DOUBLE) {
        Py_RETURN_FALSE;
    }
    rows = PyArray_DIM((PyArrayObject *)x_o, 0);
    cols = PyArray_DIM((PyArrayObject *)x_o, 1);
    size = rows * cols;
    nbytes = size * PyArray_ITEMSIZE((PyArrayObject *)x_o);
    if (!(x = usable(x_o, typenum, size))
            || !(prediction = usable_like(prediction_o, typenum, x))
            || !(error = usable_like(error_o, typenum, x)) || !PyArray_ISWRITEABLE(error)
            || (bias_o != Py_None && (!(bias = usable(bias_o, typenum, cols))
                                      || PyArray_NDIM(bias) != 1
                                      || !PyArray_ISWRITEABLE(prediction)))) {
        Py_RETURN_FALSE;
    }
    if (energy_o != Py_None) {
        energy = usable(energy_o, typenum, rows);
        if (!energy || PyArray_NDIM(energy) != 1 || !PyArray_ISWRITEABLE(energy)) {
            Py_RETURN_FALSE;
        }
    }
    /* prediction (written with the bias) and error are written entry by entry */
    {
        void *e = PyArray_DATA(error), *p = PyArray_DATA(prediction);
        if (!readable_beside(PyArray_DATA(x), e, nbytes) || !readable_beside(p, e, nbytes)
                || (bias && (!readable_beside(PyArray_DATA(x), p, nbytes)
                             || !readable_beside(PyArray_DATA(bias), p, nbytes)
                             || !readable_beside(PyArray_DATA(bias), e, nbytes)))
                || (energy && (!readable_beside(PyArray_DATA(energy), e, nbytes)
                               || !readable_beside(PyArray_DATA(energy), p, nbytes)))) {
            Py_RETURN_FALSE;
        }
        if (energy && (p == (void *)PyArray_DATA(energy) || e == (void *)PyArray_DATA(energy))) {
            Py_RETURN_FALSE;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    if (typenum == NPY_FLOAT) {
        error_energy_float(DATA(prediction, float), DATA(bias, float), DATA(x, float),
                           (float)nu, (float)decay, DATA(error, float), DATA(energy, float),
                           rows, cols);
    } else {
        error_energy_double(DATA(prediction, double), DATA(bias, double), DATA(x, double),
                            nu, decay, DATA(error, double), DATA(energy, double), rows, cols);
    }
    Py_END_ALLOW_THREADS
    Py_RETURN_TRUE;
}

/* ------------------------------------------------------------------------
 * adam_update: m = b1 m + g;  v = b2 v + g^2;  p -= step m / (sqrt(v) + eps)
 * sgd_update:  u = lr g;  v = momentum v - u;  p += v (plain) or
 *              p = (p - u) + momentum v (Nesterov)
 * ---------------------------------------------------------------------- */
#define ADAM(NAME, T, SQRT)                                                               \
CLONES static void                                                                               \
NAME(T *p, const T *g, T *m, T *v, T b1, T b2, T step, T eps, npy_intp n)                 \
{                                                                                         \
    for (npy_intp i = 0; i < n; i++) {                                                    \
        const T gi = g[i];                                                                \
        const T mi = m[i] * b1 + gi;                                                      \
        const T vi = v[i] * b2 + gi * gi;                                                 \
        m[i] = mi;                                                                        \
        v[i] = vi;                                                                        \
        p[i] -= (mi / (SQRT(vi) + eps)) * step;                                           \
    }                                                                                     \
}
ADAM(adam_float, float, sqrtf)
ADAM(adam_double, double, sqrt)

#define SGD(NAME, T)                                                                      \
CLONES static void                                                                               \
NAME(T *p, const T *g, T *v, T lr, T momentum, int nesterov, npy_intp n)                  \
{                                                                                         \
    for (npy_intp i = 0; i < n; i++) {                                                    \
        const T u = g[i] * lr;                                                            \
        const T vi = v[i] * momentum - u;                                                 \
        v[i] = vi;                                                                        \
        if (nesterov) {                                                                   \
            p[i] = (p[i] - u) + vi * momentum;                                            \
        } else {                                                                          \
            p[i] += vi;                                                                   \
        }                                                                                 \
    }                                                                                     \
}
SGD(sgd_float, float)
SGD(sgd_double, double)

/* The optimizer's arrays if each is usable and the state arrays (all but the
 * gradient, position 1) writable and apart from each other and the gradient. */
static int
optimizer_arrays(PyObject **objects, int count, PyArrayObject **arrays, int *typenum,
                 npy_intp *size)
{
    if (!PyArray_Check(objects[0])) {
        return 0;
    }
    *typenum = PyArray_TYPE((PyArrayObject *)objects[0]);
    *size = PyArray_SIZE((PyArrayObject *)objects[0]);
    if (*typenum != NPY_FLOAT && *typenum != NPY_DOUBLE) {
        return 0;
    }
    for (int k = 0; k < count; k++) {
        arrays[k] = k ? usable_like(objects[k], *typenum, arrays[0])
                      : usable(objects[k], *typenum, *size);
        if (!arrays[k] || (k != 1 && !PyArray_ISWRITEABLE(arrays[k]))) {
            return 0;
        }
    }
    for (int k = 0; k < count; k++) {
        for (int l = k + 1; l < count; l++) {
            const char *a = PyArray_DATA(arrays[k]), *b = PyArray_DATA(arrays[l]);
            npy_intp nbytes = *size * PyArray_ITEMSIZE(arrays[k]);
            if (*size && a < b + nbytes && b < a + nbytes) {
                return 0;
            }
        }
    }
    return 1;
}

static PyObject *
adam_update(PyObject *self, PyObject *args)
{
    PyObject *objects[4];
    PyArrayObject *a[4];
    double b1, b2, step, eps;
    int typenum;
    npy_intp n;

    if (!PyArg_ParseTuple(args, "OOOOdddd", &objects[0], &objects[1], &objects[2],
                          &objects[3], &b1, &b2, &step, &eps)) {
        return NULL;
    }
    if (!optimizer_arrays(objects, 4, a, &typenum, &n)) {
        Py_RETURN_FALSE;
    }
    Py_BEGIN_ALLOW_THREADS
    if (typenum == NPY_FLOAT) {
        adam_float(DATA(a[0], float), DATA(a[1], float), DATA(a[2], float), DATA(a[3], float),
                   (float)b1, (float)b2, (float)step, (float)eps, n);
    } else {
        adam_double(DATA(a[0], double), DATA(a[1], double), DATA(a[2], double),
                    DATA(a[3], double), b1, b2, step, eps, n);
    }
    Py_END_ALLOW_THREADS
    Py_RETURN_TRUE;
}

static PyObject *
sgd_update(PyObject *self, PyObject *args)
{
    PyObject *objects[3];
    PyArrayObject *a[3];
    double lr, momentum;
    int nesterov, typenum;
    npy_intp n;

    if (!PyArg_ParseTuple(args, "OOOddp", &objects[0], &objects[1], &objects[2], &lr,
                          &momentum, &nesterov)) {
        return NULL;
    }
    if (!optimizer_arrays(objects, 3, a, &typenum, &n)) {
        Py_RETURN_FALSE;
    }
    Py_BEGIN_ALLOW_THREADS
    if (typenum == NPY_FLOAT) {
        sgd_float(DATA(a[0], float), DATA(a[1], float), DATA(a[2], float), (float)lr,
                  (float)momentum, nesterov, n);
    } else {
        sgd_double(DATA(a[0], double), DATA(a[1], double), DATA(a[2], double), lr, momentum,
                   nesterov, n);
    }
    Py_END_ALLOW_THREADS
    Py_RETURN_TRUE;
}

static PyMethodDef methods[] = {
    {"state_step", state_step, METH_VARARGS,
     "state_step(feedback, activity, code, error, x, decay, rate, out, largest, "
     "activity_out, gated, sparsity, sizes, excitation, inhibition, free) -> 0, 1 or 2: "
     "_kernels.state_step in one pass, the lateral groups (if any) given by their sizes; "
     "0 (False) when it declines the arrays, 2 when it also wrote the new activity "
     "(identity, relu), 1 when the caller still has to."},
    {"error_energy", error_energy, METH_VARARGS,
     "error_energy(prediction, bias, x, nu, decay, error, energy) -> bool: "
     "_kernels.error_energy in one pass; False when it declines the arrays."},
    {"adam_update", adam_update, METH_VARARGS,
     "adam_update(param, grad, m_sum, v_sum, beta_1, beta_2, step_size, eps) -> bool: "
     "_kernels.adam_update in one pass; False when it declines the arrays."},
    {"sgd_update", sgd_update, METH_VARARGS,
     "sgd_update(param, grad, velocity, learning_rate, momentum, nesterov) -> bool: "
     "_kernels.sgd_update in one pass; False when it declines the arrays."},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_accel",
    "Optional compiled accelerator of sklearn_pc._core._kernels (see _accel.c).", -1, methods,
    NULL, NULL, NULL, NULL
};

PyMODINIT_FUNC
PyInit__accel(void)
{
    import_array();
    return PyModule_Create(&module);
}
