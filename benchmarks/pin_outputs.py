"""Pin every estimator's outputs on small fixed data, to check a refactoring of the core.

    python benchmarks/pin_outputs.py --save DIR      # record (before the change)
    python benchmarks/pin_outputs.py --compare DIR   # after: max relative difference

Float64 data (``load_digits`` subsets scaled to [0, 1]), fixed seeds, few
iterations.  ``--compare`` prints, per estimator configuration, the largest
elementwise ``|new - old| / max(|old|, atol)`` over its outputs and exits 1 if
any exceeds ``--rtol`` (default 1e-5; ``atol`` 1e-12 guards exact zeros).
"""

import argparse
import os
import sys
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sklearn_pc import GNCNAutoencoder, PCClassifier, PCGenerator


def data():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float64)
    return X[:120], y[:120], X[120:150], y[120:150]


def classifier_cases():
    base = dict(hidden_layer_sizes=(20, 15), activation="tanh", max_iter=3, batch_size=40,
                random_state=0, n_inference_steps=8, inference_tol=0.0)
    yield "pc_alt_tied", dict(base)
    yield "pc_alt_separate", dict(base, feedback="separate")
    yield "pc_euler", dict(base, inference="euler")
    yield "pc_euler_separate", dict(base, inference="euler", feedback="separate")
    yield "pc_squared", dict(base, loss="squared_error")
    yield "pc_tol", dict(base, inference_tol=1e-2, n_inference_steps=30)
    yield "pc_tol_separate_relu", dict(base, inference_tol=1e-2, n_inference_steps=30,
                                       feedback="separate", activation="relu")
    yield "pc_logistic_nobias", dict(base, activation="logistic", fit_intercept=False)


def generator_cases():
    base = dict(hidden_layer_sizes=(20, 15), activation="tanh", max_iter=3, batch_size=40,
                random_state=0, n_inference_steps=8, inference_tol=0.0,
                n_generation_steps=40, activity_decay=0.05)
    yield "gen_alt", dict(base)
    yield "gen_euler", dict(base, generation="euler", inference="euler")
    yield "gen_tol_separate", dict(base, generation_tol=1e-3, feedback="separate",
                                   inference_tol=1e-2, n_inference_steps=20)
    yield "gen_squared_nodecay", dict(base, loss="squared_error", activity_decay=0.0)


def gncn_cases():
    for variant in ("t1", "t1-sigma", "t2-lsigma", "pdh"):
        for likelihood in ("bernoulli", "gaussian"):
            yield f"gncn_{variant}_{likelihood}", dict(
                variant=variant, likelihood=likelihood, latent_sizes=(12, 10, 8),
                n_inference_steps=10, max_iter=3, batch_size=40, random_state=0,
                n_groups=3, n_prior_components=2, n_mc_samples=50)
    yield "gncn_t1_onelayer", dict(variant="t1", latent_sizes=(16,), n_inference_steps=10,
                                   max_iter=3, batch_size=40, random_state=0,
                                   n_prior_components=2, n_mc_samples=50)


def outputs():
    X, y, Xt, yt = data()
    rng = np.random.default_rng(1)
    holes = Xt.copy()
    holes[rng.random(holes.shape) < 0.3] = np.nan
    train_holes = X.copy()
    train_holes[np.random.default_rng(2).random(X.shape) < 0.2] = np.nan
    out = {}
    for name, params in classifier_cases():
        model = PCClassifier(**params).fit(X, y)
        out[name] = dict(proba=model.predict_proba(Xt), transform=model.transform(Xt),
                         loss=np.array(model.loss_curve_))
    for name, params in generator_cases():
        model = PCGenerator(**params).fit(X, y)
        Z = model.transform(Xt)
        out[name] = dict(proba=model.predict_proba(Xt), transform=Z,
                         inverse=model.inverse_transform(Z[:6]),
                         generate=model.generate(np.arange(6)),
                         sample=model.sample(6, random_state=0)[0],
                         loss=np.array(model.loss_curve_))
    for name, params in gncn_cases():
        model = GNCNAutoencoder(**params).fit(X)
        Z = model.transform(Xt)
        result = dict(transform=Z, layers=np.hstack(model.transform_layers(Xt)),
                      inverse=model.inverse_transform(Z), reconstruct=model.reconstruct(Xt),
                      score=model.score_samples(Xt), complete=model.complete(holes),
                      loss=np.array(model.loss_curve_))
        if name.endswith("bernoulli") or name.endswith("onelayer"):
            holed = GNCNAutoencoder(**params).fit(train_holes)
            result["nan_transform"] = holed.transform(Xt)
            result["nan_loss"] = np.array(holed.loss_curve_)
        out[name] = result
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save")
    group.add_argument("--compare")
    parser.add_argument("--rtol", type=float, default=1e-5)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    results = outputs()
    if args.save:
        os.makedirs(args.save, exist_ok=True)
        for name, arrays in results.items():
            np.savez(os.path.join(args.save, name + ".npz"), **arrays)
        print(f"saved {len(results)} configurations to {args.save}")
        return 0
    worst = 0.0
    for name, arrays in results.items():
        old = np.load(os.path.join(args.compare, name + ".npz"))
        largest = 0.0
        for key, value in arrays.items():
            reference = old[key]
            if reference.shape != value.shape:
                largest = np.inf
                print(f"  {name}.{key}: shape {value.shape} != {reference.shape}")
                continue
            same_nan = np.isnan(reference) == np.isnan(value)
            ok = ~np.isnan(reference)
            rel = np.abs(value[ok] - reference[ok]) / np.maximum(np.abs(reference[ok]), 1e-12)
            largest = max(largest, float(rel.max(initial=0.0)), 0.0 if same_nan.all() else np.inf)
        worst = max(worst, largest)
        print(f"{name:28s} max rel diff {largest:.3g}")
    print(f"worst {worst:.3g} (rtol {args.rtol})")
    return int(worst > args.rtol)


if __name__ == "__main__":
    sys.exit(main())
