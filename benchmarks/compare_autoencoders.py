"""Every GNCN variant and every backprop baseline on MNIST under one protocol.

    python benchmarks/compare_autoencoders.py rae gvae gvae-cv gan-ae --resume \
        --from-results reproduce_ngc_mnist                     # the baselines, 50 passes
    python benchmarks/compare_autoencoders.py --tune --resume            # issue 33 item 4
    python benchmarks/compare_autoencoders.py --efficiency --resume \
        --settings-from compare_autoencoders_mnist_tuned compare_autoencoders_mnist_gan_ae_tuned \
        compare_autoencoders_mnist_gvae_cv_tuned \
        --efficiency-models rae gvae gvae-cv gan-ae t1-sigma pdh        # issue 33 item 5
    python benchmarks/compare_autoencoders.py rae gvae gvae-cv gan-ae t1-sigma \
        pdh-nolateral t2-lsigma-nolateral t2-lsigma t1 --pass-cost   # seconds per pass
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
this script: same protocol function, same seed), which saves hours of CPU; a
file made with other protocol settings (``_common.PROTOCOL``: epochs, batch,
prior components and rows, draws, latent rows, seed) is refused, and the table's
source column names each row's file and commit.
Training checkpoints every epoch under ``$SKLEARN_PC_RUNS`` and ``--resume``
continues an interrupted run, as ``reproduce_ngc.py`` does.

Data efficiency (the table's run): each model is trained on the first 2 %, 10 %,
20 %, 50 % and 100 % of a fixed random permutation of the training set for the
same number of epochs, and its test BCE recorded (a PNG is written beside the
results).

Issue 33 items 4 and 5 (``--tune``, ``--efficiency``; each writes its own
results, ``NAME_tuned`` and ``NAME_efficiency``, instead of the table above).
Both use one fixed validation split: the last ``--validation`` (10,000) of the
60k training images; what trains is the first 50,000 (a subset of them for
item 5); the 10k test images choose nothing.  Early stopping
(``train_early_stopped``) checks the validation BCE, stops after
``--patience`` (5) checks without an improvement of more than ``--tol`` (0.01)
nats, and keeps the best check's weights, as the estimators' own
``early_stopping`` does; it is done here, not by the estimators, because theirs
holds out a random fraction of what ``fit`` is given and cannot be
checkpointed between epochs.

``--tune`` (item 4), for each baseline named (default: all four): every point
of its grid (``GRID``: weight_decay in {0, 1e-4, 1e-3} x learning_rate_init in
{1e-3, 3e-4} for RAE, GVAE and GAN-AE; fixed_variance in {0.025, 0.1, 0.5, 1} x
weight_decay in {0, 1e-4, 1e-3} for GVAE-CV, at Adam 1e-3) trains on the
50,000 with early stopping on the 10,000, for at most ``--tune-epochs`` (50)
passes; the point of lowest validation BCE is chosen (the first in grid order
on a tie).  The chosen setting then trains on all 60k for the paper's 50 passes
(``--epochs``) and is scored by ``evaluate_autoencoder``, like every other row:
50 passes rather than early stopping, so that the row reads at equal epochs and
on the same training images beside the GNCN rows (trained 50 passes on 60k),
while the chosen point's validation curve (recorded) shows whether 50 passes
over- or under-train it.  Each row records the grid, every point's validation
BCE, best pass, passes run and seconds, the chosen setting, the epochs of the
final run and its fit seconds, and the grid's seconds ("tuning seconds"), so
the table reads at equal epochs and at equal compute.

``--pass-cost``: the seconds per pass of every model named, all measured in one
process, taking turns (``pass_cost``), so that the table can be read at equal
compute: the training runs' own fit seconds come from different days and
machines' loads.  Writes ``NAME_pass_cost``.

``--efficiency`` (item 5), for each of ``--efficiency-models`` (GNCN variants or
baselines), fraction (``--fractions``, of the 50,000) and seed (``--seeds``, 3,
at fractions up to 20 %; ``--seeds-large``, 1, above): a subset drawn by the
seed, trained to convergence with early stopping on the 10,000 (a check every
``max(1, ceil(--check-samples / rows))`` passes, so a 1,000-image subset is
checked every 10 passes, not after 5 updates; at most ``--efficiency-checks``,
300, so that a slow learner such as the GVAE converges too), its best weights
scored on the test BCE, and on (at most ``--check-samples`` of) the images it
trained on, to tell a model that underfits from one that lacks data.  The JSON
holds every model's constructor parameters, every run (seed, rows, test BCE,
training-subset BCE, validation curve, passes, fit seconds) and per point
the mean, std, min and max over seeds; the PNG plots the mean with a min-max
band.  Baselines train at the setting ``--tune`` chose when ``--settings-from``
names its result (tuned at the same batch, on a validation split of the same
size: ``TUNE_PROTOCOL``), else at their defaults; GNCNs at the paper's.  With
``--from-results`` naming earlier ``--efficiency`` results (made with the same
``EFFICIENCY_PROTOCOL`` settings), their (model, fraction) points are taken,
not trained, and the table names their files and commits: item 5 can run in
pieces, a model or a few fractions per command (``--fractions``, ``--name``),
and end with one command that names them all.

Checkpoints: under ``$SKLEARN_PC_RUNS/NAME/``, one file per grid point
(``tune/MODEL/PARAMS.joblib``), per final run (``MODEL.final.joblib``, with its
evaluation's stages) and per (model, fraction, seed)
(``efficiency/MODEL_FRACTION_SEED[_SETTINGS].joblib``), saved after every pass; with
``--resume`` a finished one is read back, not trained, and an unfinished one
continues from its last pass.  A run that ended at the ``--efficiency-checks``
cap keeps its last weights, so the same command with a higher cap continues it
(only the runs at the cap train again, and they end as if run straight to the
new cap).  Every pass visits its rows in an order drawn
from ``(seed, pass)`` and the model carries its generator, so a result is the
same whether or not the run was interrupted (``--quick`` checks it).  Runs of
the same NAME may be split over commands (say, baselines first), since a
finished point costs only its test scoring when read back; the result files
are those of the last command, so end with one naming every model.

Cost on one core (``benchmarks/results/README.md`` has the sums): ``--tune``
at most about 5 h for the four baselines (1.7 h with ``--tune-epochs 10``);
``--efficiency`` as long as early stopping lets it: each piece's seconds are
in its results.  The tuned rows can join the table:
``--from-results reproduce_ngc_mnist compare_autoencoders_mnist_tuned``.

``--quick`` runs the table's protocol and both items shrunk on load_digits
(last 300 training images validate; two grid points per baseline, RAE and
GVAE-CV; RAE and GNCN-t1 at 20 % and 100 %, two seeds at 20 %), checkpoints in
a temporary folder, and writes no result file.
"""

