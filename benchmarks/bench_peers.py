"""sklearn-pc against pcx and ngc-learn at equal work, and PCClassifier vs MLPClassifier.

Peers (never dependencies of sklearn-pc) live in their own virtual environment,
``benchmarks/.peers-venv``, created once by this script (CPU JAX, ``pcx`` and
``ngclearn``); their models run in subprocesses of that environment's python
(``benchmarks/_peers/*.py``), ours in this interpreter.  Every comparison
starts from the same initial weights and data, handed over in a ``.npz``.

1. Correctness first: the PC MLP (tanh, squared error, tied feedback, bias)
   relaxed for T steps by gradient descent on the states from the feedforward
   sweep (our ``inference="alternating"``, pcx with ``optax.sgd(rate)`` on its
   Vodes), then one weight step; the GNCN-t1 settled for T steps from zero,
   then one Hebbian step.  Settled states, weight gradients and the Adam
   updates are compared (relative L2 errors).
2. Throughput (samples/s, float32) of training and inference at batch 128 and
   512: PC MLP 784-600-600-10 T = 20 (ours vs pcx), GNCN-t1 784-360-360-360
   T = 50 (ours vs ngc-learn); JIT compilation timed separately.  Each round
   also times the ceiling: a batch whose only cost is our matrix products, at
   the GEMM peak of numpy loops over the same products; at equal work no
   implementation that multiplies with numpy's BLAS can beat a peer by more
   than the ceiling over the peer's throughput.
3. Time to 98 % MNIST test accuracy (evaluated after each epoch, epochs
   capped): PCClassifier with its defaults (relu, log-loss, T = hidden layers
   + 1, per-row early exit) and without the early exit, MLPClassifier, and
   pcx's PC MLP on the same network, loss and steps, their epochs run in
   turns; and the floor of an epoch (every batch's bottom-up sweep at the
   GEMM peak plus one Adam update).

Optional peer: pydeepity (``pip install pydeepity==0.1.0a3`` into this environment or
the peer one; a compiled engine needing only numpy) runs the same PC MLP through
``_peers/deepity_mlp.py`` in the correctness check and the throughput rounds.  Without
it (or with ``--skip-deepity`` / ``--skip-peers``) it is skipped with a message.

    python benchmarks/bench_peers.py --threads 2                  # full run
    python benchmarks/bench_peers.py --check-only                 # correctness checks only
    python benchmarks/bench_peers.py --quick                      # smoke run, load_digits
    python benchmarks/bench_peers.py --n-train 2000 --epochs 1 --n-batches 2 --name small
    python benchmarks/bench_peers.py --threads 2 --mlp-only --hidden 512 512 \
        --mlp-activation logistic --batch-sizes 250 --skip-accuracy \
        --name bench_peers_deepity_published       # pydeepity's published MNIST shape
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = HERE / "_peers"
DEFAULT_VENV = HERE / ".peers-venv"
# pcx 0.6.3 pins jax < 0.5; ngclearn 3.2.1 accepts it.  (The PyPI name "pcx" also has
# an unrelated 0.0.1 placeholder, hence the pin.)
PEER_REQUIREMENTS = ["pcx==0.6.3", "ngclearn==3.2.1", "jax[cpu]>=0.4.33,<0.5"]
# optional, never installed by this script: an alpha with wheels for CPython >= 3.11 only
DEEPITY_REQUIREMENT = "pydeepity==0.1.0a3"


def _limit_threads(n_threads):
    """Same thread budget as the peers get: BLAS pools and CPU affinity."""
    n = str(n_threads)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = n
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        if n_threads < len(cpus):
            os.sched_setaffinity(0, cpus[:n_threads])
    from threadpoolctl import threadpool_limits

    return threadpool_limits(n_threads)


if __name__ == "__main__":  # before numpy loads its BLAS
    _pre = argparse.ArgumentParser(add_help=False)
    _pre.add_argument("--threads", type=int, default=2)
    _THREADS = _pre.parse_known_args()[0].threads
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = str(_THREADS)

import numpy as np  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

from _common import (blas_sentence, load_classification_data,  # noqa: E402
                     warn_if_blas_pinned, write_results)
from bench_core import (gemm_rate, gncn_products, mlp_arrays,  # noqa: E402
                        pc_inference_products, pc_products, update_ms)
from sklearn_pc import GNCNAutoencoder, PCClassifier  # noqa: E402
from sklearn_pc._core._learning import gradient_factors, local_gradients  # noqa: E402
from sklearn_pc._core._threads import row_parallelism  # noqa: E402
from sklearn_pc._core._ngc import normalize_columns  # noqa: E402
from sklearn_pc._core._relaxation import relax  # noqa: E402

ADAM_EPS = 1e-8
# pydeepity's Adam: scikit-learn's (and our) form, eps 1e-8, but on the batch-summed
# gradient: on the batch mean that is eps 1e-8 / batch (fitted to its first two steps at
# batch 3 to 192)
DEEPITY_ADAM_EPS = 1e-8


# -- the peer environment -------------------------------------------------------------
def peer_python(venv):
    return Path(venv) / "bin" / "python"


def peer_env_ok(venv):
    python = peer_python(venv)
    if not python.exists():
        return False
    result = subprocess.run([str(python), "-c", "import pcx, ngclearn, jax"],
                            capture_output=True, text=True, check=False)
    return result.returncode == 0


def ensure_peer_env(venv, install):
    """Return the peer python, creating the environment once if asked to; None if absent."""
    if peer_env_ok(venv):
        return peer_python(venv)
    if not install:
        return None
    print(f"creating the peer environment {venv} (once) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(peer_python(venv)), "-m", "pip", "install", "--quiet"]
    subprocess.run(pip + ["--upgrade", "pip"], check=True)
    subprocess.run(pip + PEER_REQUIREMENTS, check=True)
    if not peer_env_ok(venv):
        raise RuntimeError(f"the peer environment {venv} does not import pcx and ngclearn")
    return peer_python(venv)


def find_deepity(venv):
    """The interpreter that imports pydeepity's ``deepity``: this one, else the peer
    environment's; None if neither does."""
    candidates = [Path(sys.executable)]
    if peer_python(venv).exists():
        candidates.append(peer_python(venv))
    for python in candidates:
        result = subprocess.run([str(python), "-c", "import deepity"], capture_output=True,
                                text=True, check=False)
        if result.returncode == 0:
            return python
    return None


def run_peer(python, script, mode, arrays, threads, timeout=None):
    """Run ``_peers/SCRIPT`` on ``arrays``; return (its arrays, its meta dict, wall seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        inputs, outputs = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        np.savez(inputs, **arrays)
        env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
        start = time.perf_counter()
        result = subprocess.run(
            [str(python), str(PEERS / script), str(inputs), str(outputs), mode,
             "--threads", str(threads)], capture_output=True, text=True, env=env, timeout=timeout,
            check=False)
        seconds = time.perf_counter() - start
        if result.returncode != 0:
            raise RuntimeError(f"{script} {mode} failed:\n{result.stderr[-4000:]}")
        with np.load(outputs) as data:
            out = {k: data[k] for k in data.files if k != "meta"}
            meta = json.loads(str(data["meta"]))
    return out, meta, seconds


def rel(a, b):
    """Relative L2 error of ``a`` against the reference ``b``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def rel_where_resolved(a, b, grad):
    """``rel`` over the entries whose gradient is above 1e-4 of its largest entry.

    Adam's first step is ``lr g / (|g| + eps)``, about ``lr sign(g)``: where ``g`` is
    within float32 rounding of zero (sums of hundreds of terms that cancel), rounding
    differences flip the step, so those entries measure rounding, not the maths."""
    mask = np.abs(grad) > 1e-4 * np.abs(grad).max()
    return rel(np.asarray(a)[mask], np.asarray(b)[mask])


