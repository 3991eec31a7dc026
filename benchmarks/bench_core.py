"""Throughput of the dynamics core against the machine's matrix-multiply peak.

    python benchmarks/bench_core.py            # full run (about 5 minutes on 2 cores)
    python benchmarks/bench_core.py --quick    # smoke run, small sizes

Two models, at batch sizes 32 / 128 / 512 in float32 and float64:

- ``PCClassifier`` 784-600-600-10 tanh, alternating inference with ``T``
  steps (training: feedforward start, relaxation with both ends clamped, local
  updates, Adam; inference: ``predict``, a feedforward sweep, which is the
  equilibrium of the discriminative mode);
- ``GNCNAutoencoder("pdh")`` 784-360-360-360, ``T = 50`` (training: settling
  plus updates of W, E, M and Sigma; inference: ``transform``, settling only).

For each we report samples per second, the matrix-product FLOPs executed per
sample (counted from the layer shapes and the code path: work actually done,
including products of all-zero operands the code does not skip; elementwise
work and Sigma's per-batch eigendecomposition are not counted), the achieved
GFLOP/s, and the fraction of the GEMM peak: the rate of a plain numpy loop
over the *same list of matrix products* (same shapes, same dtype, same
threads), measured in the same run.  A large square product's rate is
reported too, as the machine's ceiling.
"""

import argparse
import os
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from _common import write_results
from sklearn_pc import GNCNAutoencoder, PCClassifier


def gemm_rate(shapes, dtype, min_seconds):
    """GFLOP/s of a numpy loop over ``(m, k, n)`` products ``A(m, k) @ B(k, n)``."""
    rng = np.random.default_rng(0)
    operands = [(rng.standard_normal((m, k)).astype(dtype),
                 rng.standard_normal((k, n)).astype(dtype), np.empty((m, n), dtype))
                for m, k, n in shapes]
    flops = sum(2 * m * k * n for m, k, n in shapes)
    for a, b, out in operands:  # warm up
        np.matmul(a, b, out=out)
    repeats, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_seconds:
        for a, b, out in operands:
            np.matmul(a, b, out=out)
        repeats += 1
    return flops * repeats / (time.perf_counter() - start) / 1e9


def pc_products(batch, sizes, n_steps):
    """Matrix products of one training batch of the PC MLP (alternating, both ends clamped).

    Feedforward ``L`` products; per step the feedback ``eps[l+1] W[l]`` of the
    hidden layers and the predictions of layers ``2..L`` (the clamped input's
    prediction is computed once); then ``a[l]^T eps[l+1]`` for every layer.
    """
    n_layers = len(sizes) - 1
    feedforward = [(batch, sizes[l], sizes[l + 1]) for l in range(n_layers)]
    per_step = ([(batch, sizes[l + 1], sizes[l]) for l in range(1, n_layers)]
                + [(batch, sizes[l], sizes[l + 1]) for l in range(1, n_layers)])
    gradients = [(sizes[l], batch, sizes[l + 1]) for l in range(n_layers)]
    return feedforward + per_step * n_steps + gradients


def pc_inference_products(batch, sizes):
    return [(batch, sizes[l], sizes[l + 1]) for l in range(len(sizes) - 1)]


def gncn_step_products(batch, sizes):
    """Matrix products of one PDH settling step (``sizes = [D, J1, .., JL]``).

    Predictions ``a(l+1) W(l+1) + a(l+2) M(l+2)``, precision products
    ``(a(l) - mu(l)) P(l)`` for ``l = 1..L-1``, drives ``e(l-1) E(l)``.
    """
    n_latent = len(sizes) - 1
    products = []
    for layer in range(n_latent):
        products.append((batch, sizes[layer + 1], sizes[layer]))
        if layer + 2 <= n_latent:
            products.append((batch, sizes[layer + 2], sizes[layer]))
    products += [(batch, sizes[l], sizes[l]) for l in range(1, n_latent)]
    products += [(batch, sizes[l - 1], sizes[l]) for l in range(1, n_latent + 1)]
    return products


