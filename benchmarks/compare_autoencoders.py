"""Every GNCN variant and every backprop baseline on MNIST under one protocol.

    python benchmarks/compare_autoencoders.py rae gvae gvae-cv gan-ae --resume \
        --from-results reproduce_ngc_mnist                     # the baselines, 50 passes
    python benchmarks/compare_autoencoders.py --quick         # smoke run on load_digits

Ororbia & Kifer (2022), Tables 1-2 (MNIST columns) and the data-efficiency
experiment.  Protocol (the paper's, as SPEC sections 2-3 fix it), identical for every model and
implemented once, in ``reproduce_ngc.evaluate_autoencoder``: MNIST binarised
at 0.5, 60k train / 10k test; test BCE of the reconstruction; Monte-Carlo
log p(x) under a full-covariance Gaussian mixture fitted to the training
latents; test error of a logistic regression on the latents; M-MSE of
completing the masked right half.

Baselines (four-layer ReLU networks 784-500-500-20 and back, sigmoid output,
about 1.3 M synapses; Adam 1e-3, batch 200, 50 passes): RAE (``BackpropAutoencoder``),
GVAE and GVAE-CV (``VariationalAutoencoder``), GAN-AE
(``AdversarialAutoencoder``).  Rows are trained here, or read from committed
results with ``--from-results`` (``reproduce_ngc.py``'s, or an earlier run of
this script: same protocol function, same seed), which saves hours of CPU.
Training checkpoints every epoch under ``$SKLEARN_PC_RUNS`` and ``--resume``
continues an interrupted run, as ``reproduce_ngc.py`` does.

Data efficiency: each model is trained on the first 2 %, 10 %, 20 %, 50 % and
100 % of a fixed random permutation of the training set for the same number
of epochs, and its test BCE recorded (a PNG is written beside the results).
"""

import argparse
import json
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from _common import RESULTS, RUNS, write_results
from reproduce_ngc import PAPER as GNCN_PAPER
from reproduce_ngc import VARIANTS, evaluate_autoencoder, load, right_half_mask
from sklearn_pc import (
    AdversarialAutoencoder,
    BackpropAutoencoder,
    GNCNAutoencoder,
    VariationalAutoencoder,
)
from sklearn_pc.metrics import binary_cross_entropy, masked_mse

warnings.simplefilter("ignore", ConvergenceWarning)

BASELINES = {"rae": "RAE", "gvae-cv": "GVAE-CV", "gvae": "GVAE", "gan-ae": "GAN-AE"}
# Paper (arXiv v4, MNIST, mean of 10 trials): BCE, log p(x), classification error %, M-MSE.
PAPER = {"rae": [60.946, -117.009, 11.99, 22.10], "gvae-cv": [69.904, -106.413, 17.25, 20.37],
         "gvae": [75.521, -100.097, 9.13, 20.06], "gan-ae": [73.54, -94.418, 13.03, 15.87],
         **GNCN_PAPER}
NAMES = {**BASELINES, **VARIANTS}
COLUMNS = ["BCE", "log p(x)", "error %", "M-MSE"]


def make_model(name, args, epochs):
    quick = args.quick
    common = dict(max_iter=epochs, n_iter_no_change=epochs,
                  batch_size=64 if quick else args.batch_size,
                  n_prior_components=args.components, prior_max_samples=args.prior_samples,
                  n_mc_samples=args.mc_samples, random_state=args.seed)
    if name in VARIANTS:
        return GNCNAutoencoder(name, latent_sizes=(24, 24, 24) if quick else (360, 360, 360),
                               inference_rate=0.1, n_groups=4 if quick else 20, **common)
    hidden = (32, 32) if quick else (500, 500)
    latent = 8 if quick else 20
    if name == "rae":
        return BackpropAutoencoder(latent, hidden_layer_sizes=hidden, **common)
    if name == "gan-ae":
        return AdversarialAutoencoder(latent, hidden_layer_sizes=hidden, **common)
    return VariationalAutoencoder(latent, hidden_layer_sizes=hidden,
                                  fixed_variance=1.0 if name == "gvae-cv" else None, **common)


def comparison_table(rows, sources, args):
    lines = ["# Ororbia & Kifer (2022), MNIST, Tables 1-2: every model, ours (paper in brackets)",
             "", f"Baselines: {args.epochs} epochs.  GMM prior: {args.components} components "
             f"on {args.prior_samples or 'all'} training images' latents, {args.mc_samples} "
             "Monte-Carlo draws.", "",
             "| model | " + " | ".join(COLUMNS) + " | fit (s) | source |",
             "|---" * (len(COLUMNS) + 3) + "|"]
    for name, row in rows.items():
        cells = [f"{row[c]:.2f} ({p})" for c, p in zip(COLUMNS, PAPER[name])]
        lines.append(f"| {NAMES[name]} | " + " | ".join(cells)
                     + f" | {row['fit seconds']:.0f} | {sources[name]} |")
    return lines


