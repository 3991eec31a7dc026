"""Everyday scikit-learn workflows with the autoencoders: missing entries as NaN,
data as scalers produce it, pipelines."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from sklearn_pc import (
    AdversarialAutoencoder,
    BackpropAutoencoder,
    GNCNAutoencoder,
    VariationalAutoencoder,
)
from sklearn_pc.metrics import binary_cross_entropy

X_DIGITS = load_digits().data[:240] / 16


def autoencoders():
    return {
        "gncn-pdh": GNCNAutoencoder("pdh", latent_sizes=(12, 8), n_inference_steps=10,
                                    n_groups=2, max_iter=2, n_prior_components=2,
                                    n_mc_samples=20, random_state=0),
        "gncn-t1": GNCNAutoencoder("t1", latent_sizes=(12,), n_inference_steps=10, max_iter=2,
                                   n_prior_components=2, n_mc_samples=20, random_state=0),
        "rae": BackpropAutoencoder(n_components=4, hidden_layer_sizes=(16,), max_iter=2,
                                   n_prior_components=2, n_mc_samples=20,
                                   n_completion_steps=3, random_state=0),
        "gvae": VariationalAutoencoder(n_components=4, hidden_layer_sizes=(16,), max_iter=2,
                                       n_prior_components=2, n_mc_samples=20,
                                       n_completion_steps=3, random_state=0),
        "gan-ae": AdversarialAutoencoder(n_components=4, hidden_layer_sizes=(16,), max_iter=2,
                                         n_prior_components=2, n_mc_samples=20,
                                         n_completion_steps=3, random_state=0),
    }


@pytest.fixture(scope="module")
def fitted():
    return {name: model.fit(X_DIGITS) for name, model in autoencoders().items()}


def right_half_missing(X):
    """``X`` with the right half of every 8x8 image set to NaN, and its observed mask."""
    observed = np.tile(np.arange(8) < 4, 8)
    return np.where(observed, X, np.nan), observed


@pytest.mark.parametrize("name", sorted(autoencoders()))
def test_nan_marks_missing_entries_as_a_mask_does(fitted, name):
    model = fitted[name]
    X = X_DIGITS[:30]
    holes, observed = right_half_missing(X)
    kept = holes.copy()
    completed = model.complete(holes)
    np.testing.assert_array_equal(holes, kept)  # the caller's array is not written
    np.testing.assert_allclose(completed, model.complete(X, observed), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(completed[:, observed], X[:, observed])
    assert np.isfinite(completed).all() and completed.min() >= 0 and completed.max() <= 1
    # what a mask marks missing is ignored, whatever it holds
    garbage = np.where(observed, X, 1.0 - X)
    np.testing.assert_allclose(model.complete(garbage, observed), completed, rtol=1e-6,
                               atol=1e-7)
    # a mask and NaN together: both kinds of entries are free
    rows = np.zeros_like(X, dtype=bool) | observed
    rows[:, 0] = False
    both = model.complete(holes, rows)
    np.testing.assert_array_equal(both[:, rows[0]], X[:, rows[0]])
    assert np.isfinite(both).all()


@pytest.mark.parametrize("name", sorted(autoencoders()))
def test_transform_of_missing_entries_depends_only_on_the_observed_ones(fitted, name):
    model = fitted[name]
    X = X_DIGITS[:20]
    holes, observed = right_half_missing(X)
    other = np.where(observed, X, np.nan)
    other[:, ~observed] = np.nan
    np.testing.assert_allclose(model.transform(holes), model.transform(other), rtol=1e-6)
    # and differ from the codes of the complete images (the missing half matters)
    assert not np.allclose(model.transform(holes), model.transform(X))
    roundtrip = model.inverse_transform(model.transform(holes))
    assert roundtrip.shape == X.shape and np.isfinite(roundtrip).all()


@pytest.mark.parametrize("name", sorted(autoencoders()))
def test_completion_through_a_pipeline_with_a_scaler(name):
    """NaN passes through the scaler, is filled in by the autoencoder, and the result
    comes back in the data's own units."""
    X = load_digits().data[:240]  # grey levels 0-16
    pipe = make_pipeline(MinMaxScaler(), autoencoders()[name]).fit(X)
    holes, observed = right_half_missing(X[:25])
    filled = pipe.inverse_transform(pipe.transform(holes))
    assert filled.shape == holes.shape and np.isfinite(filled).all()
    scaler = pipe[0]
    assert filled.min() >= scaler.data_min_.min() - 1e-9
    assert filled.max() <= scaler.data_max_.max() + 1e-9


