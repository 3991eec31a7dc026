"""CPU time of the core against an older copy of the package, interleaved in one process.

    cp -r <old checkout>/sklearn_pc /tmp/oldpc/sklearn_pc_old
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 taskset -c 0 \\
        python benchmarks/compare_core_speed.py --old /tmp/oldpc [--rounds 7]
    python benchmarks/compare_core_speed.py --old /tmp/oldpc --fit --rounds 3   # 2 threads

Times (``time.process_time``, so other processes on the core count less)
old and new alternately, ``--rounds`` times each, and prints the medians and
new / old: GNCN settling (784-360-360-360, T = 50, float32, batch 128 and
512, variants t1 and pdh; settling plus the errors and reconstruction at
the settled states, as ``GNCNAutoencoder`` uses them), and one PCClassifier
training batch (784-600-600-10 tanh, T = 20, batch 128, float32,
``partial_fit``).  The old package must import as ``sklearn_pc_old``.
"""

import argparse
import statistics
import sys
import time
import warnings

import numpy as np


def gncn_settle(package, variant, batch, rng_seed=0):
    model = package.GNCNAutoencoder(variant, latent_sizes=(360, 360, 360),
                                    n_inference_steps=50)
    model._initialize(784, np.float32, np.random.default_rng(rng_seed))
    if model.covariances_ is not None:
        model.precisions_ = [np.eye(360, dtype=np.float32) * 0.9 for _ in model.precisions_]
    network = model._network()
    x = (np.random.default_rng(1).random((batch, 784)) < 0.2).astype(np.float32)

    def run():
        result = network.settle(x, 50)
        if len(result) == 2:  # the old engine: errors recomputed at the settled states
            states, z0 = result
            network.errors(z0, network.activities(states))
    return run


def pc_batch(package, batch):
    rng = np.random.default_rng(0)
    X = rng.random((batch, 784)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    y[:10] = np.arange(10)
    model = package.PCClassifier(hidden_layer_sizes=(600, 600), activation="tanh",
                                 n_inference_steps=20, batch_size=batch, random_state=0)
    model.partial_fit(X, y, classes=np.arange(10))
    return lambda: model.partial_fit(X, y)


def gncn_fit(package, variant):
    """``partial_fit`` of a GNCN on 1,280 binary rows (10 batches of 128)."""
    X = (np.random.default_rng(0).random((1280, 784)) < 0.2).astype(np.float32)
    model = package.GNCNAutoencoder(variant, latent_sizes=(360, 360, 360),
                                    n_inference_steps=50, batch_size=128, random_state=0)
    model.partial_fit(X[:128])
    return lambda: model.partial_fit(X)


def pc_fit(package, batch):
    """``partial_fit`` of the PC MLP 784-600-600-10 on 2,048 rows at ``batch``."""
    rng = np.random.default_rng(0)
    X = rng.random((2048, 784)).astype(np.float32)
    y = rng.integers(0, 10, 2048)
    model = package.PCClassifier((600, 600), activation="tanh", n_inference_steps=20,
                                 inference_tol=0.0, loss="squared_error", batch_size=batch,
                                 random_state=0)
    model.partial_fit(X[:batch], y[:batch], classes=np.arange(10))
    return lambda: model.partial_fit(X, y)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--old", required=True, help="folder holding sklearn_pc_old")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", default=None)
    parser.add_argument("--fit", action="store_true",
                        help="time whole partial_fit calls by the wall clock instead, on "
                             "the threads the environment allows (GNCN pdh and t1, PC MLP "
                             "at batch 32 and 128)")
    args = parser.parse_args()
    sys.path.insert(0, args.old)
    import sklearn_pc
    import sklearn_pc_old
    warnings.simplefilter("ignore")
    cases = {f"gncn {v} batch {b}": (lambda p, v=v, b=b: gncn_settle(p, v, b))
             for v in ("t1", "pdh") for b in (128, 512)}
    cases["pc train batch 128"] = lambda p: pc_batch(p, 128)
    clock = time.process_time
    if args.fit:
        cases = {f"gncn {v} partial_fit": (lambda p, v=v: gncn_fit(p, v)) for v in ("pdh", "t1")}
        cases.update({f"pc partial_fit batch {b}": (lambda p, b=b: pc_fit(p, b))
                      for b in (32, 128)})
        clock = time.perf_counter
    for name, make in cases.items():
        if args.only and args.only not in name:
            continue
        runs = {"old": make(sklearn_pc_old), "new": make(sklearn_pc)}
        times = {"old": [], "new": []}
        for run in runs.values():
            run()  # warm up
        for _ in range(args.rounds):
            for label, run in runs.items():
                start = clock()
                run()
                times[label].append(clock() - start)
        old, new = statistics.median(times["old"]), statistics.median(times["new"])
        print(f"{name:24s} old {old * 1e3:8.1f} ms  new {new * 1e3:8.1f} ms  "
              f"new/old {new / old:.3f}", flush=True)


if __name__ == "__main__":
    main()