def gncn_products(batch, sizes, n_steps, training):
    """Settling (``T`` steps) plus, for training, the errors at the settled
    states, ``a^T e`` for W and M, and ``e^T e`` for Sigma."""
    products = gncn_step_products(batch, sizes) * n_steps
    if training:
        step = gncn_step_products(batch, sizes)
        n_latent = len(sizes) - 1
        products += step[:2 * n_latent - 1 + n_latent - 1]  # predictions and precisions
        products += [(sizes[l], batch, sizes[l - 1]) for l in range(1, n_latent + 1)]
        products += [(sizes[l], batch, sizes[l - 2]) for l in range(2, n_latent + 1)]
        products += [(sizes[l], batch, sizes[l]) for l in range(1, n_latent)]
    return products


def measure(fit, n_samples, repeats):
    """Best samples per second of ``fit()`` over ``repeats`` runs."""
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fit()
        best = min(best, time.perf_counter() - start)
    return n_samples / best


def run_case(model, batch, dtype, args, rng):
    if model == "pc":
        sizes = [784, *args.pc_hidden, 10]
        n_samples = max(8 * batch, args.min_samples)
        X = rng.random((n_samples, sizes[0])).astype(dtype)
        y = np.arange(n_samples) % sizes[-1]
        estimator = PCClassifier(hidden_layer_sizes=tuple(args.pc_hidden), activation="tanh",
                                 n_inference_steps=args.pc_steps, inference_tol=0.0,
                                 loss="squared_error", batch_size=batch, max_iter=1,
                                 shuffle=False, random_state=0)
        estimator.fit(X[:batch], y[:batch])  # warm-up
        train = measure(lambda: estimator.fit(X, y), n_samples, args.repeats)
        infer = measure(lambda: estimator.predict(X), n_samples, args.repeats)
        train_products = pc_products(batch, sizes, args.pc_steps)
        infer_products = pc_inference_products(batch, sizes)
    else:
        sizes = [784, *args.gncn_latent]
        n_samples = max(4 * batch, args.min_samples // 2)
        X = (rng.random((n_samples, sizes[0])) > 0.5).astype(dtype)
        estimator = GNCNAutoencoder("pdh", latent_sizes=tuple(args.gncn_latent),
                                    n_settle_steps=args.gncn_steps, batch_size=batch,
                                    max_iter=1, shuffle=False, n_prior_components=1,
                                    prior_max_samples=2, random_state=0)
        estimator.fit(X[:batch])
        train = measure(lambda: estimator.fit(X), n_samples, args.repeats)
        infer = measure(lambda: estimator.transform(X), n_samples, args.repeats)
        train_products = gncn_products(batch, sizes, args.gncn_steps, training=True)
        infer_products = gncn_products(batch, sizes, args.gncn_steps, training=False)
    row = {"model": model, "batch": batch, "dtype": dtype}
    for mode, rate, products in (("train", train, train_products),
                                 ("inference", infer, infer_products)):
        flops = sum(2 * m * k * n for m, k, n in products) / batch
        achieved = rate * flops / 1e9
        peak = gemm_rate(products, dtype, args.gemm_seconds)
        row[mode] = {"samples_per_s": rate, "mflop_per_sample": flops / 1e6,
                     "gflops": achieved, "gemm_peak_gflops": peak,
                     "fraction_of_peak": achieved / peak}
    print(f"{model:4s} batch {batch:4d} {dtype}: train {train:8.0f}/s "
          f"({row['train']['fraction_of_peak']:.0%} of peak), inference {infer:8.0f}/s "
          f"({row['inference']['fraction_of_peak']:.0%})", flush=True)
    return row


def scaling(args, rng):
    """Seconds of one training epoch of the PC MLP against data size and against width."""
    def epoch_seconds(n_samples, width):
        X = rng.random((n_samples, 784)).astype(np.float32)
        y = np.arange(n_samples) % 10
        # random labels on random inputs: a small learning rate keeps the widest
        # networks from training into the divergence check (timing does not depend on it)
        estimator = PCClassifier(hidden_layer_sizes=(width, width), activation="tanh",
                                 n_inference_steps=args.pc_steps, inference_tol=0.0,
                                 loss="squared_error", batch_size=128, max_iter=1,
                                 learning_rate_init=1e-4, shuffle=False, random_state=0)
        return n_samples / measure(lambda: estimator.fit(X, y), n_samples, 1)

    by_size = {n: epoch_seconds(n, args.pc_hidden[0]) for n in args.scaling_sizes}
    by_width = {w: epoch_seconds(args.scaling_sizes[0], w) for w in args.scaling_widths}
    for n, seconds in by_size.items():
        print(f"scaling: {n} samples, width {args.pc_hidden[0]}: {seconds:.2f} s", flush=True)
    for w, seconds in by_width.items():
        print(f"scaling: {args.scaling_sizes[0]} samples, width {w}: {seconds:.2f} s", flush=True)
    return {"by_size": by_size, "by_width": by_width}


def scaling_markdown(result, args):
    first_n, first_w = args.scaling_sizes[0], args.scaling_widths[0]
    per_flop = {w: 784 * w + w * w + 10 * w + args.pc_steps * 2 * (w * w + 10 * w)
                for w in args.scaling_widths}
    lines = ["", f"## Scaling: one training epoch of the PC MLP 784-w-w-10 (float32, batch "
             f"128, T = {args.pc_steps})", "", "| samples | seconds | seconds / sample (x1e3) |",
             "|---|---|---|"]
    lines += [f"| {n} | {t:.2f} | {1e3 * t / n:.3f} |" for n, t in result["by_size"].items()]
    lines += ["", f"Width at {first_n} samples (expected growth: the multiply-adds per sample, "
              "784 w + (2T + 1) w^2 + ..., relative to the narrowest):", "",
              "| width | seconds | growth | expected growth |", "|---|---|---|---|"]
    base = result["by_width"][first_w]
    lines += [f"| {w} | {t:.2f} | {t / base:.1f}x | {per_flop[w] / per_flop[first_w]:.1f}x |"
              for w, t in result["by_width"].items()]
    return lines


def to_markdown(rows, square, args):
    lines = ["# Core throughput against the GEMM peak", "",
             f"PC MLP 784-{'-'.join(map(str, args.pc_hidden))}-10 tanh, alternating, "
             f"T = {args.pc_steps}; GNCN-PDH 784-{'-'.join(map(str, args.gncn_latent))}, "
             f"T = {args.gncn_steps}.  Threads: {os.environ.get('OMP_NUM_THREADS', 'all')}.  "
             "Peak: a numpy loop over the same matrix products.  Square "
             f"{args.square}^3 product: " + ", ".join(f"{k} {v:.0f} GFLOP/s"
                                                      for k, v in square.items()) + ".", "",
             "| model | batch | dtype | train samples/s | MFLOP/sample | % of peak "
             "| inference samples/s | % of peak |", "|---" * 8 + "|"]
    for r in rows:
        t, i = r["train"], r["inference"]
        lines.append(f"| {r['model']} | {r['batch']} | {r['dtype']} | {t['samples_per_s']:.0f} "
                     f"| {t['mflop_per_sample']:.1f} | {t['fraction_of_peak']:.0%} "
                     f"| {i['samples_per_s']:.0f} | {i['fraction_of_peak']:.0%} |")
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
    parser.add_argument("--min-samples", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--gemm-seconds", type=float, default=1.0)
    parser.add_argument("--square", type=int, default=2048)
    parser.add_argument("--scaling-sizes", type=int, nargs="*",
                        default=[1000, 2000, 5000, 10000, 20000, 60000])
    parser.add_argument("--scaling-widths", type=int, nargs="*",
                        default=[100, 200, 500, 1000, 2000])
    parser.add_argument("--name", default="bench_core")
    args = parser.parse_args(argv)
    if args.quick:
        args.pc_hidden, args.gncn_latent, args.batch_sizes = [64, 64], [32, 32, 32], [32]
        args.min_samples, args.repeats, args.gemm_seconds, args.square = 128, 1, 0.05, 256
        args.scaling_sizes, args.scaling_widths = [100, 200], [16, 32]
    warnings.simplefilter("ignore", ConvergenceWarning)
    rng = np.random.default_rng(0)
    square = {dtype: gemm_rate([(args.square,) * 3], dtype, args.gemm_seconds)
              for dtype in args.dtypes}
    rows = [run_case(model, batch, dtype, args, rng) for model in args.models
            for dtype in args.dtypes for batch in args.batch_sizes]
    scaled = scaling(args, rng) if args.scaling_sizes and args.scaling_widths else None
    markdown = to_markdown(rows, square, args)
    if scaled:
        markdown += "\n".join(scaling_markdown(scaled, args)) + "\n"
    print(markdown)
    if not args.quick:
        write_results(args.name, {"config": vars(args), "square_gemm_gflops": square,
                                  "rows": rows, "scaling": scaled}, markdown)


if __name__ == "__main__":
    main()
