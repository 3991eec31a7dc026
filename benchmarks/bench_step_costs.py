"""What a PC MLP training batch spends beyond its matrix products, per step and per batch.

    python benchmarks/bench_step_costs.py            # full run (about two minutes)
    python benchmarks/bench_step_costs.py --quick    # smoke run, nothing written

The MLP of ``bench_core``'s breakdown (784-600-600-10 tanh, tied feedback,
float32), trained on one thread in batches of ``rows`` rows: at batch 128 and
512 on two threads, each thread relaxes such a block of 64 and 256 rows.
Training with ``T`` and ``2 T`` relaxation steps splits a batch into a cost
per step, ``(t(2T) - t(T)) / T``, and a fixed cost per batch, ``2 t(T) -
t(2T)`` (the bottom-up sweep, the gradients, Adam, the bookkeeping, which
includes the copy of the estimator that each ``partial_fit`` call of 16 batches
makes to roll back on error).  Each is set against:

- its matrix products in a plain numpy loop on one thread (``bench_core``'s
  ``gemm_rate``): a step's two products per hidden layer, and what a batch
  adds to them;
- for a step, its compiled passes timed alone on the block's shapes: the
  state steps of the two hidden layers, each with its ``tanh``, and the
  error and energy passes of the three layers above the input; and numpy's
  ``tanh`` alone, which those passes call;
- the interpreter: the same split for a 784-8-8-10 MLP, whose arithmetic is
  negligible, so that its costs are the Python and numpy calls of the loop.

The one-thread share of the peak is the batch's products in the plain loop
over the batch's time; without the interpreter it would be at most that
share with the 8-wide MLP's time taken off the batch.  Each number is the
median over ``--rounds`` rounds, each timing everything in turns.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from _common import blas_sentence, median_ms, warn_if_blas_pinned, write_results
from bench_core import breakdown_estimator, gemm_rate, pc_products
from sklearn_pc._core._relaxation_kernels import ACTIVATION_CODES, error_energy, state_step

N_BATCHES = 16  # batches per timed partial_fit


def batch_ms(estimator, X, y):
    """Milliseconds per batch of one ``partial_fit`` over ``X``."""
    start = time.perf_counter()
    estimator.partial_fit(X, y)
    return 1e3 * (time.perf_counter() - start) / N_BATCHES


def step_products(rows, sizes):
    """The products of one relaxation step once the error wavefront has reached
    every hidden layer: the feedback ``eps[l+1] W[l]`` and the prediction
    ``a[l] M[l]`` of each (see ``bench_core.pc_products``)."""
    return [product for layer in range(1, len(sizes) - 1)
            for product in [(rows, sizes[layer + 1], sizes[layer], f"W{layer}"),
                            (rows, sizes[layer], sizes[layer + 1], f"M{layer}")]]


def products_ms(products, seconds):
    """Milliseconds of one pass over ``products`` in the plain loop, one thread."""
    flops = sum(2 * m * k * n for m, k, n, _ in products)
    return 1e3 * flops / (gemm_rate(products, np.float32, seconds)["blas_threads"] * 1e9)


def passes_ms(rows, sizes, repeats, rng):
    """Milliseconds of one step's compiled passes, and of numpy's ``tanh`` over
    its hidden states, timed alone (median of ``repeats`` calls)."""
    hidden, top = sizes[1:-1], sizes[-1]
    f32 = np.float32

    def arrays(width, n):
        return [rng.standard_normal((rows, width)).astype(f32) for _ in range(n)]

    # state step: feedback, activity, error, state -> new state, new activity
    states = [arrays(width, 6) for width in hidden]
    # error and energy: prediction, state -> error, per-row energy; a fresh
    # prediction above the first hidden layer gets its bias added
    errors = [(*arrays(width, 3), np.zeros(width, f32) if fresh else None, np.empty(rows, f32))
              for width, fresh in zip([*hidden, top], [False] + [True] * len(hidden))]
    tanh = ACTIVATION_CODES["tanh"]

    def passes():
        for fb, a, eps, x, out, act in states:
            state_step(fb, a, tanh, eps, x, 0.0, f32(0.1), out, None, act)
        for mu, x, eps, bias, energy in errors:
            error_energy(mu, bias, x, 1.0, 0.0, eps, energy)

    def tanh_only():
        for *_, out, act in states:
            np.tanh(out, out=act)

    return median_ms(passes, repeats), median_ms(tanh_only, repeats)


def fitted(args, rows, hidden, n_steps, X, y):
    """``bench_core``'s breakdown MLP with ``hidden`` units and ``n_steps``
    steps, after one warm-up batch."""
    args = argparse.Namespace(**{**vars(args), "pc_hidden": hidden, "pc_steps": n_steps})
    estimator = breakdown_estimator(args, rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.partial_fit(X[:rows], y[:rows], classes=np.arange(10))
    return estimator


def split(short, long, n_steps):
    """Per-step and fixed milliseconds from batches of ``n_steps`` and twice as many."""
    return (long - short) / n_steps, 2 * short - long


def time_rows(rows, args, rng):
    T = args.pc_steps
    sizes = [784, *args.pc_hidden, 10]
    X = rng.random((N_BATCHES * rows, 784), dtype=np.float32)
    y = np.arange(X.shape[0]) % 10
    with threadpool_limits(1, user_api="blas"):
        models = {(hidden, steps): fitted(args, rows, hidden, steps, X, y)
                  for hidden in (args.pc_hidden, args.floor_hidden) for steps in (T, 2 * T)}
        rounds = []
        for _ in range(args.rounds):
            times = {key: batch_ms(model, X, y) for key, model in models.items()}
            step, fixed = split(times[args.pc_hidden, T], times[args.pc_hidden, 2 * T], T)
            floor_step, floor_fixed = split(times[args.floor_hidden, T],
                                            times[args.floor_hidden, 2 * T], T)
            step_plain = products_ms(step_products(rows, sizes), args.gemm_seconds)
            batch_plain = products_ms(pc_products(rows, sizes, T), args.gemm_seconds)
            passes, tanh = passes_ms(rows, sizes, args.repeats, rng)
            batch = times[args.pc_hidden, T]
            rounds.append({
                "batch": batch, "step": step, "fixed": fixed,
                "step_products": step_plain, "step_passes": passes, "step_tanh": tanh,
                "step_interpreter": floor_step,
                "step_rest": step - step_plain - passes - floor_step,
                "fixed_products": batch_plain - T * step_plain, "fixed_interpreter": floor_fixed,
                "share": batch_plain / batch,
                "share_without_interpreter": batch_plain / (batch - T * floor_step - floor_fixed)})
    result = {key: float(np.median([r[key] for r in rounds])) for key in rounds[0]}
    result["rounds"] = rounds
    print(f"{rows} rows: batch {result['batch']:.2f} ms, step {result['step']:.3f} ms (products "
          f"{result['step_products']:.3f}, passes {result['step_passes']:.3f}, interpreter "
          f"{result['step_interpreter']:.3f}), fixed {result['fixed']:.2f} ms; share "
          f"{result['share']:.1%}, without the interpreter "
          f"{result['share_without_interpreter']:.1%}", flush=True)
    return result


def markdown(results, args):
    T, hidden = args.pc_steps, "-".join(map(str, args.pc_hidden))
    floor = "-".join(map(str, args.floor_hidden))
    lines = ["# A PC MLP training batch beyond its matrix products (float32, one thread)", "",
             f"784-{hidden}-10 tanh, tied feedback, T = {T}, one block of rows per batch on "
             f"one thread; per step and fixed per batch from batches of T and {2 * T} steps "
             f"(milliseconds, medians over {args.rounds} rounds; every round in the JSON).  "
             f"Products: the same matrix products in a plain numpy loop on one thread.  "
             f"Passes: the step's compiled state steps (with their tanh) and error and energy "
             f"passes, timed alone; tanh: numpy's tanh over the same hidden states, alone.  "
             f"Interpreter: the same split for 784-{floor}-10, whose arithmetic is "
             f"negligible.  Rest: the step less its products, passes and interpreter.  "
             f"{blas_sentence()}", "",
             "| rows | batch | per step | step's products | passes (tanh) | interpreter | rest "
             "| fixed per batch | its products | its interpreter |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for rows, r in results.items():
        lines.append(
            f"| {rows} | {r['batch']:.2f} | {r['step']:.3f} | {r['step_products']:.3f} "
            f"| {r['step_passes']:.3f} ({r['step_tanh']:.3f}) | {r['step_interpreter']:.3f} "
            f"| {r['step_rest']:.3f} | {r['fixed']:.2f} | {r['fixed_products']:.2f} "
            f"| {r['fixed_interpreter']:.2f} |")
    lines += ["", "Share of the one-thread peak: the batch's products in the plain loop over the "
              "batch's time, and the same with the interpreter's time (per step and fixed) "
              "taken off the batch:", "",
              "| rows | share of the peak | without the interpreter |", "|---|---|---|"]
    lines += [f"| {rows} | {r['share']:.1%} | {r['share_without_interpreter']:.1%} |"
              for rows, r in results.items()]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--pc-hidden", type=int, nargs="+", default=[600, 600])
    parser.add_argument("--floor-hidden", type=int, nargs="+", default=[8, 8])
    parser.add_argument("--pc-steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--gemm-seconds", type=float, default=1.0)
    parser.add_argument("--name", default="bench_step_costs")
    parser.add_argument("--quick", action="store_true", help="small sizes, nothing written")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.pc_hidden, args.pc_steps = [64], [32, 32], 3
        args.rounds, args.repeats, args.gemm_seconds = 1, 3, 0.02
    args.pc_hidden, args.floor_hidden = tuple(args.pc_hidden), tuple(args.floor_hidden)
    warn_if_blas_pinned()
    rng = np.random.default_rng(0)
    results = {rows: time_rows(rows, args, rng) for rows in args.rows}
    text = markdown(results, args)
    print(text)
    if not args.quick:
        payload = {"config": vars(args), "results": {str(r): v for r, v in results.items()}}
        for path in write_results(args.name, payload, text):
            print("wrote", path)


if __name__ == "__main__":
    main()
