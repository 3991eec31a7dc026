"""Helpers shared by the benchmark scripts: data, machine facts, result files."""

import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
# Long runs checkpoint here, outside the repository (override with SKLEARN_PC_RUNS).
RUNS = Path(os.environ.get("SKLEARN_PC_RUNS", Path.home() / ".cache" / "sklearn_pc_runs"))


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


def blas_libraries():
    """The BLAS libraries loaded (numpy's, scipy's), each with the kernel it
    picked, and any ``OPENBLAS_CORETYPE`` that pinned OpenBLAS's choice.

    OpenBLAS picks its kernels for the processor when it loads, unless
    ``OPENBLAS_CORETYPE`` names one.  Some machines set it to an older kernel
    (Haswell's AVX2 on an AVX-512 processor, say) to work around older OpenBLAS
    builds; numpy's products then run up to 1.7x slower than the processor
    allows, while a peer with kernels of its own (XLA) is not slowed.  Every
    timing therefore says which kernel it ran.
    """
    from threadpoolctl import threadpool_info

    libraries = sorted(
        ({"internal_api": info["internal_api"], "version": info["version"],
          "architecture": info.get("architecture"), "num_threads": info["num_threads"],
          "folder": Path(info["filepath"]).parent.name}
         for info in threadpool_info() if info["user_api"] == "blas"),
        key=lambda library: library["folder"])
    return {"libraries": libraries, "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}


def cpu_model():
    """The processor's model name (Linux's ``/proc/cpuinfo``; elsewhere what
    :func:`platform.processor` says).  Timings from different processors are
    not comparable: on our 2-core machines, the fraction of the GEMM peak the
    core reaches differs from one model to another."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    if "model name" not in fields:
        return platform.processor() or platform.machine()
    # virtual machines often show a generic name: the family and model number tell more
    return (f"{fields['model name']} (family {fields.get('cpu family')}, "
            f"model {fields.get('model')})")


def available_cpus():
    """CPUs this process may run on (its affinity where the platform says)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


def blas_sentence():
    """One Markdown sentence naming the processor and the BLAS kernels of this
    run (see :func:`blas_libraries`)."""
    facts = blas_libraries()
    names = ", ".join(f"{lib['internal_api']} {lib['version']} in {lib['folder']} "
                      f"({lib['architecture']} kernel)" for lib in facts["libraries"])
    pinned = facts["OPENBLAS_CORETYPE"]
    return (f"Processor: {cpu_model()}, {available_cpus()} CPUs available.  "
            f"BLAS: {names or 'none found'}, "
            + (f"pinned by `OPENBLAS_CORETYPE={pinned}`." if pinned else
               "the kernels OpenBLAS picked for this processor (`OPENBLAS_CORETYPE` unset)."))


def warn_if_blas_pinned():
    """Say so on stderr when ``OPENBLAS_CORETYPE`` pins numpy's BLAS kernel."""
    pinned = os.environ.get("OPENBLAS_CORETYPE")
    if pinned:
        print(f"note: OPENBLAS_CORETYPE={pinned} pins numpy's BLAS kernel; to time the "
              "processor's own, run under `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`",
              file=sys.stderr)


def machine():
    """Facts that make a timing comparable."""
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "cpu_count": os.cpu_count(),
        "available_cpus": available_cpus(),
        "processor": platform.machine(),
        "cpu_model": cpu_model(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "blas": blas_libraries(),
        # whether the kernels ran on the compiled accelerator (built at install,
        # on unless SKLEARN_PC_NO_COMPILED is set): it changes timings, not results
        "accelerator": accelerator_in_use(),
    }


def accelerator_in_use():
    """Whether sklearn-pc's compiled accelerator runs the elementwise kernels."""
    from sklearn_pc._core import _kernels
    return _kernels._in_use is not None


def provenance():
    """What made a result: the exact command, the git commit (whether tracked
    files differed from it, and which), and the versions of the packages."""
    import joblib
    import scipy

    import sklearn_pc

    def git(*words):
        try:
            return subprocess.run(["git", *words], cwd=ROOT, capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"command": "python " + shlex.join(sys.argv), "commit": commit,
            "dirty": None if status is None else bool(status),
            "dirty_files": None if status is None else (
                git("diff", "--name-only", "HEAD") or "").splitlines(),
            "packages": {"sklearn_pc": sklearn_pc.__version__, "numpy": np.__version__,
                         "scipy": scipy.__version__, "scikit-learn": sklearn.__version__,
                         "joblib": joblib.__version__}}


def estimator_params(estimator):
    """Every constructor parameter, JSON-ready (a RandomState becomes its name)."""
    return {key: (value if isinstance(value, (str, int, float, bool, type(None), list, tuple))
                  else type(value).__name__)
            for key, value in estimator.get_params(deep=False).items()}


def timed(func, *args, **kwargs):
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return result, time.perf_counter() - start


# The settings every row of an NGC results table shares (reproduce_ngc.py,
# compare_autoencoders.py): a row read from an earlier file must have been made
# with the same ones.
PROTOCOL = ("epochs", "batch_size", "components", "prior_samples", "mc_samples",
            "latent_subset", "seed")


def read_results(name, args, protocol, folder=None):
    """The payload of the results file ``folder/NAME.json`` (default:
    ``RESULTS``) and its own source (file, command, commit, dirty flag), after
    checking that its ``settings`` agree with ``args`` on ``protocol``: a
    missing file, a file that records no settings, or a difference raises
    ``SystemExit`` naming it."""
    path = (folder or RESULTS) / f"{name}.json"
    if not path.exists():
        raise SystemExit(f"no results file {path}")
    payload = json.loads(path.read_text())
    settings = payload.get("settings")
    if settings is None:
        raise SystemExit(f"{name}.json records no settings, so whether it was made with this "
                         "run's protocol cannot be checked")
    differ = {field: {"file": settings.get(field, "missing"), "here": getattr(args, field)}
              for field in protocol if settings.get(field, "missing") != getattr(args, field)}
    if differ:
        raise SystemExit(f"{name}.json was made with other settings than this run's: "
                         f"{json.dumps(differ)}")
    return payload, {"file": f"{name}.json", **{
        field: payload.get(field) for field in ("command", "commit", "dirty")}}


def read_rows(names, args, protocol=PROTOCOL, folder=None, key="rows"):
    """The rows (entries of ``payload[key]``) of the results files ``NAMES``
    (:func:`read_results`, which checks their protocol), and for each where it
    was measured.

    A table can then be assembled from rows measured by earlier commands (one
    long run per row, say) without training anything.  A row's source is the
    one its file records (a file assembled this way keeps its rows' origins),
    else the file's own.  A later file's row replaces an earlier one's.
    """
    rows, sources = {}, {}
    for name in names:
        payload, own = read_results(name, args, protocol, folder)
        if key not in payload:
            raise SystemExit(f"{name}.json holds no {key!r}")
        for row_name, row in payload[key].items():
            rows[row_name] = row
            recorded = payload.get("sources", {}).get(row_name)
            sources[row_name] = recorded if isinstance(recorded, dict) else own
    return rows, sources


def source_label(source):
    """A row's source for a Markdown table: "this run", or file and commit."""
    if not isinstance(source, dict):
        return source
    commit = (source.get("commit") or "unknown")[:7] + (", dirty" if source.get("dirty") else "")
    return f"`{source['file']}` ({commit})"


def earlier_sources_line(what, items, commands=True, others=""):
    """One Markdown line naming, per earlier command, the ``items`` (pairs of a
    label and its source) that ``--from-results`` took from it; ``[]`` when
    every item is this run's (a source that is not a dict).  ``others``: what
    the line says of this run's items, if it has any."""
    earlier, ours = {}, False  # per earlier command: its source and its items' labels
    for label, source in items:
        if isinstance(source, dict):
            earlier.setdefault(json.dumps(source, sort_keys=True), (source, []))[1].append(label)
        else:
            ours = True
    if not earlier:
        return []
    others = others if ours else ""
    return ["", f"{what} measured by earlier commands (`--from-results`){others}: " + "; ".join(
        ", ".join(labels) + f": {source_label(source)}"
        + (f", `{source['command']}`" if commands else "")
        for source, labels in earlier.values()) + "."]


# The code a run measured is the code at its start: long runs outlive commits.
_AT_START = provenance()


def write_results(name, payload, markdown):
    """Write ``results/NAME.json`` and ``results/NAME.md``; return their paths.

    The provenance is the one taken when the script started (this module's
    import); if the checkout moved or changed while it ran, the one at the
    end is recorded too, as ``"at_write"``.
    """
    RESULTS.mkdir(exist_ok=True)
    at_write = provenance()
    moved = {key: at_write[key] for key in ("commit", "dirty", "dirty_files")
             if at_write[key] != _AT_START[key]}
    payload = {**_AT_START, **({"at_write": moved} if moved else {}), "machine": machine(),
               **payload}
    json_path = RESULTS / f"{name}.json"
    md_path = RESULTS / f"{name}.md"
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    md_path.write_text(markdown.rstrip() + f"\n\nCommand: `{payload['command']}`\n")
    return json_path, md_path
