"""Helpers shared by the benchmark scripts: data, machine facts, result files."""

import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

RESULTS = Path(__file__).resolve().parent / "results"


def load_classification_data(name, dtype, n_train=None, random_state=0):
    """``(X_train, y_train, X_test, y_test)`` scaled to [0, 1]."""
    if name == "mnist":
        from sklearn_pc.datasets import fetch_mnist

        X_train, y_train, X_test, y_test = fetch_mnist(return_X_y=True, dtype=dtype)
    else:
        X, y = load_digits(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            (X / 16).astype(dtype), y, test_size=0.25, random_state=random_state)
    if n_train is not None:
        X_train, y_train = X_train[:n_train], y_train[:n_train]
    return X_train, y_train, X_test, y_test


def machine():
    """Facts that make a timing comparable."""
    import os

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "cpu_count": os.cpu_count(),
        "processor": platform.machine(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
    }


def timed(func, *args, **kwargs):
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return result, time.perf_counter() - start


def write_results(name, payload, markdown):
    """Write ``results/NAME.json`` and ``results/NAME.md``; return their paths."""
    RESULTS.mkdir(exist_ok=True)
    payload = {"command": "python " + " ".join(sys.argv), "machine": machine(), **payload}
    json_path = RESULTS / f"{name}.json"
    md_path = RESULTS / f"{name}.md"
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    md_path.write_text(markdown.rstrip() + f"\n\nCommand: `{payload['command']}`\n")
    return json_path, md_path