def first_adam_step(grad, lr, eps=ADAM_EPS):
    """Adam's first step as optax and ngc-learn take it: ``-lr g / (|g| + eps)``."""
    return -lr * grad / (np.abs(grad) + np.float32(eps))


def deepity_first_adam_step(grad, lr, batch, beta_2=0.999):
    """pydeepity's first Adam step from our batch-mean gradient ``grad``: our Adam (eps
    added to ``sqrt(v)``, so ``eps / sqrt(1 - beta_2)`` against ``|g|`` at the first
    step) on the batch sum, i.e. with eps divided by the batch size."""
    return first_adam_step(grad, lr, DEEPITY_ADAM_EPS / (batch * np.sqrt(1 - beta_2)))


# -- PC MLP ---------------------------------------------------------------------------
def make_pc(args, batch_size, **kwargs):
    """The PC MLP of the correctness and throughput runs: ``args.mlp_activation``
    (tanh by default), squared error, ``args.mlp_steps`` steps, every row relaxed
    for all of them."""
    params = dict(activation=args.mlp_activation, input_activation=None, weight_decay=0.0,
                  inference="alternating", n_inference_steps=args.mlp_steps,
                  inference_rate=args.mlp_rate, inference_tol=0.0, loss="squared_error",
                  feedback="tied", fit_intercept=True, solver="adam",
                  learning_rate_init=args.lr, batch_size=batch_size, shuffle=False, max_iter=1)
    return PCClassifier(tuple(args.hidden), **{**params, **kwargs})


def pc_start(args, X, y, batch_size, **kwargs):
    """A PCClassifier whose weights are the common initial ones (Glorot, zero biases)
    and whose next ``partial_fit`` starts a fresh Adam; ``kwargs`` override
    ``make_pc``'s parameters."""
    clf = make_pc(args, batch_size, random_state=args.seed, **kwargs)
    clf.partial_fit(X[:batch_size], y[:batch_size], classes=np.unique(y))  # classes_, ...
    clf._initialize([X.shape[1], *args.hidden, len(clf.classes_)], X.dtype,
                    np.random.RandomState(args.seed))
    clf._reset_history()
    clf._sync_optimizers(reset=True)
    return clf


