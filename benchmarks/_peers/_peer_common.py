"""Shared by the peer drivers, which run in the peer virtual environment.

Thread limits must be in place before jax is imported: ``configure_threads``
is called first thing by every driver.
"""

import json
import os
import sys
import time


def configure_threads(n_threads):
    """Pin this process to ``n_threads`` cores and cap XLA's and BLAS's pools."""
    n = str(n_threads)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = n
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" not in flags:
        multi = "true" if n_threads > 1 else "false"
        flags += (f" --xla_cpu_multi_thread_eigen={multi}"
                  f" intra_op_parallelism_threads={n_threads}")
    os.environ["XLA_FLAGS"] = flags.strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        if n_threads < len(cpus):
            os.sched_setaffinity(0, cpus[:n_threads])


def parse(argv=None):
    """``driver.py IN.npz OUT.json MODE`` plus ``--threads N``."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("inputs")
    parser.add_argument("output")
    parser.add_argument("mode", choices=["check", "time", "accuracy"])
    parser.add_argument("--threads", type=int, default=1)
    return parser.parse_args(argv)


def write(path, payload):
    with open(path, "w") as f:
        json.dump(payload, f)


def versions():
    from importlib.metadata import version

    out = {"python": sys.version.split()[0]}
    for name in ("jax", "jaxlib", "numpy", "pcx", "equinox", "optax", "ngclearn", "ngcsimlib",
                 "pydeepity"):
        try:
            out[name] = version(name)
        except Exception:
            pass
    return out


class Stopwatch:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def elapsed(self):
        """Seconds since the start, read inside the block."""
        return time.perf_counter() - self.start

    def __exit__(self, *exc):
        self.seconds = self.elapsed()