import argparse
import copy
import json
import tempfile
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import ParameterGrid

from _common import (
    RESULTS,
    RUNS,
    earlier_sources_line,
    estimator_params,
    read_results,
    read_rows,
    source_label,
    timed,
    write_results,
)
from reproduce_ngc import PAPER as GNCN_PAPER
from reproduce_ngc import (
    COMPLETION_DRAWS,
    MODELS,
    evaluate_autoencoder,
    load,
    make_gncn,
    right_half_mask,
    save_checkpoint,
    variant_of,
)
from sklearn_pc import (
    AdversarialAutoencoder,
    BackpropAutoencoder,
    VariationalAutoencoder,
)
from sklearn_pc.metrics import binary_cross_entropy, masked_mse

warnings.simplefilter("ignore", ConvergenceWarning)

BASELINES = {"rae": "RAE", "gvae-cv": "GVAE-CV", "gvae": "GVAE", "gan-ae": "GAN-AE"}
# Paper (arXiv v4, MNIST, mean of 10 trials): BCE, log p(x), classification error %, M-MSE.
PAPER = {"rae": [60.946, -117.009, 11.99, 22.10], "gvae-cv": [69.904, -106.413, 17.25, 20.37],
         "gvae": [75.521, -100.097, 9.13, 20.06], "gan-ae": [73.54, -94.418, 13.03, 15.87],
         **GNCN_PAPER}
NAMES = {**BASELINES, **MODELS}  # the GNCN rows as reproduce_ngc.py names them
COLUMNS = ["BCE", "log p(x)", "error %", "M-MSE"]
# Issue 33 item 4: the grid each baseline is tuned over on the validation split
# (ParameterGrid order).  The L2 penalty and the learning rate for every
# baseline; for GVAE-CV its fixed variance in [0.025, 1] (the paper's range)
# instead of the learning rate, which keeps its grid at 12 points.
GRID = {name: {"weight_decay": [0.0, 1e-4, 1e-3], "learning_rate_init": [1e-3, 3e-4]}
        for name in ("rae", "gvae", "gan-ae")}
GRID["gvae-cv"] = {"fixed_variance": [0.025, 0.1, 0.5, 1.0], "weight_decay": [0.0, 1e-4, 1e-3]}
QUICK_GRID = {name: {"weight_decay": [0.0, 1e-3]} for name in ("rae", "gvae", "gan-ae")}
QUICK_GRID["gvae-cv"] = {"fixed_variance": [0.1, 1.0]}


def set_model(name, args, epochs, settings):
    """``make_model`` at the setting ``--tune`` chose for it, if any (``settings``:
    ``{baseline: setting}``, from ``tuned_settings``)."""
    return make_model(name, args, epochs).set_params(**settings.get(name, {}))


def make_model(name, args, epochs):
    quick = args.quick
    common = dict(max_iter=epochs, n_iter_no_change=epochs,
                  batch_size=64 if quick else args.batch_size,
                  n_prior_components=args.components, prior_max_samples=args.prior_samples,
                  n_mc_samples=args.mc_samples, random_state=args.seed)
    if name in MODELS:  # built as reproduce_ngc.py builds it, trained for ``epochs``
        return make_gncn(name, args).set_params(**common)
    hidden = (32, 32) if quick else (500, 500)
    latent = 8 if quick else 20
    if name == "rae":
        return BackpropAutoencoder(latent, hidden_layer_sizes=hidden, **common)
    if name == "gan-ae":
        return AdversarialAutoencoder(latent, hidden_layer_sizes=hidden, **common)
    return VariationalAutoencoder(latent, hidden_layer_sizes=hidden,
                                  fixed_variance=1.0 if name == "gvae-cv" else None, **common)


def completion_draws(args):
    """Prior draws of the posterior-mean completion (fewer in the smoke run)."""
    return 500 if args.quick else COMPLETION_DRAWS


def comparison_table(rows, sources, args):
    lines = ["# Ororbia & Kifer (2022), MNIST, Tables 1-2: every model, ours (paper in brackets)",
             "", f"Baselines: {args.epochs} epochs.  GMM prior: {args.components} components "
             f"on {args.prior_samples or 'all'} training images' latents, {args.mc_samples} "
             "Monte-Carlo draws.", "",
             "M-MSE: the right half completed by the model's own completion (settling, or "
             "iterated reconstruction); posterior: by the posterior mean over the prior's "
             "draws (`complete(method=\"posterior\")`, ours; - where the row's run predates "
             "it).", "",
             "| model | " + " | ".join(COLUMNS) + " | M-MSE, posterior | fit (s) | source |",
             "|---" * (len(COLUMNS) + 4) + "|"]
    for name, row in rows.items():
        cells = [f"{row[c]:.2f} ({p})" for c, p in zip(COLUMNS, PAPER[variant_of(name)])]
        posterior = row.get("posterior completion")
        cells.append(f"{posterior['M-MSE']['right half']:.2f}" if posterior else "-")
        lines.append(f"| {NAMES[name]} | " + " | ".join(cells)
                     + f" | {row['fit seconds']:.0f} | {source_label(sources[name])} |")
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


def split_validation(X, n_validation):
    """The fixed split of the training images: the first ``len(X) - n_validation``
    rows train, the last ``n_validation`` validate (on MNIST the last 10k of the
    60k training images; the 10k test images are never looked at to choose)."""
    if not 0 < n_validation < X.shape[0]:
        raise SystemExit(f"--validation {n_validation} must be between 0 and {X.shape[0]}")
    return X[:-n_validation], X[-n_validation:]


def efficiency_subset(n_train, fraction, seed):
    """Item 5's training subset: the first ``fraction`` (at least 2 rows) of
    ``RandomState(seed).permutation`` of the ``n_train`` training rows."""
    n_rows = max(int(round(fraction * n_train)), 2)
    return np.random.RandomState(seed).permutation(n_train)[:n_rows]


