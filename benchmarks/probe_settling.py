"""Does a GNCN reconstruct better when its states settle longer, its weights fixed?

    python benchmarks/probe_settling.py              # GNCN-t1-Sigma's item-5 runs, ~3 min
    python benchmarks/probe_settling.py --model pdh  # GNCN-PDH's, ~5 min
    python benchmarks/probe_settling.py --model pdh --no-lateral   # its competition off
    python benchmarks/probe_settling.py --quick      # smoke run on load_digits, no file

Issue 33 item 5 (``compare_autoencoders.py --efficiency``) found GNCN-t1-Sigma's test
BCE nearly flat from 20 % of MNIST on, and its training-subset BCE as high as its
test BCE: it underfits.  This probe asks where the floor comes from.  It reads the
kept weights of item 5's runs (seed 0 of each ``--fractions``, from their checkpoints
under ``$SKLEARN_PC_RUNS/compare_autoencoders_mnist_eff_MODEL/efficiency/``; nothing
is trained) and scores ``reconstruct`` with ``n_inference_steps`` set to each of
``--steps`` (the paper's, and the runs', is 50, at ``inference_rate`` 0.1): the BCE
of the first ``--rows`` test images and of ``--rows`` images of the run's own
training subset (drawn as item 5 drew it).  Settling longer costs proportionally
more per reconstruction: a reconstruction at 400 steps costs 8 of one at 50.
``--no-lateral`` settles the same weights with the lateral competition switched off
(``lateral_excitation = lateral_inhibition = 0``, at inference only), to tell whether
the competition is what keeps a type-2 model from settling.
Writes ``probe_settling_MODEL.{json,md}`` (``probe_settling_MODEL_nolateral`` with
``--no-lateral``).
"""

import argparse
import time

import joblib
import numpy as np

from _common import RUNS, estimator_params, write_results
from compare_autoencoders import NAMES, efficiency_subset, make_model, split_validation
from reproduce_ngc import MODELS, load
from sklearn_pc.metrics import binary_cross_entropy


def probe(model, X_train_rows, X_test_rows, steps):
    """BCE of the training and test rows reconstructed at each number of steps."""
    kept = model.n_inference_steps
    scores = {}
    try:
        for T in steps:
            model.set_params(n_inference_steps=T)
            start = time.perf_counter()
            scores[T] = {
                "train BCE": binary_cross_entropy(X_train_rows, model.reconstruct(X_train_rows)),
                "test BCE": binary_cross_entropy(X_test_rows, model.reconstruct(X_test_rows)),
                "seconds": time.perf_counter() - start}
            print(f"  {T} steps: training-subset BCE {scores[T]['train BCE']:.2f}, test BCE "
                  f"{scores[T]['test BCE']:.2f} ({scores[T]['seconds']:.0f} s)", flush=True)
    finally:
        model.set_params(n_inference_steps=kept)
    return scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=list(MODELS), default="t1-sigma")
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.02, 0.2, 1.0])
    parser.add_argument("--steps", type=int, nargs="+", default=[50, 100, 200, 400])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--validation", type=int, default=10000,
                        help="the last VALIDATION training images are item 5's validation split")
    parser.add_argument("--no-lateral", action="store_true",
                        help="settle with the lateral competition off (weights unchanged)")
    parser.add_argument("--quick", action="store_true", help="smoke run on load_digits")
    args = parser.parse_args(argv)
    X, _, X_test, _ = load(args.quick)
    if args.quick:
        args.validation, args.rows, args.fractions, args.steps = 300, 200, [1.0], [5, 20]
    X_train, _ = split_validation(X, args.validation)
    results = {}
    for fraction in args.fractions:
        rows = efficiency_subset(X_train.shape[0], fraction, seed=0)
        n_rows = rows.shape[0]
        if args.quick:  # a small model trained here, settling for 5 steps
            quick = argparse.Namespace(quick=True, seed=0, batch_size=64, components=2,
                                       prior_samples=None, mc_samples=10)
            model = make_model(args.model, quick, 3).set_params(n_inference_steps=5)
            model.fit(X_train[rows])
            source = "trained here (--quick)"
        else:
            path = (RUNS / f"compare_autoencoders_mnist_eff_{args.model}" / "efficiency"
                    / f"{args.model}_{fraction}_0.joblib")
            model, source = joblib.load(path)["best"], str(path)
        if args.no_lateral:
            model.set_params(lateral_excitation=0.0, lateral_inhibition=0.0)
        print(f"{NAMES[args.model]}, {fraction:.0%} of the training images ({source}):",
              flush=True)
        results[str(fraction)] = {
            "rows": n_rows, "source": source, "parameters": estimator_params(model),
            "steps": probe(model, X_train[rows[:args.rows]], X_test[:args.rows], args.steps)}
    competition = (" (without lateral competition, trained with it)" if args.no_lateral
                   else "")
    lines = [f"# {NAMES[args.model]}: reconstruction BCE by settling steps, weights fixed"
             f"{competition}", "",
             f"The kept weights of issue 33 item 5's runs (seed 0), trained with "
             f"{results[str(args.fractions[0])]['parameters']['n_inference_steps']} steps; "
             + ("settled here with `lateral_excitation = lateral_inhibition = 0`; "
                if args.no_lateral else "") +
             f"BCE of {args.rows} images of each run's training subset / of the first "
             f"{args.rows} test images, `reconstruct` settling for each number of steps.", "",
             "| training data | " + " | ".join(f"{T} steps" for T in args.steps) + " |",
             "|---" * (len(args.steps) + 1) + "|"]
    for fraction, result in results.items():
        lines.append(f"| {float(fraction):.0%} | " + " | ".join(
            f"{result['steps'][T]['train BCE']:.2f} / {result['steps'][T]['test BCE']:.2f}"
            for T in args.steps) + " |")
    markdown = "\n".join(lines) + "\n"
    print(markdown)
    if args.quick:
        assert all(np.isfinite(s["test BCE"]) and s["test BCE"] > 0
                   for result in results.values() for s in result["steps"].values())
        return
    suffix = "_nolateral" if args.no_lateral else ""
    write_results(f"probe_settling_{args.model}{suffix}",
                  {"settings": vars(args), "results": results}, markdown)


if __name__ == "__main__":
    main()