def pc_arrays(clf):
    arrays = {"n_layers": len(clf.coefs_), "activation": clf.activation}
    for i, (m, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        arrays[f"M{i}"], arrays[f"b{i}"] = m.copy(), b.copy()
    return arrays


def one_hot(y, classes):
    return (y[:, None] == classes).astype(np.float32)


def first_mlp_step(args, X, y):
    """Our side of the MLP check: the relaxed states, the local gradients and
    one real training step (fresh Adam) from one start, on the first batch."""
    B = args.batch_sizes[0]
    X, y = X[:B], y[:B]
    clf = pc_start(args, X, y, B)
    Y = one_hot(y, clf.classes_)
    initial = pc_arrays(clf)
    network = clf._network()
    states = network.feedforward(X)
    states[-1] = Y.copy()
    errors = relax(network, states, clamp_bottom=True, clamp_top=True, schedule="alternating",
                   n_steps=args.mlp_steps, rate=args.mlp_rate)
    grads = local_gradients(network, gradient_factors(network, states, errors))
    clf.partial_fit(X, y)
    return X, Y, clf, initial, states, grads


def check_mlp(args, python, X, y):
    X, Y, clf, initial, states, grads = first_mlp_step(args, X, y)
    B, n = X.shape[0], len(clf.coefs_)
    out, meta, _ = run_peer(python, "pcx_mlp.py", "check",
                            {**initial, "X": X, "Y": Y, "T": args.mlp_steps,
                             "rate": args.mlp_rate, "lr": args.lr}, args.threads)
    report = {"batch": B, "layers": [X.shape[1], *args.hidden, Y.shape[1]],
              "states": [rel(states[i], out[f"state{i}"]) for i in range(1, n + 1)],
              "grad_M": [rel(grads[i], out[f"gradM{i}"]) for i in range(n)],
              "grad_b": [rel(grads[n + i], out[f"gradb{i}"]) for i in range(n)],
              "adam_update_M": [rel(clf.coefs_[i] - initial[f"M{i}"],
                                    out[f"newM{i}"] - initial[f"M{i}"]) for i in range(n)],
              "adam_update_M_peer_eps": [rel(first_adam_step(grads[i], args.lr),
                                             out[f"newM{i}"] - initial[f"M{i}"])
                                         for i in range(n)],
              "adam_update_M_peer_eps_resolved": [
                  rel_where_resolved(first_adam_step(grads[i], args.lr),
                                     out[f"newM{i}"] - initial[f"M{i}"], grads[i])
                  for i in range(n)]}
    return report, meta["versions"]


def check_mlp_deepity(args, python, X, y):
    """The same check against pydeepity's SimplePCN (``_peers/deepity_mlp.py``)."""
    X, Y, clf, initial, states, grads = first_mlp_step(args, X, y)
    B, n = X.shape[0], len(clf.coefs_)
    out, meta, _ = run_peer(python, "deepity_mlp.py", "check",
                            {**initial, "X": X, "Y": Y, "T": args.mlp_steps,
                             "rate": args.mlp_rate, "lr": args.lr, "loss": "squared_error"},
                            args.threads)

    def peer_update(i):
        return out[f"newM{i}"] - initial[f"M{i}"]

    def ours_with_peer_eps(i):
        return deepity_first_adam_step(grads[i], args.lr, B)

    report = {"batch": B, "layers": [X.shape[1], *args.hidden, Y.shape[1]],
              "states": [rel(states[i], out[f"state{i}"]) for i in range(1, n + 1)],
              "grad_M": [rel(grads[i], out[f"gradM{i}"]) for i in range(n)],
              "grad_b": [rel(grads[n + i], out[f"gradb{i}"]) for i in range(n)],
              "grad_M_own_train_step": [rel(grads[i], out[f"ownGradM{i}"]) for i in range(n)],
              "adam_update_M": [rel(clf.coefs_[i] - initial[f"M{i}"], peer_update(i))
                                for i in range(n)],
              "adam_update_M_peer_eps": [rel(ours_with_peer_eps(i), peer_update(i))
                                         for i in range(n)],
              "adam_update_M_peer_eps_resolved": [
                  rel_where_resolved(ours_with_peer_eps(i), peer_update(i), grads[i])
                  for i in range(n)],
              "adam_update_b_peer_eps": [
                  rel(deepity_first_adam_step(grads[n + i], args.lr, B),
                      out[f"newb{i}"] - initial[f"b{i}"]) for i in range(n)]}
    return report, meta["versions"]


def time_mlp_ours(args, X_pool, y_pool):
    results = {}
    for B in args.batch_sizes:
        n = B * args.n_batches
        X, y = X_pool[:n], y_pool[:n]
        clf = pc_start(args, X, y, B)
        start = time.perf_counter()
        clf.partial_fit(X[:B], y[:B])  # warm-up (no JIT here; first-call costs only)
        first = time.perf_counter() - start
        clf = pc_start(args, X, y, B)
        start = time.perf_counter()
        clf.partial_fit(X, y)
        train = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(args.n_batches):
            clf.predict(X[i * B:(i + 1) * B])
        infer = time.perf_counter() - start
        results[str(B)] = {"train_samples_per_s": n / train, "train_first_call_s": first,
                           "train_compile_s": 0.0, "infer_samples_per_s": n / infer,
                           "infer_compile_s": 0.0, "n_samples": n}
    return results


def time_mlp_pcx(args, python, X_pool, y_pool):
    clf = pc_start(args, X_pool, y_pool, args.batch_sizes[0])
    arrays = {**pc_arrays(clf), "X": X_pool, "Y": one_hot(y_pool, clf.classes_),
              "T": args.mlp_steps, "rate": args.mlp_rate, "lr": args.lr,
              "batch_sizes": np.array(args.batch_sizes), "n_batches": args.n_batches}
    _, meta, _ = run_peer(python, "pcx_mlp.py", "time", arrays, args.threads)
    return meta["results"]


def time_mlp_deepity(args, python, X_pool, y_pool):
    clf = pc_start(args, X_pool, y_pool, args.batch_sizes[0])
    arrays = {**pc_arrays(clf), "X": X_pool, "Y": one_hot(y_pool, clf.classes_),
              "T": args.mlp_steps, "rate": args.mlp_rate, "lr": args.lr,
              "loss": "squared_error",
              "batch_sizes": np.array(args.batch_sizes), "n_batches": args.n_batches}
    _, meta, _ = run_peer(python, "deepity_mlp.py", "time", arrays, args.threads)
    return meta["results"]


# -- GNCN-t1 --------------------------------------------------------------------------
def make_gncn(args, batch_size, *, leak, sparsity):
    return GNCNAutoencoder("t1", tuple(args.latent), n_inference_steps=args.gncn_steps,
                           inference_rate=args.beta, leak=leak, sparsity_penalty=sparsity,
                           learning_rate_init=args.lr, solver="adam", batch_size=batch_size)


def gncn_start(args, n_features, batch_size, **kwargs):
    model = make_gncn(args, batch_size, **kwargs)
    model._initialize(n_features, np.float32, np.random.RandomState(args.seed))
    model._reset_history()
    model._sync_optimizers(reset=True)
    model.n_features_in_ = n_features
    return model


def gncn_arrays(model, args, prior, prior_rate):
    arrays = {"n_layers": len(model.weights_), "beta": args.beta, "prior": prior,
              "prior_rate": prior_rate, "lr": args.lr, "T": args.gncn_steps}
    for l, w in enumerate(model.weights_, start=1):
        arrays[f"W{l}"] = w.copy()
    return arrays


# ngc-learn's RateCell takes one prior: Laplace (lambda sign z) or Gaussian (gamma z)
GNCN_CHECKS = {"laplace": dict(prior="laplacian", leak=0.0, sparsity=0.01),
               "leak": dict(prior="gaussian", leak=0.001, sparsity=0.0)}


def first_gncn_step(args, X, cfg):
    """Our side of a GNCN-t1 check: the settled states, the gradients and one
    real training step (fresh Adam) from one start, on the first batch."""
    B = args.batch_sizes[0]
    X = X[:B]
    rate = cfg["sparsity"] if cfg["prior"] == "laplacian" else cfg["leak"]
    model = gncn_start(args, X.shape[1], B, leak=cfg["leak"], sparsity=cfg["sparsity"])
    initial = [w.copy() for w in model.weights_]
    arrays = {**gncn_arrays(model, args, cfg["prior"], rate), "X": X}
    network = model._network()
    states = network.settle(X, args.gncn_steps)[0]
    grads, _, _ = network.gradients(X, states)
    model._train_batch(network, X, 1)
    return model, initial, arrays, states, grads


def check_gncn(args, python, X):
    B = args.batch_sizes[0]
    reports = {}
    for name, cfg in GNCN_CHECKS.items():
        model, initial, arrays, states, grads = first_gncn_step(args, X, cfg)
        out, meta, _ = run_peer(python, "ngclearn_gncn.py", "check", arrays, args.threads)
        fused = meta["results"]["fused_vs_process_max_abs_diff"]
        L = len(initial)

        def peer_eps_update(l, initial=initial, grads=grads):
            w = initial[l] + first_adam_step(grads[l], args.lr)
            normalize_columns(w)
            return w - initial[l]

        reports[name] = {
            "config": cfg, "batch": B, "fused_vs_process_max_abs_diff": fused,
            "states": [rel(states[l], out[f"state{l + 1}"]) for l in range(L)],
            "grad_W": [rel(grads[l], out[f"grad{l + 1}"]) for l in range(L)],
            "adam_update_W": [rel(model.weights_[l] - initial[l], out[f"new{l + 1}"] - initial[l])
                              for l in range(L)],
            "adam_update_W_peer_eps": [rel(peer_eps_update(l), out[f"new{l + 1}"] - initial[l])
                                       for l in range(L)],
            "adam_update_W_peer_eps_resolved": [
                rel_where_resolved(peer_eps_update(l), out[f"new{l + 1}"] - initial[l], grads[l])
                for l in range(L)]}
    return reports, meta["versions"]


def time_gncn_ours(args, X_pool):
    cfg = GNCN_CHECKS["laplace"]
    results = {}
    for B in args.batch_sizes:
        n = B * args.n_batches
        batches = [X_pool[i * B:(i + 1) * B] for i in range(args.n_batches)]
        model = gncn_start(args, X_pool.shape[1], B, leak=cfg["leak"], sparsity=cfg["sparsity"])
        start = time.perf_counter()
        with row_parallelism(B) as n_blocks:
            model._train_batch(model._network(), batches[0], n_blocks)  # warm-up
        first = time.perf_counter() - start
        model = gncn_start(args, X_pool.shape[1], B, leak=cfg["leak"], sparsity=cfg["sparsity"])
        network = model._network()
        start = time.perf_counter()
        with row_parallelism(B) as n_blocks:
            for x in batches:  # fit's inner loop (fit itself also fits the GMM prior)
                model._train_batch(network, x, n_blocks)
        train = time.perf_counter() - start
        start = time.perf_counter()
        for x in batches:
            model.transform(x)
        infer = time.perf_counter() - start
        results[str(B)] = {"train_samples_per_s": n / train, "train_first_call_s": first,
                           "train_compile_s": 0.0, "infer_samples_per_s": n / infer,
                           "infer_compile_s": 0.0, "n_samples": n}
    return results


def time_gncn_ngclearn(args, python, X_pool):
    cfg = GNCN_CHECKS["laplace"]
    model = gncn_start(args, X_pool.shape[1], args.batch_sizes[0], leak=cfg["leak"],
                       sparsity=cfg["sparsity"])
    arrays = {**gncn_arrays(model, args, cfg["prior"], cfg["sparsity"]), "X": X_pool,
              "batch_sizes": np.array(args.batch_sizes), "n_batches": args.n_batches}
    _, meta, _ = run_peer(python, "ngclearn_gncn.py", "time", arrays, args.threads)
    return meta["results"]


# -- the GEMM ceiling -----------------------------------------------------------------
def products_rate(products, args):
    """Samples per second of a batch whose only cost is its matrix ``products``,
    run at the GEMM peak (the better of ``bench_core.gemm_rate``'s two numpy loops)."""
    batch = products[0][0]
    flops = sum(2 * m * k * n for m, k, n, _ in products)
    return batch * gemm_rate(products, np.float32, args.gemm_seconds)["peak"] * 1e9 / flops


def ceiling_mlp(args, sizes):
    """Training and inference throughput of the PC MLP of layer ``sizes`` if our
    matrix products (``bench_core.pc_products``: wavefront skipped) were all it cost."""
    return {str(B): {"train_samples_per_s": products_rate(pc_products(B, sizes, args.mlp_steps),
                                                          args),
                     "infer_samples_per_s": products_rate(pc_inference_products(B, sizes), args)}
            for B in args.batch_sizes}


def ceiling_gncn(args, sizes):
    """The same for GNCN-t1 (``bench_core.gncn_products`` without PDH's products)."""
    return {str(B): {key: products_rate(gncn_products(B, sizes, args.gncn_steps, training,
                                                      pdh=False), args)
                     for key, training in (("train_samples_per_s", True),
                                           ("infer_samples_per_s", False))}
            for B in args.batch_sizes}


def accuracy_floor(args, sizes, n_train):
    """Seconds per epoch that no PC network (nor backprop) trained with Adam at
    ``args.accuracy_batch`` can go below here: every batch takes its bottom-up
    sweep at the GEMM peak and one Adam update of the network's arrays, and
    nothing else costs time."""
    batch = args.accuracy_batch
    params, grads = mlp_arrays(sizes, np.random.default_rng(0))
    adam_s = update_ms("adam", params, grads, 200, 1) / 1e3
    sweep_s = batch / products_rate(pc_inference_products(batch, sizes), args)
    n_batches = -(-n_train // batch)
    return {"sweep_ms": 1e3 * sweep_s, "adam_ms": 1e3 * adam_s,
            "seconds_per_epoch": n_batches * (sweep_s + adam_s)}


# -- time to accuracy -----------------------------------------------------------------
class EpochRun:
    """Epochs of ``partial_fit`` on a fresh permutation each, test accuracy after each,
    one epoch per :meth:`step` (training time only)."""

    def __init__(self, model, X, y, X_test, y_test, args, classes, seed):
        self.model, self.X, self.y, self.X_test, self.y_test = model, X, y, X_test, y_test
        self.args, self.classes = args, classes
        self.rng = np.random.RandomState(seed)
        self.curve, self.elapsed, self.reached = [], 0.0, None

    def step(self):
        order = self.rng.permutation(self.X.shape[0])
        start = time.perf_counter()
        self.model.partial_fit(self.X[order], self.y[order], classes=self.classes)
        self.elapsed += time.perf_counter() - start
        point = {"epoch": len(self.curve) + 1, "train_seconds": self.elapsed,
                 "test_accuracy": float(self.model.score(self.X_test, self.y_test))}
        self.curve.append(point)
        if point["test_accuracy"] >= self.args.target:
            self.reached = {"epoch": point["epoch"], "train_seconds": self.elapsed}
        return point

    def result(self):
        return {"curve": self.curve, "reached": self.reached, "compile_s": 0.0,
                "best_accuracy": max(c["test_accuracy"] for c in self.curve)}


class PeerEpochRun:
    """The same for pcx's PC MLP, in a peer process that trains one epoch per
    ``epoch`` line it reads (``_peers/pcx_mlp.py``, mode ``accuracy``)."""

    def __init__(self, python, arrays, threads, target):
        self.tmp = tempfile.TemporaryDirectory()
        self.output = Path(self.tmp.name) / "out.npz"
        inputs = Path(self.tmp.name) / "in.npz"
        np.savez(inputs, **arrays)
        # stderr goes to a file: a pipe nobody reads while the peer trains could fill up
        self.stderr = open(Path(self.tmp.name) / "stderr.txt", "w+")
        env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
        self.process = subprocess.Popen(
            [str(python), str(PEERS / "pcx_mlp.py"), str(inputs), str(self.output), "accuracy",
             "--threads", str(threads)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.stderr, text=True, env=env)
        self.target, self.reached = target, None
        # wait until it has imported jax and loaded the data: that must not run beside the
        # other models' epochs
        self._read_until("READY")

    def _read_until(self, prefix):
        """The first line of the peer's stdout that starts with ``prefix``."""
        for line in self.process.stdout:
            if line.startswith(prefix):
                return line
        self.process.wait()
        raise self.failure()

    def failure(self):
        self.stderr.seek(0)
        return RuntimeError(f"pcx_mlp.py accuracy failed:\n{self.stderr.read()[-4000:]}")

    def step(self):
        self.process.stdin.write("epoch\n")
        self.process.stdin.flush()
        point = json.loads(self._read_until("EPOCH ")[len("EPOCH "):])
        if point["test_accuracy"] >= self.target:
            self.reached = {"epoch": point["epoch"], "train_seconds": point["train_seconds"]}
        return point

    def result(self):
        self.process.communicate("stop\n")
        try:
            if self.process.returncode != 0:
                raise self.failure()
            with np.load(self.output) as data:
                return json.loads(str(data["meta"]))["results"]
        finally:
            self.stderr.close()
            self.tmp.cleanup()


def interleave_epochs(runs, max_epochs):
    """Advance every run one epoch at a time, in turns (the order rotating from one
    epoch to the next), until each has reached its target or ``max_epochs``: the
    models see the machine at the same speed, which drifts within minutes."""
    active = list(runs.items())
    for epoch in range(max_epochs):
        shift = epoch % max(len(active), 1)
        for key, run in active[shift:] + active[:shift]:
            point = run.step()
            print(f"  {key} epoch {point['epoch']}: {point['train_seconds']:.1f} s, "
                  f"test accuracy {point['test_accuracy']:.4f}", flush=True)
        active = [(key, run) for key, run in active if run.reached is None]
        if not active:
            break
    return {key: run.result() for key, run in runs.items()}


def accuracy_steps(args):
    """Inference steps of the time-to-accuracy runs (``"auto"``: hidden layers + 1)."""
    return len(args.hidden) + 1 if args.accuracy_steps == "auto" else int(args.accuracy_steps)


def time_to_accuracy(args, python, X, y, X_test, y_test):
    """PCClassifier with its defaults (and without its early exit), MLPClassifier and
    pcx on the same network, activation, loss, steps and initial weights, once per
    seed (initial weights and epoch permutations), their epochs interleaved; lists
    of runs by model."""
    classes = np.unique(y)
    results = {"pc": [], "pc_no_exit": [], "mlp": [], "pcx": []}
    batch = args.accuracy_batch
    setting = dict(activation=args.accuracy_activation, loss=args.accuracy_loss,
                   n_inference_steps=("auto" if args.accuracy_steps == "auto"
                                      else int(args.accuracy_steps)))
    for seed in args.accuracy_seeds:
        print(f"time to accuracy, seed {seed}: PCClassifier (inference_tol="
              f"{args.accuracy_tol} and 0), MLPClassifier, pcx, epochs in turns", flush=True)
        run_args = argparse.Namespace(**{**vars(args), "seed": seed})
        runs = {}
        for key, tol in (("pc", args.accuracy_tol), ("pc_no_exit", 0.0)):
            clf = pc_start(run_args, X, y, batch, **setting, inference_tol=tol)
            runs[key] = EpochRun(clf, X, y, X_test, y_test, args, classes, seed)
        initial = pc_arrays(runs["pc"].model)
        mlp = MLPClassifier(tuple(args.hidden), activation=args.accuracy_activation,
                            solver="adam", alpha=0.0, batch_size=batch,
                            learning_rate_init=args.lr, shuffle=False, random_state=seed)
        runs["mlp"] = EpochRun(mlp, X, y, X_test, y_test, args, classes, seed)
        if python is not None and not args.skip_pcx_accuracy:
            arrays = {**initial, "X": X, "Y": one_hot(y, classes), "X_test": X_test,
                      "y_test": np.searchsorted(classes, y_test), "T": accuracy_steps(args),
                      "rate": args.mlp_rate, "lr": args.lr, "batch_size": batch,
                      "epochs": args.epochs, "target": args.target, "seed": seed,
                      "activation": args.accuracy_activation, "loss": args.accuracy_loss}
            runs["pcx"] = PeerEpochRun(python, arrays, args.threads, args.target)
        for key, run in interleave_epochs(runs, args.epochs).items():
            results[key].append(run)
    return {key: runs for key, runs in results.items() if runs}


def median_over_rounds(rounds):
    """One throughput result from several rounds: the median of each number, and
    the values of each rate per round (key ``..._rounds``)."""
    merged = {}
    for batch, first in rounds[0].items():
        merged[batch] = {}
        for key in first:
            values = [float(result[batch][key]) for result in rounds]
            merged[batch][key] = float(np.median(values))
            if key.endswith("_per_s"):
                merged[batch][key + "_rounds"] = values
    return merged


def median_time_to_target(runs):
    """Median seconds to the target over the runs (a run that missed it counts as
    infinitely slow), or None when half or more of them missed it."""
    seconds = [r["reached"]["train_seconds"] if r["reached"] else np.inf for r in runs]
    median = float(np.median(seconds))
    return median if np.isfinite(median) else None


# -- report ---------------------------------------------------------------------------
def fmt_errors(values):
    return ", ".join(f"{v:.1e}" for v in values)


def check_markdown(args, payload, command):
    """The header and the correctness sections."""
    lines = [f"# sklearn-pc vs pcx and ngc-learn at equal work ({payload['dataset']}, float32, "
             f"{args.threads} thread(s))", ""]
    versions = payload.get("peer_versions") or {}
    if versions:
        lines += ["Peers: " + ", ".join(f"{k} {v}" for k, v in versions.items()
                                        if k in ("pcx", "ngclearn", "ngcsimlib", "jax",
                                                 "jaxlib", "equinox", "optax")) +
                  "".join(f", pydeepity {v}" for k, v in
                          (payload.get("deepity_versions") or {}).items() if k == "pydeepity") +
                  f"; XLA_FLAGS `{payload.get('peer_xla_flags')}`, CPU affinity "
                  f"{args.threads} core(s) on both sides.  Ours: " + blas_sentence(), ""]
    else:
        lines += ["Peers skipped (no peer environment).  Ours: " + blas_sentence(), ""]
        if payload.get("deepity_versions"):
            lines += [f"pydeepity {payload['deepity_versions'].get('pydeepity')}.", ""]
    mlp_arch = "-".join(map(str, payload["mlp_layers"]))
    gncn_arch = "-".join(map(str, payload["gncn_layers"]))
    if "check_mlp" in payload:
        c = payload["check_mlp"]
        lines += ["## Correctness (same initial weights, same batch; relative L2 error, peer as "
                  "reference)", "",
                  f"PC MLP {mlp_arch} {args.mlp_activation}, squared error, "
                  f"T = {args.mlp_steps}, rate "
                  f"{args.mlp_rate}, batch {c['batch']} (ours: `inference=\"alternating\"`, "
                  "tied feedback; pcx: `optax.sgd(rate)` on the Vodes):", "",
                  "| quantity | per layer |", "|---|---|",
                  f"| settled states x[1..L] | {fmt_errors(c['states'])} |",
                  f"| weight gradients M | {fmt_errors(c['grad_M'])} |",
                  f"| bias gradients b | {fmt_errors(c['grad_b'])} |",
                  f"| first Adam update of M, ours vs pcx | {fmt_errors(c['adam_update_M'])} |",
                  f"| first Adam update of M, our gradient with optax's eps vs pcx | "
                  f"{fmt_errors(c['adam_update_M_peer_eps'])} |",
                  f"| same, entries with \\|g\\| > 1e-4 max\\|g\\| | "
                  f"{fmt_errors(c['adam_update_M_peer_eps_resolved'])} |", "",
                  "Adam's first step is about `lr sign(g)`: gradient entries within float32 "
                  "rounding of zero flip sign between implementations, which is all the "
                  "remaining update difference measures (the gradients themselves agree).", "",
                  f"Command: `{command}`", ""]
    if "check_gncn" in payload:
        lines += [f"GNCN-t1 {gncn_arch}, T = {args.gncn_steps}, beta {args.beta}, batch "
                  f"{args.batch_sizes[0]} (binarised):", "",
                  "| prior (ours / ngc-learn) | settled z(1..L) | dW | Adam + unit-norm update | "
                  "same with ngc-learn's eps | same, resolved gradient entries |",
                  "|---|---|---|---|---|---|"]
        for name, c in payload["check_gncn"].items():
            cfg = c["config"]
            label = (f"leak 0, lambda {cfg['sparsity']} / (\"laplacian\", {cfg['sparsity']})"
                     if name == "laplace" else
                     f"leak {cfg['leak']}, lambda 0 / (\"gaussian\", {cfg['leak']})")
            lines.append(f"| {label} | {fmt_errors(c['states'])} | {fmt_errors(c['grad_W'])} | "
                         f"{fmt_errors(c['adam_update_W'])} | "
                         f"{fmt_errors(c['adam_update_W_peer_eps'])} | "
                         f"{fmt_errors(c['adam_update_W_peer_eps_resolved'])} |")
        lines += ["", f"Command: `{command}`", ""]
    if "check_mlp_deepity" in payload:
        c = payload["check_mlp_deepity"]
        lines += [f"PC MLP {mlp_arch} against pydeepity's `SimplePCN` (same settings as "
                  "above; deepity: feedforward start, `train_step_with_projection` with T + 1 "
                  "steps, so that its gradient is taken after T state updates as ours, "
                  "`lmbda=0`, optimizer `\"ADAM\"`; its gradients read off one SGD step):",
                  "", "| quantity | per layer |", "|---|---|",
                  f"| settled states x[1..L] | {fmt_errors(c['states'])} |",
                  f"| weight gradients M | {fmt_errors(c['grad_M'])} |",
                  f"| bias gradients b | {fmt_errors(c['grad_b'])} |",
                  f"| weight gradients M of deepity's own `train_step` (T steps: gradient "
                  f"before the last state update) | {fmt_errors(c['grad_M_own_train_step'])} |",
                  f"| first Adam update of M, ours vs deepity | "
                  f"{fmt_errors(c['adam_update_M'])} |",
                  f"| first Adam update of M, our gradient with deepity's eps "
                  f"({DEEPITY_ADAM_EPS:g} on the batch sum) vs deepity | "
                  f"{fmt_errors(c['adam_update_M_peer_eps'])} |",
                  f"| same, entries with \\|g\\| > 1e-4 max\\|g\\| | "
                  f"{fmt_errors(c['adam_update_M_peer_eps_resolved'])} |",
                  f"| first Adam update of b, our gradient with deepity's eps | "
                  f"{fmt_errors(c['adam_update_b_peer_eps'])} |", "",
                  f"Command: `{command}`", ""]
    return lines


def markdown(args, payload, command):
    lines = check_markdown(args, payload, command)
    mlp_arch = "-".join(map(str, payload["mlp_layers"]))
    gncn_arch = "-".join(map(str, payload["gncn_layers"]))
    lines += ["## Throughput (samples/s; compile time excluded, reported apart)", "",
              "| model | batch | ours train | peer train | ratio ours/peer | ours infer | "
              "peer infer | ratio | peer compile train / infer (s) |",
              "|---|---|---|---|---|---|---|---|---|"]
    variants = (("mlp", "peer", "", f"PC MLP {mlp_arch} T={args.mlp_steps}", "pcx"),
                ("mlp", "deepity", "", f"PC MLP {mlp_arch} T={args.mlp_steps}",
                 "pydeepity (train_step_with_projection, T + 1 steps)"),
                ("gncn", "peer", "", f"GNCN-t1 {gncn_arch} T={args.gncn_steps}",
                 "ngc-learn (process.scan / run)"),
                ("gncn", "peer", "-jit", f"GNCN-t1 {gncn_arch} T={args.gncn_steps}",
                 "ngc-learn (jax.jit over its compiled processes)"))
    # --mlp-only times no GNCN
    variants = tuple(v for v in variants if "ours" in payload["timing"][v[0]])
    for key, side, suffix, title, peer in variants:
        ours = payload["timing"][key]["ours"]
        theirs = payload["timing"][key].get(side) or {}
        if (suffix or side != "peer") and not theirs:
            continue
        for B in ours:
            o, p = ours[B], theirs.get(B + suffix)
            if p:
                lines.append(
                    f"| {title} vs {peer} | {B} | {o['train_samples_per_s']:.0f} | "
                    f"{p['train_samples_per_s']:.0f} | "
                    f"{o['train_samples_per_s'] / p['train_samples_per_s']:.2f} | "
                    f"{o['infer_samples_per_s']:.0f} | {p['infer_samples_per_s']:.0f} | "
                    f"{o['infer_samples_per_s'] / p['infer_samples_per_s']:.2f} | "
                    f"{p['train_compile_s']:.1f} / {p['infer_compile_s']:.2f} |")
            else:
                lines.append(f"| {title} (peer skipped) | {B} | {o['train_samples_per_s']:.0f} | "
                             f"- | - | {o['infer_samples_per_s']:.0f} | - | - | - |")
    with_gncn = any(key == "gncn" for key, *_ in variants)
    lines += ["", f"{args.n_batches} batches per measurement; each number is the median of "
              f"{args.rounds} rounds, each of which times both sides one after the other (this "
              "machine's speed drifts by up to 30 % within minutes; every round's rate and our "
              "first-call (warm-up) times are in the JSON).  Inference: the PC MLP's "
              "feedforward sweep (its discriminative equilibrium; `predict` per batch vs a "
              "jitted INIT-mode forward)" + (
                  f", the GNCN's {args.gncn_steps}-step settling from zero (`transform` per "
                  "batch vs reset + `advance.scan`).  ngc-learn's `process.scan` calls "
                  "`jax.lax.scan` outside `jit` and passes the whole global state dict through "
                  "every `run`; the `jax.jit` rows fuse reset, clamp, the T steps, evolve and "
                  "the renormalisation of one batch into one compiled call over the same "
                  "compiled process functions (it computes the same weights: max abs "
                  f"difference {payload.get('ngclearn_fused_vs_process', float('nan')):.1e} "
                  "after one step).  Peer compile time: two warm-up calls (the first turns "
                  "Python floats of ngc-learn's state into arrays, which re-traces once) minus "
                  "two steady calls." if with_gncn else
                  ".  Peer compile time: two warm-up calls minus two steady calls."),
              "", f"Command: `{command}`", ""]
    lines += ceiling_markdown(payload, variants, command)
    if "accuracy" in payload:
        acc = payload["accuracy"]
        lines += [f"## Time to {args.target:.0%} test accuracy ({payload['dataset']}, "
                  f"{payload['n_train']} training samples, {mlp_arch} "
                  f"{args.accuracy_activation}, {args.accuracy_loss}, batch "
                  f"{args.accuracy_batch}, Adam lr {args.lr}, at most {args.epochs} epochs; "
                  "evaluation time excluded)", "",
                  f"Seeds {', '.join(map(str, args.accuracy_seeds))} (initial weights and epoch "
                  "order; each PC model and pcx start from the same weights for a seed).  "
                  "Within a seed the models train one epoch each in turns, the order rotating "
                  "from one epoch to the next, so that all see this machine at the same speed.",
                  "",
                  "| model | reached at epoch, per seed | seconds to target, per seed | "
                  "median seconds | best test accuracy, per seed | seconds per epoch |",
                  "|---|---|---|---|---|---|"]
        steps = accuracy_steps(args)
        names = {"pc": f"PCClassifier defaults (T={steps} = 'auto', rate {args.mlp_rate}, "
                       f"inference_tol={args.accuracy_tol})",
                 "pc_no_exit": "PCClassifier, same without early exit (inference_tol=0)",
                 "mlp": "MLPClassifier (backprop)",
                 "pcx": f"pcx PC MLP (same net, T={steps}, same initial weights)"}
        medians = {key: median_time_to_target(runs) for key, runs in acc.items()}
        for key, runs in acc.items():
            epochs = ", ".join(str(r["reached"]["epoch"]) if r["reached"] else "-" for r in runs)
            seconds = ", ".join(f"{r['reached']['train_seconds']:.1f}" if r["reached"] else "-"
                                for r in runs)
            best = ", ".join(f"{r['best_accuracy']:.4f}" for r in runs)
            per_epoch = np.mean([r["curve"][-1]["train_seconds"] / len(r["curve"]) for r in runs])
            median = "-" if medians[key] is None else f"{medians[key]:.1f}"
            lines.append(f"| {names[key]} | {epochs} | {seconds} | {median} | {best} | "
                         f"{per_epoch:.1f} |")
        lines.append("")
        for num, den, label in (("pcx", "pc_no_exit", "pcx / PCClassifier without early exit "
                                 "(equal work: same net, steps, batch and stopping rule)"),
                                ("pcx", "pc", "pcx / PCClassifier defaults (per-row early "
                                 "exit: ours relaxes fewer steps, not equal work)"),
                                ("pc", "mlp", "PCClassifier / MLPClassifier (different "
                                 "algorithms)"),
                                ("pc_no_exit", "mlp", "PCClassifier without early exit / "
                                 "MLPClassifier")):
            if medians.get(num) and medians.get(den):
                lines.append(f"- {label}, median wall time to target: "
                             f"{medians[num] / medians[den]:.2f}x")
        floor = payload["accuracy_floor"]
        lines += ["", f"Floor: no network trained here with Adam, PC or backprop, can take less "
                  f"than {floor['seconds_per_epoch']:.2f} s per epoch: the bottom-up sweep of "
                  f"every batch at the GEMM peak ({floor['sweep_ms']:.2f} ms) plus one update "
                  f"by sklearn-pc's Adam ({floor['adam_ms']:.2f} ms), with nothing else costing "
                  "time.  A model's seconds per epoch over the floor is the most that any "
                  "model could be faster than it at equal epochs:"]
        for key, runs in acc.items():
            per_epoch = np.mean([r["curve"][-1]["train_seconds"] / len(r["curve"]) for r in runs])
            lines.append(f"- {names[key]}: {per_epoch / floor['seconds_per_epoch']:.2f}x")
        lines += ["", f"Command: `{command}`", ""]
    lines += ["## Differences between the peers' maths and ours", ""]
    lines += [f"- {d}" for d in DIFFERENCES]
    return "\n".join(lines)


def round_ratios(numerator, denominator, key):
    """Median over the rounds of ``numerator[key] / denominator[key]`` (rates per round)."""
    return float(np.median(np.divide(numerator[key + "_rounds"], denominator[key + "_rounds"])))


def ceiling_markdown(payload, variants, command):
    """The GEMM ceiling: what each side reaches of it, and the largest ratio it allows."""
    lines = ["## Against the GEMM ceiling", "",
             "Ceiling: the samples/s of a batch whose only cost is our matrix products (the "
             "executed FLOPs of `bench_core.pc_products` / `gncn_products`: the PC MLP's "
             "skipped wavefront is not counted), run at the GEMM peak of the same products "
             "(the better of `bench_core.gemm_rate`'s two numpy loops), timed in each round "
             "right after both sides.  A peer's share of the ceiling is its samples/s over it; "
             "at equal work, ours/peer can exceed 1 / that share only by computing the "
             "products faster than numpy's BLAS does.  Medians over the rounds of the "
             "per-round ratios.", "",
             "| model | batch | ceiling train samples/s | ours / ceiling | peer / ceiling | "
             "largest ours/peer at the ceiling | ceiling infer samples/s | ours / ceiling | "
             "peer / ceiling |", "|---|---|---|---|---|---|---|---|---|"]
    for key, side, suffix, title, peer in variants:
        ours = payload["timing"][key]["ours"]
        ceiling = payload["timing"][key]["ceiling"]
        theirs = payload["timing"][key].get(side) or {}
        if (suffix or side != "peer") and not theirs:
            continue
        for B in ours:
            o, c, p = ours[B], ceiling[B], theirs.get(B + suffix)
            row = (f"| {title} vs {peer} | {B} | {c['train_samples_per_s']:.0f} | "
                   f"{round_ratios(o, c, 'train_samples_per_s'):.0%} | ")
            if p:
                share = round_ratios(p, c, "train_samples_per_s")
                row += (f"{share:.0%} | {1 / share:.2f} | {c['infer_samples_per_s']:.0f} | "
                        f"{round_ratios(o, c, 'infer_samples_per_s'):.0%} | "
                        f"{round_ratios(p, c, 'infer_samples_per_s'):.0%} |")
            else:
                row += (f"- | - | {c['infer_samples_per_s']:.0f} | "
                        f"{round_ratios(o, c, 'infer_samples_per_s'):.0%} | - |")
            lines.append(row)
    return lines + ["", f"Command: `{command}`", ""]


DIFFERENCES = [
    "pcx: the model is written (by us, with pcx's EnergyModule/Vode/Linear) to be ours: "
    "`x[l+1] = Vode(Linear(tanh(x[l])))`, so states are pre-activations and the input goes "
    "through tanh as in sklearn-pc (pcx's examples use `Vode(act(Linear(x)))` instead). "
    "Vode energy `1/2 ||h - u||^2` is our `nu = 1` energy.",
    "pcx inference is plain gradient descent on the states of the energy summed over the "
    "batch (each row gets its own gradient; pcx's own MNIST example uses `pmean`, which would "
    "divide the state step by the batch size).  Ours (`alternating`, tied feedback) takes the "
    "same step but undoes a row's step and halves its rate when its energy would rise "
    "(backtracking): at the checked settings no step was rejected, the states agree to float32 "
    "rounding.  It also evaluates the energy once per step for that test (an elementwise "
    "reduction, no extra matrix product).  Our `inference=\"euler\"` integrates the error "
    "units too (eq 2.2), which pcx cannot express, so it is not used here.",
    "Weight gradients: pcx differentiates the batch-summed energy; `scale_by=1/N` makes it our "
    "batch mean.  ngc-learn's HebbianSynapse sums over the batch; `post_wght=1/N` makes it the "
    "mean.",
    "Adam: optax and ngc-learn divide by `sqrt(v_hat) + eps`; sklearn-pc (like scikit-learn) "
    "folds the bias correction into the step size and divides by `sqrt(v) + eps`, i.e. an "
    "effective eps of `eps / sqrt(1 - beta2^t)` (3.2e-7 at t = 1).  The first updates therefore "
    "differ where |gradient| is not much larger than 3e-7; applying optax's convention to our "
    "gradient reproduces the peers' update (last column).",
    "ngc-learn's RateCell takes a single prior: the Gaussian leak `-gamma z` or the Laplace "
    "term `-lambda sign(z)`, not both as our GNCN-t1 (default leak 0.001 and lambda 0.01).  "
    "Wiring an extra leak cell into `j_td` through `Summation` does not compile (RateCell "
    "writes `j_td` back).  Both terms are checked separately; timing uses the Laplace one on "
    "both sides (ours with leak=0; the leak costs one axpy per layer and step).",
    "ngc-learn GNCN-t1 wiring: `mu(0) = sigmoid(...)` is a stateless sigmoid RateCell feeding a "
    "GaussianErrorCell (so `e(0) = x - sigmoid(h)`, ours exactly; BernoulliErrorCell would clip "
    "p to [1e-4, 1 - 1e-4] and evaluate logs every step); the feedback `e(l-1) W(l)^T` goes "
    "through a StaticSynapse holding `W^T`, re-tied after each update; process order per step "
    "W, mu0, e, E, z (errors of the current states, then a Jacobi Euler step, as ours); the "
    "evolve process recomputes predictions and errors at the settled states before the "
    "Hebbian step (ours does the same in `gradients`).  The driver renormalises the columns of "
    "W after each step with `normalize_matrix(W, 1, order=2, axis=0)` (floor 1e-8; ours: "
    "float tiny).",
    "Work that only one side does: ngc-learn's error cells also compute their Gaussian "
    "log-likelihood every step and its synapses multiply W by a mask and the outputs by a gate "
    "(elementwise); ngc-learn's `process.scan` / `run` dispatch `jax.lax.scan` and the compiled "
    "processes from Python and pass the whole global state dict in and out on every call (its "
    "machinery, counted in the process rows; the jax.jit rows remove most of it).  Ours checks "
    "every batch for divergence (one extra prediction pass from zero states in the GNCN, the "
    "initial output energy in the MLP) and computes the batch BCE / energy it reports in "
    "`loss_curve_`.",
    "pydeepity (optional; `_peers/deepity_mlp.py`'s docstring has the details): `SimplePCN("
    "Linear, TanH, ..., Linear, TanH)` predicts `mu[l+1] = tanh(x[l]) W[l]^T + b[l]`, the "
    "input included, as ours; energy `1/2 sum ||x - mu||^2` summed over the batch; states take "
    "plain Jacobi gradient steps at the inference rate (no backtracking; at the checked "
    "settings ours rejects no step).  Its own training loop takes the weight gradient at the "
    "errors of the last energy evaluation, i.e. before the last of its T state updates; run "
    "with T + 1 steps it computes our T-step update exactly, at the cost of one discarded "
    "state update (about 1.4 % more matrix work at T = 20).  Weight gradients are batch "
    "means, and SGD steps by lr times the mean; its Adam is ours (scikit-learn's form, eps "
    "1e-8 added to `sqrt(v)`) applied to the batch-summed gradient, which divides the "
    "effective eps by the batch size (fitted to its first two steps at batch 3 to 192).  "
    "`lmbda` (weight decay under SGD and AdamW, ignored by Adam) is 0; its Glorot-normal "
    "initial weights are replaced by ours.  Inference: `predict_with_projection(x, 0)`, the "
    "feedforward sweep.",
    "Time to accuracy: the pcx run uses our initial weights and the same per-epoch permutations; "
    "it drops nothing on MNIST (60000 / 200).  All three use the same activation and "
    "log-loss (MLPClassifier's only classification loss; a softmax cross-entropy top Vode in "
    "pcx).  pcx relaxes every row for all T steps; PCClassifier's default `inference_tol` "
    "stops each row once its largest state update is at most the tolerance (the row without "
    "it is shown too).  The previous run of this table used the paper's setting, tanh, "
    "squared error and T = 20, where neither PC model reached 98 % in 10 epochs (best 96.4 % "
    "ours, 95.6 % pcx; see git history of this file).",
]


# -- main -----------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny widths on load_digits, under a minute; peers only if their "
                             "environment exists; nothing written")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads (and CPU cores) for both sides")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--n-batches", type=int, default=20, help="batches per throughput run")
    parser.add_argument("--rounds", type=int, default=5,
                        help="throughput rounds, each timing both sides in turn (median kept)")
    parser.add_argument("--gemm-seconds", type=float, default=0.5,
                        help="seconds of each GEMM-peak loop of the ceilings")
    parser.add_argument("--hidden", type=int, nargs="+", default=[600, 600])
    parser.add_argument("--latent", type=int, nargs="+", default=[360, 360, 360])
    parser.add_argument("--mlp-steps", type=int, default=20)
    parser.add_argument("--mlp-activation", choices=["tanh", "logistic"], default="tanh",
                        help="hidden (and input) activation of the PC MLP checks and rounds")
    parser.add_argument("--mlp-only", action="store_true",
                        help="only the PC MLP: no GNCN check or rounds")
    parser.add_argument("--mlp-rate", type=float, default=0.1)
    parser.add_argument("--gncn-steps", type=int, default=50)
    parser.add_argument("--beta", type=float, default=0.1)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--n-train", type=int, default=None,
                        help="training samples for time to accuracy (default: all)")
    parser.add_argument("--epochs", type=int, default=10, help="epoch cap for time to accuracy")
    parser.add_argument("--target", type=float, default=0.98)
    parser.add_argument("--accuracy-batch", type=int, default=200)
    parser.add_argument("--accuracy-activation", default="relu")
    parser.add_argument("--accuracy-loss", default="log_loss")
    parser.add_argument("--accuracy-steps", default="auto",
                        help="inference steps for time to accuracy ('auto' or an int)")
    parser.add_argument("--accuracy-seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="one time-to-accuracy run per seed")
    parser.add_argument("--accuracy-tol", type=float, default=1e-2,
                        help="PCClassifier's inference_tol for time to accuracy")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-pcx-accuracy", action="store_true")
    parser.add_argument("--skip-peers", action="store_true",
                        help="skip every peer (pcx, ngc-learn and pydeepity)")
    parser.add_argument("--skip-deepity", action="store_true",
                        help="skip the optional pydeepity peer even where it is installed")
    parser.add_argument("--check-only", action="store_true",
                        help="run the correctness checks only (no timing), print them, "
                             "write nothing")
    parser.add_argument("--no-install", action="store_true",
                        help="never create the peer environment (skip peers if absent)")
    parser.add_argument("--peers-venv", default=str(DEFAULT_VENV))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="bench_peers", help="result file stem")
    args = parser.parse_args(argv)
    if args.quick:
        args.hidden, args.latent = [32, 32], [24, 24, 24]
        args.batch_sizes, args.n_batches, args.rounds = [32, 64], 3, 2
        args.gemm_seconds = 0.05
        args.mlp_steps, args.gncn_steps = 10, 20
        args.epochs, args.target = 10, 0.9
        args.accuracy_batch = 100
        args.skip_pcx_accuracy = True
        args.accuracy_seeds = [0]
        args.n_train = args.n_train or 600
    return args