def stopped(state, patience, max_checks):
    """The early-stopping rule: ``patience`` checks without an improvement, or
    ``max_checks`` checks in all."""
    return state["since best"] >= patience or len(state["checks"]) >= max_checks


def train_early_stopped(model, X, X_val, *, seed, max_checks, patience, tol,
                        check_samples=0, path=None, resume=False, stop_after=None,
                        verbose=False):
    """Train ``model`` one ``partial_fit`` pass at a time, with early stopping on
    the fixed validation rows ``X_val``; checkpointed at ``path`` after every pass.

    Pass ``e`` visits the rows in the order ``default_rng([seed, e]).permutation``
    (as ``reproduce_ngc.train_checkpointed`` does), and the model carries its own
    random generator, so a run interrupted and resumed (``resume``) ends with the
    same weights and scores as one run straight through.  The validation BCE is
    checked every ``ceil(check_samples / len(X))`` passes (at least one: a small
    training subset is checked after as many samples as a large one, not after
    a handful of updates); training stops after ``patience`` checks without an
    improvement of more than ``tol`` nats, or after ``max_checks`` checks, and the
    weights of the best check are kept (the estimators' own ``early_stopping``
    follows the same rule, but on a random ``validation_fraction`` of what
    ``fit`` is given, and cannot be checkpointed between epochs).  A run that
    ended at the cap keeps its last weights too: resumed with a higher
    ``max_checks``, it continues as if it had run straight to that cap (a run
    stopped by patience is read back as it is).

    Returns the state ``{"best": model at the best check, "best BCE",
    "best epoch", "epoch": passes run, "checks": [[pass, validation BCE], ...],
    "seconds": training seconds (``partial_fit`` only), "validation seconds"}``,
    or None if ``stop_after`` passes stopped it (a simulated interruption).
    """
    # not compared: the prior is fitted after training, not trained; partial_fit trains
    # one pass whatever max_iter and n_iter_no_change are (the cap here is max_checks)
    ignored = ("random_state", "prior_max_samples", "max_iter", "n_iter_no_change")
    params = {k: v for k, v in estimator_params(model).items() if k not in ignored}
    state = joblib.load(path) if resume and path and path.exists() else None
    if state is not None:
        state["params"] = {k: v for k, v in state["params"].items() if k not in ignored}
    if state is not None and state["params"] != params:
        raise SystemExit(f"{path} was made with other parameters: {state['params']}; remove "
                         "it or run without --resume")
    if state is not None and state["checks"]:
        # the stopping rule is applied again, so that a run stopped by a lower cap
        # continues to this one as if it had run straight to it
        if len(state["checks"]) > max_checks:
            raise SystemExit(f"{path} ran {len(state['checks'])} checks, past this run's cap "
                             f"of {max_checks}; remove it or run without --resume")
        state["done"] = stopped(state, patience, max_checks)
        if not state["done"] and state["model"] is None:
            raise SystemExit(f"{path} stopped at the cap of {len(state['checks'])} checks and "
                             "kept only its best weights (it was made before a run at the "
                             "cap kept its last), so it cannot continue to "
                             f"{max_checks}; remove it or run without --resume")
    if state is None:
        if isinstance(model.random_state, (int, np.integer)):
            model.set_params(random_state=np.random.RandomState(model.random_state))
        state = {"params": params, "model": model, "best": None, "best BCE": np.inf,
                 "best epoch": 0, "since best": 0, "epoch": 0, "checks": [], "seconds": 0.0,
                 "validation seconds": 0.0, "done": False}
    passes = max(1, -(-check_samples // X.shape[0]))
    while not state["done"]:
        if stop_after is not None and state["epoch"] >= stop_after:
            return None
        order = np.random.default_rng([seed, state["epoch"]]).permutation(X.shape[0])
        start = time.perf_counter()
        state["model"].partial_fit(X[order])
        state["seconds"] += time.perf_counter() - start
        state["epoch"] += 1
        if state["epoch"] % passes == 0:
            start = time.perf_counter()
            bce = binary_cross_entropy(X_val, state["model"].reconstruct(X_val))
            state["validation seconds"] += time.perf_counter() - start
            state["checks"].append([state["epoch"], bce])
            if bce < state["best BCE"] - tol:
                state.update({"best": copy.deepcopy(state["model"]), "best BCE": bce,
                              "best epoch": state["epoch"], "since best": 0})
            else:
                state["since best"] += 1
            state["done"] = stopped(state, patience, max_checks)
            if verbose:
                print(f"    pass {state['epoch']}: validation BCE {bce:.3f}", flush=True)
        if state["done"] and state["since best"] >= patience:
            # stopped by patience: the best weights are kept, the last are not needed
            # (a run at the cap keeps them, to continue if the cap is raised)
            state["model"] = None
        if path:
            save_checkpoint(state, path)
    return state


def run_summary(state):
    """What a row records of an early-stopped run (JSON-ready)."""
    return {"validation BCE": state["best BCE"], "best epoch": state["best epoch"],
            "epochs": state["epoch"], "fit seconds": state["seconds"],
            "validation seconds": state["validation seconds"],
            "validation curve": state["checks"]}


def early_stopping_args(args, max_checks):
    return dict(max_checks=max_checks, patience=args.patience, tol=args.tol)


def tune(name, data, args, runs):
    """Issue 33 item 4 for one baseline: every point of its grid trained on the
    training part with early stopping on the validation split (at most
    ``--tune-epochs`` passes), the point of lowest validation BCE chosen, then
    trained on all training images for ``--epochs`` passes and scored by the
    protocol of every other row (``evaluate_autoencoder``)."""
    X, _, _, _ = data
    X_train, X_val = split_validation(X, args.validation)
    grid = list(ParameterGrid((QUICK_GRID if args.quick else GRID)[name]))
    points = []
    for point in grid:
        model = make_model(name, args, args.tune_epochs).set_params(**point)
        key = "_".join(f"{k}={v}" for k, v in sorted(point.items()))
        state = train_early_stopped(
            model, X_train, X_val, seed=args.seed, **early_stopping_args(args, args.tune_epochs),
            path=runs / "tune" / name / f"{key}.joblib" if runs else None, resume=args.resume)
        points.append({"params": point, **run_summary(state)})
        print(f"tune {NAMES[name]} {point}: validation BCE {state['best BCE']:.3f} at pass "
              f"{state['best epoch']} of {state['epoch']} ({state['seconds']:.0f} s)", flush=True)
    chosen = min(points, key=lambda p: p["validation BCE"])["params"]
    model = make_model(name, args, args.epochs).set_params(**chosen)
    row = evaluate_autoencoder(model, data, path=runs / f"{name}.final.joblib" if runs else None,
                               resume=args.resume, epochs=args.epochs, seed=args.seed,
                               latent_subset=args.latent_subset,
                               prior_samples=args.prior_samples,
                               completion_draws=completion_draws(args))
    row.update({"grid": (QUICK_GRID if args.quick else GRID)[name], "grid points": points,
                "chosen": chosen, "tuning seconds": sum(p["fit seconds"] + p["validation seconds"]
                                                        for p in points),
                "validation rows": args.validation, "tune epochs": args.tune_epochs})
    print(NAMES[name], "tuned:", json.dumps(chosen), f"test BCE {row['BCE']:.2f}", flush=True)
    return row


def tuned_table(rows, args):
    lines = ["# Ororbia & Kifer (2022), MNIST: the baselines tuned on a validation split "
             "(issue 33 item 4), ours (paper in brackets)", "",
             f"Each point of a small grid trained on the training images but the last "
             f"{args.validation}, with early stopping on those (at most {args.tune_epochs} "
             f"passes, patience {args.patience} passes, tol {args.tol} nats); the point of "
             f"lowest validation BCE trained on all training images for {args.epochs} passes "
             "and scored as every row of `compare_autoencoders_mnist.md`.  Fit: seconds of "
             "the final training; tuning: seconds of the whole grid (training and "
             "validation).", "",
             "| model | " + " | ".join(COLUMNS) + " | chosen | validation BCE | epochs "
             "| fit (s) | tuning (s) |", "|---" * (len(COLUMNS) + 6) + "|"]
    for name, row in rows.items():
        cells = [f"{row[c]:.2f} ({p})" for c, p in zip(COLUMNS, PAPER[name])]
        best = min(p["validation BCE"] for p in row["grid points"])
        chosen = ", ".join(f"{k} {v}" for k, v in row["chosen"].items())
        lines.append(f"| {NAMES[name]} | " + " | ".join(cells) + f" | {chosen} | {best:.2f} | "
                     f"{row['epochs']} | {row['fit seconds']:.0f} | {row['tuning seconds']:.0f} |")
    lines += ["", "Validation BCE of every grid point (best pass / passes run):", ""]
    for name, row in rows.items():
        lines.append(f"- {NAMES[name]}: " + "; ".join(
            ", ".join(f"{k} {v}" for k, v in p["params"].items())
            + f": {p['validation BCE']:.2f} ({p['best epoch']}/{p['epochs']})"
            for p in row["grid points"]))
    return lines


def efficiency_seeds(fraction, args):
    return args.seeds if fraction <= 0.2 else args.seeds_large


# What points of --efficiency read with --from-results must share with this run (and
# each baseline's setting, checked point by point: efficiency_points_from_results).
EFFICIENCY_PROTOCOL = ("batch_size", "seed", "validation", "patience", "tol", "check_samples",
                       "efficiency_checks", "seeds", "seeds_large")
EFFICIENCY_KEY = "data efficiency, early stopping"


# What a --tune file read by --settings-from must share with this run: its choice was
# made for this batch, on a validation split of this size.
TUNE_PROTOCOL = ("batch_size", "validation")


def tuned_settings(args, folder=None):
    """``{baseline: setting}`` chosen in the ``--tune`` results that
    ``--settings-from`` names (a later file's choice replaces an earlier
    one's); a file that is missing, was tuned at another batch or validation
    size (``TUNE_PROTOCOL``), or chose nothing raises ``SystemExit``."""
    settings = {}
    for result in args.settings_from:
        payload, _ = read_results(result, args, TUNE_PROTOCOL, folder)
        chosen = {name: row["chosen"] for name, row in payload.get("rows", {}).items()
                  if "chosen" in row}
        if not chosen:
            raise SystemExit(f"{result}.json chose no setting (not a --tune result)")
        settings.update(chosen)
    return settings


def efficiency_points_from_results(args, settings, folder=None):
    """``{model: {fraction: point}}`` of the ``--efficiency`` results that
    ``--from-results`` names (protocol checked by ``read_results``), merged
    point by point (a later file's point replaces an earlier one's), each with
    its ``"source"``; a point whose model trained at another setting than
    ``settings`` gives it is refused."""
    known = {}
    for result in args.from_results:
        payload, own = read_results(result, args, EFFICIENCY_PROTOCOL, folder)
        if EFFICIENCY_KEY not in payload:
            raise SystemExit(f"{result}.json holds no {EFFICIENCY_KEY!r} (not an --efficiency "
                             "result)")
        for name, curve in payload[EFFICIENCY_KEY].items():
            theirs = payload.get("baseline settings", {}).get(name, {})
            if theirs != settings.get(name, {}):
                raise SystemExit(f"{result}.json trained {NAMES[name]} at {theirs}, this run at "
                                 f"{settings.get(name, {})}")
            for fraction, point in curve.items():
                known.setdefault(name, {})[fraction] = {
                    **point, "source": point.get("source", own)}
    return known


def data_efficiency_early_stopped(models, data, args, runs, settings, known=None):
    """Issue 33 item 5: test BCE per model, fraction of the training part and seed,
    every run trained to convergence with early stopping on the validation split.

    The subset of seed ``s`` is the first ``fraction`` of
    ``RandomState(s).permutation`` of the training part (the validation rows are
    never trained on); the model is seeded with ``s`` too.  A baseline takes the
    settings in ``settings`` (the ones ``--tune`` chose), else its defaults.
    A (model, fraction) point found in ``known`` (``{model: {fraction: point}}``,
    read from earlier results files) is taken from it, not trained: item 5 can
    then run in pieces, a model or a few fractions per command."""
    X, _, X_test, _ = data
    X_train, X_val = split_validation(X, args.validation)
    results = {}
    for name in models:
        results[name] = {}
        # a run at other settings has a checkpoint of its own
        key = "".join(f"_{k}={v}" for k, v in sorted(settings.get(name, {}).items()))
        for fraction in args.fractions:
            if str(fraction) in (known or {}).get(name, {}):
                results[name][str(fraction)] = known[name][str(fraction)]
                continue
            runs_of_fraction = []
            for seed in range(args.seed, args.seed + efficiency_seeds(fraction, args)):
                rows = efficiency_subset(X_train.shape[0], fraction, seed)
                n_rows = rows.shape[0]
                model = set_model(name, args, args.efficiency_checks, settings).set_params(
                    random_state=seed)
                state = train_early_stopped(
                    model, X_train[rows], X_val, seed=seed,
                    **early_stopping_args(args, args.efficiency_checks),
                    check_samples=args.check_samples,
                    path=runs / "efficiency" / f"{name}_{fraction}_{seed}{key}.joblib" if runs
                    else None, resume=args.resume)
                bce = binary_cross_entropy(X_test, state["best"].reconstruct(X_test))
                # how well the kept weights reconstruct the images they trained on (a
                # random part of them, the subset's order being random): beside the test
                # BCE, whether more data could help a model that fits what it has
                trained = X_train[rows[:args.check_samples]]
                train_bce = binary_cross_entropy(trained, state["best"].reconstruct(trained))
                runs_of_fraction.append({"seed": seed, "rows": n_rows, "test BCE": bce,
                                         "train BCE": train_bce,
                                         "train rows scored": trained.shape[0],
                                         **run_summary(state)})
                print(f"data efficiency {NAMES[name]} {fraction:.0%} seed {seed}: test BCE "
                      f"{bce:.2f}, training-subset BCE {train_bce:.2f} (best pass "
                      f"{state['best epoch']} of {state['epoch']}, {state['seconds']:.0f} s)",
                      flush=True)
            scores = np.array([r["test BCE"] for r in runs_of_fraction])
            results[name][str(fraction)] = {
                "mean": float(scores.mean()), "std": float(scores.std(ddof=1)) if len(scores) > 1
                else 0.0, "min": float(scores.min()), "max": float(scores.max()),
                "seeds": len(scores), "runs": runs_of_fraction}
    return results


def model_params(names, args, settings, epochs):
    """Every constructor parameter of each model as the runs build it (JSON-ready;
    ``random_state`` is each run's seed where runs differ in it)."""
    return {name: estimator_params(set_model(name, args, epochs, settings)) for name in names}


def stopped_by_cap(run, args):
    """Whether an early-stopped run ended at its ``--efficiency-checks`` cap
    while still improving: fewer than ``--patience`` checks came after its
    best one (a run stopped by patience has exactly that many)."""
    return sum(epoch > run["best epoch"] for epoch, _ in run["validation curve"]) < args.patience


LATE_CHECKS = 10


def late_gain(run):
    """The change of a run's validation BCE over its last ``LATE_CHECKS``
    checks (or all it had): negative while it still improves."""
    curve = [bce for _, bce in run["validation curve"]]
    return curve[-1] - curve[max(0, len(curve) - 1 - LATE_CHECKS)]


def efficiency_table(results, args):
    fractions = [str(f) for f in args.fractions]
    lines = ["# Data efficiency on binarised MNIST (issue 33 item 5): test BCE, mean "
             "[min, max] over seeds", "",
             f"Each run: a random subset (the column's fraction) of the training images but "
             f"the last {args.validation}, trained with early stopping on those last "
             f"{args.validation} (validation BCE checked every "
             f"max(1, ceil({args.check_samples} / rows)) passes, patience {args.patience} "
             f"checks, tol {args.tol} nats, at most {args.efficiency_checks} checks; the best "
             f"check's weights kept).  Seeds: {args.seeds} at fractions up to 20 %, "
             f"{args.seeds_large} above.", "",
             "| model | " + " | ".join(f"{float(f):.0%}" for f in fractions) + " |",
             "|---" * (len(fractions) + 1) + "|"]
    for name, curve in results.items():
        lines.append(f"| {NAMES[name]} | " + " | ".join(
            f"{curve[f]['mean']:.2f} [{curve[f]['min']:.2f}, {curve[f]['max']:.2f}]"
            if curve[f]["seeds"] > 1 else f"{curve[f]['mean']:.2f}" for f in fractions) + " |")
    lines += ["", "Passes run / fit seconds (mean over seeds):", "",
              "| model | " + " | ".join(f"{float(f):.0%}" for f in fractions) + " |",
              "|---" * (len(fractions) + 1) + "|"]
    capped = 0
    for name, curve in results.items():
        cells = []
        for f in fractions:
            runs = curve[f]["runs"]
            at_cap = [r for r in runs if stopped_by_cap(r, args)]
            capped += len(at_cap)
            gain = np.mean([late_gain(r) for r in at_cap]) if at_cap else 0.0
            cells.append(f"{np.mean([r['epochs'] for r in runs]):.0f} / "
                         f"{np.mean([r['fit seconds'] for r in runs]):.0f}"
                         + (f" ({len(at_cap)} of {len(runs)} at the cap, {gain:+.2f})"
                            if at_cap else ""))
        lines.append(f"| {NAMES[name]} | " + " | ".join(cells) + " |")
    lines += ["", "Fit to the training subset: its BCE / the test BCE (mean over seeds; "
              f"the kept weights' reconstruction of at most {args.check_samples} of the "
              "images each run trained on, a random part of its subset; - where a run "
              "recorded none):", "",
              "| model | " + " | ".join(f"{float(f):.0%}" for f in fractions) + " |",
              "|---" * (len(fractions) + 1) + "|"]
    for name, curve in results.items():
        cells = []
        for f in fractions:
            runs = curve[f]["runs"]
            cells.append(f"{np.mean([r['train BCE'] for r in runs]):.2f} / "
                         f"{curve[f]['mean']:.2f}" if all("train BCE" in r for r in runs)
                         else "-")
        lines.append(f"| {NAMES[name]} | " + " | ".join(cells) + " |")
    if capped:
        lines += ["", f"\"At the cap\": runs that used all {args.efficiency_checks} checks "
                  f"with their best in the last {args.patience}, so still improving: "
                  "stopped by the cap, not by patience, and not converged; beside them, "
                  f"their validation BCE's change over their last {LATE_CHECKS} checks "
                  "(or all, if fewer; mean over those runs, nats): how fast they were still "
                  "improving."]
    lines += earlier_sources_line("Points", ((f"{NAMES[name]} {float(f):.0%}",
                                              curve[f].get("source"))
                                             for name, curve in results.items()
                                             for f in fractions))
    return lines


def plot_efficiency_band(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in results.items():
        fractions = sorted(curve, key=float)
        x = [100 * float(f) for f in fractions]
        line, = ax.plot(x, [curve[f]["mean"] for f in fractions], marker="o", label=NAMES[name])
        ax.fill_between(x, [curve[f]["min"] for f in fractions],
                        [curve[f]["max"] for f in fractions], color=line.get_color(), alpha=0.2)
    ax.set_xscale("log")
    ticks = sorted({100 * float(f) for curve in results.values() for f in curve})
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("training data used (%)")
    ax.set_ylabel("test BCE (nats, lower is better)")
    ax.set_title("Data efficiency on binarised MNIST, early stopping\n"
                 "(mean over seeds; band: min to max)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def learned_arrays(model):
    """The weights of a fitted GNCN or baseline."""
    if hasattr(model, "weights_"):
        return list(model.weights_)
    return [*model.encoder_coefs_, *model.decoder_coefs_]


def check_efficiency_from_results(results, data, args):
    """``--quick``: the points of ``--efficiency`` results written in two files,
    read back with ``--from-results``, are taken as they are, none trained again
    (a run trained again would differ at least in its seconds), each with its
    file as source; a file whose baseline trained at another setting is refused."""
    halves = [{name: dict(list(curve.items())[part::2]) for name, curve in results.items()}
              for part in (0, 1)]
    read_args = argparse.Namespace(**{**vars(args), "from_results": ["quick0", "quick1"]})
    with tempfile.TemporaryDirectory() as folder:
        for part, points in enumerate(halves):
            (Path(folder) / f"quick{part}.json").write_text(json.dumps({
                "command": "quick", "commit": "quick", "dirty": True, "settings": vars(args),
                "baseline settings": {}, EFFICIENCY_KEY: points}))
        known = efficiency_points_from_results(read_args, {}, Path(folder))
        try:
            efficiency_points_from_results(read_args, {next(iter(results)): {"tol": 1.0}},
                                           Path(folder))
        except SystemExit as refusal:
            assert "trained" in str(refusal)
        else:
            raise AssertionError("points of a baseline at another setting were taken")
    again = data_efficiency_early_stopped(list(results), data, args, None, {}, known=known)
    assert {name: {f: point.pop("source")["file"] for f, point in curve.items()}
            for name, curve in again.items()} == {
        name: {f: f"quick{int(f not in halves[0][name])}.json" for f in curve}
        for name, curve in results.items()}, "points' sources"
    assert again == json.loads(json.dumps(results)), "points read back differ"
    print("--from-results check (--efficiency): points of two files read back are taken, "
          "none trained; a baseline at another setting is refused", flush=True)


def check_tuned_settings(args):
    """``--quick``: ``--settings-from`` takes each baseline's choice, a later
    file's replacing an earlier one's, and refuses a file tuned on another
    validation split or one that chose nothing."""
    def expect_refusal(names, says, folder):
        try:
            tuned_settings(argparse.Namespace(**{**vars(args), "settings_from": names}), folder)
        except SystemExit as refusal:
            assert says in str(refusal), str(refusal)
        else:
            raise AssertionError(f"--settings-from {names} was not refused")

    files = {"tune0": ({"rae": {"chosen": {"alpha": 1}}, "gvae": {"chosen": {"alpha": 2}}},
                       args.validation),
             "tune1": ({"rae": {"chosen": {"alpha": 3}}}, args.validation),
             "other_split": ({"rae": {"chosen": {"alpha": 4}}}, args.validation + 1),
             "no_choice": ({"rae": {}}, args.validation)}
    with tempfile.TemporaryDirectory() as folder:
        for name, (rows, validation) in files.items():
            (Path(folder) / f"{name}.json").write_text(json.dumps({
                "settings": {**vars(args), "validation": validation}, "rows": rows}))
        read = argparse.Namespace(**{**vars(args), "settings_from": ["tune0", "tune1"]})
        assert tuned_settings(read, Path(folder)) == {"rae": {"alpha": 3}, "gvae": {"alpha": 2}}
        expect_refusal(["tune0", "other_split"], "other settings", Path(folder))
        expect_refusal(["no_choice"], "chose no setting", Path(folder))
        expect_refusal(["missing"], "no results file", Path(folder))
    print("--settings-from check: a later file's choice wins; another validation split, "
          "no choice or a missing file is refused", flush=True)


def check_early_stopping_resume(name, args, data, runs):
    """An early-stopped run interrupted after its first pass and resumed ends as
    one run straight through: same checks, same best weights."""
    X_train, X_val = split_validation(data[0], args.validation)
    kwargs = dict(seed=args.seed, **early_stopping_args(args, args.tune_epochs))
    straight = train_early_stopped(make_model(name, args, 1), X_train, X_val, **kwargs)
    path = runs / "resume_check" / f"{name}.joblib"
    assert train_early_stopped(make_model(name, args, 1), X_train, X_val, path=path,
                               stop_after=1, **kwargs) is None
    resumed = train_early_stopped(make_model(name, args, 1), X_train, X_val, path=path,
                                  resume=True, **kwargs)
    assert straight["checks"] == resumed["checks"]
    for a, b in zip(learned_arrays(straight["best"]), learned_arrays(resumed["best"])):
        np.testing.assert_array_equal(a, b)
    # a run stopped by a cap of one check, resumed with the full cap, continues
    capped = runs / "resume_check" / f"{name}_capped.joblib"
    first = train_early_stopped(make_model(name, args, 1), X_train, X_val, path=capped,
                                **{**kwargs, "max_checks": 1})
    assert len(first["checks"]) == 1 and joblib.load(capped)["model"] is not None
    raised = train_early_stopped(make_model(name, args, 1), X_train, X_val, path=capped,
                                 resume=True, **kwargs)
    assert len(straight["checks"]) > 1 and raised["checks"] == straight["checks"]
    for a, b in zip(learned_arrays(straight["best"]), learned_arrays(raised["best"])):
        np.testing.assert_array_equal(a, b)
    # a cap below the checks run, or a capped run that kept no last weights, is refused
    refusals = [(capped, {**kwargs, "max_checks": 1}, "past this run's cap")]
    old = joblib.load(capped)
    old.update({"checks": first["checks"], "since best": 0, "done": True, "model": None})
    joblib.dump(old, runs / "resume_check" / f"{name}_old.joblib")
    refusals.append((runs / "resume_check" / f"{name}_old.joblib", kwargs, "cannot continue"))
    for path, run_kwargs, says in refusals:
        try:
            train_early_stopped(make_model(name, args, 1), X_train, X_val, path=path,
                                resume=True, **run_kwargs)
        except SystemExit as refusal:
            assert says in str(refusal), str(refusal)
        else:
            raise AssertionError(f"{path.name} was resumed, not refused")
    print(f"resume check ({NAMES[name]}, early stopping): an interrupted and resumed run "
          "ends as an uninterrupted one, and a run stopped by a lower cap continues to a "
          "higher one as if run straight to it", flush=True)


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
    parser.add_argument("--from-results", metavar="NAME", nargs="+", default=[],
                        help="take the rows and data-efficiency points found in "
                             "benchmarks/results/NAME.json (of this script or of "
                             "reproduce_ngc.py) instead of training them; the files' "
                             "protocol settings must be this run's (files that record no "
                             "settings, made before this check, are refused).  With "
                             "--efficiency: the (model, fraction) points of earlier "
                             "--efficiency results")
    parser.add_argument("--components", type=int, default=75)
    parser.add_argument("--prior-samples", type=int, default=0,
                        help="training images whose latents fit the GMM prior (0, the "
                             "default: all, as reproduce_ngc.py)")
    parser.add_argument("--mc-samples", type=int, default=5000)
    parser.add_argument("--latent-subset", type=int, default=60000,
                        help="training images for the logistic regression (all 60k, as "
                             "reproduce_ngc.py)")
    parser.add_argument("--fractions", type=float, nargs="*",
                        default=[0.02, 0.1, 0.2, 0.5, 1.0])
    parser.add_argument("--efficiency-models", nargs="*", choices=list(NAMES),
                        default=["rae", "gvae", "gan-ae", "t1", "pdh"])
    parser.add_argument("--efficiency-epochs", type=int, default=None,
                        help="epochs of the data-efficiency runs (default: --epochs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="compare_autoencoders_mnist")
    items = parser.add_argument_group(
        "issue 33 items 4-5 (instead of the table above; see the module docstring)")
    items.add_argument("--tune", action="store_true",
                       help="tune each baseline named (default: all four) on the validation "
                            "split, then train and score the chosen setting; writes "
                            "NAME_tuned.json/.md")
    items.add_argument("--efficiency", action="store_true",
                       help="data efficiency with early stopping on the validation split, "
                            "of --efficiency-models; writes NAME_efficiency.json/.md/.png")
    items.add_argument("--validation", type=int, default=10000,
                       help="the last VALIDATION training images are the validation split")
    items.add_argument("--tune-epochs", type=int, default=50,
                       help="most passes of a grid point, early stopping within them "
                            "(default: the final run's 50, so that a slower learning rate "
                            "is not judged on a shorter budget; 10 costs a fifth)")
    items.add_argument("--patience", type=int, default=5,
                       help="validation checks without improvement that stop a run")
    items.add_argument("--tol", type=float, default=0.01,
                       help="improvement of the validation BCE (nats) that counts")
    items.add_argument("--seeds", type=int, default=3,
                       help="seeds per data-efficiency point at fractions up to 20 %%")
    items.add_argument("--seeds-large", type=int, default=1,
                       help="seeds per data-efficiency point above 20 %%")
    items.add_argument("--efficiency-checks", type=int, default=300,
                       help="most validation checks of a data-efficiency run")
    items.add_argument("--check-samples", type=int, default=10000,
                       help="training samples between validation checks, at least one pass")
    items.add_argument("--pass-cost", action="store_true",
                       help="seconds per pass of every model named (default: all), measured "
                            "together in one process; writes NAME_pass_cost.json/.md")
    items.add_argument("--cost-rows", type=int, default=10000,
                       help="training images each --pass-cost round trains on")
    items.add_argument("--rounds", type=int, default=5, help="rounds of --pass-cost")
    items.add_argument("--settings-from", metavar="NAME", nargs="+", default=[],
                       help="train each baseline of --efficiency / --pass-cost at the "
                            "setting chosen in benchmarks/results/NAME.json (--tune results; "
                            "a later file's choice replaces an earlier one's)")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.components, args.mc_samples, args.latent_subset = 2, 3, 100, 1000
        args.efficiency_models = ["rae", "t1"]
        args.validation, args.tune_epochs, args.patience, args.check_samples = 300, 3, 2, 500
        args.efficiency_checks, args.seeds = 3, 2
        args.cost_rows, args.rounds = 300, 2
    args.prior_samples = args.prior_samples or None
    args.efficiency_epochs = args.efficiency_epochs or args.epochs
    data = load(args.quick)
    if args.tune or args.efficiency or args.pass_cost or args.quick:
        with tempfile.TemporaryDirectory() as quick_runs:
            # --quick checkpoints in a folder it removes, and writes no result
            items_4_5(args, data, Path(quick_runs) if args.quick else RUNS / args.name)
        if not args.quick:
            return
    known_rows, known_sources = read_rows(args.from_results, args)
    for name, row in known_rows.items():
        draws = row.get("posterior completion", {}).get("draws")
        if draws not in (None, completion_draws(args)):  # None: a row older than it
            raise SystemExit(f"the {name} row of {known_sources[name]['file']} completed with "
                             f"{draws} prior draws, this run with {completion_draws(args)}")
    known_curves = {}
    for result in args.from_results:
        payload = json.loads((RESULTS / f"{result}.json").read_text())
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
                                          prior_samples=args.prior_samples,
                                          completion_draws=completion_draws(args))
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
        write_results(args.name, {
            "settings": vars(args), "rows": rows, "sources": sources, "data_efficiency": {
                name: {str(f): v for f, v in curve.items()} for name, curve in curves.items()},
            "paper": {"columns": COLUMNS, **PAPER}}, markdown)
        if curves:
            plot_efficiency(curves, RESULTS / f"{args.name}_data_efficiency.png")


def pass_cost(models, data, args, settings):
    """Seconds per pass over the training images of each model, all measured in one
    process: ``--rounds`` rounds, each timing ``partial_fit`` on the first
    ``--cost-rows`` training images for every model in turn (after a warm-up batch
    that initialises it), so that the machine's drift falls on every model alike;
    per model the median round, scaled to a pass over all training images.  The
    training runs' own "fit seconds" come from runs on different days, some beside
    other jobs; these are the ones to compare models at equal compute with."""
    X = data[0]
    rows = X[:args.cost_rows]
    fitted = {}
    for name in models:
        model = set_model(name, args, args.epochs, settings)
        fitted[name] = model.partial_fit(X[:model.batch_size])
    rounds = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in fitted.items():
            rounds[name].append(timed(model.partial_fit, rows)[1])
    scale = X.shape[0] / rows.shape[0]
    return {name: {"seconds per pass": float(np.median(times)) * scale,
                   "rounds (seconds)": times, "rounds per pass (seconds)": [
                       t * scale for t in times]} for name, times in rounds.items()}


def pass_cost_table(costs, args):
    base_name = "rae" if "rae" in costs else next(iter(costs))
    base = costs[base_name]["seconds per pass"]
    lines = ["# Seconds per pass over the training images, every model measured together", "",
             f"`partial_fit` on the first {args.cost_rows} training images, {args.rounds} "
             "rounds taking turns; the median round scaled to a pass over all of them "
             f"(batch {64 if args.quick else args.batch_size}, the threads numpy's BLAS "
             "uses here).", "",
             f"| model | seconds per pass | rounds' range (scaled) | x {NAMES[base_name]} | "
             f"{args.epochs} passes (s) |",
             "|---|---|---|---|---|"]
    for name, cost in costs.items():
        low, high = min(cost["rounds per pass (seconds)"]), max(cost["rounds per pass (seconds)"])
        lines.append(f"| {NAMES[name]} | {cost['seconds per pass']:.1f} | {low:.1f}-{high:.1f} "
                     f"| {cost['seconds per pass'] / base:.1f} | "
                     f"{args.epochs * cost['seconds per pass']:.0f} |")
    return lines


def items_4_5(args, data, runs):
    """``--tune``, ``--pass-cost`` and ``--efficiency`` (all, shrunk, under ``--quick``)."""
    if args.quick:
        check_early_stopping_resume("rae", args, data, runs)
        check_tuned_settings(args)
    if args.tune or args.quick:
        names = ["rae", "gvae-cv"] if args.quick else (args.models or list(BASELINES))
        unknown = [name for name in names if name not in BASELINES]
        if unknown:
            raise SystemExit(f"--tune tunes the baselines ({', '.join(BASELINES)}), not "
                             f"{', '.join(unknown)}")
        rows = {name: tune(name, data, args, runs) for name in names}
        markdown = "\n".join(tuned_table(rows, args)) + "\n"
        print(markdown)
        if not args.quick:
            write_results(f"{args.name}_tuned", {"settings": vars(args), "rows": rows,
                                                 "grid": GRID,
                                                 "paper": {"columns": COLUMNS, **PAPER}},
                          markdown)
    settings = tuned_settings(args)
    chose = ", ".join(f"`{result}.json`" for result in args.settings_from)
    if args.pass_cost or args.quick:
        names = ["rae", "t1"] if args.quick else (args.models or list(NAMES))
        costs = pass_cost(names, data, args, settings)
        markdown = "\n".join(pass_cost_table(costs, args)) + "\n"
        if settings:
            markdown += f"\nBaselines at the settings {chose} chose.\n"
        print(markdown)
        if not args.quick:
            write_results(f"{args.name}_pass_cost", {
                "settings": vars(args), "baseline settings": settings,
                "estimator parameters": model_params(names, args, settings, args.epochs),
                "pass cost": costs}, markdown)
    if args.efficiency or args.quick:
        points_args = argparse.Namespace(**{
            **vars(args), "fractions": [0.2, 1.0] if args.quick else args.fractions})
        results = data_efficiency_early_stopped(args.efficiency_models, data, points_args,
                                                runs, settings,
                                                efficiency_points_from_results(args, settings))
        if args.quick:
            check_efficiency_from_results(results, data, points_args)
            improving = [[1, 2.0], [2, 1.5], [3, 1.0]]  # best at the last check
            stalled = [[1, 1.0]] + [[e, 1.1] for e in range(2, 2 + args.patience)]
            assert stopped_by_cap({"best epoch": 3, "validation curve": improving}, args)
            assert not stopped_by_cap({"best epoch": 1, "validation curve": stalled}, args)
            assert late_gain({"validation curve": improving}) == -1.0
            recorded = json.loads(json.dumps(model_params(args.efficiency_models, args,
                                                          settings, args.efficiency_checks)))
            assert all(row["max_iter"] == args.efficiency_checks for row in recorded.values())
            assert late_gain({"validation curve": [[e, 100.0 - e] for e in range(30)]}) \
                == -LATE_CHECKS
            runs_made = [r for curve in results.values() for point in curve.values()
                         for r in point["runs"]]
            assert all(np.isfinite(r["train BCE"]) and r["train BCE"] > 0
                       and r["train rows scored"] == min(r["rows"], args.check_samples)
                       for r in runs_made), "training-subset BCE"
            older = json.loads(json.dumps(results))  # a file written before it was recorded
            for curve in older.values():
                for point in curve.values():
                    for r in point["runs"]:
                        del r["train BCE"]
            fit_rows = efficiency_table(older, points_args)
            fit_rows = fit_rows[fit_rows.index(next(line for line in fit_rows
                                                    if line.startswith("Fit to"))):]
            assert all(line.endswith("| - | - |") for line in fit_rows
                       if line.startswith("| ") and "model" not in line), fit_rows
        markdown = "\n".join(efficiency_table(results, points_args)) + "\n"
        if settings:
            markdown += (f"\nBaselines at the settings {chose} chose: "
                         + "; ".join(f"{NAMES[n]} {json.dumps(v)}" for n, v in settings.items()
                                     if n in args.efficiency_models) + ".\n")
        print(markdown)
        if not args.quick:
            write_results(f"{args.name}_efficiency", {
                "settings": vars(args), "baseline settings": settings,
                "estimator parameters": model_params(args.efficiency_models, args, settings,
                                                     args.efficiency_checks),
                # not "data_efficiency", which --from-results reads as the table's curves
                EFFICIENCY_KEY: results}, markdown)
            plot_efficiency_band(results, RESULTS / f"{args.name}_efficiency.png")


if __name__ == "__main__":
    main()
