"""The PC estimators at their defaults against MLPClassifier on small ordinary data.

    python benchmarks/check_defaults.py            # 5-fold CV, all datasets (about 10 minutes)
    python benchmarks/check_defaults.py --quick    # smoke run: 2 folds, 300 digits

Each estimator is used at its defaults (``random_state=0`` only) behind a
scaler: iris, wine and breast_cancer behind StandardScaler, digits behind
StandardScaler and behind MinMaxScaler.  For each: the mean 5-fold
``cross_val_score`` accuracy, the number of fits that raised a
ConvergenceWarning, and the mean fit time.  The target is within 0.02 of
MLPClassifier's accuracy without a ConvergenceWarning.

PCGenerator's generation is then measured on digits behind MinMaxScaler,
trained on three quarters of them: ``generate`` (one deterministic image per
class) and ``sample`` (random ones, 20 per class) scored by the mean cosine
to the class means of the real digits (Sun & Orchard's measure) and, since
even the mean of all digits scores a high cosine, by the accuracy of an
independent LogisticRegression trained on the real training digits applied to
the generated ones; and the within-class spread of the samples (mean
distance to their class's mean sample, beside the same for real test digits).
``--pc-params`` / ``--generator-params`` (JSON) override defaults to compare
candidates.
"""

import argparse
import json
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_validate, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from _common import write_results
from sklearn_pc import PCClassifier, PCGenerator
from sklearn_pc.metrics import cosine_to_class_means


def datasets(quick):
    digits = load_digits(return_X_y=True)
    if quick:
        digits = (digits[0][:300], digits[1][:300])
    return {"iris": (load_iris(return_X_y=True), StandardScaler),
            "wine": (load_wine(return_X_y=True), StandardScaler),
            "breast_cancer": (load_breast_cancer(return_X_y=True), StandardScaler),
            "digits-std": (digits, StandardScaler),
            "digits-minmax": (digits, MinMaxScaler)}


