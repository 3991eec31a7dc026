"""Reproduce the MNIST columns of Ororbia & Kifer (2022), Tables 1-2, for the four GNCN variants.

    python benchmarks/reproduce_ngc.py t1-sigma --resume      # one variant, the paper's protocol
    python benchmarks/reproduce_ngc.py --resume               # every variant, one after another
    python benchmarks/reproduce_ngc.py --quick                # smoke run on load_digits
    python benchmarks/reproduce_ngc.py pdh --resume --skip-references \
        --name reproduce_ngc_mnist_pdh                        # one row, its own file
    python benchmarks/reproduce_ngc.py t1-sigma pdh-nolateral pdh t2-lsigma-nolateral \
        t2-lsigma t1 --resume \
        --from-results reproduce_ngc_mnist reproduce_ngc_mnist_pdh  # one table of all

Protocol (SPEC sections 2-3): MNIST binarised at 0.5, 60k train / 10k test;
784-360-360-360 networks, T = 50 settling steps, Adam 1e-3, batch 200 (the
paper's), 50 passes.  Reported per variant: test BCE of the reconstruction
(also every ``--curve-every`` epochs, so convergence shows), Monte-Carlo
log p(x) under a 75-component full-covariance Gaussian mixture fitted to the
top latents of all 60k training images (12 minutes of EM on one core;
``--prior-samples N`` fits a subsample, and ``--prior-check`` measures what
one changes: 10,000 rows cost GNCN-t1-Sigma 0.63 nats, and leave each of
the 75 components fewer rows than the 360 latent units), with 5,000
Monte-Carlo draws (``--mc-check`` reports other numbers of draws: the
estimate is biased low and converges slowly), the test error of a logistic
regression on the top latents of all 60k training images, the M-MSE of
completing three masks of every test image (right half, bottom half, a random
50 % of pixels) by settling (the paper's completion) and by the posterior mean
over ``--completion-draws`` prior draws (``complete(method="posterior")``, ours),
the same on the first ``--reference-rows`` test images beside the references a
scikit-learn user already has (mean fill, ``KNNImputer`` at its defaults and
tuned: ``n_neighbors`` and ``weights`` chosen per mask on the validation images,
``IterativeImputer``, and the class-mean fill that knows the label), and the
fraction of active units of each layer.  ``pdh-nolateral`` and
``t2-lsigma-nolateral`` are rows of ours: the variant without lateral
competition.

Runs survive interruption.  Training goes one epoch per ``partial_fit`` call
over a permutation drawn from ``(seed, epoch)``; after every epoch the model
(weights, optimizer state, epoch, curve) is saved under ``$SKLEARN_PC_RUNS``
(default ``~/.cache/sklearn_pc_runs``), outside the repository, and
``--resume`` continues from the last saved epoch.  Since nothing else carries
state between epochs, a result is the same whether or not the run was
interrupted (``--quick`` checks this: it trains once straight through and once
stopped after its first epoch and resumed, and compares).  The completion
budget (settling steps of a GNCN, iterations of a baseline) and the posterior
mean's temperature are chosen on 2,000 training images, never on the test set.
The test BCE curves are plotted in ``results/NAME_bce.png``.

A row takes hours (the faithful GNCN-PDH about 3 h on two cores: 80 minutes of
training, then the 60k-row prior's EM, the draws and the completions), so a
table can be assembled from rows that separate commands measured:
``--from-results`` reads them from earlier results files (refusing a file made
with other protocol settings, ``ROW_PROTOCOL``, or a row lacking what this run
asks for, ``row_problems``), computes only the rows and the imputers'
references it does not find, and records where each row and each reference
came from (file, command, commit) in the JSON's ``sources`` and under the
tables.  A later file's row replaces an earlier one's; the references are the
last file's that has them on the same test rows.  The table lists only the rows
named on the command line, and ``--name`` is the file it writes: naming a file
that ``--from-results`` reads replaces it.
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

from _common import (
    PROTOCOL,
    RESULTS,
    RUNS,
    earlier_sources_line,
    estimator_params,
    load_classification_data,
    read_results,
    read_rows,
    source_label,
    write_results,
)
from sklearn_pc import GNCNAutoencoder
from sklearn_pc.metrics import (
    binary_cross_entropy,
    latent_classification_error,
    masked_mse,
    mc_log_likelihood,
    sparsity,
)

warnings.simplefilter("ignore", ConvergenceWarning)
# What rows read with --from-results must share with this run: the protocol, and the
# completions' draws and test rows.
ROW_PROTOCOL = (*PROTOCOL, "completion_draws", "reference_rows")

VARIANTS = {"t1": "GNCN-t1/Rao", "t1-sigma": "GNCN-t1-Sigma/Friston",
            "t2-lsigma": "GNCN-t2-LSigma", "pdh": "GNCN-PDH"}
# Rows of ours beside the paper's: the type-2 variants without lateral competition
# (lateral_excitation = lateral_inhibition = 0), which the short ablations of
# ablate_ngc.py found to cost them 20+ nats of test BCE at the paper's constants.
NO_LATERAL = "-nolateral"
MODELS = {**VARIANTS, **{v + NO_LATERAL: VARIANTS[v] + " without lateral competition (ours)"
                         for v in ("pdh", "t2-lsigma")}}
# The paper's best models first, each variant without lateral competition before its
# faithful run (the ablations' lead, the one to check first at 60k).
ORDER = ["t1-sigma", "pdh-nolateral", "pdh", "t2-lsigma-nolateral", "t2-lsigma", "t1"]
# Paper (arXiv v4, mean of 10 trials): BCE, log p(x), classification error %, M-MSE.
PAPER = {"t1": [66.466, -102.222, 8.57, 4.54], "t1-sigma": [47.246, -101.921, 5.40, 3.11],
         "t2-lsigma": [59.658, -98.271, 2.38, 4.15], "pdh": [44.857, -97.255, 2.28, 3.04]}
COLUMNS = ["BCE", "log p(x)", "error %", "M-MSE"]
MASKS = ["right half", "bottom half", "random 50 %"]
BUDGETS = [5, 10, 20, 50, 100, 200, 500]
# The posterior-mean completion (complete(method="posterior")): temperatures tried on
# the validation images, and the prior draws it averages over.
TEMPERATURES = [1, 2, 3, 5, 10]
COMPLETION_DRAWS = 50000
N_VALIDATION = 2000


def load(quick):
    if quick:
        X, y, X_test, y_test = load_classification_data("digits", np.float32)
        return (X > 0.5).astype(np.float32), y, (X_test > 0.5).astype(np.float32), y_test
    from sklearn_pc.datasets import fetch_mnist

    return fetch_mnist(return_X_y=True, dtype=np.float32, binarize=0.5)


def variant_of(name):
    """The GNCN variant of a row of :data:`MODELS`."""
    return name.removesuffix(NO_LATERAL)


def make_gncn(name, args):
    quick = args.quick
    lateral = {} if not name.endswith(NO_LATERAL) else dict(lateral_excitation=0.0,
                                                           lateral_inhibition=0.0)
    return GNCNAutoencoder(
        variant_of(name), **lateral, latent_sizes=(24, 24, 24) if quick else (360, 360, 360),
        inference_rate=0.1, n_groups=4 if quick else 20, batch_size=args.batch_size,
        n_prior_components=args.components, prior_max_samples=args.prior_samples,
        n_mc_samples=args.mc_samples, random_state=args.seed)


def observed_masks(n_samples, n_features, seed):
    """The three completion masks, ``True`` where a pixel is observed."""
    width = int(np.sqrt(n_features))
    right = np.ones((width, width), dtype=bool)
    right[:, width // 2:] = False
    bottom = np.ones((width, width), dtype=bool)
    bottom[width // 2:] = False
    rng = np.random.default_rng(seed)
    return {"right half": right.ravel(), "bottom half": bottom.ravel(),
            "random 50 %": rng.random((n_samples, n_features)) >= 0.5}


def right_half_mask(n_features):
    """Observed-pixel mask of square images with the right half occluded."""
    return observed_masks(1, n_features, 0)["right half"]


def rows_of(mask, rows):
    return mask if mask.ndim == 1 else mask[rows]


# Parameters renamed since checkpoints were first written: old name -> new name.
RENAMED = {"n_settle_steps": "n_inference_steps", "beta": "inference_rate",
           "alpha": "weight_decay"}


def upgrade(saved, template):
    """Bring an estimator saved by an earlier version of the code up to ``template``'s
    parameters: renamed ones take their new names, new ones ``template``'s values
    (the parameters added since, such as warm_start and momentum, do not act on
    partial_fit with Adam, nor on a fitted model's inference)."""
    attributes = vars(saved)
    for old, new in RENAMED.items():
        if old in attributes and new not in attributes:
            attributes[new] = attributes.pop(old)
    for key, value in template.get_params(deep=False).items():
        if key not in attributes:
            setattr(saved, key, value)
    return saved


def train_checkpointed(model, X, X_test, *, epochs, seed, path, resume=False,
                       stop_after=None, curve_every=5, verbose=True):
    """Train ``model`` for ``epochs`` passes of ``partial_fit``, saving after every epoch.

    Epoch ``e`` visits the rows in the order ``default_rng([seed, e]).permutation``,
    so it does not depend on where a run was resumed.  Returns the run's state
    ``{"model", "epoch", "seconds", "curve"}`` (``curve``: ``[epoch, test BCE]``
    pairs), or None if ``stop_after`` epochs stopped it early (a simulated
    interruption).
    """
    state = joblib.load(path) if resume and path and path.exists() else None
    if state is not None:
        upgrade(state["model"], model)
        saved, wanted = estimator_params(state["model"]), estimator_params(model)
        for key in ("random_state", "prior_max_samples"):  # a generator once training;
            saved.pop(key), wanted.pop(key)              # the prior is not trained
        if saved != wanted:
            raise SystemExit(f"{path} was made with other parameters: {saved}; remove it or "
                             "run without --resume")
        if verbose:
            print(f"resuming {path} after epoch {state['epoch']}", flush=True)
    else:
        if isinstance(model.random_state, int):
            # one generator that advances over the epochs (noise of the VAE and
            # GAN-AE baselines) and is saved with the model
            model.set_params(random_state=np.random.RandomState(model.random_state))
        state = {"model": model, "epoch": 0, "seconds": 0.0, "curve": []}
    model = state["model"]
    for epoch in range(state["epoch"], epochs):
        if stop_after is not None and epoch >= stop_after:
            return None
        order = np.random.default_rng([seed, epoch]).permutation(X.shape[0])
        start = time.perf_counter()
        model.partial_fit(X[order])
        state["seconds"] += time.perf_counter() - start
        state["epoch"] = epoch + 1
        if X_test is not None and (state["epoch"] % curve_every == 0 or state["epoch"] == epochs):
            bce = binary_cross_entropy(X_test, model.reconstruct(X_test))
            state["curve"].append([state["epoch"], bce])
            if verbose:
                print(f"  epoch {state['epoch']}: test BCE {bce:.3f} "
                      f"({state['seconds']:.0f} s of training)", flush=True)
        if path:
            save_checkpoint(state, path)
    return state


def save_checkpoint(state, path):
    """Write ``state`` to ``path`` atomically: a run stopped while writing keeps the
    previous checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    joblib.dump(state, partial)
    partial.replace(path)


def budget_param(model):
    """The parameter that sets a model's completion budget."""
    return ("n_completion_steps" if "n_completion_steps" in model.get_params()
            else "n_inference_steps")


def complete_with(model, X, mask, budget):
    name = budget_param(model)
    kept = model.get_params()[name]
    model.set_params(**{name: budget})
    try:
        return model.complete(X, mask)
    finally:
        model.set_params(**{name: kept})


def validation_rows(n_samples, seed):
    """The training images on which completion settings are chosen: 2,000 drawn by
    ``seed`` (a quarter of a smaller set, so that ``KNNImputer`` has others to search)."""
    return np.random.default_rng(seed).permutation(n_samples)[:min(N_VALIDATION,
                                                                    n_samples // 4)]


def choose_budget(model, X_val, seed, budgets=BUDGETS):
    """Completion budget with the lowest mean M-MSE over the three masks on ``X_val``
    (a budget whose settling diverges scores infinity)."""
    masks = observed_masks(X_val.shape[0], X_val.shape[1], seed + 1)
    scores = {}
    for budget in budgets:
        try:
            scores[budget] = float(np.mean([
                masked_mse(X_val, complete_with(model, X_val, m, budget), m)
                for m in masks.values()]))
        except FloatingPointError:
            scores[budget] = float("inf")
    return min(scores, key=scores.get), scores


def posterior_completion(model, X_val, X_test, masks, seed, draws, reference_rows,
                         temperatures=TEMPERATURES):
    """M-MSE of ``complete(method="posterior")`` with ``draws`` prior draws: the
    temperature with the lowest mean M-MSE over the three masks of ``X_val`` (as
    :func:`choose_budget`), then every mask of the test images, all of them and the
    first ``reference_rows`` (rows are completed independently of each other)."""
    val_masks = observed_masks(X_val.shape[0], X_val.shape[1], seed + 1)

    def complete(X, mask, temperature):
        return model.complete(X, mask, method="posterior", n_draws=draws,
                              temperature=temperature)

    per_mask = {t: {name: masked_mse(X_val, complete(X_val, m, t), m)
                    for name, m in val_masks.items()} for t in temperatures}
    scores = {t: float(np.mean(list(per_mask[t].values()))) for t in temperatures}
    chosen = min(scores, key=scores.get)
    result = {"draws": draws, "temperature": chosen, "validation M-MSE": scores,
              "validation M-MSE per mask": per_mask[chosen],
              "M-MSE": {}, f"M-MSE, first {reference_rows} test rows": {}}
    for name, mask in masks.items():
        completed = complete(X_test, mask, chosen)
        result["M-MSE"][name] = masked_mse(X_test, completed, mask)
        first = slice(reference_rows)
        result[f"M-MSE, first {reference_rows} test rows"][name] = masked_mse(
            X_test[first], completed[first], rows_of(mask, first))
    return result


TUNED_KNN = "KNNImputer, tuned on validation"
REFERENCE_METHODS = ["mean fill", "KNNImputer", TUNED_KNN, "IterativeImputer",
                     "IterativeImputer, clipped to [0, 1]", "class-mean fill (oracle)"]
# KNNImputer's settings tried per mask on the validation images (TUNED_KNN).
KNN_GRID = [dict(n_neighbors=k, weights=w) for w in ("uniform", "distance")
            for k in (1, 2, 3, 5, 10, 20, 50)]


def knn_imputer_fills(X_fit, holes, settings):
    """``KNNImputer(**s).fit(X_fit).transform(holes)`` for every ``s`` in
    ``settings``, from one search for neighbours; ``X_fit`` must be complete.

    ``KNNImputer`` fills a hidden entry from the ``n_neighbors`` rows of ``X_fit``
    nearest to its row (by ``nan_euclidean`` distance) among those that have its
    column, one column at a time.  When every row of ``X_fit`` is complete (the
    training images are), every column of a row has the same candidates and the
    same distances, so the same ``np.argpartition`` that ``KNNImputer`` runs per
    column gives the same neighbours for all of them: one call per row and
    setting fills every hidden column, where ``KNNImputer`` takes minutes per
    mask on MNIST.  Distances come from ``pairwise_distances_chunked`` with the
    arguments ``KNNImputer`` passes (same rows, same chunks), and the weights
    follow its ``"uniform"`` and ``"distance"`` rules (a row at distance 0 from
    some neighbours takes only those), so the fills equal ``KNNImputer``'s up to
    the rounding of the weighted mean (:func:`tuned_knn_reference` checks
    this on the first test rows; ``--quick`` on whole digits masks).
    """
    from sklearn.metrics import pairwise_distances_chunked

    if np.isnan(X_fit).any():
        raise ValueError("knn_imputer_fills needs complete rows to search")
    hidden = np.isnan(holes)
    if hidden.all(axis=1).any():  # KNNImputer fills those with the column means
        raise ValueError("knn_imputer_fills needs at least one observed entry per row")
    fills = [holes.copy() for _ in settings]

    def fill_chunk(distances, start):
        rows = slice(start, start + distances.shape[0])
        for fill, setting in zip(fills, settings):
            k = min(setting["n_neighbors"], X_fit.shape[0])
            donors = np.argpartition(distances, k - 1, axis=1)[:, :k]
            if setting["weights"] == "uniform":
                weights = np.ones(donors.shape)
            else:
                with np.errstate(divide="ignore"):
                    weights = 1.0 / np.take_along_axis(distances, donors, axis=1)
                exact = np.isinf(weights)
                weights[exact.any(axis=1)] = exact[exact.any(axis=1)]
            mean = np.einsum("rk,rkf->rf", weights / weights.sum(axis=1, keepdims=True),
                             X_fit[donors], dtype=np.float64)
            fill[rows] = np.where(hidden[rows], mean, holes[rows])
        return None

    for _ in pairwise_distances_chunked(holes, X_fit, metric="nan_euclidean",
                                        missing_values=np.nan,
                                        ensure_all_finite="allow-nan", reduce_func=fill_chunk):
        pass
    return fills


def tuned_knn_reference(X, X_test, name, mask, seed, n_rows, check_rows=20):
    """M-MSE on ``X_test``'s mask ``name`` (its first ``n_rows`` rows, and all) of
    ``KNNImputer`` at the setting of :data:`KNN_GRID` with the lowest M-MSE on the
    same mask of the validation images (:func:`validation_rows`): fitted on the
    other training images for the choice (each validation image would otherwise
    find itself), on all of them for the test.  The fills come from
    :func:`knn_imputer_fills`; the record says how far they are from
    ``KNNImputer``'s own on the first ``check_rows`` test rows."""
    from sklearn.impute import KNNImputer

    start = time.perf_counter()
    held_out = validation_rows(X.shape[0], seed)
    X_val = X[held_out]
    val_mask = np.broadcast_to(
        observed_masks(X_val.shape[0], X_val.shape[1], seed + 1)[name], X_val.shape)
    fills = knn_imputer_fills(np.delete(X, held_out, axis=0),
                              np.where(val_mask, X_val, np.nan), KNN_GRID)
    scores = [masked_mse(X_val, fill, val_mask) for fill in fills]
    setting = KNN_GRID[int(np.argmin(scores))]
    test_mask = np.broadcast_to(mask, X_test.shape)
    holes = np.where(test_mask, X_test, np.nan)
    fill, = knn_imputer_fills(X, holes, [setting])
    seconds = time.perf_counter() - start
    first = slice(check_rows)
    own = KNNImputer(**setting).fit(X).transform(holes[first])
    first_rows = slice(n_rows)
    return {"M-MSE": masked_mse(X_test[first_rows], fill[first_rows], test_mask[first_rows]),
            "M-MSE, all test rows": masked_mse(X_test, fill, test_mask), "setting": setting,
            "validation M-MSE": {f"{s['n_neighbors']} {s['weights']}": v
                                 for s, v in zip(KNN_GRID, scores)},
            "seconds": seconds,
            f"largest difference from KNNImputer's fill, first {check_rows} rows": float(
                np.abs(fill[first] - own).max())}


def check_knn_fills(data, seed, rows=100):
    """``--quick``: :func:`knn_imputer_fills` equals ``KNNImputer`` on every mask and
    setting (on the digits, where ``KNNImputer`` is fast)."""
    from sklearn.impute import KNNImputer

    X, _, X_test, _ = data
    for name, mask in observed_masks(rows, X_test.shape[1], seed).items():
        holes = np.where(np.broadcast_to(mask, (rows, X_test.shape[1])), X_test[:rows], np.nan)
        for setting, fill in zip(KNN_GRID, knn_imputer_fills(X, holes, KNN_GRID)):
            own = KNNImputer(**setting).fit(X).transform(holes)
            np.testing.assert_allclose(fill, own, rtol=0, atol=1e-5, err_msg=f"{name} {setting}")
    print(f"KNN check: knn_imputer_fills equals KNNImputer on {rows} digits, every mask and "
          f"each of the {len(KNN_GRID)} settings", flush=True)


def completion_references(data, seed, n_iterative, n_rows, known=None, save=None):
    """M-MSE of the imputers a scikit-learn user already has, on the test masks of
    the first ``n_rows`` test images (``KNNImputer`` searches all training images
    for every occluded column of every row: hours on one core for all 10k).

    ``IterativeImputer`` runs at its defaults and, since those diverge on
    binary pixels, also with its output clipped to the pixels' range
    (``min_value=0, max_value=1``); both fit ``n_iterative`` training images.
    Methods already in ``known`` (an earlier result on the same rows) are kept;
    ``save(references)`` is called after each new one.  An imputer whose
    iterations overflow scores infinity.
    """
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer, KNNImputer

    X, y, X_test, y_test = data
    all_masks = observed_masks(X_test.shape[0], X_test.shape[1], seed)
    masks = {name: rows_of(mask, slice(n_rows)) for name, mask in all_masks.items()}
    all_test = X_test
    X_test, y_test = X_test[:n_rows], y_test[:n_rows]
    class_means = np.stack([X[y == k].mean(axis=0) for k in np.unique(y)])
    subset = np.random.default_rng(seed).permutation(X.shape[0])[:n_iterative]
    references = copy.deepcopy(known) if known else {"rows": n_rows}
    fitted = {}

    def imputer(method):
        """The fitted imputer of ``method`` and the seconds its fit took."""
        if method not in fitted:
            start = time.perf_counter()
            if method == "KNNImputer":
                fitted[method] = KNNImputer().fit(X)
            else:
                bounds = ({} if method == "IterativeImputer"
                          else dict(min_value=0.0, max_value=1.0))
                fitted[method] = IterativeImputer(random_state=seed, **bounds).fit(X[subset])
            fitted[method] = (fitted[method], time.perf_counter() - start)
        return fitted[method]

    for mask_name, mask in masks.items():
        full = np.broadcast_to(mask, X_test.shape)
        holes = np.where(full, X_test, np.nan)
        row = references.setdefault(mask_name, {})
        row["mean fill"] = masked_mse(X_test, np.where(full, X_test, X.mean(axis=0)), mask)
        row["class-mean fill (oracle)"] = masked_mse(
            X_test, np.where(full, X_test, class_means[np.searchsorted(np.unique(y), y_test)]),
            mask)
        if "M-MSE, all test rows" not in row.get(f"{TUNED_KNN}: details", {}):
            details = tuned_knn_reference(X, all_test, mask_name, all_masks[mask_name], seed,
                                          n_rows)
            row[TUNED_KNN], row[f"{TUNED_KNN}: details"] = details["M-MSE"], details
            if save:
                save(references)
        for method in ("KNNImputer", "IterativeImputer", "IterativeImputer, clipped to [0, 1]"):
            if method in row:
                continue
            model, fit_seconds = imputer(method)
            start = time.perf_counter()
            with np.errstate(over="ignore", invalid="ignore"):
                try:
                    completed = model.transform(holes)
                except ValueError:  # IterativeImputer refusing its own overflowed estimates
                    completed = None
            row[method] = (float("inf") if completed is None or not np.isfinite(completed).all()
                           else masked_mse(X_test, completed, mask))
            # the fit once per method, counted with each mask's completion
            row[f"{method} seconds"] = fit_seconds + time.perf_counter() - start
            if save:
                save(references)
        print(f"references, {mask_name}: {json.dumps(row)}", flush=True)
    return references


def mc_check_key(draws):
    return "log p(x) with " + " / ".join(map(str, sorted(draws))) + " draws"


def mc_draws_check(model, X_test, draws, seeds, chunk=5000):
    """The test log p(x) estimated with each number of prior ``draws``, per seed.

    For each seed the draws come in chunks of ``chunk`` from one generator, so the
    estimate with ``S`` draws uses the first ``S`` of the largest run: ``log p(x) =
    logsumexp over chunks of (logsumexp_s log p(x | z_s)) - log S``, without
    holding more than one chunk of decoded draws.  The estimator is biased low
    (Jensen), so how it moves with ``S`` says how much of the gap to the paper
    is the number of draws.
    """
    draws = sorted(draws)
    out = {str(s): [] for s in draws}
    for seed in seeds:
        rng = np.random.RandomState(seed)
        total = np.full(X_test.shape[0], -np.inf)  # logsumexp of the draws so far
        done = 0
        for S in draws:
            while done < S:
                n = min(chunk, S - done)
                means, _ = model.sample(n, random_state=rng)
                total = np.logaddexp(total, mc_log_likelihood(X_test, means) + np.log(n))
                done += n
            out[str(S)].append(float(np.mean(total - np.log(S))))
    return {"seeds": list(seeds), "log p(x) per seed": out,
            "mean": {S: float(np.mean(v)) for S, v in out.items()},
            "std": {S: float(np.std(v)) for S, v in out.items()}}


def evaluate_fitted(model, data, *, seed, latent_subset, prior_samples=None, path=None,
                    prior_check=(), reference_rows=1000, mc_check=(),
                    completion_draws=COMPLETION_DRAWS):
    """Score a trained ``model`` under the paper's protocol (see the module docstring).

    Each measurement is a stage whose result is saved (with the model and its
    prior, once fitted) beside ``path`` as soon as it is known, so that an
    interrupted evaluation resumes at the stage it was in.  ``prior_check``
    lists other numbers of training rows to fit the prior on, each reported as
    the test log p(x) it gives (to measure what a subsample costs); ``mc_check``
    other numbers of Monte-Carlo draws (see :func:`mc_draws_check`).
    """
    X, y, X_test, y_test = data
    done_path = path and path.with_suffix(".stages.json")
    prior_path = path and path.with_suffix(".prior.joblib")
    row = json.loads(done_path.read_text()) if done_path and done_path.exists() else {}

    def stage(name, compute):
        if name not in row:
            start = time.perf_counter()
            row[name] = compute()
            row.setdefault("stage seconds", {})[name] = time.perf_counter() - start
            print(f"  {name}: {json.dumps(row[name])} "
                  f"({row['stage seconds'][name]:.0f} s)", flush=True)
            if done_path:
                done_path.write_text(json.dumps(row))
        return row[name]

    # first the stages that need no prior (the mixture's EM on 60k latents can take an hour)
    stage("BCE", lambda: binary_cross_entropy(X_test, model.reconstruct(X_test)))
    subset = X[:latent_subset]
    if row.get("latent subset", latent_subset) != latent_subset:
        # scored on the latents of another number of training images: score again
        for key in ("error %", "sparsity per layer"):
            row.pop(key, None)
    row["latent subset"] = latent_subset
    stage("error %", lambda: latent_classification_error(
        model.transform(subset), y[:latent_subset], model.transform(X_test), y_test))
    validation = X[validation_rows(X.shape[0], seed)]
    if "completion budget choice" in row and (
            sorted(map(int, row["completion budget choice"][1])) != BUDGETS):
        # chosen on another grid of budgets: choose again, and complete again
        for key in [k for k in row if k.startswith(("completion budget", "completion validation",
                                                    "M-MSE"))]:
            del row[key]
    budget, scores = stage("completion budget choice",
                           lambda: choose_budget(model, validation, seed))
    row["completion validation M-MSE"] = scores
    stage("completion validation M-MSE per mask", lambda: {
        name: masked_mse(validation, complete_with(model, validation, mask, budget), mask)
        for name, mask in observed_masks(validation.shape[0], validation.shape[1],
                                         seed + 1).items()})
    masks = observed_masks(X_test.shape[0], X_test.shape[1], seed)
    for name, mask in masks.items():
        stage(f"M-MSE {name}", lambda mask=mask: masked_mse(
            X_test, complete_with(model, X_test, mask, budget), mask))
    row["M-MSE per mask"] = {name: row[f"M-MSE {name}"] for name in masks}
    row["M-MSE"] = row["M-MSE per mask"]["right half"]
    row["completion budget"] = budget
    # the same scores on the rows that the imputers' references were computed on
    for name, mask in masks.items():
        stage(f"M-MSE {name}, first {reference_rows} test rows",
              lambda mask=mask: masked_mse(
                  X_test[:reference_rows], complete_with(
                      model, X_test[:reference_rows], rows_of(mask, slice(reference_rows)),
                      budget), rows_of(mask, slice(reference_rows))))
    stage("sparsity per layer", lambda: [sparsity(z) for z in (
        model.transform_layers(subset) if hasattr(model, "transform_layers")
        else [model.transform(subset)])])
    prior_rows = min(prior_samples or X.shape[0], X.shape[0])
    if row.get("prior rows", prior_rows) != prior_rows:
        # a cached prior fitted on another number of rows, and what it scored, are stale
        # (the Monte-Carlo check's draws and the posterior completion's come from it too)
        for key in [k for k in row if k in ("prior seconds", "prior rows", "prior EM iterations",
                                            "log p(x)", "posterior completion")
                    or k.startswith("log p(x) with ")]:
            row.pop(key, None)
    if prior_path and prior_path.exists() and "prior seconds" in row:
        model = upgrade(joblib.load(prior_path), model)
    else:
        def fit_prior():
            model.set_params(prior_max_samples=prior_samples)
            start = time.perf_counter()
            model.fit_prior(X)
            if prior_path:
                joblib.dump(model, prior_path)
            return time.perf_counter() - start
        stage("prior seconds", fit_prior)
    row["prior rows"] = prior_rows
    row["prior EM iterations"] = int(model.prior_.n_iter_)
    stage("log p(x)", lambda: model.score(X_test))
    cached = row.get("posterior completion")
    if cached and (cached["draws"] != completion_draws
                   or "validation M-MSE per mask" not in cached):
        del row["posterior completion"]  # made with another number of draws, or older code
    stage("posterior completion", lambda: posterior_completion(
        model, validation, X_test, masks, seed, completion_draws, reference_rows))
    for rows in prior_check:  # last: on all 60k rows its EM took 12 minutes on one core
        def other_prior(rows=rows):
            other = copy.deepcopy(model).set_params(prior_max_samples=rows)
            return {"log p(x)": other.fit_prior(X).score(X_test),
                    "EM iterations": int(other.prior_.n_iter_)}
        stage(f"log p(x), prior on {rows} rows", other_prior)
    if mc_check:
        stage(mc_check_key(mc_check), lambda: mc_draws_check(
            model, X_test, mc_check, seeds=(seed, seed + 1, seed + 2)))
    row["evaluation seconds"] = sum(row["stage seconds"].values())
    return row


def evaluate_autoencoder(model, data, *, epochs, seed, latent_subset, prior_samples=None,
                         path=None, resume=False, curve_every=5, prior_check=(),
                         reference_rows=1000, mc_check=(), completion_draws=COMPLETION_DRAWS):
    """Train ``model`` (checkpointed at ``path``) and score it: the protocol shared by
    every model of this script and of ``compare_autoencoders.py``."""
    X, _, X_test, _ = data
    params = estimator_params(model)
    if path and not resume:  # a fresh run: no stage of an earlier one counts
        for stale in (path.with_suffix(".stages.json"), path.with_suffix(".prior.joblib")):
            stale.unlink(missing_ok=True)
    state = train_checkpointed(model, X, X_test, epochs=epochs, seed=seed, path=path,
                               resume=resume, curve_every=curve_every)
    row = {"epochs": state["epoch"], "fit seconds": state["seconds"],
           "test BCE curve": state["curve"], "params": params}
    row.update(evaluate_fitted(state["model"], data, seed=seed, latent_subset=latent_subset,
                               prior_samples=prior_samples, path=path,
                               prior_check=prior_check, reference_rows=reference_rows,
                               mc_check=mc_check, completion_draws=completion_draws))
    return row


def check_resume_is_exact(variant, args, data):
    """Train straight through, then stopped after epoch 1 and resumed: same weights."""
    X, _, X_test, _ = data
    path = RUNS / "quick_resume_check" / f"{variant}.joblib"
    path.unlink(missing_ok=True)
    straight = train_checkpointed(make_gncn(variant, args), X, None, epochs=args.epochs,
                                  seed=args.seed, path=None, verbose=False)["model"]
    assert train_checkpointed(make_gncn(variant, args), X, None, epochs=args.epochs,
                              seed=args.seed, path=path, stop_after=1, verbose=False) is None
    resumed = train_checkpointed(make_gncn(variant, args), X, None, epochs=args.epochs,
                                 seed=args.seed, path=path, resume=True, verbose=False)["model"]
    for a, b in zip(straight.weights_, resumed.weights_):
        np.testing.assert_array_equal(a, b)
    print(f"resume check ({variant}): weights after an interrupted and resumed run equal "
          "those of an uninterrupted one", flush=True)


def references_from_results(args, folder=None):
    """The imputers' references of the last ``--from-results`` file computed on the
    same test rows and ``IterativeImputer`` rows (as for rows, a later file
    wins), with ``"sources"``: per mask and method, the source the file records
    for it, else the file's own; None if no file has them.  ``completion_references``
    then computes only what they lack."""
    for name in reversed(args.from_results):
        payload, own = read_results(name, args, ROW_PROTOCOL, folder)
        references = payload.get("completion references") or {}
        if references.get("rows") == args.reference_rows and payload["settings"].get(
                "iterative_rows") == args.iterative_rows:
            recorded = references.get("sources", {})
            return {**references, "sources": {
                mask: {method: recorded.get(mask, {}).get(method, own)
                       for method in references[mask]} for mask in MASKS}}
    return None


def credit_references(references, from_files):
    """Credit each reference of ``references`` whose value equals the one
    ``from_files`` (:func:`references_from_results`) holds with the source that
    file records for it; every other reference is left without a source: this
    run's (computed anew, or cached by a run of this command)."""
    references["sources"] = {mask: {
        method: source for method, source in from_files["sources"][mask].items()
        if method in references[mask] and references[mask][method] == from_files[mask][method]}
        for mask in MASKS}
    return references


def row_problems(row, wanted, args, prior_rows):
    """What a stored row (a checkpoint's or an earlier results file's) lacks for
    this run: keys asked for, or a protocol its stages were computed with."""
    problems = [key for key in wanted if key not in row]
    if row.get("prior rows") != prior_rows:
        problems.append(f"prior rows {row.get('prior rows')}, not {prior_rows}")
    posterior = row.get("posterior completion", {})
    if posterior.get("draws") != args.completion_draws or (
            "validation M-MSE per mask" not in posterior):
        problems.append("the posterior completion of this protocol")
    if sorted(map(int, row.get("completion validation M-MSE", {}))) != BUDGETS:
        problems.append(f"settling budgets {BUDGETS}")
    return problems


def check_read_rows(rows, sources, references, args):
    """``--quick``: a results file's rows and references read back by
    ``--from-results`` are those written, with the file as their source; a
    reference computed anew loses that source; a cached reference equal to the
    file's takes the file's source, one that differs does not; a file made with
    other protocol settings is refused."""
    with tempfile.TemporaryDirectory() as folder:
        payload = {"command": "python benchmarks/reproduce_ngc.py --quick", "commit": "quick",
                   "dirty": True, "settings": vars(args), "rows": rows, "sources": sources,
                   "completion references": references}
        (Path(folder) / "quick.json").write_text(json.dumps(payload))
        read, read_sources = read_rows(["quick"], args, ROW_PROTOCOL, folder=Path(folder))
        assert read == json.loads(json.dumps(rows)), "rows read back differ"
        assert all(source["file"] == "quick.json" for source in read_sources.values())
        known = references_from_results(argparse.Namespace(**{
            **vars(args), "from_results": ["quick"]}), folder=Path(folder))
        assert all(source["file"] == "quick.json" for mask in MASKS
                   for source in known["sources"][mask].values())
        recomputed = copy.deepcopy(known)
        recomputed[MASKS[0]]["mean fill"] += 1.0
        credit_references(recomputed, known)
        assert "mean fill" not in recomputed["sources"][MASKS[0]]
        assert "mean fill" in recomputed["sources"][MASKS[1]]
        cached = copy.deepcopy(recomputed)  # a cache: what its run computed has no source
        del cached["sources"]
        credit_references(cached, known)
        assert cached["sources"][MASKS[1]] == known["sources"][MASKS[1]]
        assert "mean fill" not in cached["sources"][MASKS[0]]
        del known["sources"]
        assert known == json.loads(json.dumps(references)), "references read back differ"
        payload["settings"] = {**vars(args), "epochs": args.epochs + 1}
        (Path(folder) / "other.json").write_text(json.dumps(payload))
        try:
            read_rows(["other"], args, ROW_PROTOCOL, folder=Path(folder))
        except SystemExit as refusal:
            assert "epochs" in str(refusal)
        else:
            raise AssertionError("rows of another protocol were read")
    print("--from-results check: rows and references read back equal those written; "
          "another protocol's file is refused", flush=True)


def to_markdown(rows, references, args, sources=None):
    lines = ["# Ororbia & Kifer (2022), MNIST, Tables 1-2: ours (paper in brackets)", "",
             f"{args.epochs} epochs, batch {args.batch_size}, T = 50, Adam 1e-3; log p(x) from "
             f"a {args.components}-component full-covariance GMM fitted to the top latents of "
             f"{args.prior_samples or 'all'} training images, and {args.mc_samples} "
             "Monte-Carlo draws; the logistic regression and the sparsity use the first "
             f"{args.latent_subset} training images.  M-MSE: squared error summed over the "
             "occluded pixels, mean over the 10k test images; the paper's column is its "
             "right-half number, whose definition it does not state precisely.", "",
             "| model | " + " | ".join(COLUMNS) + " | sparsity z1 / z2 / z3 | fit (s) |",
             "|---" * (len(COLUMNS) + 3) + "|"]
    for variant, row in rows.items():
        cells = [f"{row[c]:.2f} ({p})" for c, p in zip(COLUMNS, PAPER[variant_of(variant)])]
        active = " / ".join(f"{s:.2f}" for s in row["sparsity per layer"])
        lines.append(f"| {MODELS[variant]} | " + " | ".join(cells)
                     + f" | {active} | {row['fit seconds']:.0f} |")
    lines += earlier_sources_line("Rows", ((MODELS[variant], source)
                                           for variant, source in (sources or {}).items()))
    checks = [(variant, key, value) for variant, row in rows.items()
              for key, value in row.items() if key.startswith("log p(x), prior on")]
    if checks:
        lines += ["", "What the prior's subsample changes (test log p(x)):", ""]
        lines += [f"- {MODELS[variant]}: {row_prior(rows[variant])}; {key[len('log p(x), '):]}: "
                  f"{value['log p(x)']:.2f} ({value['EM iterations']} EM iterations)"
                  for variant, key, value in checks]
    checks = [(variant, key, value) for variant, row in rows.items()
              for key, value in row.items() if key.startswith("log p(x) with ")]
    if checks:
        lines += ["", "What the number of Monte-Carlo draws changes (test log p(x), mean "
                  "+- std over 3 seeds of the draws; the estimate is biased low):", ""]
        lines += [f"- {MODELS[variant]}: " + ", ".join(
            f"{S} draws {value['mean'][S]:.2f} +- {value['std'][S]:.2f}" for S in value["mean"])
            for variant, key, value in checks]
    n_ref = args.reference_rows
    lines += ["", "## Completion: M-MSE per mask, beside scikit-learn's imputers", "",
              f"On the first {n_ref} test images (the imputers' cost).  Each model twice: "
              "settling with the missing pixels free (the paper's completion), at the budget "
              "it chose on 2,000 training images, and the posterior mean of the missing "
              f"pixels over {args.completion_draws} draws from its prior "
              "(`complete(method=\"posterior\")`, ours), at the temperature it chose on the "
              "same images.  The main table's M-MSE column is settling's right half on all "
              "10k.", "",
              "| method | " + " | ".join(MASKS) + " |", "|---" * (len(MASKS) + 1) + "|"]
    for variant, row in rows.items():
        lines.append(f"| {MODELS[variant]}, settling (budget {row['completion budget']}) | "
                     + " | ".join(f"{row[f'M-MSE {m}, first {n_ref} test rows']:.2f}"
                                  for m in MASKS) + " |")
        posterior = row["posterior completion"]
        lines.append(f"| {MODELS[variant]}, posterior mean (temperature "
                     f"{posterior['temperature']}) | " + " | ".join(
                         f"{posterior[f'M-MSE, first {n_ref} test rows'][m]:.2f}"
                         for m in MASKS) + " |")
    if references is None:
        lines += ["", "The imputers' references on the same masks were not part of this run "
                  "(`--skip-references`)."]
    else:
        for method in REFERENCE_METHODS:
            lines.append(f"| {method} | " + " | ".join(mmse_cell(references[m][method])
                                                        for m in MASKS) + " |")
        if TUNED_KNN in references[MASKS[0]]:
            lines += ["", f"{TUNED_KNN}: the setting of {len(KNN_GRID)} (`n_neighbors` in "
                      f"{sorted({s['n_neighbors'] for s in KNN_GRID})} x `weights` uniform or "
                      "distance) with the lowest M-MSE on the same mask of the validation "
                      "images, searching the other training images: " + "; ".join(
                          f"{m} {d['setting']['n_neighbors']} {d['setting']['weights']}"
                          + (f" (M-MSE on all test images {d['M-MSE, all test rows']:.2f})"
                             if "M-MSE, all test rows" in d else "")
                          for m in MASKS for d in [references[m][f"{TUNED_KNN}: details"]])
                      + "."]
        recorded = references.get("sources", {})  # a reference without one is this run's
        lines += earlier_sources_line("References", (
            (f"{method} ({mask})", recorded.get(mask, {}).get(method)) for mask in MASKS
            for method in references[mask] if not method.endswith("seconds")),
            commands=False, others=", the others by this run")
    lines += ["", "Each model's completion with the method (settling or posterior mean) whose "
              "M-MSE on the validation images was lower, mask by mask:", ""]
    for variant, row in rows.items():
        lines.append(f"- {MODELS[variant]}: " + ", ".join(
            f"{m} {method} {score:.2f}" for m, (method, score) in
            chosen_completion(row, n_ref).items()))
    lines += ["", "## Test BCE during training", ""]
    if not args.quick:
        lines += [f"Plotted in `{args.name}_bce.png`.", ""]
    lines += ["| model | " + " | ".join(
        f"epoch {e}" for e, _ in next(iter(rows.values()))["test BCE curve"]) + " |"]
    lines.append("|---" * (len(next(iter(rows.values()))["test BCE curve"]) + 1) + "|")
    for variant, row in rows.items():
        lines.append(f"| {MODELS[variant]} | "
                     + " | ".join(f"{bce:.2f}" for _, bce in row["test BCE curve"]) + " |")
    return "\n".join(lines) + "\n"


def chosen_completion(row, reference_rows):
    """Per mask, the completion method with the lower validation M-MSE and its M-MSE on
    the first ``reference_rows`` test images."""
    posterior = row["posterior completion"]
    chosen = {}
    for m in MASKS:
        if row["completion validation M-MSE per mask"][m] <= (
                posterior["validation M-MSE per mask"][m]):
            chosen[m] = ("settling", row[f"M-MSE {m}, first {reference_rows} test rows"])
        else:
            chosen[m] = ("posterior", posterior[f"M-MSE, first {reference_rows} test rows"][m])
    return chosen


def plot_curves(rows, path):
    """Test BCE every few passes, one line per model, the paper's BCE dashed beside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for variant, row in rows.items():
        epochs, bce = zip(*row["test BCE curve"])
        line, = ax.plot(epochs, bce, marker="o", label=MODELS[variant])
        ax.axhline(PAPER[variant_of(variant)][0], color=line.get_color(), linestyle="--",
                   linewidth=0.8)
    ax.set_xlabel("passes over the 60,000 training images")
    ax.set_ylabel("test BCE (nats, lower is better)")
    ax.set_title("GNCN on binarised MNIST (dashed: the paper's BCE after training)",
                 fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def mmse_cell(value):
    """An M-MSE for the table; an imputer whose iterations ran away shows as such."""
    return (f"{value:.2f}" if value < 1e4 else "diverged" if not np.isfinite(value)
            else f"{value:.1e} (diverged)")


def row_prior(row):
    return (f"prior on {row['prior rows']} rows: {row['log p(x)']:.2f} "
            f"({row['prior EM iterations']} EM iterations)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", choices=[*MODELS, []], default=[])
    parser.add_argument("--quick", action="store_true", help="smoke run on load_digits")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--components", type=int, default=75, help="GMM prior components")
    parser.add_argument("--prior-samples", type=int, default=0,
                        help="training images whose top latents fit the GMM prior (0, the "
                             "default: all 60k, whose EM took 12 minutes on one core for "
                             "GNCN-t1-Sigma; 10,000 lowered its log p(x) by 0.63 nats and "
                             "leaves the 75 full-covariance components fewer rows than latent "
                             "units, so their covariances are singular)")
    parser.add_argument("--prior-check", type=int, nargs="*", default=[],
                        help="also report the test log p(x) of priors fitted on these "
                             "numbers of training images (0: all), to measure what the "
                             "subsample of --prior-samples changes")
    parser.add_argument("--mc-samples", type=int, default=5000)
    parser.add_argument("--mc-check", type=int, nargs="*", default=[],
                        help="also report the test log p(x) estimated with these numbers of "
                             "Monte-Carlo draws (3 seeds each; the estimate is biased low)")
    parser.add_argument("--latent-subset", type=int, default=60000,
                        help="training images for the logistic regression and sparsity")
    parser.add_argument("--iterative-rows", type=int, default=2000,
                        help="training images that fit IterativeImputer (its cost grows "
                             "with rows x features^2 per round)")
    parser.add_argument("--reference-rows", type=int, default=1000,
                        help="test images on which the imputers' completion references "
                             "(and the models' scores beside them) are computed")
    parser.add_argument("--skip-references", action="store_true",
                        help="write the table without the imputers' completion references "
                             "(KNNImputer on MNIST takes long)")
    parser.add_argument("--completion-draws", type=int, default=COMPLETION_DRAWS,
                        help="prior draws of the posterior-mean completion "
                             "(complete(method='posterior'))")
    parser.add_argument("--curve-every", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true",
                        help="continue from the checkpoints of an interrupted run")
    parser.add_argument("--from-results", metavar="NAME", nargs="+", default=[],
                        help="take the rows found in benchmarks/results/NAME.json (of this "
                             "script, made with this run's protocol settings) instead of "
                             "training and scoring them: a table assembled from rows that "
                             "earlier commands measured, one long run each")
    parser.add_argument("--name", default="reproduce_ngc_mnist")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.components, args.mc_samples = 2, 3, 100
        args.latent_subset, args.iterative_rows, args.curve_every = 1000, 200, 1
        args.batch_size, args.reference_rows, args.completion_draws = 64, 200, 500
        args.mc_check = args.mc_check or [20, 100]
    args.prior_samples = args.prior_samples or None
    data = load(args.quick)
    runs = RUNS / (args.name + ("_quick" if args.quick else ""))
    variants = [v for v in ORDER if v in (args.variants or ORDER)]
    if args.quick:
        check_resume_is_exact(variants[0], args, data)
        check_knn_fills(data, args.seed)
    known, sources = read_rows(args.from_results, args, ROW_PROTOCOL)
    rows = {}
    for variant in variants:
        path = runs / f"{variant}.joblib"
        row_path = runs / f"{variant}.row.json"
        cached = json.loads(row_path.read_text()) if row_path.exists() else {}
        wanted = [f"M-MSE right half, first {args.reference_rows} test rows",
                  "completion validation M-MSE per mask",
                  *(f"log p(x), prior on {rows or data[0].shape[0]} rows"
                    for rows in args.prior_check),
                  *([mc_check_key(args.mc_check)] if args.mc_check else [])]
        prior_rows = min(args.prior_samples or data[0].shape[0], data[0].shape[0])
        if variant in known:
            problems = row_problems(known[variant], wanted, args, prior_rows)
            if problems:
                raise SystemExit(f"the {variant} row of {sources[variant]['file']} lacks "
                                 f"what this run asks for: {problems}")
            rows[variant] = known[variant]
            print(MODELS[variant], "read from", source_label(sources[variant]), flush=True)
            continue
        sources[variant] = "this run"
        if args.resume and cached and not row_problems(cached, wanted, args, prior_rows):
            rows[variant] = cached
        else:
            rows[variant] = evaluate_autoencoder(
                make_gncn(variant, args), data, epochs=args.epochs, seed=args.seed,
                latent_subset=args.latent_subset, prior_samples=args.prior_samples,
                path=None if args.quick else path, resume=args.resume,
                curve_every=args.curve_every,
                prior_check=[rows or data[0].shape[0] for rows in args.prior_check],
                reference_rows=args.reference_rows, mc_check=args.mc_check,
                completion_draws=args.completion_draws)
            if not args.quick:
                row_path.write_text(json.dumps(rows[variant]))
        print(MODELS[variant], json.dumps(rows[variant]), flush=True)
    reference_path = runs / "references.json"
    if args.skip_references:
        references = None
    else:
        known = json.loads(reference_path.read_text()) if reference_path.exists() else None
        if not args.resume or (known or {}).get("rows") != args.reference_rows:
            known = None
        from_files = references_from_results(args)
        if known is None:
            known = from_files

        def save(references):
            if from_files is not None:  # what equals an earlier file's value is that file's
                credit_references(references, from_files)
            if not args.quick:  # (its folder is new when every row came from a file)
                reference_path.parent.mkdir(parents=True, exist_ok=True)
                reference_path.write_text(json.dumps(references))

        references = completion_references(data, args.seed, args.iterative_rows,
                                           args.reference_rows, known, save)
        save(references)
    sources = {variant: sources[variant] for variant in rows}
    markdown = to_markdown(rows, references, args, sources)
    print(markdown)
    if not args.quick:
        write_results(args.name, {"settings": vars(args), "rows": rows, "sources": sources,
                                  "completion references": references,
                                  "paper": {"columns": COLUMNS, **PAPER}}, markdown)
        plot_curves(rows, RESULTS / f"{args.name}_bce.png")
    else:  # the smoke run draws the figure too, outside the repository
        plot_curves(rows, Path(tempfile.gettempdir()) / f"{args.name}_quick_bce.png")
        check_read_rows(rows, sources, references, args)


if __name__ == "__main__":
    main()
