"""End-to-end gain of the compiled accelerator (``sklearn_pc/_core/_accel.c``).

The accelerator does the core's elementwise steps (state step, errors and
energies, optimizer updates) in one pass where numpy makes several
(``sklearn_pc/_core/_kernels.py``).  It stays in the package only if it
earns its place: at least 10 % of a training run saved on a workload that
runs it.  This script measures that fraction, ``1 - t(accelerated) /
t(numpy only)``, on whole ``partial_fit`` calls of the estimators, the two
configurations taking turns within each round (``_kernels.accelerated``),
wall-clock seconds on the threads the environment allows.  Reported: the
median over the rounds of the gain within a round, and the gain between the
fastest rounds of each configuration.

    python benchmarks/bench_accelerator.py              # every workload, 7 rounds
    python benchmarks/bench_accelerator.py --quick      # smoke run, nothing written

Run it on an otherwise idle machine.
"""

import argparse
import statistics
import sys
import time
import warnings

import numpy as np
from _common import blas_sentence, estimator_params, write_results
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sklearn_pc import GNCNAutoencoder, PCClassifier
from sklearn_pc._core import _kernels


def pc_workload(batch, dtype, rows, hidden=(600, 600), activation="tanh", solver="adam"):
    """The PC MLP 784-600-600-10 of ``bench_core`` (T = 20), ``rows`` random rows."""
    rng = np.random.default_rng(0)
    X = rng.random((rows, 784)).astype(dtype)
    y = rng.integers(0, 10, rows)
    model = PCClassifier(hidden, activation=activation, n_inference_steps=20, solver=solver,
                         batch_size=batch, random_state=0)
    model.partial_fit(X[:batch], y[:batch], classes=np.arange(10))
    return lambda: model.partial_fit(X, y), model


def pc_defaults_on_digits():
    """``PCClassifier()`` at its defaults, one epoch of ``load_digits``."""
    X, y = load_digits(return_X_y=True)
    X = X / 16
    model = PCClassifier(random_state=0)
    model.partial_fit(X[:200], y[:200], classes=np.arange(10))
    return lambda: model.partial_fit(X, y), model


def gncn_workload(variant, batch, rows, latent=(360, 360, 360)):
    """A GNCN of the paper's size on ``rows`` binary MNIST-shaped rows (T = 50)."""
    X = (np.random.default_rng(0).random((rows, 784)) < 0.2).astype(np.float32)
    model = GNCNAutoencoder(variant, latent_sizes=latent, n_inference_steps=50,
                            batch_size=batch, random_state=0)
    model.partial_fit(X[:batch])
    return lambda: model.partial_fit(X), model


def workloads(quick):
    rows = 256 if quick else 2048
    gncn_rows = 128 if quick else 640
    cases = {
        "PCClassifier() defaults, digits": pc_defaults_on_digits,
        "PC 784-600-600-10 tanh adam, batch 32, float32":
            lambda: pc_workload(32, np.float32, rows),
        "PC 784-600-600-10 tanh adam, batch 128, float32":
            lambda: pc_workload(128, np.float32, rows),
        "PC 784-600-600-10 tanh adam, batch 512, float32":
            lambda: pc_workload(512, np.float32, rows),
        "PC 784-600-600-10 tanh adam, batch 128, float64":
            lambda: pc_workload(128, np.float64, rows),
        "PC 784-600-600-10 relu sgd, batch 128, float32":
            lambda: pc_workload(128, np.float32, rows, activation="relu", solver="sgd"),
    }
    for variant in ("t1", "t1-sigma", "t2-lsigma", "pdh"):
        cases[f"GNCN-{variant} 784-360-360-360, batch 128, float32"] = (
            lambda variant=variant: gncn_workload(variant, 128, gncn_rows))
    if quick:
        cases = {name: make for name, make in cases.items()
                 if "defaults" in name or "batch 128, float32" in name}
    return cases


def measure(run, rounds):
    """Seconds of ``run`` with and without the accelerator, alternating."""
    times = {True: [], False: []}
    for enabled in (True, False):  # warm up both
        with _kernels.accelerated(enabled):
            run()
    for index in range(rounds):
        order = (True, False) if index % 2 == 0 else (False, True)
        for enabled in order:
            with _kernels.accelerated(enabled):
                start = time.perf_counter()
                run()
                times[enabled].append(time.perf_counter() - start)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (results not written)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", nargs="*", default=None,
                        help="run only the workloads whose names contain one of these")
    parser.add_argument("--name", default="bench_accelerator")
    args = parser.parse_args(argv)
    if _kernels.ACCELERATOR is None:
        print("the compiled accelerator is not built here (no C compiler at install, or "
              "SKLEARN_PC_NO_COMPILED set): nothing to compare", file=sys.stderr)
        return 0 if args.quick else 1
    rounds = 1 if args.quick else args.rounds
    rows, payload_rows = [], {}
    for name, make in workloads(args.quick).items():
        if args.only and not any(word in name for word in args.only):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            run, model = make()
            times = measure(run, rounds)
        per_round = [1 - on / off for on, off in zip(times[True], times[False])]
        gain = statistics.median(per_round)
        best = 1 - min(times[True]) / min(times[False])
        payload_rows[name] = {"seconds accelerated": times[True], "seconds numpy": times[False],
                              "gain per round": per_round, "median gain": gain,
                              "gain between fastest rounds": best,
                              "params": estimator_params(model)}
        rows.append(f"| {name} | {min(times[True]):.3f} | {min(times[False]):.3f} | "
                    f"{gain:+.1%} | {best:+.1%} |")
        print(rows[-1], flush=True)
    if args.quick:
        return 0
    gains = [row["median gain"] for row in payload_rows.values()]
    markdown = "\n".join([
        "# End-to-end gain of the compiled accelerator", "",
        f"Whole `partial_fit` calls (one epoch of the rows given), accelerated and numpy-only "
        f"taking turns in each of {rounds} rounds, wall-clock seconds, threads: all the "
        f"environment allows.  {blas_sentence()}", "",
        "Gain: `1 - t(accelerated) / t(numpy only)`, the fraction of the fit saved; the median "
        "over the rounds of the gain within a round, and in the last column the gain between "
        "the fastest round of each.  The accelerator stays if it saves at least 10 % on a "
        "workload that runs it.", "",
        "| workload | accelerated (s, fastest) | numpy only (s, fastest) | gain | gain, fastest |",
        "|---|---|---|---|---|", *rows, "",
        f"Largest median gain {max(gains):+.1%}, smallest {min(gains):+.1%}.",
    ])
    write_results(args.name, {"rounds": rounds, "workloads": payload_rows}, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
