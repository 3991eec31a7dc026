"""GNCN-t1 (Rao & Ballard) of GNCNAutoencoder(variant="t1") built from ngc-learn 3.x
components, for bench_peers.py.

Runs in the peer virtual environment:

    python ngclearn_gncn.py IN.npz OUT.npz {check,time} --threads N

Circuit (row-major, layer 0 is the clamped input, layers 1..L latent)::

    z(l)  RateCell, tanh, tau_m = 1 / beta (dt = 1), prior ("laplacian", lambda)
          or ("gaussian", gamma): a RateCell takes ONE prior, so the leak -gamma z and
          the Laplace term -lambda sign(z) of sklearn-pc cannot both be on (wiring an
          extra leak cell into j_td through a Summation does not compile: RateCell
          writes j_td back)
    W(l)  HebbianSynapse (J_l, J_{l-1}), no bias, w_bound 0, Adam, sign -1,
          post_wght 1/N (batch-mean update), pre <- a(l), post <- e(l-1).dmu
    mu0   stateless RateCell, sigmoid, j <- W(1).outputs
    e(0)  GaussianErrorCell, mu <- mu0.zF, target clamped to x
    e(l)  GaussianErrorCell, mu <- W(l+1).outputs, target <- z(l).zF        (l = 1..L-1)
    E(l)  StaticSynapse (J_{l-1}, J_l) holding W(l)^T, inputs <- e(l-1).dmu
    z(l).j    <- E(l).outputs            (RateCell multiplies it by tanh'(z))
    z(l).j_td <- e(l).dtarget            (top layer: nothing)

One settling step runs W, mu0, e, E, then z: the errors of the current
states drive one Euler step of every layer (Jacobi), as in sklearn-pc.  After
T steps the "evolve" process recomputes predictions and errors at the settled
states, takes the Hebbian Adam step, and the driver renormalises every column
of W to unit L2 norm (ngclearn.utils.model_utils.normalize_matrix, axis 0) and
re-ties E = W^T.
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
from ngclearn import Context, MethodProcess  # noqa: E402
from ngclearn.components import (  # noqa: E402
    GaussianErrorCell,
    HebbianSynapse,
    RateCell,
    StaticSynapse,
)
from ngclearn.utils.model_utils import normalize_matrix  # noqa: E402
from ngcsimlib.global_state import stateManager  # noqa: E402

_COUNTER = [0]


class GNCNt1:
    def __init__(self, weights, batch_size, *, beta, prior, prior_rate, lr):
        _COUNTER[0] += 1
        sizes = [weights[0].shape[1]] + [w.shape[0] for w in weights]
        L = len(weights)
        self.batch_size = batch_size
        with Context(f"gncn_t1_{_COUNTER[0]}"):
            B = batch_size
            self.z = [RateCell(f"z{l}", n_units=sizes[l], tau_m=float(1.0 / beta), act_fx="tanh",
                               prior=(prior, float(prior_rate)), batch_size=B)
                      for l in range(1, L + 1)]
            self.mu0 = RateCell("mu0", n_units=sizes[0], tau_m=0., act_fx="sigmoid", batch_size=B)
            self.e = [GaussianErrorCell(f"e{l}", n_units=sizes[l], batch_size=B) for l in range(L)]
            self.W = [HebbianSynapse(f"W{l}", shape=(sizes[l], sizes[l - 1]), eta=lr, bias_init=None,
                                     w_bound=0., sign_value=-1., optim_type="adam",
                                     post_wght=1.0 / B, batch_size=B)
                      for l in range(1, L + 1)]
            self.E = [StaticSynapse(f"E{l}", shape=(sizes[l - 1], sizes[l]), bias_init=None,
                                    batch_size=B)
                      for l in range(1, L + 1)]
            for l in range(1, L + 1):
                z, W, E = self.z[l - 1], self.W[l - 1], self.E[l - 1]
                z.zF >> W.inputs
                z.zF >> W.pre
                self.e[l - 1].dmu >> W.post
                self.e[l - 1].dmu >> E.inputs
                E.outputs >> z.j
                if l < L:
                    self.e[l].dtarget >> z.j_td
                    z.zF >> self.e[l].target
                    self.W[l].outputs >> self.e[l].mu
            self.W[0].outputs >> self.mu0.j
            self.mu0.zF >> self.e[0].mu

            project = [W.advance_state for W in reversed(self.W)] + [self.mu0.advance_state] + [
                e.advance_state for e in self.e]
            settle = project + [E.advance_state for E in self.E] + [
                z.advance_state for z in self.z]
            self.advance = MethodProcess("advance")
            for method in settle:
                self.advance >> method
            self.evolve = MethodProcess("evolve")
            for method in project + [W.evolve for W in self.W]:
                self.evolve >> method
            self.reset = MethodProcess("reset")
            for comp in self.z + [self.mu0] + self.e + self.W + self.E:
                self.reset >> comp.reset
        self.set_weights(weights)

    def set_weights(self, weights):
        for W, E, w in zip(self.W, self.E, weights):
            w = jnp.asarray(w)
            W.weights.set(w)
            E.weights.set(w.T)

    def settle(self, x, n_steps):
        self.reset.run()
        self.e[0].target.set(x)
        inputs = jnp.array(self.advance.pack_rows(n_steps, dt=1.0))
        stateManager.state, _ = self.advance.scan(inputs)

    def learn(self):
        self.evolve.run(dt=1.0)
        normalized = _normalize([W.weights.get() for W in self.W])
        for W, E, w in zip(self.W, self.E, normalized):
            W.weights.set(w)
            E.weights.set(w.T)

    def states(self):
        return [z.z.get() for z in self.z]

    def fused(self, n_steps):
        """(settle, train): one jax.jit each over the processes' compiled pure functions.

        ``process.scan`` (the library's way, used by ``settle``/``learn``) runs
        ``jax.lax.scan`` outside ``jit`` and so re-traces and re-compiles the scan on
        every call; these fuse reset, clamp, the T steps (and evolve plus the
        renormalisation) into one compiled call on the global state dict.
        """
        reset = self.reset.run.compiled.source_fn
        advance = self.advance.run.compiled.source_fn
        evolve = self.evolve.run.compiled.source_fn
        evolve_args = self.evolve.pack_keywords(dt=1.0)
        inputs = jnp.array(self.advance.pack_rows(n_steps, dt=1.0))
        clamp = self.e[0].target.root
        w_keys = [W.weights.root for W in self.W]
        e_keys = [E.weights.root for E in self.E]

        def _settle(state, x):
            state, _ = reset(state, [])
            state = {**state, clamp: x}
            state, _ = jax.lax.scan(advance, state, inputs)
            return state

        def _train(state, x):
            state = _settle(state, x)
            state, _ = evolve(state, evolve_args)
            state = dict(state)
            for w_key, e_key, w in zip(w_keys, e_keys, _normalize([state[k] for k in w_keys])):
                state[w_key], state[e_key] = w, w.T
            return state

        settle_jit, train_jit = jax.jit(_settle), jax.jit(_train)

        def settle(x):
            stateManager.state = settle_jit(stateManager.state, x)

        def train(x):
            stateManager.state = train_jit(stateManager.state, x)

        return settle, train


@jax.jit
def _normalize(weights):
    return [normalize_matrix(w, 1., order=2, axis=0) for w in weights]


def load(data):
    L = int(data["n_layers"])
    return [np.asarray(data[f"W{l}"]) for l in range(1, L + 1)], dict(
        beta=float(data["beta"]), prior=str(data["prior"]), prior_rate=float(data["prior_rate"]),
        lr=float(data["lr"]))


def run_check(data):
    weights, hyper = load(data)
    X = jnp.asarray(data["X"])
    T = int(data["T"])
    model = GNCNt1(weights, X.shape[0], **hyper)
    model.settle(X, T)
    out = {f"state{l + 1}": np.asarray(s) for l, s in enumerate(model.states())}
    model.learn()
    for l, W in enumerate(model.W):
        out[f"grad{l + 1}"] = np.asarray(W.dWeights.get())
        out[f"new{l + 1}"] = np.asarray(W.weights.get())
    # the fused (jax.jit) path must compute the same thing as process.scan / run
    model = GNCNt1(weights, X.shape[0], **hyper)
    _, train = model.fused(T)
    train(X)
    fused_error = max(float(np.max(np.abs(np.asarray(W.weights.get()) - out[f"new{l + 1}"])))
                      for l, W in enumerate(model.W))
    return out, {"fused_vs_process_max_abs_diff": fused_error}


def run_time(data):
    weights, hyper = load(data)
    T = int(data["T"])
    X_pool = np.asarray(data["X"])
    results = {}
    for batch_size in [int(b) for b in data["batch_sizes"]]:
        n_batches = int(data["n_batches"])
        batches = [jnp.asarray(X_pool[i * batch_size:(i + 1) * batch_size])
                   for i in range(n_batches)]
        model = GNCNt1(weights, batch_size, **hyper)
        def block(model=model):
            jax.block_until_ready(model.W[0].weights.get())
        with Stopwatch() as first:
            for x in batches[:2]:
                model.settle(x, T)
                model.learn()
            block()
        with Stopwatch() as train:
            for x in batches:
                model.settle(x, T)
                model.learn()
            block()
        with Stopwatch() as first_infer:
            for x in batches[:2]:
                model.settle(x, T)
            jax.block_until_ready(model.z[-1].z.get())
        with Stopwatch() as infer:
            for x in batches:
                model.settle(x, T)
                top = model.z[-1].z.get()
            jax.block_until_ready(top)
        settle_jit, train_jit = model.fused(T)
        model.set_weights(weights)
        with Stopwatch() as first_fused:  # twice: the first call turns Python floats
            train_jit(batches[0])         # of the state into arrays, which re-traces once
            train_jit(batches[1 % n_batches])
            block()
        with Stopwatch() as train_fused:
            for x in batches:
                train_jit(x)
            block()
        with Stopwatch() as first_infer_fused:
            settle_jit(batches[0])
            settle_jit(batches[1 % n_batches])
            jax.block_until_ready(model.z[-1].z.get())
        with Stopwatch() as infer_fused:
            for x in batches:
                settle_jit(x)
                top = model.z[-1].z.get()
            jax.block_until_ready(top)
        n = n_batches * batch_size
        results[str(batch_size) + "-jit"] = {
            "train_samples_per_s": n / train_fused.seconds,
            "train_first_call_s": first_fused.seconds,
            "train_compile_s": max(first_fused.seconds - 2 * train_fused.seconds / n_batches, 0.0),
            "infer_samples_per_s": n / infer_fused.seconds,
            "infer_first_call_s": first_infer_fused.seconds,
            "infer_compile_s": max(first_infer_fused.seconds
                                   - 2 * infer_fused.seconds / n_batches, 0.0),
            "n_samples": n,
        }
        results[str(batch_size)] = {
            "train_samples_per_s": n / train.seconds,
            "train_first_call_s": first.seconds,
            "train_compile_s": max(first.seconds - 2 * train.seconds / n_batches, 0.0),
            "infer_samples_per_s": n / infer.seconds,
            "infer_first_call_s": first_infer.seconds,
            "infer_compile_s": max(first_infer.seconds - 2 * infer.seconds / n_batches, 0.0),
            "n_samples": n,
        }
    return {}, results


def main():
    data = np.load(ARGS.inputs)
    arrays, meta = {"check": run_check, "time": run_time}[ARGS.mode](data)
    meta = {"versions": versions(), "threads": ARGS.threads, "results": meta,
            "xla_flags": __import__("os").environ.get("XLA_FLAGS")}
    np.savez(ARGS.output, meta=json.dumps(meta), **arrays)


if __name__ == "__main__":
    main()
