"""End-to-end gain of each compiled kernel over its numpy reference.

This measured the Cython kernels that ``sklearn_pc/_core`` had, which were
all removed after it (none gained 10 %, see ``results/bench_kernels.md``):
at the current commit there is nothing to compare, and the script says so.
To rerun the measurement, check out the commit its results name.

    OMP_NUM_THREADS=1 taskset -c 0 python benchmarks/bench_kernels.py   # full run (minutes)
    python benchmarks/bench_kernels.py --quick                          # smoke run, not written

Every kernel of ``sklearn_pc._core._kernels`` has a numpy reference
(``_core/_reference.py``) and may have a compiled version.  This times one
training epoch of

- ``PCClassifier`` 784-600-600-10 (tanh and the default relu; alternating
  inference, ``T = 20``; batch 200; float32; Adam, and SGD for
  ``sgd_update``),
- ``GNCNAutoencoder`` ``"t1"`` and ``"pdh"``, latents 360-360-360, ``T = 50``,
  batch 200, float32 (``partial_fit``: weights only, no prior),

on random data of MNIST's shape (784 features in [0, 1], 10 classes; or
MNIST's first training rows, ``--data mnist``: there most rows settle
before the last step, so the elementwise work and the optimizer weigh more), with
every kernel compiled, with every kernel a reference, and with every kernel
compiled but one.  The configurations alternate within each repeat (their
order rotating from repeat to repeat), in one process; each is timed
``--repeats`` times, in CPU seconds of this process (``time.process_time``:
on a core shared with other jobs, wall time doubles whenever another job
runs; the wall seconds are kept in the JSON too).  A kernel's *gain* on a
workload is the fraction of the epoch its compiled version saves,
``1 - t(all compiled) / t(all compiled but this one)``, with each ``t`` the
fastest of the repeats (other work on the core only ever adds time); the
median over the repeats of the same ratio within one repeat (paired) is
reported too.  The package keeps a compiled
kernel only if it gains at least 10 % on a workload that runs it.

The numbers are indicative: they come from one shared core, so only the
numbers of one run compare with each other.
"""

import argparse
import statistics
import sys
import time
import warnings

import numpy as np
from sklearn.base import clone

from _common import blas_sentence, estimator_params, load_classification_data, write_results
from sklearn_pc import GNCNAutoencoder, PCClassifier
from sklearn_pc._core import _kernels

THRESHOLD = 0.10


def workloads(args):
    """``(name, estimator, kernels it runs, fit)`` for each workload."""
    if args.data == "mnist":
        X, y = load_classification_data("mnist", np.float32, n_train=args.rows)[:2]
    else:
        rng = np.random.default_rng(0)
        X = rng.random((args.rows, 784), dtype=np.float32)
        y = rng.integers(0, 10, args.rows)
    classes = np.arange(10)
    hidden = (args.pc_width, args.pc_width)
    pc = dict(hidden_layer_sizes=hidden, inference="alternating",
              n_inference_steps=args.pc_steps, batch_size=args.batch, max_iter=1,
              random_state=0)
    gncn = dict(latent_sizes=(args.gncn_width,) * 3, n_inference_steps=args.gncn_steps,
                batch_size=args.batch, max_iter=1, random_state=0)
    relaxation = ("state_step", "error_energy")
    settling = ("state_step", "error_energy")
    listed = [
        ("pc_tanh_adam", PCClassifier(activation="tanh", **pc), relaxation + ("adam_update",)),
        ("pc_relu_adam", PCClassifier(activation="relu", **pc), relaxation + ("adam_update",)),
        ("pc_tanh_sgd", PCClassifier(activation="tanh", solver="sgd", **pc),
         relaxation + ("sgd_update",)),
        ("gncn_t1", GNCNAutoencoder("t1", **gncn), settling + ("adam_update",)),
        ("gncn_pdh", GNCNAutoencoder("pdh", **gncn), settling + ("adam_update",)),
    ]
    for name, estimator, kernels in listed:
        if args.only and name not in args.only:
            continue
        if isinstance(estimator, PCClassifier):
            def fit(model, estimator=estimator):
                return clone(model).partial_fit(X, y, classes=classes)
        else:
            def fit(model):
                return clone(model).partial_fit(X)
        yield name, estimator, kernels, fit


def configurations(kernels):
    """The configurations of one workload: name -> kernels compiled."""
    present = [name for name in kernels if name in _kernels.COMPILED]
    configs = {"compiled": set(present), "reference": set()}
    for name in present:
        configs[f"without {name}"] = set(present) - {name}
    return configs, present