def evaluate(estimator, X, y, scaler, n_folds):
    """Mean CV accuracy, ConvergenceWarnings raised, mean fit seconds."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        result = cross_validate(make_pipeline(scaler(), estimator), X, y,
                                cv=StratifiedKFold(n_folds, shuffle=True, random_state=0))
    n_warnings = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    return {"accuracy": float(np.mean(result["test_score"])),
            "accuracy_std": float(np.std(result["test_score"])),
            "convergence_warnings": int(n_warnings),
            "fit_seconds": float(np.mean(result["fit_time"]))}


def generation(generator_params, quick):
    """Generation quality of PCGenerator's defaults on digits behind MinMaxScaler."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                        random_state=0)
    if quick:
        X_train, y_train = X_train[:300], y_train[:300]
    scaler = MinMaxScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    judge = LogisticRegression(max_iter=5000).fit(X_train, y_train)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        gen = PCGenerator(random_state=0, **generator_params).fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    classes = gen.classes_
    generated = gen.generate(classes)
    n_per_class = 5 if quick else 20
    start = time.perf_counter()
    samples, labels = gen.sample(n_per_class * classes.size, random_state=0)
    sample_seconds = time.perf_counter() - start

    def spread(images, image_labels):
        return float(np.mean([np.linalg.norm(images[image_labels == c]
                                             - images[image_labels == c].mean(axis=0),
                                             axis=1).mean() for c in classes]))

    mean_image = np.tile(X_train.mean(axis=0), (classes.size, 1))
    return {
        "fit_seconds": fit_seconds, "n_iter": int(gen.n_iter_),
        "convergence_warnings": sum(issubclass(w.category, ConvergenceWarning) for w in caught),
        "test_accuracy": float(gen.score(X_test, y_test)),
        "judge_test_accuracy": float(judge.score(X_test, y_test)),
        "generate_cosine": float(np.mean(cosine_to_class_means(generated, classes,
                                                               X_train, y_train))),
        "generate_judge_accuracy": float(judge.score(generated, classes)),
        "mean_image_cosine": float(np.mean(cosine_to_class_means(mean_image, classes,
                                                                 X_train, y_train))),
        "sample_cosine": float(np.mean(cosine_to_class_means(samples, labels,
                                                             X_train, y_train))),
        "sample_judge_accuracy": float(judge.score(samples, labels)),
        "sample_spread": spread(samples, labels),
        "real_test_spread": spread(X_test, y_test),
        "sample_seconds": sample_seconds, "n_samples": int(samples.shape[0]),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (results not written)")
    parser.add_argument("--pc-params", type=json.loads, default={})
    parser.add_argument("--generator-params", type=json.loads, default={})
    parser.add_argument("--only", nargs="+", default=None, help="datasets to run")
    parser.add_argument("--estimators", nargs="+", default=["MLPClassifier", "PCClassifier",
                                                             "PCGenerator"])
    parser.add_argument("--skip-generation", action="store_true")
    parser.add_argument("--name", default="check_defaults")
    args = parser.parse_args(argv)
    n_folds = 2 if args.quick else 5
    estimators = {"MLPClassifier": lambda: MLPClassifier(random_state=0),
                  "PCClassifier": lambda: PCClassifier(random_state=0, **args.pc_params),
                  "PCGenerator": lambda: PCGenerator(random_state=0, **args.generator_params)}
    rows = []
    for name, ((X, y), scaler) in datasets(args.quick).items():
        if args.only and name not in args.only:
            continue
        for estimator_name in args.estimators:
            row = {"dataset": name, "estimator": estimator_name,
                   **evaluate(estimators[estimator_name](), X, y, scaler, n_folds)}
            rows.append(row)
            print(f"{name:14s} {estimator_name:14s} accuracy {row['accuracy']:.3f} "
                  f"(+- {row['accuracy_std']:.3f}), {row['convergence_warnings']} "
                  f"ConvergenceWarnings, fit {row['fit_seconds']:.2f} s", flush=True)
    gen_row = None
    if not args.skip_generation:
        gen_row = generation(args.generator_params, args.quick)
        print("PCGenerator generation on digits (MinMaxScaler):", flush=True)
        for key, value in gen_row.items():
            print(f"  {key}: {value:.3f}" if isinstance(value, float) else f"  {key}: {value}")
    if args.quick or args.pc_params or args.generator_params or args.only:
        return

    mlp = {row["dataset"]: row["accuracy"] for row in rows if row["estimator"] == "MLPClassifier"}
    lines = ["# The estimators at their defaults against MLPClassifier", "",
             f"Mean {n_folds}-fold cross-validated accuracy (StratifiedKFold, shuffled, seed 0), "
             "each estimator at its defaults with random_state=0 behind the scaler named; "
             "warnings: fits that raised a ConvergenceWarning (of 5); fit: mean seconds per "
             "fit on one core.", "",
             "| dataset | estimator | accuracy | vs MLP | warnings | fit (s) |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['dataset']} | {row['estimator']} | {row['accuracy']:.3f} | "
                     f"{row['accuracy'] - mlp[row['dataset']]:+.3f} | "
                     f"{row['convergence_warnings']} | {row['fit_seconds']:.2f} |")
    if gen_row is not None:
        lines += ["", "## PCGenerator's generation (digits, MinMaxScaler, 3/4 for training)", "",
                  "Judge: LogisticRegression trained on the real training digits "
                  f"(test accuracy {gen_row['judge_test_accuracy']:.3f}); cosine: mean cosine "
                  "to the class means of the training digits (the mean of all digits scores "
                  f"{gen_row['mean_image_cosine']:.3f}); spread: mean distance to the class's "
                  f"mean (real test digits: {gen_row['real_test_spread']:.3f}).", "",
                  "| images | cosine | judge accuracy | spread |", "|---|---|---|---|",
                  f"| generate (1 per class) | {gen_row['generate_cosine']:.3f} | "
                  f"{gen_row['generate_judge_accuracy']:.3f} | - |",
                  f"| sample ({gen_row['n_samples']}) | {gen_row['sample_cosine']:.3f} | "
                  f"{gen_row['sample_judge_accuracy']:.3f} | {gen_row['sample_spread']:.3f} |",
                  "", f"Fit {gen_row['fit_seconds']:.1f} s ({gen_row['n_iter']} epochs, "
                  f"{gen_row['convergence_warnings']} ConvergenceWarnings), test accuracy "
                  f"{gen_row['test_accuracy']:.3f}; sample {gen_row['sample_seconds']:.1f} s."]
    paths = write_results(args.name, {"n_folds": n_folds, "rows": rows,
                                      "generation": gen_row}, "\n".join(lines))
    print("wrote", *paths)


if __name__ == "__main__":
    main()
