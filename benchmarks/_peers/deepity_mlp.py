"""The PC MLP of PCClassifier run by pydeepity (``deepity.SimplePCN``), for bench_peers.py.

pydeepity (PyPI ``pydeepity``, imported as ``deepity``; a compiled C++ engine, CPU
wheels for CPython 3.11-3.13 on Linux x86-64 and Windows) is an optional peer: it needs
only numpy, so it runs in sklearn-pc's own environment or in the peer one, whichever
has it installed:

    python deepity_mlp.py IN.npz OUT.npz {check,time} --threads N

What ``SimplePCN`` computes, as read from its Python layer (``deepity/SimplePCN.py``)
and measured from its C++ core (the maths is compiled; bench_peers' check compares it
with ours number by number):

* Layers: ``SimplePCN(Linear(784, 600), TanH(), Linear(600, 600), TanH(),
  Linear(600, 10), TanH())`` makes one backend layer per ``Linear`` holding the states
  ``x[l]`` of its input side, its weights ``W[l]`` of shape (out, in) (= our
  ``M[l].T``) and bias ``b[l]``, plus a terminal layer for ``x[L]``.  The activation
  that follows a ``Linear`` is applied to that layer's *own* states before the product:
  ``mu[l+1] = tanh(x[l]) W[l]^T + b[l]``, the input included; that is sklearn-pc's
  ``mu[l+1] = tanh(x[l]) M[l] + b[l]`` exactly (a trailing ``TanH`` is needed so that the
  last hidden layer is squashed too).
* Energy: ``calculate_state`` returns ``1/2 sum_l ||x[l] - mu[l]||^2`` summed over the
  batch (our ``nu = 1`` energy, batch-summed) and stores the errors.
* States: ``update_state`` takes ``x[l] -= rate (e[l] - tanh'(x[l]) * e[l+1] W[l])``
  for the hidden layers, a plain (Jacobi) gradient step on the batch-summed energy, so each
  row gets its own gradient; the input and the clamped top do not move.  ``reset_state``
  starts from zero states; ``project_forward`` (or ``train_step_with_projection``) from the
  feedforward sweep, as ours.
* Weights: ``update_weights`` uses the errors of the *last* ``calculate_state``.  Its own
  training loop (``SimplePCN.train_step``, and ``train_step_with_projection`` in C++) runs
  ``calculate_state, update_state`` T times, so its gradient is taken at the states before
  the last state update (after T - 1 updates), where ours is taken at the states after T.
  ``train_step_with_projection(x, y, T + 1)`` therefore computes our T-step update
  exactly (checked: identical weights to ``T x (calculate_state, update_state)`` plus one
  ``calculate_state``); it does one state update more than ours (the last one is
  discarded), about 1.4 % more matrix work at 784-600-600-10 and T = 20.  The gradient is
  the batch mean: SGD moves ``W`` by ``-lr mean_rows(...)``.
* Optimizer: ``"ADAM"`` behaves as Adam with beta 0.9 / 0.999 in scikit-learn's (and our)
  form, ``-lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + 1e-8)``, applied to the
  batch-*summed* gradient (fitted to its first two steps at batch 3 to 192): since Adam
  is scale-free but for eps, that is ours with eps 1e-8 / batch.  ``lmbda`` is
  ignored by ``"ADAM"``, decoupled weight decay ``-lr lmbda W`` under ``"ADAMW"`` and a
  decay ``-lmbda W`` (not scaled by lr) under ``"SGD"``, weights only; it is set to 0 here.
* Initialisation: ``configure`` draws Glorot-normal weights and zero biases; the driver
  overwrites them with ours (Glorot-uniform, zero biases) through ``set_weights`` /
  ``set_biases``.
* Inference: ``predict_with_projection(x, 0)`` returns the feedforward sweep's top
  ``mu[L]``, our ``decision_function`` (``SimplePCN.predict`` would instead relax from zero
  states with the top free).

The network has a fixed batch size (one per ``SimplePCN``) and works in float32.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peer_common import Stopwatch, configure_threads, parse, versions  # noqa: E402

ARGS = parse()
configure_threads(ARGS.threads)

import numpy as np  # noqa: E402
from deepity import Linear, ReLU, Sigmoid, SimplePCN, TanH  # noqa: E402

ACTIVATIONS = {"tanh": TanH, "relu": ReLU, "logistic": Sigmoid}
# the gradient of a batch is read off one SGD step of this size (a power of two, so that
# dividing by it is exact; large, so that the step dominates the rounding of W)
GRADIENT_PROBE_LR = 1024.0


def build(data, batch_size, optimizer, lr):
    """A SimplePCN holding the common initial weights, for batches of ``batch_size``."""
    n_layers = int(data["n_layers"])
    activation = str(data["activation"]) if "activation" in data else "tanh"
    loss = str(data["loss"]) if "loss" in data else "squared_error"
    if loss != "squared_error":
        raise ValueError(f"the deepity peer is written for squared error, not {loss!r}")
    coefs = [np.asarray(data[f"M{i}"], np.float32) for i in range(n_layers)]
    intercepts = [np.asarray(data[f"b{i}"], np.float32) for i in range(n_layers)]
    architecture = []
    for m in coefs:
        architecture += [Linear(m.shape[0], m.shape[1]), ACTIVATIONS[activation]()]
    net = SimplePCN(*architecture, batch_size=batch_size)
    net.configure(learning_rate=lr, inference_rate=float(data["rate"]), lmbda=0.0,
                  optimizer=optimizer, seed=0)
    for layer, m, b in zip(net.layers, coefs, intercepts):
        layer.set_weights(np.ascontiguousarray(m.T))
        layer.set_biases(np.ascontiguousarray(b))
    return net


def params(net, n_layers):
    """Our layout: ``M[l]`` (in, out) and ``b[l]``."""
    return ([np.array(net.layers[l].weights, dtype=np.float32).T.copy() for l in range(n_layers)],
            [np.array(net.layers[l].biases, dtype=np.float32).copy() for l in range(n_layers)])


def train_step(net, x, y, T):
    """One training batch with our maths: T state updates, the gradient at the states
    after them (see the module docstring for the T + 1)."""
    return net.train_step_with_projection(x, y, T + 1, False)


def run_check(data):
    T, n = int(data["T"]), int(data["n_layers"])
    X = np.ascontiguousarray(data["X"], np.float32)
    Y = np.ascontiguousarray(data["Y"], np.float32)
    x, y, B = X.ravel(), Y.ravel(), X.shape[0]
    lr = float(data["lr"])
    out = {}
    # states after T updates, from the feedforward sweep, the top clamped
    net = build(data, B, "SGD", 0.0)
    net.reset_state()
    net.clamp_input(x)
    net.project_forward()
    net[-1].clamp_state(y)
    for _ in range(T):
        net.calculate_state(True)
        net.update_state()
    for i in range(1, n + 1):
        out[f"state{i}"] = np.array(net.layers[i].beliefs, dtype=np.float32).reshape(B, -1)
    initial_M, initial_b = params(net, n)

    def gradients(steps):
        """The batch-mean gradient of one training step, off one SGD step."""
        probe = build(data, B, "SGD", GRADIENT_PROBE_LR)
        probe.train_step_with_projection(x, y, steps, False)
        M, b = params(probe, n)
        return ([(m0 - m) / GRADIENT_PROBE_LR for m0, m in zip(initial_M, M)],
                [(b0 - b1) / GRADIENT_PROBE_LR for b0, b1 in zip(initial_b, b)])

    gM, gb = gradients(T + 1)  # our maths
    for i in range(n):
        out[f"gradM{i}"], out[f"gradb{i}"] = gM[i], gb[i]
    gM, gb = gradients(T)  # deepity's own train_step: the gradient one update earlier
    for i in range(n):
        out[f"ownGradM{i}"], out[f"ownGradb{i}"] = gM[i], gb[i]
    # one real training step (Adam) from the same start
    net = build(data, B, "ADAM", lr)
    train_step(net, x, y, T)
    M, b = params(net, n)
    for i in range(n):
        out[f"newM{i}"], out[f"newb{i}"] = M[i], b[i]
    return out, {}


def run_time(data):
    T = int(data["T"])
    X_pool = np.asarray(data["X"], np.float32)
    Y_pool = np.asarray(data["Y"], np.float32)
    results = {}
    for batch_size in [int(b) for b in data["batch_sizes"]]:
        n_batches = int(data["n_batches"])
        batches = [(np.ascontiguousarray(X_pool[i * batch_size:(i + 1) * batch_size]).ravel(),
                    np.ascontiguousarray(Y_pool[i * batch_size:(i + 1) * batch_size]).ravel())
                   for i in range(n_batches)]
        net = build(data, batch_size, "ADAM", float(data["lr"]))
        with Stopwatch() as first:  # two warm-up calls, as for the other peers
            for x, y in batches[:2]:
                train_step(net, x, y, T)
        net = build(data, batch_size, "ADAM", float(data["lr"]))
        with Stopwatch() as train:
            for x, y in batches:
                train_step(net, x, y, T)
        with Stopwatch() as first_eval:
            for x, _ in batches[:2]:
                net.predict_with_projection(x, 0)
        with Stopwatch() as infer:
            for x, _ in batches:
                net.predict_with_projection(x, 0)
        n = n_batches * batch_size
        results[str(batch_size)] = {
            "train_samples_per_s": n / train.seconds,
            "train_first_call_s": first.seconds,
            "train_compile_s": 0.0,
            "infer_samples_per_s": n / infer.seconds,
            "infer_first_call_s": first_eval.seconds,
            "infer_compile_s": 0.0,
            "n_samples": n,
        }
    return {}, results


def main():
    import json
    import os

    data = np.load(ARGS.inputs)
    if ARGS.mode == "accuracy":
        raise SystemExit("deepity_mlp.py has no accuracy mode")
    arrays, meta = {"check": run_check, "time": run_time}[ARGS.mode](data)
    meta = {"versions": versions(), "threads": ARGS.threads, "results": meta,
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}
    np.savez(ARGS.output, meta=json.dumps(meta), **arrays)


if __name__ == "__main__":
    main()