def epoch_seconds(fit, model, compiled):
    """CPU seconds and wall seconds of one epoch with the kernels ``compiled``
    compiled (the others references)."""
    previous = _kernels.use_compiled(False)
    try:
        _kernels.use_compiled(True, tuple(compiled))
        start, start_wall = time.process_time(), time.perf_counter()
        fit(model)
        return time.process_time() - start, time.perf_counter() - start_wall
    finally:
        _kernels.restore(previous)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (results not written)")
    parser.add_argument("--data", choices=("random", "mnist"), default="random")
    parser.add_argument("--rows", type=int, default=600, help="rows of the epoch")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--pc-width", type=int, default=600)
    parser.add_argument("--pc-steps", type=int, default=20)
    parser.add_argument("--gncn-width", type=int, default=360)
    parser.add_argument("--gncn-steps", type=int, default=50)
    parser.add_argument("--only", nargs="+", help="workloads to run (default: all)")
    parser.add_argument("--name", default="bench_kernels")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.batch, args.repeats = 100, 50, 1
        args.pc_width, args.pc_steps, args.gncn_width, args.gncn_steps = 64, 5, 32, 5
    if not getattr(_kernels, "COMPILED", None):
        print("no compiled kernel is importable: nothing to compare (the compiled kernels "
              "were removed; see benchmarks/results/bench_kernels.md)", file=sys.stderr)
        return 0 if args.quick else 1
    warnings.filterwarnings("ignore", category=UserWarning)

    results = {}
    for name, estimator, kernels, fit in workloads(args):
        configs, present = configurations(kernels)
        epoch_seconds(fit, estimator, configs["compiled"])  # warm-up: caches, first-call costs
        times = {config: [] for config in configs}
        wall = {config: [] for config in configs}
        order = list(configs)
        for repeat in range(args.repeats):
            rotated = order[repeat % len(order):] + order[:repeat % len(order)]
            for config in rotated:
                cpu_seconds, wall_seconds = epoch_seconds(fit, estimator, configs[config])
                times[config].append(cpu_seconds)
                wall[config].append(wall_seconds)
        fastest = {config: min(seconds) for config, seconds in times.items()}

        def paired(config):
            return statistics.median(1 - compiled / other for compiled, other
                                     in zip(times["compiled"], times[config]))
        gains = {kernel: 1 - fastest["compiled"] / fastest[f"without {kernel}"]
                 for kernel in present}
        results[name] = {"estimator": type(estimator).__name__,
                         "params": estimator_params(estimator), "kernels": list(kernels),
                         "cpu_seconds": times, "wall_seconds": wall,
                         "fastest_seconds": fastest, "gains": gains,
                         "paired_gains": {kernel: paired(f"without {kernel}")
                                          for kernel in present},
                         "gain_all": 1 - fastest["compiled"] / fastest["reference"],
                         "paired_gain_all": paired("reference")}
        print(f"{name}: compiled {fastest['compiled']:.3f} s, reference "
              f"{fastest['reference']:.3f} s; gains (fastest, paired median) "
              + ", ".join(f"{kernel} {gain:+.1%} {results[name]['paired_gains'][kernel]:+.1%}"
                          for kernel, gain in gains.items()),
              flush=True)

    best = {}
    for result in results.values():
        for kernel, gain in result["gains"].items():
            best[kernel] = max(best.get(kernel, -np.inf), gain)
    verdict = {kernel: "keep" if gain >= THRESHOLD else "remove" for kernel, gain in best.items()}
    print("verdict (best gain over the workloads, threshold "
          f"{THRESHOLD:.0%}): " + ", ".join(f"{k} {best[k]:+.1%} {v}"
                                              for k, v in verdict.items()))
    if args.quick:
        return 0

    data = (f"MNIST's first {args.rows} training rows" if args.data == "mnist" else
            f"{args.rows} random rows of MNIST's shape (784 features, 10 classes)")
    lines = [
        "# End-to-end gain of each compiled kernel over its numpy reference", "",
        "**Measured on a shared core** (`taskset -c 0`, `OMP_NUM_THREADS=1`, another job "
        "on the machine's other core): indicative, comparable only within this run.  "
        f"One training epoch of {data}, batch {args.batch}, float32; configurations "
        "alternating within each "
        f"of {args.repeats} repeats.  {blas_sentence()}", "",
        "Gain of a kernel: `1 - t(all compiled) / t(all compiled but this one)`, the "
        "fraction of the epoch it saves, each `t` the fastest repeat in CPU seconds of the "
        "process (wall seconds double whenever another job shares the core); in brackets the "
        "median over the repeats of the same ratio within a repeat.  A kernel is kept if "
        f"it gains at least {THRESHOLD:.0%} on a workload that runs it.", "",
        "| workload | all compiled (CPU s) | all reference (CPU s) | all kernels' gain | "
        "gain of each kernel |",
        "|---|---|---|---|---|"]
    for name, result in results.items():
        fastest, paired = result["fastest_seconds"], result["paired_gains"]
        lines.append(f"| {name} | {fastest['compiled']:.3f} | {fastest['reference']:.3f} | "
                     f"{result['gain_all']:+.1%} ({result['paired_gain_all']:+.1%}) | "
                     + ", ".join(f"`{k}` {g:+.1%} ({paired[k]:+.1%})"
                                 for k, g in result["gains"].items())
                     + " |")
    lines += ["", "| kernel | best gain | verdict |", "|---|---|---|"]
    lines += [f"| `{kernel}` | {best[kernel]:+.1%} | {verdict[kernel]} |" for kernel in best]
    payload = {"note": "measured on a shared core: indicative, compare within this run only",
               "args": vars(args), "threshold": THRESHOLD, "workloads": results,
               "best_gain": best, "verdict": verdict}
    for path in write_results(args.name, payload, "\n".join(lines)):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