@pytest.mark.parametrize("name", sorted(autoencoders()))
def test_fit_trains_on_incomplete_data(name):
    """NaN in fit marks a missing entry: training runs, the caller's array is left as
    it was, a row with no observed entry is left out, and fit_prior takes NaN too."""
    holes = np.where(np.random.default_rng(0).random(X_DIGITS.shape) < 0.2, np.nan, X_DIGITS)
    holes[5] = np.nan
    kept = holes.copy()
    model = autoencoders()[name].fit(holes)
    np.testing.assert_array_equal(holes, kept)  # NaN included
    assert model.t_ == model.n_iter_ * (len(X_DIGITS) - 1)  # the empty row left out
    assert np.isfinite(model.loss_curve_).all()
    assert np.isfinite(model.score_samples(X_DIGITS)).all()
    assert np.isfinite(model.transform(holes)).all()
    means = model.prior_.means_.copy()
    model.fit_prior(holes[:100])
    np.testing.assert_array_equal(holes, kept)
    assert not np.allclose(model.prior_.means_, means)


@pytest.mark.parametrize("name", ["gncn-t1-sigma", "rae"])
def test_training_with_a_fifth_of_the_entries_missing_nearly_matches_complete_data(name):
    """On 8x8 digits with 20 % of the training entries missing at random, the held-out
    reconstruction of complete test images is within 12 % of that of the same model
    trained on the complete data, and better than training on the data with the missing
    entries set to their feature means (SimpleImputer).  The reconstruction error is the
    BCE above that of the test images themselves (their entropy as grey levels).
    Over the missing patterns and model seeds 0-3 (GNCN) and 0-2 (RAE) the ratio to
    complete data ranged from 1.01 to 1.09, that of mean imputation to missing entries
    from 1.04 to 1.08."""
    X = load_digits().data / 16
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
    holes = np.where(np.random.default_rng(0).random(X_train.shape) < 0.2, np.nan, X_train)
    model = {"gncn-t1-sigma": GNCNAutoencoder("t1-sigma", latent_sizes=(16,),
                                              inference_rate=0.3, max_iter=20,
                                              learning_rate_init=0.01, n_prior_components=3,
                                              n_mc_samples=20, random_state=0),
             "rae": BackpropAutoencoder(n_components=16, hidden_layer_sizes=(64,), max_iter=30,
                                        n_prior_components=3, n_mc_samples=20,
                                        random_state=0)}[name]
    floor = binary_cross_entropy(X_test, X_test)

    def excess(data):
        return binary_cross_entropy(X_test, clone(model).fit(data).reconstruct(X_test)) - floor

    complete, incomplete = excess(X_train), excess(holes)
    mean_filled = excess(SimpleImputer().fit_transform(holes))
    independent = binary_cross_entropy(
        X_test, np.tile(X_train.mean(axis=0), (len(X_test), 1))) - floor
    assert incomplete < 1.12 * complete
    assert incomplete < 0.98 * mean_filled
    assert incomplete < 0.5 * independent


@pytest.mark.parametrize("name", sorted(autoencoders()))
def test_fit_refuses_data_with_a_feature_or_everything_missing(name):
    """A feature missing in every row cannot be learned: fit raises; partial_fit, whose
    batch may lack a feature that others hold, trains on it."""
    holes, observed = right_half_missing(X_DIGITS)
    with pytest.raises(ValueError, match=r"Feature\(s\) \[4, 5, 6, 7, 12, .*every row"):
        autoencoders()[name].fit(holes)
    with pytest.raises(ValueError, match="Every row of X is missing"):
        autoencoders()[name].fit(np.full_like(X_DIGITS, np.nan))
    model = autoencoders()[name].partial_fit(holes)
    assert model.t_ == len(X_DIGITS) and np.isfinite(model.loss_)
    with pytest.raises(ValueError, match="Every row of X is missing"):
        model.partial_fit(np.full_like(X_DIGITS, np.nan))