def main(argv=None):
    args = parse_args(argv)
    limits = _limit_threads(args.threads)
    warn_if_blas_pinned()
    command = "python " + " ".join([sys.argv[0], *(sys.argv[1:] if argv is None else argv)])
    python = None
    if not args.skip_peers:
        python = ensure_peer_env(args.peers_venv, install=not (args.quick or args.no_install))
    if python is None:
        print("peers skipped: no peer environment at", args.peers_venv,
              "(run without --quick to create it)")
    deepity = None
    if not (args.skip_peers or args.skip_deepity):
        deepity = find_deepity(args.peers_venv)
        if deepity is None:
            print(f"pydeepity skipped: neither {sys.executable} nor the peer environment "
                  f"imports deepity (optional: pip install {DEEPITY_REQUIREMENT}; wheels for "
                  "CPython >= 3.11)")
    dataset = "digits" if args.quick else "mnist"
    X, y, X_test, y_test = load_classification_data(dataset, np.float32)
    if args.n_train is not None:
        X_acc, y_acc = X[:args.n_train], y[:args.n_train]
    else:
        X_acc, y_acc = X, y
    # throughput pool: enough rows for n_batches of the largest batch (tiled if needed)
    n_pool = max(args.batch_sizes) * args.n_batches
    reps = -(-n_pool // X.shape[0])
    X_pool, y_pool = np.tile(X, (reps, 1))[:n_pool], np.tile(y, reps)[:n_pool]
    X_bin = (X_pool > 0.5).astype(np.float32)  # GNCN on binarised pixels (SPEC section 3)

    payload = {"dataset": dataset, "threads": args.threads, "n_train": int(X_acc.shape[0]),
               "mlp_layers": [X.shape[1], *args.hidden, len(np.unique(y))],
               "gncn_layers": [X.shape[1], *args.latent], "config": vars(args),
               "peer_requirements": PEER_REQUIREMENTS,
               "optional_peer_requirements": [DEEPITY_REQUIREMENT]}
    if python is not None:
        print("correctness: PC MLP vs pcx", flush=True)
        payload["check_mlp"], versions = check_mlp(args, python, X_pool, y_pool)
        print(json.dumps(payload["check_mlp"], indent=1))
        if not args.mlp_only:
            print("correctness: GNCN-t1 vs ngc-learn", flush=True)
            payload["check_gncn"], _ = check_gncn(args, python, X_bin)
            payload["ngclearn_fused_vs_process"] = max(
                c["fused_vs_process_max_abs_diff"] for c in payload["check_gncn"].values())
            print(json.dumps(payload["check_gncn"], indent=1))
        payload["peer_versions"] = versions
    else:  # our side of the checks still runs, so that it keeps up with the library
        first_mlp_step(args, X_pool, y_pool)
        for cfg in ([] if args.mlp_only else GNCN_CHECKS.values()):
            first_gncn_step(args, X_bin, cfg)
    if deepity is not None:
        print(f"correctness: PC MLP vs pydeepity ({deepity})", flush=True)
        payload["check_mlp_deepity"], payload["deepity_versions"] = check_mlp_deepity(
            args, deepity, X_pool, y_pool)
        print(json.dumps(payload["check_mlp_deepity"], indent=1))
    if args.check_only:
        print("\n".join(check_markdown(args, payload, command)))
        limits.restore_original_limits()
        return
    measurements = {("mlp", "ours"): lambda: time_mlp_ours(args, X_pool, y_pool)}
    if python is not None:
        measurements[("mlp", "peer")] = lambda: time_mlp_pcx(args, python, X_pool, y_pool)
    if deepity is not None:
        measurements[("mlp", "deepity")] = lambda: time_mlp_deepity(args, deepity, X_pool,
                                                                    y_pool)
    measurements[("mlp", "ceiling")] = lambda: ceiling_mlp(args, payload["mlp_layers"])
    if not args.mlp_only:
        measurements[("gncn", "ours")] = lambda: time_gncn_ours(args, X_bin)
        if python is not None:
            measurements[("gncn", "peer")] = lambda: time_gncn_ngclearn(args, python, X_bin)
        measurements[("gncn", "ceiling")] = lambda: ceiling_gncn(args, payload["gncn_layers"])
    # rounds interleave the two sides, so that a drift of the machine's speed
    # reaches both; each number is the median over the rounds
    rounds = {key: [] for key in measurements}
    for round_ in range(args.rounds):
        for (model, side), measure in measurements.items():
            print(f"throughput round {round_ + 1}/{args.rounds}: {model}, {side}", flush=True)
            rounds[(model, side)].append(measure())
    timing = {"mlp": {}, "gncn": {}}
    for (model, side), results in rounds.items():
        timing[model][side] = median_over_rounds(results)
    payload["timing"] = timing
    if python is not None:
        probe = subprocess.run([str(python), "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                                "from _peer_common import configure_threads; import os; "
                                f"configure_threads({args.threads}); "
                                "print(os.environ['XLA_FLAGS'])",
                                str(PEERS)], capture_output=True, text=True,
                               env={k: v for k, v in os.environ.items() if k != "XLA_FLAGS"},
                               check=False)
        payload["peer_xla_flags"] = probe.stdout.strip()
    if not args.skip_accuracy:
        payload["accuracy"] = time_to_accuracy(args, python, X_acc, y_acc, X_test, y_test)
        payload["accuracy_floor"] = accuracy_floor(args, payload["mlp_layers"],
                                                   X_acc.shape[0])
    text = markdown(args, payload, command)
    print(text)
    limits.restore_original_limits()
    if not args.quick:
        for path in write_results(args.name, payload, text):
            print("wrote", path)


if __name__ == "__main__":
    main()