def data_efficiency(models, data, args, full_rows, known):
    """Test BCE per model and training fraction: taken from ``known`` (earlier
    results) when there, at 100 % from the comparison table when its run had
    the same number of epochs, else trained here."""
    X, _, X_test, _ = data
    order = np.random.RandomState(args.seed).permutation(X.shape[0])
    curves = {}
    for name in models:
        curves[name] = {}
        for fraction in args.fractions:
            full = full_rows.get(name)
            if str(fraction) in known.get(name, {}):
                curves[name][fraction] = known[name][str(fraction)]
                continue
            if fraction == 1.0 and full and full["epochs"] == args.efficiency_epochs:
                curves[name][fraction] = full["BCE"]
                continue
            rows = order[:max(int(round(fraction * X.shape[0])), 2)]
            model = make_model(name, args, args.efficiency_epochs)
            model.set_params(n_prior_components=1, prior_max_samples=2)  # BCE needs no prior
            model.fit(X[rows])
            curves[name][fraction] = binary_cross_entropy(X_test, model.reconstruct(X_test))
            print(f"data efficiency {NAMES[name]} {fraction:.0%}: "
                  f"BCE {curves[name][fraction]:.2f}", flush=True)
    return curves


def plot_efficiency(curves, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in curves.items():
        fractions = sorted(curve)
        ax.plot([100 * f for f in fractions], [curve[f] for f in fractions], marker="o",
                label=NAMES[name])
    ax.set_xscale("log")
    ax.set_xlabel("training data used (%)")
    ax.set_ylabel("test BCE (nats, lower is better)")
    ax.set_title("Data efficiency on binarised MNIST")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", choices=[*NAMES, []], default=[])
    parser.add_argument("--quick", action="store_true", help="smoke run on load_digits")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--resume", action="store_true",
                        help="continue from the checkpoints of an interrupted run")
    parser.add_argument("--from-results", metavar="NAME", nargs="*", default=[],
                        help="take the rows and data-efficiency points found in "
                             "benchmarks/results/NAME.json (of this script or of "
                             "reproduce_ngc.py) instead of training them")
    parser.add_argument("--components", type=int, default=75)
    parser.add_argument("--prior-samples", type=int, default=10000)
    parser.add_argument("--mc-samples", type=int, default=5000)
    parser.add_argument("--latent-subset", type=int, default=10000)
    parser.add_argument("--fractions", type=float, nargs="*",
                        default=[0.02, 0.1, 0.2, 0.5, 1.0])
    parser.add_argument("--efficiency-models", nargs="*", choices=list(NAMES),
                        default=["rae", "gvae", "gan-ae", "t1", "pdh"])
    parser.add_argument("--efficiency-epochs", type=int, default=None,
                        help="epochs of the data-efficiency runs (default: --epochs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="compare_autoencoders_mnist")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.components, args.mc_samples, args.latent_subset = 2, 3, 100, 1000
        args.efficiency_models = ["rae", "t1"]
    args.prior_samples = args.prior_samples or None
    args.efficiency_epochs = args.efficiency_epochs or args.epochs
    data = load(args.quick)
    known_rows, known_sources, known_curves = {}, {}, {}
    for result in args.from_results:
        payload = json.loads((RESULTS / f"{result}.json").read_text())
        for name, row in payload["rows"].items():
            known_rows[name] = row
            known_sources[name] = payload.get("sources", {}).get(name, f"`{result}.json`")
            if known_sources[name] == "this run":
                known_sources[name] = f"`{result}.json`"
        for name, curve in payload.get("data_efficiency", {}).items():
            known_curves.setdefault(name, {}).update(curve)
    rows, sources = {}, {}
    for name in args.models or NAMES:
        if name in known_rows:
            rows[name], sources[name] = known_rows[name], known_sources[name]
            continue
        rows[name] = evaluate_autoencoder(make_model(name, args, args.epochs), data,
                                          path=None if args.quick else
                                          RUNS / args.name / f"{name}.joblib",
                                          resume=args.resume,
                                          epochs=args.epochs, seed=args.seed,
                                          latent_subset=args.latent_subset,
                                          prior_samples=args.prior_samples)
        sources[name] = "this run"
        print(NAMES[name], json.dumps(rows[name]), flush=True)
    lines = comparison_table(rows, sources, args)
    X, _, X_test, _ = data
    observed = right_half_mask(X.shape[1])
    mean_fill = masked_mse(X_test, np.where(observed, X_test, X.mean(axis=0)), observed)
    lines += ["", f"Reference for M-MSE (squared error summed over the {int((~observed).sum())} "
              f"masked pixels, mean over test images): filling them with the training set's "
              f"mean image scores {mean_fill:.2f}."]
    curves = (data_efficiency(args.efficiency_models, data, args, rows, known_curves)
              if args.fractions else {})
    if curves:
        lines += ["", f"## Data efficiency: test BCE after {args.efficiency_epochs} epochs on "
                  "a fraction of the training set", "",
                  "| model | " + " | ".join(f"{f:.0%}" for f in args.fractions) + " |",
                  "|---" * (len(args.fractions) + 1) + "|"]
        lines += [f"| {NAMES[name]} | " + " | ".join(f"{curve[f]:.2f}" for f in args.fractions)
                  + " |" for name, curve in curves.items()]
    markdown = "\n".join(lines) + "\n"
    print(markdown)
    if not args.quick:
        write_results(args.name, {"rows": rows, "sources": sources, "data_efficiency": {
            name: {str(f): v for f, v in curve.items()} for name, curve in curves.items()},
            "paper": {"columns": COLUMNS, **PAPER}}, markdown)
        if curves:
            plot_efficiency(curves, RESULTS / f"{args.name}_data_efficiency.png")


if __name__ == "__main__":
    main()