@pytest.mark.parametrize("name", sorted(autoencoders()))
def test_minmax_scaler_rounding_is_clipped_not_refused(name):
    """MinMaxScaler can land one ulp outside [0, 1]; that trains exactly as the clipped
    data, and the caller's array is left as it was."""
    X = X_DIGITS.copy()
    X[0, 10] = 1.0000000000000002
    X[1, 11] = -2e-17
    kept = X.copy()
    model = autoencoders()[name].fit(X)
    np.testing.assert_array_equal(X, kept)
    clipped = autoencoders()[name].fit(np.clip(X, 0, 1))
    np.testing.assert_array_equal(model.transform(X), clipped.transform(np.clip(X, 0, 1)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        autoencoders()[name].fit(X + 1e-3)


def test_breast_cancer_scaled_by_minmax_scaler_fits():
    """MinMaxScaler() on load_breast_cancer rounds a maximum to 1.0000000000000002."""
    X = MinMaxScaler().fit_transform(load_breast_cancer().data)
    assert X.max() > 1  # the rounding this test is about
    model = autoencoders()["rae"].fit(X)
    assert np.isfinite(model.score_samples(X)).all()


@pytest.mark.parametrize("name", sorted(autoencoders()))
def test_gaussian_completion_and_scoring_behind_a_standard_scaler(name):
    """likelihood="gaussian" behind a StandardScaler on tabular data: NaN is filled in
    and comes back in the data's units, the observed entries unchanged, and
    cross_val_score ranks it by the held-out Gaussian log-likelihood."""
    X = load_breast_cancer().data
    model = autoencoders()[name].set_params(likelihood="gaussian")
    pipe = make_pipeline(StandardScaler(), model).fit(X)
    holes = X[:25].copy()
    holes[:, ::3] = np.nan
    filled = pipe[0].inverse_transform(pipe[-1].complete(pipe[0].transform(holes)))
    assert np.isfinite(filled).all()
    np.testing.assert_allclose(filled[:, 1::3], X[:25, 1::3], rtol=1e-10)
    scores = cross_val_score(make_pipeline(StandardScaler(), model), X, cv=2)
    assert np.isfinite(scores).all() and np.all(scores < 0)


def test_generation_scorer_maps_a_pipelines_generations_back_through_its_scaler():
    """In a Pipeline the last step generates in scaled space; the scorer compares the
    inverse-scaled inputs with the raw class means."""
    from sklearn.model_selection import GridSearchCV
    from sklearn.preprocessing import StandardScaler

    from sklearn_pc import PCGenerator
    from sklearn_pc.metrics import cosine_to_class_means, make_generation_scorer

    X, y = load_digits(return_X_y=True)
    X, y = X[:300], y[:300]
    pipe = make_pipeline(StandardScaler(), PCGenerator(hidden_layer_sizes=(16,), max_iter=3,
                                                       n_generation_steps=50,
                                                       random_state=0)).fit(X, y)
    classes = np.unique(y)
    raw = pipe[0].inverse_transform(pipe[-1].generate(classes))
    expected = cosine_to_class_means(raw, classes, X, y).mean()
    scorer = make_generation_scorer()
    assert scorer(pipe, X, y) == pytest.approx(expected)
    # scaled generations would score differently against the raw means
    assert not np.isclose(expected,
                          cosine_to_class_means(pipe[-1].generate(classes), classes, X, y).mean())
    search = GridSearchCV(pipe, {"pcgenerator__weight_decay": [0.0, 0.01]}, cv=2,
                          scoring=scorer, error_score="raise").fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    with pytest.raises(TypeError, match="needs an estimator with generate"):
        scorer(make_pipeline(MinMaxScaler(), autoencoders()["rae"]).fit(X_DIGITS),
               X_DIGITS, np.zeros(len(X_DIGITS)))
