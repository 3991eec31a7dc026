"""The PC MLP's weight update, whole and in parts, timed alone.

    python benchmarks/bench_update_parts.py            # full run (under a minute)
    python benchmarks/bench_update_parts.py --quick    # smoke run, nothing written

After its row blocks relax, a ``PCClassifier`` training batch updates its
weights in one part per thread: each part computes the gradients of its
share of every layer's input units from the whole batch's gradient factors
and applies Adam to them (``_learning.local_gradients`` with ``part``,
``parameter_regions``, ``_threads.map_parts``).  This times that update of
the 784-600-600-10 MLP (float32, tied feedback) outside a fit, on factors of
one relaxed batch: the gradients alone and with Adam, whole on one thread,
one half on one thread, and both halves at once on two threads.  Comparing
the last with ``bench_core``'s "after the blocks", timed inside the fit,
separates the update's own cost from what the fit adds around it (the
checks, and the caches the relaxation left behind).  Each number is the
median over rounds of the median milliseconds of ``--repeats`` calls.
"""

import argparse
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from _common import blas_sentence, median_ms, warn_if_blas_pinned, write_results
from bench_core import breakdown_estimator
from sklearn_pc._core._learning import (gradient_factors, local_gradients, parameter_regions,
                                        parameters)
from sklearn_pc._core._relaxation import relax
from sklearn_pc._core._threads import map_parts
from sklearn_pc._core._workspace import Workspace


def relaxed_factors(batch, args, rng):
    """``bench_core``'s breakdown MLP fitted for one epoch, and the gradient
    factors of one relaxed batch of random inputs and labels."""
    X = rng.random((batch, 784), dtype=np.float32)
    y = np.arange(batch) % 10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = breakdown_estimator(args, batch).set_params(max_iter=1).fit(X, y)
    network = clf._network()
    states = network.feedforward(X)
    states[-1] = np.eye(10, dtype=np.float32)[y]
    errors = relax(network, states, n_steps=args.pc_steps, rate=clf.inference_rate,
                   feedforward_start=True)
    return clf, network, gradient_factors(network, states, errors)


def time_update(batch, args, rng):
    clf, network, factors = relaxed_factors(batch, args, rng)
    params, workspace = parameters(network), Workspace()

    def gradients(parts):
        map_parts(lambda part: local_gradients(network, factors, workspace=workspace, part=part),
                  parts)

    def update(parts):  # the fit's own step: gradients and Adam in parts
        clf._update_weights(network, params, factors, (0.0, 0.0), len(parts), workspace)

    def update_one_half():  # what each thread of ``update(halves)`` does, alone
        clf._optimizer.start_step()
        grads = local_gradients(network, factors, workspace=workspace, part=(0, 2))
        clf._optimizer.update_regions(params, grads, parameter_regions(network, (0, 2)))

    whole, half, halves = [(0, 1)], [(0, 2)], [(0, 2), (1, 2)]
    cases = {"gradients, whole, 1 thread": lambda: gradients(whole),
             "gradients, one half, 1 thread": lambda: gradients(half),
             "gradients, two halves, 2 threads": lambda: gradients(halves),
             "gradients and Adam, whole, 1 thread": lambda: update(whole),
             "gradients and Adam, one half, 1 thread": update_one_half,
             "gradients and Adam, two halves, 2 threads": lambda: update(halves)}
    rounds = {name: [] for name in cases}
    with threadpool_limits(1, user_api="blas"):  # one BLAS thread per part, as in the fit
        for _ in range(args.rounds):
            for name, case in cases.items():
                rounds[name].append(median_ms(case, args.repeats))
    result = {name: {"ms": float(np.median(values)), "rounds": values}
              for name, values in rounds.items()}
    for name, value in result.items():
        print(f"batch {batch:4d}, {name}: {value['ms']:.3f} ms", flush=True)
    return result


def markdown(results, args):
    names = list(next(iter(results.values())))
    lines = ["# The PC MLP's weight update, whole and in parts (float32, timed alone)", "",
             f"784-{'-'.join(map(str, args.pc_hidden))}-10 tanh, tied feedback, the gradient "
             "factors of one relaxed batch.  Milliseconds per update, the median over "
             f"{args.rounds} rounds of the median of {args.repeats} calls (per-round values in "
             f"the JSON).  {blas_sentence()}", "",
             "| update | " + " | ".join(f"batch {batch}" for batch in results) + " |",
             "|---|" + "---|" * len(results)]
    for name in names:
        lines.append(f"| {name} | "
                     + " | ".join(f"{results[batch][name]['ms']:.2f}" for batch in results)
                     + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--pc-hidden", type=int, nargs="+", default=[600, 600])
    parser.add_argument("--pc-steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--name", default="bench_update_parts")
    parser.add_argument("--quick", action="store_true", help="small sizes, nothing written")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch_sizes, args.pc_hidden, args.rounds, args.repeats = [64], [32, 32], 1, 3
    warn_if_blas_pinned()
    rng = np.random.default_rng(0)
    results = {batch: time_update(batch, args, rng) for batch in args.batch_sizes}
    text = markdown(results, args)
    print(text)
    if not args.quick:
        payload = {"config": vars(args), "results": {str(b): r for b, r in results.items()}}
        for path in write_results(args.name, payload, text):
            print("wrote", path)


if __name__ == "__main__":
    main()
