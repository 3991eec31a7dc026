"""Throughput of the dynamics core against the machine's matrix-multiply peak.

    python benchmarks/bench_core.py            # full run (about 17 minutes on 2 cores)
    python benchmarks/bench_core.py --quick    # smoke run, small sizes

Two models, the PC MLP at batch sizes 32 / 128 / 512 in float32 and float64:

- ``PCClassifier`` 784-600-600-10 tanh, alternating inference with ``T``
  steps (training: feedforward start, relaxation with both ends clamped, local
  updates, Adam; inference: ``predict``, a feedforward sweep, which is the
  equilibrium of the discriminative mode);
- ``GNCNAutoencoder`` 784-360-360-360, ``T = 50``, every variant ("t1",
  "t1-sigma", "t2-lsigma", "pdh"), at batch sizes 128 / 512 in float32
  (``--gncn-batch-sizes``, ``--gncn-dtypes``; training: settling plus updates
  of W, E, M and Sigma; inference: ``transform``, settling only).

For each we report samples per second, the matrix-product FLOPs executed per
sample (counted from the layer shapes and the code path: the products
actually executed, so not those the PC MLP skips while its error wavefront
has not reached a layer, and for a GNCN those of its variant, see
:func:`gncn_products`; elementwise work and Sigma's per-batch
projection are not counted), the achieved GFLOP/s, and the fraction
of the GEMM peak: the best rate of plain numpy loops over the *same list of
matrix products* (same shapes, same dtype, the products of one weight
sharing their arrays as the model's do), with all BLAS threads on each
product or with the rows split into one block per thread, measured in the
same run.  Inference is timed one batch at a time.  A large square
product's rate is reported too, as the machine's ceiling.

It also splits a PC MLP training batch into its matrix products (timed
where they run, and again in a plain loop), the elementwise passes,
the optimizer update and the rest, on one thread, and compares one row block
per thread with one thread; it times one optimizer update (Adam, SGD) of the
PC MLP's arrays, one training epoch of the PC MLP against data size and
against width, where a GNCN training batch's time goes for each variant
(its products, state steps, lateral group sums, errors, Sigma's projection,
optimizer, normalisation and the rest, on one thread and the CPU clock,
against its products at the one-thread floor), and one GNCN settling step: GNCN-PDH against GNCN-t2-LSigma
plus PDH's skip products at the GEMM peak (PDH is t2-LSigma with the skip
path ``M``), and the lateral competition's share of a latent layer's update
at growing widths, against the dense product a full lateral matrix would
cost.
"""

import argparse
import contextlib
import multiprocessing
import os
import time
import types
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from _common import accelerator_in_use, blas_sentence, warn_if_blas_pinned, write_results
from sklearn_pc import GNCNAutoencoder, PCClassifier
from sklearn_pc import _pc
from sklearn_pc._core import _kernels, _learning, _network, _relaxation
from sklearn_pc._core._ngc import group_bounds
from sklearn_pc._core._threads import blas_threads


