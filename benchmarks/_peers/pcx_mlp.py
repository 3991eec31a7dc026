"""The PC MLP of PCClassifier written with pcx (EnergyModule / Vode), for bench_peers.py.

Runs in the peer virtual environment:

    python pcx_mlp.py IN.npz OUT.npz {check,time,accuracy} --threads N

(``accuracy`` trains one epoch per ``epoch`` line on stdin, see ``run_accuracy``.)

The model is the network of ``sklearn_pc`` (SPEC section 1, tied feedback):
``mu[l+1] = tanh(x[l]) @ M[l] + b[l]`` (or relu), energy ``sum_l 1/2 ||x[l] - mu[l]||^2``
per sample (with ``loss="log_loss"`` the top term is ``-y log softmax(mu[L])``), the
input clamped to ``X`` and, during training, the top to the one-hot target.  One Vode
per layer above the input holds ``x[l]``; with the standard ``"h, u <- u"`` init rule
the states start at the feedforward sweep.
Inference is plain gradient descent on the states (``optax.sgd(rate)``) on
the energy summed over the batch (so each row gets its own gradient), the
weights take one Adam step on the same energy divided by the batch size
(``scale_by=1/N``), i.e. the batch-mean gradient that sklearn-pc uses.
Optional inputs: ``input_activation`` (sklearn-pc's; by default the hidden
activation, as above) and ``lr_per_epoch`` with ``steps_per_epoch`` (Adam's
learning rate epoch by epoch, for ``pc_regime.py``).
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peer_common import Stopwatch, configure_threads, parse, versions  # noqa: E402

ARGS = parse()
configure_threads(ARGS.threads)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
import pcx  # noqa: E402
import pcx.functional as pxf  # noqa: E402
import pcx.nn as pxnn  # noqa: E402
import pcx.predictive_coding as pxc  # noqa: E402
import pcx.utils as pxu  # noqa: E402


ACTIVATIONS = {"tanh": jax.nn.tanh, "relu": jax.nn.relu, "logistic": jax.nn.sigmoid,
               "identity": lambda x: x}
TOP_ENERGIES = {"squared_error": pxc.se_energy, "log_loss": pxc.ce_energy}


class PCMLP(pxc.EnergyModule):
    def __init__(self, coefs, intercepts, activation="tanh", loss="squared_error",
                 input_activation=None):
        super().__init__()
        self.act_fn = pcx.static(ACTIVATIONS[activation])
        # sklearn-pc's input_activation (None: the same as activation)
        self.input_act_fn = pcx.static(ACTIVATIONS[input_activation or activation])
        self.layers = []
        for m, b in zip(coefs, intercepts):
            layer = pxnn.Linear(m.shape[0], m.shape[1])
            layer.nn.weight.set(jnp.asarray(m.T))
            layer.nn.bias.set(jnp.asarray(b))
            self.layers.append(layer)
        # a log-loss top: energy -y log softmax(u), whose gradient y - softmax(u) is our eps[L]
        self.vodes = [pxc.Vode() for _ in coefs[:-1]] + [pxc.Vode(energy_fn=TOP_ENERGIES[loss])]
        self.vodes[-1].h.frozen = True

    def __call__(self, x, y=None):
        # the input layer goes through its own activation, as in sklearn-pc
        # (mu[1] = sigma_in(x[0]) M[0] + b[0], sigma_in = sigma by default)
        for i, (vode, layer) in enumerate(zip(self.vodes, self.layers)):
            x = vode(layer((self.input_act_fn if i == 0 else self.act_fn)(x)))
        if y is not None:
            self.vodes[-1].set("h", y)
        return self.vodes[-1].get("u")


@pxf.vmap(pxu.M(pxc.VodeParam | pxc.VodeParam.Cache).to((None, 0)), in_axes=(0, 0), out_axes=0)
def forward(x, y, *, model):
    return model(x, y)


@pxf.vmap(pxu.M(pxc.VodeParam | pxc.VodeParam.Cache).to((None, 0)), in_axes=(0,), out_axes=0)
def predict(x, *, model):
    return model(x, None)


@pxf.vmap(pxu.M(pxc.VodeParam | pxc.VodeParam.Cache).to((None, 0)), in_axes=(0,),
          out_axes=(None, 0), axis_name="batch")
def energy(x, *, model):
    y_ = model(x, None)
    return jax.lax.psum(model.energy(), "batch"), y_


inference_grad = pxf.value_and_grad(
    pxu.M_hasnot(pxc.VodeParam, frozen=True).to([False, True]), has_aux=True)(energy)
learning_grad = pxf.value_and_grad(pxu.M(pxnn.LayerParam).to([False, True]), has_aux=True)(energy)


def _relax(T, x, y, model, optim_h):
    with pxu.step(model, pxc.STATUS.INIT, clear_params=pxc.VodeParam.Cache):
        forward(x, y, model=model)
    optim_h.init(pxu.M_hasnot(pxc.VodeParam, frozen=True)(model))
    for _ in range(T):
        with pxu.step(model, clear_params=pxc.VodeParam.Cache):
            _, g = inference_grad(x, model=model)
        optim_h.step(model, g["model"])
    optim_h.clear()


@pxf.jit(static_argnums=0)
def train_on_batch(T, x, y, *, model, optim_w, optim_h):
    model.train()
    _relax(T, x, y, model, optim_h)
    with pxu.step(model, clear_params=pxc.VodeParam.Cache):
        (e, _), g = learning_grad(x, model=model)
    optim_w.step(model, g["model"], scale_by=1.0 / x.shape[0])
    return e


@pxf.jit(static_argnums=0)
def check_step(T, x, y, *, model, optim_h):
    """Settled states and the batch-mean weight gradients (no update)."""
    model.train()
    _relax(T, x, y, model, optim_h)
    states = [v.get("h") for v in model.vodes]
    with pxu.step(model, clear_params=pxc.VodeParam.Cache):
        _, g = learning_grad(x, model=model)
    grads = [(layer.nn.weight.get(), layer.nn.bias.get())
             for layer in g["model"].layers]
    scale = 1.0 / x.shape[0]
    return states, [(w * scale, b * scale) for w, b in grads]


@pxf.jit()
def eval_on_batch(x, *, model):
    model.eval()
    with pxu.step(model, pxc.STATUS.INIT, clear_params=pxc.VodeParam.Cache):
        out = predict(x, model=model)
    return out


def build(data, lr, batch_size):
    n_layers = int(data["n_layers"])
    coefs = [np.asarray(data[f"M{i}"]) for i in range(n_layers)]
    intercepts = [np.asarray(data[f"b{i}"]) for i in range(n_layers)]
    model = PCMLP(coefs, intercepts, str(data.get("activation", "tanh")),
                  str(data.get("loss", "squared_error")),
                  str(data["input_activation"]) if "input_activation" in data else None)
    if "lr_per_epoch" in data:
        # one learning rate per epoch of steps_per_epoch Adam steps (pc_regime.py's schedule)
        rates = jnp.asarray(data["lr_per_epoch"], jnp.float32)
        steps = int(data["steps_per_epoch"])
        lr = lambda count: rates[jnp.minimum(count // steps, rates.shape[0] - 1)]  # noqa: E731
    n_in = coefs[0].shape[0]
    with pxu.step(model, pxc.STATUS.INIT, clear_params=pxc.VodeParam.Cache):
        forward(jnp.zeros((batch_size, n_in), jnp.float32), None, model=model)
        optim_h = pxu.Optim(lambda: optax.sgd(float(data["rate"])))
        optim_w = pxu.Optim(lambda: optax.adam(lr), pxu.M(pxnn.LayerParam)(model))
    return model, optim_w, optim_h


def weights_of(model):
    return [(np.asarray(layer.nn.weight.get()).T, np.asarray(layer.nn.bias.get()))
            for layer in model.layers]


def block(model):
    jax.block_until_ready(model.layers[0].nn.weight.get())


def run_check(data):
    T = int(data["T"])
    X, Y = jnp.asarray(data["X"]), jnp.asarray(data["Y"])
    model, optim_w, optim_h = build(data, float(data["lr"]), X.shape[0])
    states, grads = check_step(T, X, Y, model=model, optim_h=optim_h)
    out = {f"state{i + 1}": np.asarray(s) for i, s in enumerate(states)}
    for i, (gw, gb) in enumerate(grads):
        out[f"gradM{i}"], out[f"gradb{i}"] = np.asarray(gw).T, np.asarray(gb)
    # one real training step (relaxation + Adam) from the same start
    model, optim_w, optim_h = build(data, float(data["lr"]), X.shape[0])
    train_on_batch(T, X, Y, model=model, optim_w=optim_w, optim_h=optim_h)
    for i, (w, b) in enumerate(weights_of(model)):
        out[f"newM{i}"], out[f"newb{i}"] = w, b
    return out, {}


def run_time(data):
    T = int(data["T"])
    X_pool, Y_pool = np.asarray(data["X"]), np.asarray(data["Y"])
    results = {}
    for batch_size in [int(b) for b in data["batch_sizes"]]:
        n_batches = int(data["n_batches"])
        batches = [(jnp.asarray(X_pool[i * batch_size:(i + 1) * batch_size]),
                    jnp.asarray(Y_pool[i * batch_size:(i + 1) * batch_size]))
                   for i in range(n_batches)]
        model, optim_w, optim_h = build(data, float(data["lr"]), batch_size)
        with Stopwatch() as first:  # two warm-up calls, as for ngc-learn
            for x, y in batches[:2]:
                train_on_batch(T, x, y, model=model, optim_w=optim_w, optim_h=optim_h)
            block(model)
        with Stopwatch() as train:
            for x, y in batches:
                train_on_batch(T, x, y, model=model, optim_w=optim_w, optim_h=optim_h)
            block(model)
        with Stopwatch() as first_eval:
            for x, _ in batches[:2]:
                out = eval_on_batch(x, model=model)
            jax.block_until_ready(out)
        with Stopwatch() as infer:
            for x, _ in batches:
                out = eval_on_batch(x, model=model)
            jax.block_until_ready(out)
        n = n_batches * batch_size
        results[str(batch_size)] = {
            "train_samples_per_s": n / train.seconds,
            "train_first_call_s": first.seconds,
            "train_compile_s": max(first.seconds - 2 * train.seconds / n_batches, 0.0),
            "infer_samples_per_s": n / infer.seconds,
            "infer_first_call_s": first_eval.seconds,
            "infer_compile_s": max(first_eval.seconds - 2 * infer.seconds / n_batches, 0.0),
            "n_samples": n,
        }
    return {}, results


def run_accuracy(data):
    """Epochs of training, test accuracy after each, wall time excluding evaluation.

    Once set up, it prints ``READY``, then trains one epoch per ``epoch`` line
    read from stdin (until ``stop``, end of input, the target or the epoch
    cap), so that the caller can interleave the epochs of several models and
    every model sees the machine at the same speed; after each epoch a line
    ``EPOCH {json}`` with its point of the curve goes to stdout.
    """
    T, batch_size = int(data["T"]), int(data["batch_size"])
    X, Y = np.asarray(data["X"]), np.asarray(data["Y"])
    X_test, y_test = np.asarray(data["X_test"]), np.asarray(data["y_test"])
    target, epochs = float(data["target"]), int(data["epochs"])
    model, optim_w, optim_h = build(data, float(data["lr"]), batch_size)
    rng = np.random.RandomState(int(data["seed"]))
    n_full = X.shape[0] // batch_size  # pcx needs a fixed batch shape: drop the remainder
    # Every model built is traced again on its first call (a warm-up model would
    # leave the trained one cold), so the first batch is timed apart and counted
    # at the mean time of the epoch's other batches; its excess is the compile time.
    compile_s = 0.0
    curve, elapsed, reached = [], 0.0, None
    print("READY", flush=True)  # the imports and the data are in: nothing runs until told
    for epoch in range(epochs):
        if sys.stdin.readline().strip() != "epoch":
            break
        order = rng.permutation(X.shape[0])
        with Stopwatch() as watch:
            for i in range(n_full):
                rows = order[i * batch_size:(i + 1) * batch_size]
                train_on_batch(T, jnp.asarray(X[rows]), jnp.asarray(Y[rows]), model=model,
                               optim_w=optim_w, optim_h=optim_h)
                if epoch == 0 and i == 0:
                    block(model)
                    first_s = watch.elapsed()
            block(model)
        seconds = watch.seconds
        if epoch == 0 and n_full > 1:
            mean_s = (seconds - first_s) / (n_full - 1)
            compile_s = max(first_s - mean_s, 0.0)
            seconds -= compile_s
        elapsed += seconds
        predictions = []
        for start in range(0, X_test.shape[0], batch_size):
            chunk = X_test[start:start + batch_size]
            pad = batch_size - chunk.shape[0]
            if pad:
                chunk = np.concatenate([chunk, np.zeros((pad, chunk.shape[1]), chunk.dtype)])
            out = np.asarray(eval_on_batch(jnp.asarray(chunk), model=model))
            predictions.append(out[:batch_size - pad].argmax(axis=1))
        accuracy = float(np.mean(np.concatenate(predictions) == y_test))
        curve.append({"epoch": epoch + 1, "train_seconds": elapsed, "test_accuracy": accuracy})
        print("EPOCH " + json.dumps(curve[-1]), flush=True)
        if accuracy >= target:
            reached = {"epoch": epoch + 1, "train_seconds": elapsed}
            break
    return {}, {"curve": curve, "reached": reached, "compile_s": compile_s,
                "best_accuracy": max(c["test_accuracy"] for c in curve)}


def main():
    data = np.load(ARGS.inputs)
    arrays, meta = {"check": run_check, "time": run_time, "accuracy": run_accuracy}[ARGS.mode](data)
    meta = {"versions": versions(), "threads": ARGS.threads, "results": meta,
            "xla_flags": __import__("os").environ.get("XLA_FLAGS")}
    np.savez(ARGS.output, meta=json.dumps(meta), **arrays)


if __name__ == "__main__":
    main()