def gemm_rate(shapes, dtype, min_seconds, clock=time.perf_counter):
    """GFLOP/s of plain numpy loops over ``(m, k, n, operand)`` products
    ``A(m, k) @ B(k, n)``.

    Two ways to use the cores: one loop with every BLAS thread on each
    product (``"blas_threads"``), and the rows ``m`` cut into one block per
    BLAS thread, each block's loop in its own thread on one BLAS thread
    (``"row_blocks"``, the schedule sklearn-pc's fixed-length loops use).
    Returns both rates and their maximum, the peak.  ``clock`` times the
    loops (``time.process_time`` for one loop on one thread: CPU time, which
    another job on the same core does not inflate).

    Products that name the same ``operand`` (a weight matrix, say) share
    their arrays, as the model's products do from one step to the next: its
    weights stay in cache.  With new arrays for every product, each weight
    matrix streamed from memory (on an Intel Xeon, sharing made the PC MLP's
    products run 15-45 % faster); with one array per shape, distinct weights
    of one shape would share one cached matrix.
    """
    rng = np.random.default_rng(0)
    flops = sum(2 * m * k * n for m, k, n, _ in shapes)
    n_threads = blas_threads()

    def operands_of(block_shapes):
        """``(A, B, out)`` for each product, one set per distinct product."""
        arrays = {}
        for m, k, n, operand in dict.fromkeys(block_shapes):
            arrays[m, k, n, operand] = (rng.standard_normal((m, k)).astype(dtype),
                                        rng.standard_normal((k, n)).astype(dtype),
                                        np.empty((m, n), dtype))
        return [arrays[product] for product in block_shapes]

    def loop_rate(block_shapes, n_loops):
        operands = [operands_of(block_shapes) for _ in range(n_loops)]

        def loop(ops, seconds):
            repeats, start = 0, clock()
            while clock() - start < seconds:
                for a, b, out in ops:
                    np.matmul(a, b, out=out)
                repeats += 1
            return repeats, clock() - start

        for a, b, out in (op for ops in operands for op in ops):  # warm up
            np.matmul(a, b, out=out)
        if n_loops == 1:
            repeats, seconds = loop(operands[0], min_seconds)
            return flops * repeats / seconds / 1e9
        with ThreadPoolExecutor(n_loops) as pool:
            done = list(pool.map(loop, operands, [min_seconds] * n_loops))
        # each loop did 1 / n_loops of the work per repeat
        return sum(flops / n_loops * repeats / seconds for repeats, seconds in done) / 1e9

    rates = {"blas_threads": loop_rate(shapes, 1)}
    if n_threads > 1 and all(m >= n_threads for m, _, _, _ in shapes):
        with threadpool_limits(1, user_api="blas"):
            rates["row_blocks"] = loop_rate([(m // n_threads, k, n, operand)
                                             for m, k, n, operand in shapes], n_threads)
    rates["peak"] = max(rates.values())
    return rates


def pc_products(batch, sizes, n_steps):
    """Matrix products ``(m, k, n, operand)`` of one training batch of the PC
    MLP (alternating, both ends clamped; see :func:`gemm_rate`).

    Feedforward ``L`` products; at step ``k`` the hidden layers ``l >= L - k``
    that the error wavefront has reached take the feedback ``eps[l+1] W[l]``
    and recompute their prediction ``a[l] M[l]`` (the clamped input's
    prediction is the sweep's); then ``a[l]^T eps[l+1]`` for every layer.
    """
    n_layers = len(sizes) - 1
    feedforward = pc_inference_products(batch, sizes)
    relaxation = []
    for step in range(1, n_steps + 1):
        for l in range(max(1, n_layers - step), n_layers):
            relaxation += [(batch, sizes[l + 1], sizes[l], f"W{l}"),
                           (batch, sizes[l], sizes[l + 1], f"M{l}")]
    gradients = [(sizes[l], batch, sizes[l + 1], f"grad M{l}") for l in range(n_layers)]
    return feedforward + relaxation + gradients


def pc_inference_products(batch, sizes):
    """The bottom-up sweep's products ``a[l] M[l]``."""
    return [(batch, sizes[l], sizes[l + 1], f"M{l}") for l in range(len(sizes) - 1)]


# The products a GNCN variant adds to GNCN-t1's: precision matrices P(l) (their
# product with the latent errors, and Sigma's update e^T e) and the skip path M.
# Type 2's learned error synapses E have the shapes of type 1's W^T (copied to a
# contiguous array once per settle call), so they cost the same products.
GNCN_VARIANTS = {"t1": dict(precision=False, skip=False),
                 "t1-sigma": dict(precision=True, skip=False),
                 "t2-lsigma": dict(precision=True, skip=False),
                 "pdh": dict(precision=True, skip=True)}


def _gncn_terms(variant, pdh):
    return GNCN_VARIANTS[variant if variant is not None else ("pdh" if pdh else "t1")]


def gncn_step_products(batch, sizes, pdh=True, *, variant=None):
    """Matrix products ``(m, k, n, operand)`` of one settling step
    (``sizes = [D, J1, .., JL]``; see :func:`gemm_rate`) of GNCN ``variant``
    (by default GNCN-PDH, or GNCN-t1 with ``pdh=False``).

    Predictions ``a(l+1) W(l+1)``, the skip products ``a(l+2) M(l+2)``
    (GNCN-PDH), the precision products ``(a(l) - mu(l)) P(l)`` for ``l =
    1..L-1`` (every variant but GNCN-t1), and the drives ``e(l-1) E(l)``
    (``W(l)^T`` for type 1), the last ``L`` products of the list.
    """
    terms = _gncn_terms(variant, pdh)
    n_latent = len(sizes) - 1
    products = []
    for layer in range(n_latent):
        products.append((batch, sizes[layer + 1], sizes[layer], f"W{layer + 1}"))
        if terms["skip"] and layer + 2 <= n_latent:
            products.append((batch, sizes[layer + 2], sizes[layer], f"M{layer + 2}"))
    if terms["precision"]:
        products += [(batch, sizes[l], sizes[l], f"P{l}") for l in range(1, n_latent)]
    products += [(batch, sizes[l - 1], sizes[l], f"E{l}") for l in range(1, n_latent + 1)]
    return products


def gncn_products(batch, sizes, n_steps, training, pdh=True, *, variant=None):
    """Settling (the predictions, skip and precision products of the zero
    start, then ``T`` steps) plus, for training, the batch update's ``a^T e``
    for ``W`` (``E``'s gradient is its transpose, no product) and, for
    GNCN-PDH, ``M``, and ``e^T e`` for each ``Sigma``.  The projection of
    each ``Sigma`` after its update (an eigendecomposition and the products
    that rebuild ``Sigma`` and ``P`` from it) is not counted: it is not the
    network's maths but the constraint's, and its cost depends on how many
    eigenvalues are above the floor."""
    terms = _gncn_terms(variant, pdh)
    step = gncn_step_products(batch, sizes, variant=variant, pdh=pdh)
    n_latent = len(sizes) - 1
    products = step * n_steps + step[:len(step) - n_latent]  # + the zero start's
    if training:
        products += [(sizes[l], batch, sizes[l - 1], f"grad W{l}")
                     for l in range(1, n_latent + 1)]
        if terms["skip"]:
            products += [(sizes[l], batch, sizes[l - 2], f"grad M{l}")
                         for l in range(2, n_latent + 1)]
        if terms["precision"]:
            products += [(sizes[l], batch, sizes[l], f"Sigma{l}") for l in range(1, n_latent)]
    return products


def per_batch(method, X, batch):
    """``method`` on consecutive batches of ``batch`` rows: inference at that batch size."""
    for start in range(0, X.shape[0], batch):
        method(X[start:start + batch])


def best_rate(run, n_items, repeats):
    """Best items per second of ``run()`` over ``repeats`` runs."""
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return n_items / best


def measure(run, n_samples, batch, products, dtype, args):
    """Samples per second of ``run()`` and its fraction of the GEMM peak;
    ``products`` are the matrix products of one batch of ``batch`` rows.

    Each of ``args.repeats`` rounds times ``run()`` and then the peak loops
    over the same ``products``, so that both see the machine at the same
    speed; the numbers kept are the medians over the rounds.
    """
    flops = sum(2 * m * k * n for m, k, n, _ in products) / batch
    rates, peaks = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        run()
        rates.append(n_samples / (time.perf_counter() - start))
        peaks.append(gemm_rate(products, dtype, args.gemm_seconds))
    fractions = [rate * flops / 1e9 / peak["peak"] for rate, peak in zip(rates, peaks)]
    rate = float(np.median(rates))
    return {"samples_per_s": rate, "mflop_per_sample": flops / 1e6,
            "gflops": rate * flops / 1e9, "fraction_of_peak": float(np.median(fractions)),
            "rounds": [{"samples_per_s": r, "gemm_gflops": p, "fraction_of_peak": f}
                       for r, p, f in zip(rates, peaks, fractions)]}


def run_case(model, batch, dtype, args, rng):
    row = {"model": model, "batch": batch, "dtype": dtype}
    if model == "pc":
        sizes = [784, *args.pc_hidden, 10]
        n_samples = max(8 * batch, args.min_samples)
        X = rng.random((n_samples, sizes[0])).astype(dtype)
        y = np.arange(n_samples) % sizes[-1]
        estimator = PCClassifier(hidden_layer_sizes=tuple(args.pc_hidden), activation="tanh",
                                 input_activation=None, weight_decay=0.0,
                                 n_inference_steps=args.pc_steps, inference_tol=0.0,
                                 loss="squared_error", batch_size=batch, max_iter=1,
                                 shuffle=False, random_state=0)
        estimator.fit(X[:batch], y[:batch])  # warm-up
        row["train"] = measure(lambda: estimator.fit(X, y), n_samples, batch,
                               pc_products(batch, sizes, args.pc_steps), dtype, args)
        row["inference"] = measure(lambda: per_batch(estimator.predict, X, batch), n_samples,
                                   batch, pc_inference_products(batch, sizes), dtype, args)
    else:
        variant = model.removeprefix("gncn-")
        sizes = [784, *args.gncn_latent]
        n_samples = max(4 * batch, args.min_samples // 2)
        X = (rng.random((n_samples, sizes[0])) > 0.5).astype(dtype)
        estimator = GNCNAutoencoder(variant, latent_sizes=tuple(args.gncn_latent),
                                    n_inference_steps=args.gncn_steps, batch_size=batch,
                                    max_iter=1, shuffle=False, n_prior_components=1,
                                    prior_max_samples=2, random_state=0)
        estimator.fit(X[:batch])
        row["train"] = measure(lambda: estimator.fit(X), n_samples, batch,
                               gncn_products(batch, sizes, args.gncn_steps, training=True,
                                             variant=variant), dtype, args)
        row["inference"] = measure(lambda: per_batch(estimator.transform, X, batch), n_samples,
                                   batch, gncn_products(batch, sizes, args.gncn_steps,
                                                        training=False, variant=variant),
                                   dtype, args)
    train, infer = row["train"]["samples_per_s"], row["inference"]["samples_per_s"]
    print(f"{model:14s} batch {batch:4d} {dtype}: train {train:8.0f}/s "
          f"({row['train']['fraction_of_peak']:.0%} of peak), inference {infer:8.0f}/s "
          f"({row['inference']['fraction_of_peak']:.0%})", flush=True)
    return row


def mlp_arrays(sizes, rng):
    """Random float32 weights and biases of an MLP of layer ``sizes``, and gradients
    of their shapes."""
    shapes = [(a, b) for a, b in zip(sizes[:-1], sizes[1:])] + [(b,) for b in sizes[1:]]
    params = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    grads = [1e-3 * rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    return params, grads


def update_ms(name, params, grads, n_updates, repeats):
    """Milliseconds of one update by optimizer ``name``: the best of ``repeats``
    runs of ``n_updates`` updates."""
    from sklearn_pc._core._learning import OPTIMIZERS

    optimizer = OPTIMIZERS[name](params)
    return 1e3 / best_rate(lambda: [optimizer.update_params(params, grads)
                                    for _ in range(n_updates)], n_updates, repeats)


@contextlib.contextmanager
def timed_core(spent):
    """Add to ``spent`` the seconds of the PC core's matrix products
    (``"products"``: every ``np.matmul`` of the relaxation, the bottom-up
    sweep and the gradients), of its elementwise passes
    (``"passes"``) and of its Adam updates (``"optimizer"``), where they run.

    It swaps timing wrappers into the core's modules for the duration: about
    0.4 us per call, 0.3 % of a 64-row batch of the 784-600-600-10 MLP.
    """
    def timing(key, function):
        def run(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[key] += time.perf_counter() - start
        return run

    timed_numpy = types.ModuleType("timed_numpy")  # numpy, but for a timed matmul
    timed_numpy.__getattr__ = lambda name: getattr(np, name)
    timed_numpy.matmul = timing("products", np.matmul)
    swaps = [(_relaxation, "np", timed_numpy), (_network, "np", timed_numpy),
             (_learning, "np", timed_numpy),
             (_kernels, "state_step", timing("passes", _kernels.state_step)),
             (_kernels, "error_energy", timing("passes", _kernels.error_energy)),
             (_kernels, "adam_update", timing("optimizer", _kernels.adam_update))]
    originals = [(module, name, getattr(module, name)) for module, name, _ in swaps]
    try:
        for module, name, value in swaps:
            setattr(module, name, value)
        yield spent
    finally:
        for module, name, value in originals:
            setattr(module, name, value)


@contextlib.contextmanager
def timed_blocks(slowest):
    """Append to ``slowest`` the seconds of the slowest row block of each
    batch that ``PCClassifier`` relaxes in threads (see ``_core._threads``)."""
    original = _pc.map_row_blocks

    def timed(function, n_rows, n_blocks):
        seconds = []

        def block(rows):
            start = time.perf_counter()
            try:
                return function(rows)
            finally:
                seconds.append(time.perf_counter() - start)

        result = original(block, n_rows, n_blocks)
        slowest.append(max(seconds))
        return result

    _pc.map_row_blocks = timed
    try:
        yield slowest
    finally:
        _pc.map_row_blocks = original


def breakdown_estimator(args, batch):
    """The PC MLP of :func:`time_breakdown`, training in batches of ``batch`` rows."""
    return PCClassifier(hidden_layer_sizes=tuple(args.pc_hidden), activation="tanh",
                        input_activation=None, weight_decay=0.0, max_iter=30,
                        n_inference_steps=args.pc_steps, inference_tol=0.0,
                        loss="squared_error", batch_size=batch, shuffle=False, random_state=0)


def one_thread_batches(args, rows, X, y, barrier, results):
    """In a process of its own: ``len(X) / rows`` one-thread batches of
    :func:`time_breakdown`, started with the other processes at ``barrier``;
    puts the milliseconds per batch into ``results``."""
    estimator = breakdown_estimator(args, rows)
    with threadpool_limits(1, user_api="blas"):
        estimator.partial_fit(X[:rows], y[:rows], classes=np.unique(y))
        barrier.wait()
        start = time.perf_counter()
        estimator.partial_fit(X, y)
        results.put(1e3 * (time.perf_counter() - start) * rows / X.shape[0])


def process_batch_ms(args, rows, X, y, n_processes):
    """Milliseconds per batch of the slowest of ``n_processes`` processes, each
    running :func:`one_thread_batches` at the same time (own interpreter, own
    BLAS, so nothing shared but the machine)."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(n_processes), context.Queue()
    processes = [context.Process(target=one_thread_batches,
                                 args=(args, rows, X, y, barrier, results))
                 for _ in range(n_processes)]
    for process in processes:
        process.start()
    batch_ms = [results.get() for _ in processes]
    for process in processes:
        process.join()
    return max(batch_ms)


def time_breakdown(args, rng):
    """Where a PC MLP training batch's time goes (float32, 16 batches per run).

    On one thread, batches of ``rows`` rows, each relaxed as one block, split
    by :func:`timed_core` and set against the same products in the GEMM
    peak's plain loop on one thread.  On every BLAS thread, batches of
    ``rows`` rows per thread, one block per thread as the estimators run
    them: the slowest block of each batch and what follows the blocks (the
    checks, and the gradients and Adam, one part of the weights per thread),
    and the speed-up over one thread against the peak loops' own (one row
    block per thread against one thread) and against that of as many
    processes, each running the one-thread batches on its own
    (:func:`process_batch_ms`): a loss that the processes share comes from
    the machine, one they do not from sharing a process.  At batch 128 and
    512 on two threads a block has 64 and 256 rows, the defaults.  Each of
    ``args.repeats`` rounds runs all five in turns; every number is the
    median over the rounds of its per-round value.
    """
    sizes, result = [784, *args.pc_hidden, 10], {}
    n_threads = blas_threads()
    for rows in args.breakdown_rows:
        X = rng.random((16 * n_threads * rows, sizes[0])).astype(np.float32)
        y = np.arange(X.shape[0]) % sizes[-1]
        single, threaded = (breakdown_estimator(args, batch) for batch in (rows, n_threads * rows))
        with threadpool_limits(1, user_api="blas"):
            single.partial_fit(X[:rows], y[:rows], classes=np.arange(sizes[-1]))
        threaded.partial_fit(X[:n_threads * rows], y[:n_threads * rows],
                             classes=np.arange(sizes[-1]))
        products = pc_products(rows, sizes, args.pc_steps)
        flops = sum(2 * m * k * n for m, k, n, _ in products)
        rounds = []
        for _ in range(args.repeats):
            with threadpool_limits(1, user_api="blas"):
                with timed_core(Counter()) as spent:
                    start = time.perf_counter()
                    single.partial_fit(X[:16 * rows], y[:16 * rows])
                    spent["batch"] = time.perf_counter() - start
                plain_gflops = gemm_rate(products, np.float32,
                                         args.gemm_seconds)["blas_threads"]
            one = {key: 1e3 * spent[key] / 16
                   for key in ("batch", "products", "passes", "optimizer")}
            one["plain_products"] = 1e3 * flops / (plain_gflops * 1e9)
            one["rest"] = one["batch"] - one["products"] - one["passes"] - one["optimizer"]
            if n_threads > 1:
                with timed_blocks([]) as slowest:
                    start = time.perf_counter()
                    threaded.partial_fit(X, y)
                    batch_ms = 1e3 * (time.perf_counter() - start) / 16
                peak = gemm_rate([(n_threads * m, k, n, operand)
                                  for m, k, n, operand in products],
                                 np.float32, args.gemm_seconds)
                process_ms = process_batch_ms(args, rows, X[:16 * rows], y[:16 * rows],
                                              n_threads)
                block_ms = 1e3 * float(np.mean(slowest))
                one["threaded"] = {
                    "n_threads": n_threads, "batch": batch_ms, "slowest_block": block_ms,
                    "after_blocks": batch_ms - block_ms,
                    "speedup": n_threads * one["batch"] / batch_ms,
                    "peak_speedup": peak.get("row_blocks", peak["peak"]) / plain_gflops,
                    "slowest_process_batch": process_ms,
                    "process_speedup": n_threads * one["batch"] / process_ms}
            rounds.append(one)
        summary = {key: float(np.median([r[key] for r in rounds]))
                   for key in rounds[0] if key != "threaded"}
        line = (f"breakdown, {rows} rows on one thread: batch {summary['batch']:.2f} ms, "
                f"products {summary['products']:.2f} ms (plain loop "
                f"{summary['plain_products']:.2f} ms), passes {summary['passes']:.2f} ms, "
                f"optimizer {summary['optimizer']:.2f} ms, rest {summary['rest']:.2f} ms")
        if n_threads > 1:
            t = summary["threaded"] = {
                key: float(np.median([r["threaded"][key] for r in rounds]))
                for key in rounds[0]["threaded"]}
            t["n_threads"] = n_threads
            line += (f"; on {n_threads} threads: batch {t['batch']:.2f} ms, slowest block "
                     f"{t['slowest_block']:.2f} ms, speed-up {t['speedup']:.2f} (peak "
                     f"{t['peak_speedup']:.2f}, {n_threads} processes "
                     f"{t['process_speedup']:.2f}; rounds "
                     + ", ".join(f"{r['threaded']['speedup']:.2f}" for r in rounds) + ")")
        summary["rounds"] = rounds
        result[rows] = summary
        print(line, flush=True)
    return result


def breakdown_markdown(result, args):
    lines = ["", "## Where a PC MLP training batch's time goes (float32)", "",
             f"784-{'-'.join(map(str, args.pc_hidden))}-10, T = {args.pc_steps}; at batch "
             "128 and 512 on two threads, each thread relaxes a block of 64 and 256 rows.  "
             "One thread, one block per batch, milliseconds per batch, each part timed where "
             f"it runs (medians over {args.repeats} rounds of 16 batches, each round timing "
             "everything in this section in turns; shares of the batch in brackets).  "
             "Products: every matrix product of the sweep, the relaxation and the gradients.  "
             "The plain loop runs the same products at the GEMM peak's speed on one thread, "
             "so its share is the batch's share of the one-thread peak.  Passes: the "
             "state-step and error/energy passes.  Rest: the interpreter, numpy's other calls "
             "(copies, the gradients' activations, energy sums) and the fit's bookkeeping.  "
             "Medians of parts need not add up to the median batch.", "",
             "| rows | batch | products | same products, plain loop | passes | Adam | rest |",
             "|---|---|---|---|---|---|---|"]
    for rows, r in result.items():
        cells = [f"{r[key]:.2f} ({r[key] / r['batch']:.0%})"
                 for key in ("products", "plain_products", "passes", "optimizer", "rest")]
        lines.append(f"| {rows} | {r['batch']:.2f} | " + " | ".join(cells) + " |")
    threaded = {rows: r["threaded"] for rows, r in result.items() if "threaded" in r}
    if threaded:
        lines += ["", "The same blocks, one per thread on every thread (milliseconds per batch; "
                  "after the blocks: the checks, then the gradients and Adam, one part of the "
                  "weights per thread).  The "
                  "speed-up is over the one-thread run above, per sample; the peak's is its "
                  "loop of one row block per thread over its one-thread loop; the processes' "
                  "is that of as many processes, each running the one-thread batches on its "
                  "own at the same time (own interpreter and BLAS: a loss they share comes "
                  "from the machine, not from the blocks sharing a process):", "",
                  "| rows per block | threads | batch | slowest block | after the blocks "
                  "| speed-up | peak's speed-up | processes' speed-up |",
                  "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {rows} | {t['n_threads']} | {t['batch']:.2f} | {t['slowest_block']:.2f} "
                  f"| {t['after_blocks']:.2f} | {t['speedup']:.2f} | {t['peak_speedup']:.2f} "
                  f"| {t['process_speedup']:.2f} |"
                  for rows, t in threaded.items()]
    return lines


class ExclusiveTimers:
    """Seconds spent in each wrapped function, exclusive of the wrapped
    functions it calls (a product inside the covariance projection counts
    as the projection's only if products are not wrapped there), on the
    clock ``clock``."""

    def __init__(self, clock=time.process_time):
        self.spent, self.clock, self.stack, self.mark = Counter(), clock, [], 0.0

    def wrap(self, key, function):
        def run(*args, **kwargs):
            now = self.clock()
            if self.stack:
                self.spent[self.stack[-1]] += now - self.mark
            self.stack.append(key)
            self.mark = now
            try:
                return function(*args, **kwargs)
            finally:
                now = self.clock()
                self.spent[self.stack.pop()] += now - self.mark
                self.mark = now
        return run


@contextlib.contextmanager
def timed_gncn(timers):
    """Swap ``timers``' wrappers into the GNCN's core for the duration: its
    matrix products (every ``np.matmul`` of the relaxation, the stack and the
    gradients, and ``Sigma``'s ``e^T e``), the state steps (their lateral
    group sums apart), the errors, ``Sigma``'s projection (with its
    eigendecomposition and the products that rebuild ``Sigma`` and ``P``),
    the optimizer and the column normalisation."""
    from sklearn_pc._core import _ngc

    timed_numpy = types.ModuleType("timed_numpy")
    timed_numpy.__getattr__ = lambda name: getattr(np, name)
    timed_numpy.matmul = timers.wrap("products", np.matmul)
    timed_product = timers.wrap("products", np.matmul)

    def ngc_matmul(*args, **kwargs):  # the projection's products are the projection's
        inside = timers.stack and timers.stack[-1] == "projection"
        return (np.matmul if inside else timed_product)(*args, **kwargs)

    ngc_numpy = types.ModuleType("ngc_numpy")
    ngc_numpy.__getattr__ = lambda name: getattr(np, name)
    ngc_numpy.matmul = ngc_matmul
    swaps = [(_relaxation, "np", timed_numpy), (_network, "np", timed_numpy),
             (_learning, "np", timed_numpy), (_ngc, "np", ngc_numpy),
             (_kernels, "state_step", timers.wrap("state steps", _kernels.state_step)),
             (_kernels, "_lateral", timers.wrap("lateral groups", _kernels._lateral)),
             (_kernels, "error_energy", timers.wrap("errors", _kernels.error_energy)),
             (_kernels, "adam_update", timers.wrap("optimizer", _kernels.adam_update)),
             (_ngc, "project_covariance", timers.wrap("projection", _ngc.project_covariance)),
             (_ngc.GNCN, "normalize", timers.wrap("normalisation", _ngc.GNCN.normalize))]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in swaps]
    try:
        for owner, name, value in swaps:
            setattr(owner, name, value)
        yield timers.spent
    finally:
        for owner, name, value in originals:
            setattr(owner, name, value)


GNCN_PARTS = ("products", "state steps", "lateral groups", "errors", "projection",
              "optimizer", "normalisation", "rest")


def gncn_breakdown(args, rng):
    """Where a GNCN training batch's time goes, per variant (float32, one
    thread, batches of ``args.step_batch`` rows, 8 per run).

    Split by :func:`timed_gncn` on the process's CPU clock (so that another
    job on the same core does not count), against the same products in the
    GEMM peak's plain loop on one thread, timed on the same clock right
    after; medians over ``args.repeats`` rounds, each running every variant
    in turn.  "rest" is everything else: the interpreter, allocations, the
    checks, the loss."""
    batch, sizes, n_batches = args.step_batch, [784, *args.gncn_latent], 8
    X = (rng.random((n_batches * batch, sizes[0])) > 0.5).astype(np.float32)
    models = {}
    with threadpool_limits(1, user_api="blas"):
        for variant in args.gncn_variants:
            models[variant] = GNCNAutoencoder(
                variant, latent_sizes=tuple(args.gncn_latent), n_inference_steps=args.gncn_steps,
                batch_size=batch, max_iter=1, shuffle=False, n_prior_components=1,
                prior_max_samples=2, random_state=0).fit(X[:batch])
    rounds = {variant: [] for variant in models}
    for _ in range(args.repeats):
        for variant, model in models.items():
            products = gncn_products(batch, sizes, args.gncn_steps, training=True,
                                     variant=variant)
            flops = sum(2 * m * k * n for m, k, n, _ in products)
            with threadpool_limits(1, user_api="blas"):
                timers = ExclusiveTimers()
                with timed_gncn(timers) as spent:
                    start = time.process_time()
                    model.partial_fit(X)
                    total = time.process_time() - start
                plain = gemm_rate(products, np.float32, args.gemm_seconds,
                                  clock=time.process_time)["blas_threads"]
            one = {key: 1e3 * spent[key] / n_batches for key in GNCN_PARTS[:-1]}
            one["batch"] = 1e3 * total / n_batches
            one["rest"] = one["batch"] - sum(one[key] for key in GNCN_PARTS[:-1])
            one["plain_products"] = 1e3 * flops / (plain * 1e9)
            rounds[variant].append(one)
    result = {}
    for variant, runs in rounds.items():
        result[variant] = {key: float(np.median([r[key] for r in runs])) for key in runs[0]}
        result[variant]["over_floor"] = float(np.median(
            [r["batch"] / r["plain_products"] for r in runs]))
        result[variant]["rounds"] = runs
        r = result[variant]
        print(f"gncn breakdown, {variant}, batch {batch}, one thread: {r['batch']:.1f} ms, "
              f"products {r['products']:.1f} (plain loop {r['plain_products']:.1f}), "
              + ", ".join(f"{key} {r[key]:.1f}" for key in GNCN_PARTS[1:])
              + f"; {r['over_floor']:.2f} x floor", flush=True)
    return {"batch": batch, "variants": result, "accelerator": accelerator_in_use()}


def gncn_breakdown_markdown(result, args):
    lines = ["", f"## Where a GNCN training batch's time goes (float32, one thread, batch "
             f"{result['batch']}, 784-{'-'.join(map(str, args.gncn_latent))}, "
             f"T = {args.gncn_steps})", "",
             "Milliseconds per batch of CPU time, split where they run (exclusive: "
             + ("the compiled accelerator's state step includes the lateral group sums, "
                "whose column then reads 0; "
                if result.get("accelerator") else
                "the lateral group sums are not in the state steps; ")
             + "the projection's products are "
             "in the projection); the floor is the variant's products (`gncn_products`) in "
             "the GEMM peak's plain loop on one thread, timed right after on the same clock.  "
             f"Medians of {args.repeats} rounds.", "",
             "| variant | batch | products | products at the floor | state steps "
             "| lateral groups | errors | projection | optimizer | normalisation | rest "
             "| batch / floor |", "|---" * 12 + "|"]
    for variant, r in result["variants"].items():
        lines.append(f"| {variant} | {r['batch']:.1f} | {r['products']:.1f} "
                     f"| {r['plain_products']:.1f} | "
                     + " | ".join(f"{r[key]:.1f}" for key in GNCN_PARTS[1:])
                     + f" | {r['over_floor']:.2f} |")
    return lines


def optimizer_step(args, rng):
    """Milliseconds of one optimizer update of the PC MLP's weights and biases (float32)."""
    params, grads = mlp_arrays([784, *args.pc_hidden, 10], rng)
    result = {"n_parameters": sum(p.size for p in params)}
    for name in ("adam", "sgd"):
        result[name] = update_ms(name, params, grads, max(1, args.repeats * 25), args.repeats)
    print(f"optimizer step: adam {result['adam']:.2f} ms, sgd {result['sgd']:.2f} ms", flush=True)
    return result


def scaling(args, rng):
    """Seconds of one training epoch of the PC MLP against data size and against width."""
    def epoch_seconds(n_samples, width):
        X = rng.random((n_samples, 784)).astype(np.float32)
        y = np.arange(n_samples) % 10
        # random labels on random inputs: a small learning rate keeps the widest
        # networks from training into the divergence check (timing does not depend on it)
        estimator = PCClassifier(hidden_layer_sizes=(width, width), activation="tanh",
                                 input_activation=None, weight_decay=0.0,
                                 n_inference_steps=args.pc_steps, inference_tol=0.0,
                                 loss="squared_error", batch_size=128, max_iter=1,
                                 learning_rate_init=1e-4, shuffle=False, random_state=0)
        return n_samples / best_rate(lambda: estimator.fit(X, y), n_samples, 1)

    by_size = {n: epoch_seconds(n, args.pc_hidden[0]) for n in args.scaling_sizes}
    by_width = {w: epoch_seconds(args.scaling_sizes[0], w) for w in args.scaling_widths}
    for n, seconds in by_size.items():
        print(f"scaling: {n} samples, width {args.pc_hidden[0]}: {seconds:.2f} s", flush=True)
    for w, seconds in by_width.items():
        print(f"scaling: {args.scaling_sizes[0]} samples, width {w}: {seconds:.2f} s", flush=True)
    return {"by_size": by_size, "by_width": by_width}


def settle_step(args, rng):
    """Milliseconds per GNCN settling step (``transform`` of float32 batches of
    ``args.step_batch`` rows, ``T`` steps each) of GNCN-PDH and GNCN-t2-LSigma,
    and of PDH's skip products ``a(l+2) M(l+2)`` alone at their GEMM peak;
    medians over ``args.repeats`` rounds, each timing all three (the models
    by their best of three runs, taken in turns so that both see the same
    drift of the machine's speed)."""
    batch, sizes = args.step_batch, [784, *args.gncn_latent]
    X = (rng.random((4 * batch, sizes[0])) > 0.5).astype(np.float32)
    models = {variant: GNCNAutoencoder(variant, latent_sizes=tuple(args.gncn_latent),
                                       n_inference_steps=args.gncn_steps, batch_size=batch,
                                       max_iter=1, n_prior_components=1, prior_max_samples=2,
                                       random_state=0).fit(X[:batch])
              for variant in ("t2-lsigma", "pdh")}
    skip = [(batch, sizes[l + 2], sizes[l], f"M{l + 2}") for l in range(len(sizes) - 2)]
    skip_flops = sum(2 * m * k * n for m, k, n, _ in skip)
    n_steps = X.shape[0] // batch * args.gncn_steps
    rounds = []
    for _ in range(args.repeats):
        best = dict.fromkeys(models, np.inf)
        for _ in range(3):
            for variant, model in models.items():
                start = time.perf_counter()
                per_batch(model.transform, X, batch)
                best[variant] = min(best[variant], time.perf_counter() - start)
        one = {variant: 1e3 * seconds / n_steps for variant, seconds in best.items()}
        one["skip_products"] = 1e3 * skip_flops / (gemm_rate(skip, np.float32,
                                                             args.gemm_seconds)["peak"] * 1e9)
        one["pdh_over_t2_plus_skip"] = one["pdh"] / (one["t2-lsigma"] + one["skip_products"])
        rounds.append(one)
    result = {key: float(np.median([r[key] for r in rounds])) for key in rounds[0]}
    print(f"settling step, batch {batch}: PDH {result['pdh']:.3f} ms, t2-LSigma "
          f"{result['t2-lsigma']:.3f} ms, skip products {result['skip_products']:.3f} ms",
          flush=True)
    return {**result, "batch": batch, "rounds": rounds}


def lateral_cost(args, rng):
    """Microseconds of one latent layer's update (``state_step`` of a type-2 layer,
    float32, ``args.step_batch`` rows) without and with lateral competition in
    ``n_groups = 20`` groups, at each width of ``args.lateral_widths``, and of
    the product ``a V`` with a dense ``V`` that the group sums replace."""
    batch, result = args.step_batch, {}
    defaults = GNCNAutoencoder("pdh").get_params()
    excitation, inhibition = defaults["lateral_excitation"], defaults["lateral_inhibition"]
    for width in args.lateral_widths:
        drive, z, a, e, out = (rng.standard_normal((batch, width)).astype(np.float32)
                               for _ in range(5))

        def step_us(groups):
            lateral = None if groups is None else (*groups, excitation, inhibition)

            def run():
                # the paper's beta, a deep GNCN's "auto" rate
                _kernels.state_step(drive, a, 3, e, z, 0.0, 0.1, out, None, gated=False,
                                    lateral=lateral)
            run()
            repeats, start = 0, time.perf_counter()
            while time.perf_counter() - start < args.gemm_seconds / 4:
                run()
                repeats += 1
            return 1e6 * (time.perf_counter() - start) / repeats

        without, with_groups = step_us(None), step_us(group_bounds(width, 20))
        dense = [(batch, width, width, "V")]
        dense_us = 1e6 * 2 * batch * width * width / (
            gemm_rate(dense, np.float32, args.gemm_seconds)["peak"] * 1e9)
        result[width] = {"without_us": without, "with_us": with_groups,
                         "dense_product_us": dense_us,
                         "lateral_ns_per_entry": 1e3 * (with_groups - without) / (batch * width)}
        print(f"lateral, width {width}: {without:.1f} / {with_groups:.1f} us, dense product "
              f"{dense_us:.1f} us", flush=True)
    return result


def settle_step_markdown(step, lateral, args):
    lines = ["", f"## GNCN settling step (float32, batch {step['batch']}, "
             f"784-{'-'.join(map(str, args.gncn_latent))})", "",
             "| GNCN-PDH (ms) | GNCN-t2-LSigma (ms) | PDH's skip products at the GEMM peak (ms) "
             "| PDH / (t2-LSigma + skip products) |", "|---|---|---|---|",
             f"| {step['pdh']:.3f} | {step['t2-lsigma']:.3f} | {step['skip_products']:.3f} "
             f"| {step['pdh_over_t2_plus_skip']:.2f} (rounds "
             + ", ".join(f"{r['pdh_over_t2_plus_skip']:.2f}" for r in step["rounds"]) + ") |",
             "", "Per step, from `transform` (T steps per batch, median of "
             f"{args.repeats} rounds).  Lateral competition in one latent layer's "
             "update: group sums, against the dense product `a V` that a full lateral matrix "
             f"would cost ({step['batch']} rows, 20 groups):", "",
             "| width | update without lateral (us) | with lateral (us) "
             "| lateral, ns per row and unit | dense `a V` at the GEMM peak (us) |",
             "|---|---|---|---|---|"]
    lines += [f"| {w} | {r['without_us']:.1f} | {r['with_us']:.1f} "
              f"| {r['lateral_ns_per_entry']:.2f} | {r['dense_product_us']:.1f} |"
              for w, r in lateral.items()]
    return lines


def scaling_markdown(result, args):
    first_n = args.scaling_sizes[0]
    lines = ["", f"## Scaling: one training epoch of the PC MLP 784-w-w-10 (float32, batch "
             f"128, T = {args.pc_steps})", "", "| samples | seconds | seconds / sample (x1e3) |",
             "|---|---|---|"]
    lines += [f"| {n} | {t:.2f} | {1e3 * t / n:.3f} |" for n, t in result["by_size"].items()]
    lines += ["", f"Width at {first_n} samples.  The matrix products grow like "
              "2 (784 w + T w^2) multiply-adds per sample; the time follows them once they "
              "dominate, which shows as the achieved rate levelling off (at narrow widths the "
              "per-step elementwise work and the interpreter dominate):", "",
              "| width | seconds | MFLOP / sample | GFLOP/s |", "|---|---|---|---|"]
    for width, seconds in result["by_width"].items():
        products = pc_products(128, [784, width, width, 10], args.pc_steps)
        mflop = sum(2 * m * k * n for m, k, n, _ in products) / 128 / 1e6
        lines.append(f"| {width} | {seconds:.2f} | {mflop:.1f} "
                     f"| {mflop * first_n / seconds / 1e3:.0f} |")
    return lines


def to_markdown(rows, square, args):
    lines = ["# Core throughput against the GEMM peak", "",
             f"PC MLP 784-{'-'.join(map(str, args.pc_hidden))}-10 tanh, alternating, "
             f"T = {args.pc_steps}; GNCN (each variant) 784-"
             f"{'-'.join(map(str, args.gncn_latent))}, "
             f"T = {args.gncn_steps}.  Threads: {os.environ.get('OMP_NUM_THREADS', 'all')}.  "
             "Peak: the faster of two numpy loops over the same matrix products, those of one "
             "weight sharing their arrays (all BLAS threads per product, or one row block "
             "per thread; both rates are in the JSON).  "
             "Inference: one call per batch.  Square "
             f"{args.square}^3 product: " + ", ".join(f"{k} {v:.0f} GFLOP/s"
                                                      for k, v in square.items()) + ".  "
             f"Each number is the median of {args.repeats} rounds, each timing the estimator "
             "and then its peak loops, since this machine's speed drifts by up to 30 % within "
             "minutes (every round is in the JSON).  " + blas_sentence(), "",
             "| model | batch | dtype | train samples/s | MFLOP/sample | % of peak "
             "| time / floor | inference samples/s | MFLOP/sample | % of peak |",
             "|---" * 10 + "|"]
    for r in rows:
        t, i = r["train"], r["inference"]
        lines.append(f"| {r['model']} | {r['batch']} | {r['dtype']} | {t['samples_per_s']:.0f} "
                     f"| {t['mflop_per_sample']:.1f} | {t['fraction_of_peak']:.0%} "
                     f"| {1 / t['fraction_of_peak']:.2f} "
                     f"| {i['samples_per_s']:.0f} | {i['mflop_per_sample']:.1f} "
                     f"| {i['fraction_of_peak']:.0%} |")
    lines += ["", "Time / floor: the training time over that of its matrix products at the "
              "peak (1 / % of peak).  A GNCN row's products are its variant's own "
              "(`gncn_products`): per settling step the predictions, drives (`E`, or `W^T` "
              "for type 1), precision products (all but t1) and skip products (pdh); per "
              "batch the gradients `a^T e` and `Sigma`'s `e^T e`.  Not counted: the "
              "elementwise passes (state steps, lateral group sums, errors), the "
              "optimizer, the column normalisation and `Sigma`'s projection (an "
              "eigendecomposition per covariance and batch)."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (results not written)")
    parser.add_argument("--models", nargs="+", choices=["pc", "gncn"], default=["pc", "gncn"])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128, 512])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--pc-hidden", type=int, nargs="+", default=[600, 600])
    parser.add_argument("--pc-steps", type=int, default=20)
    parser.add_argument("--gncn-latent", type=int, nargs="+", default=[360, 360, 360])
    parser.add_argument("--gncn-steps", type=int, default=50)
    parser.add_argument("--gncn-variants", nargs="+", choices=list(GNCN_VARIANTS),
                        default=list(GNCN_VARIANTS))
    parser.add_argument("--gncn-batch-sizes", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--gncn-dtypes", nargs="+", default=["float32"])
    parser.add_argument("--min-samples", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=3,
                        help="rounds of estimator and peak timings (medians kept)")
    parser.add_argument("--gemm-seconds", type=float, default=1.0)
    parser.add_argument("--square", type=int, default=2048)
    parser.add_argument("--scaling-sizes", type=int, nargs="*",
                        default=[1000, 2000, 5000, 10000, 20000, 60000])
    parser.add_argument("--scaling-widths", type=int, nargs="*",
                        default=[100, 200, 500, 1000, 2000])
    parser.add_argument("--step-batch", type=int, default=128,
                        help="batch of the GNCN settling-step and lateral-competition timings")
    parser.add_argument("--lateral-widths", type=int, nargs="*", default=[360, 1000, 2000, 4000])
    parser.add_argument("--breakdown-rows", type=int, nargs="*", default=[64, 256],
                        help="block sizes of the one-thread split of a PC training batch")
    parser.add_argument("--name", default="bench_core")
    args = parser.parse_args(argv)
    if args.quick:
        args.pc_hidden, args.gncn_latent, args.batch_sizes = [64, 64], [32, 32, 32], [32]
        args.gncn_batch_sizes = [32]
        args.min_samples, args.repeats, args.gemm_seconds, args.square = 128, 1, 0.05, 256
        args.scaling_sizes, args.scaling_widths = [100, 200], [16, 32]
        args.step_batch, args.lateral_widths, args.breakdown_rows = 32, [40, 80], [32]
    warnings.simplefilter("ignore", ConvergenceWarning)
    warn_if_blas_pinned()
    rng = np.random.default_rng(0)
    square = {dtype: gemm_rate([(args.square,) * 3 + ("square",)], dtype, args.gemm_seconds)["peak"]
              for dtype in dict.fromkeys(args.dtypes + args.gncn_dtypes)}
    rows = [run_case(model, batch, dtype, args, rng) for model in args.models if model == "pc"
            for dtype in args.dtypes for batch in args.batch_sizes]
    rows += [run_case(f"gncn-{variant}", batch, dtype, args, rng)
             for variant in (args.gncn_variants if "gncn" in args.models else [])
             for dtype in args.gncn_dtypes for batch in args.gncn_batch_sizes]
    breakdown = time_breakdown(args, rng)
    gncn_split = gncn_breakdown(args, rng) if "gncn" in args.models else None
    optimizer = optimizer_step(args, rng)
    scaled = scaling(args, rng) if args.scaling_sizes and args.scaling_widths else None
    step = settle_step(args, rng)
    lateral = lateral_cost(args, rng)
    markdown = to_markdown(rows, square, args)
    markdown += (f"\nOne optimizer update of the PC MLP's {optimizer['n_parameters']:,} "
                 f"float32 weights and biases: Adam {optimizer['adam']:.2f} ms, SGD with "
                 f"momentum {optimizer['sgd']:.2f} ms.\n")
    markdown += "\n".join(breakdown_markdown(breakdown, args)) + "\n"
    if gncn_split:
        markdown += "\n".join(gncn_breakdown_markdown(gncn_split, args)) + "\n"
    if scaled:
        markdown += "\n".join(scaling_markdown(scaled, args)) + "\n"
    markdown += "\n".join(settle_step_markdown(step, lateral, args)) + "\n"
    print(markdown)
    if not args.quick:
        write_results(args.name, {"config": vars(args), "square_gemm_gflops": square,
                                  "optimizer_step_ms": optimizer,
                                  "rows": rows, "breakdown": breakdown, "gncn_breakdown": gncn_split,
                                  "scaling": scaled,
                                  "settle_step": step, "lateral": lateral}, markdown)


if __name__ == "__main__":
    main()
