"""sklearn_pc.plotting: displays draw the data they are given; only drawing needs matplotlib."""

import importlib
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

import sklearn_pc
from sklearn_pc import GNCNAutoencoder, PCClassifier, PCGenerator
from sklearn_pc.plotting import ImageGridDisplay, TrainingCurveDisplay

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def plt():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16, y


@pytest.fixture(scope="module")
def generator(digits):
    return PCGenerator(hidden_layer_sizes=(16,), max_iter=5, n_generation_steps=50,
                       random_state=0).fit(*digits)


@pytest.fixture(scope="module")
def autoencoder(digits):
    return GNCNAutoencoder("pdh", latent_sizes=(12, 8, 4), n_inference_steps=10, n_groups=2,
                           max_iter=2, n_prior_components=2, random_state=0).fit(digits[0])


def drawn(ax):
    """The one image drawn on ``ax``."""
    assert len(ax.images) == 1
    return np.asarray(ax.images[0].get_array())


def test_missing_matplotlib_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.delitem(sys.modules, "sklearn_pc.plotting")
    monkeypatch.delattr(sklearn_pc, "plotting")
    plotting = importlib.import_module("sklearn_pc.plotting")  # importing needs no matplotlib
    display = plotting.ImageGridDisplay(np.zeros((2, 4)))  # nor does building a display
    hint = r"requires matplotlib.*pip install sklearn-pc\[plot\]"
    with pytest.raises(ImportError, match=r"ImageGridDisplay.plot " + hint):
        display.plot()
    with pytest.raises(ImportError, match=hint):
        plotting.TrainingCurveDisplay({"a": [1.0]}).plot()
    # The class methods check before any work: an unfitted estimator is not reached.
    with pytest.raises(ImportError, match=r"from_generator " + hint):
        plotting.ImageGridDisplay.from_generator(PCGenerator())
    with pytest.raises(ImportError, match=r"from_autoencoder " + hint):
        plotting.ImageGridDisplay.from_autoencoder(GNCNAutoencoder(), np.zeros((1, 4)))
    with pytest.raises(ImportError, match=r"from_estimators " + hint):
        plotting.TrainingCurveDisplay.from_estimators([PCClassifier()])


def test_image_grid_draws_each_image_in_its_cell(plt):
    images = np.random.RandomState(0).uniform(size=(2, 3, 64))
    display = ImageGridDisplay(images, row_labels=["top", "bottom"])
    assert display.plot(cmap="viridis") is display
    assert display.axes_.shape == (2, 3)
    assert display.figure_ is display.axes_[0, 0].figure
    assert len(display.figure_.axes) == 6
    for i in range(2):
        for j in range(3):
            np.testing.assert_array_equal(drawn(display.axes_[i, j]), images[i, j].reshape(8, 8))
            assert display.axes_[i, j].images[0].get_cmap().name == "viridis"
    assert [row[0].get_title(loc="left") for row in display.axes_] == ["top", "bottom"]
    assert display.axes_[0, 1].get_title(loc="left") == ""


def test_image_grid_lays_a_2d_array_in_one_row(plt):
    images = np.arange(4 * 16, dtype=float).reshape(4, 16)
    display = ImageGridDisplay(images).plot()
    assert display.axes_.shape == (1, 4)
    np.testing.assert_array_equal(drawn(display.axes_[0, 3]), images[3].reshape(4, 4))
    assert display.axes_[0, 0].images[0].get_cmap().name == "gray_r"


def test_image_grid_rows_of_different_lengths(plt):
    display = ImageGridDisplay([np.zeros((3, 4)), np.ones((1, 4))],
                               row_labels=["three", "one"]).plot()
    assert display.axes_.shape == (2, 3)
    np.testing.assert_array_equal(drawn(display.axes_[1, 0]), np.ones((2, 2)))
    for cell in display.axes_[1, 1:]:
        assert not cell.images and not cell.axison


def test_image_grid_shape_errors():
    with pytest.raises(ValueError, match=r"18 features are not square: pass image_shape"):
        ImageGridDisplay(np.zeros((2, 18)))
    with pytest.raises(ValueError, match=r"image_shape \(4, 4\) does not hold 18 features"):
        ImageGridDisplay(np.zeros((2, 18)), image_shape=(4, 4))
    with pytest.raises(ValueError, match="same n_features"):
        ImageGridDisplay([np.zeros((2, 4)), np.zeros((2, 9))])
    with pytest.raises(ValueError, match="images must have shape"):
        ImageGridDisplay(np.zeros(16))
    with pytest.raises(ValueError, match="Got 1 row_labels for 2 rows"):
        ImageGridDisplay(np.zeros((2, 3, 4)), row_labels=["one"])


def test_image_grid_non_square_images(plt):
    images = np.arange(2 * 18, dtype=float).reshape(2, 18)
    display = ImageGridDisplay(images, image_shape=(3, 6)).plot()
    np.testing.assert_array_equal(drawn(display.axes_[0, 1]), images[1].reshape(3, 6))


def test_image_grid_on_given_axes(plt):
    fig, axes = plt.subplots(2, 2)
    images = np.random.RandomState(0).uniform(size=(2, 2, 4))
    display = ImageGridDisplay(images).plot(ax=axes, vmin=0, vmax=1)
    assert display.figure_ is fig
    assert display.axes_[1, 0] is axes[1, 0]
    np.testing.assert_array_equal(drawn(axes[1, 0]), images[1, 0].reshape(2, 2))
    assert axes[0, 0].images[0].get_clim() == (0, 1)
    with pytest.raises(ValueError, match="ax must hold n_rows \\* n_cols = 4 axes, got 1"):
        ImageGridDisplay(images).plot(ax=axes[0, 0])


def test_from_generator_with_class_means(plt, digits, generator):
    X, y = digits
    display = ImageGridDisplay.from_generator(generator, X=X, y=y)
    assert display.axes_.shape == (2, 10)
    assert [row[0].get_title(loc="left") for row in display.axes_] == ["class means",
                                                                      "generated"]
    generated = generator.generate(np.arange(10))
    for c in range(10):
        np.testing.assert_allclose(drawn(display.axes_[0, c]),
                                   X[y == c].mean(axis=0).reshape(8, 8))
        np.testing.assert_allclose(drawn(display.axes_[1, c]), generated[c].reshape(8, 8))


def test_from_generator_without_reference(plt, digits, generator):
    display = ImageGridDisplay.from_generator(generator, classes=[3, 5])
    assert display.axes_.shape == (1, 2)
    assert display.row_labels is None
    np.testing.assert_allclose(drawn(display.axes_[0, 1]),
                               generator.generate([5])[0].reshape(8, 8))
    with pytest.raises(ValueError, match="both X and y"):
        ImageGridDisplay.from_generator(generator, X=digits[0])
    X, y = digits
    with pytest.raises(ValueError, match=r"no samples of the classes \[9\]"):
        ImageGridDisplay.from_generator(generator, X=X[y < 9], y=y[y < 9])
    with pytest.raises(NotFittedError):
        ImageGridDisplay.from_generator(PCGenerator())


def test_from_autoencoder_all_rows(plt, digits, autoencoder):
    X = digits[0][:4]
    observed = np.tile(np.arange(8) < 4, 8)  # left half
    display = ImageGridDisplay.from_autoencoder(autoencoder, X, mask=observed, n_samples=3,
                                                random_state=0)
    assert display.axes_.shape == (5, 4)
    assert [row[0].get_title(loc="left") for row in display.axes_] == [
        "original", "reconstruction", "masked", "completed", "samples"]
    rows = [X, autoencoder.reconstruct(X), np.where(observed, X, 0.5),
            autoencoder.complete(X, observed), autoencoder.sample(3, random_state=0)[0]]
    for i, images in enumerate(rows):
        for j, image in enumerate(images):
            np.testing.assert_allclose(drawn(display.axes_[i, j]), image.reshape(8, 8))
            assert display.axes_[i, j].images[0].get_clim() == (0, 1)
    masked = drawn(display.axes_[2, 0])
    assert np.all(masked[:, 4:] == 0.5) and np.array_equal(masked[:, :4], X[0].reshape(8, 8)[:, :4])
    assert not display.axes_[4, 3].images  # 3 samples under 4 originals


def test_from_autoencoder_per_sample_mask_and_defaults(plt, digits, autoencoder):
    X = digits[0][:3]
    display = ImageGridDisplay.from_autoencoder(autoencoder, X)
    assert display.axes_.shape == (2, 3)
    assert display.row_labels == ["original", "reconstruction"]
    mask = np.ones_like(X)
    mask[1, :10] = 0
    display = ImageGridDisplay.from_autoencoder(autoencoder, X, mask=mask)
    assert display.axes_.shape == (4, 3)
    assert np.all(drawn(display.axes_[2, 1]).ravel()[:10] == 0.5)
    np.testing.assert_array_equal(drawn(display.axes_[2, 0]), X[0].reshape(8, 8))
    with pytest.raises(ValueError, match="mask must have shape"):
        ImageGridDisplay.from_autoencoder(autoencoder, X, mask=mask[:, :5])


def test_displays_draw_a_pipelines_images_as_its_inputs(plt, digits):
    """A fitted pipeline ending in a generator or an autoencoder: its images are mapped
    back through the earlier steps' inverse_transform, so they are drawn as inputs (on
    the digits' 0-16 scale here), the same images the final step draws on scaled data."""
    X16, y = load_digits(return_X_y=True)
    scaler = MinMaxScaler(clip=True)
    gen = make_pipeline(scaler, PCGenerator(hidden_layer_sizes=(16,), max_iter=5,
                                            n_generation_steps=50, random_state=0)).fit(X16, y)
    display = ImageGridDisplay.from_generator(gen, classes=[3, 5], X=X16, y=y)
    generated = gen[0].inverse_transform(gen[-1].generate([3, 5]))
    np.testing.assert_allclose(drawn(display.axes_[1, 1]), generated[1].reshape(8, 8))
    np.testing.assert_allclose(drawn(display.axes_[0, 0]), X16[y == 3].mean(axis=0).reshape(8, 8))
    assert drawn(display.axes_[1, 1]).max() > 1  # input scale, not the model's

    auto = make_pipeline(MinMaxScaler(clip=True), GNCNAutoencoder(
        "t1-sigma", latent_sizes=(12,), n_inference_steps=10, max_iter=2, n_prior_components=2,
        random_state=0)).fit(X16)
    X, observed = X16[:3], np.tile(np.arange(8) < 4, 8)
    display = ImageGridDisplay.from_autoencoder(auto, X, mask=observed, n_samples=2,
                                                random_state=0)
    model, back = auto[-1], auto[0].inverse_transform
    scaled = auto[0].transform(X)
    rows = [X, back(model.reconstruct(scaled)), None, back(model.complete(scaled, observed)),
            back(model.sample(2, random_state=0)[0])]
    for i, images in enumerate(rows):
        for j, image in enumerate([] if images is None else images):
            np.testing.assert_allclose(drawn(display.axes_[i, j]), image.reshape(8, 8))
    low = min(r.min() for r in rows if r is not None)
    high = max(r.max() for r in rows if r is not None)
    assert display.axes_[0, 0].images[0].get_clim() == (low, high)  # one scale, every row
    masked = drawn(display.axes_[2, 0]).ravel()
    assert np.all(masked[~observed] == (low + high) / 2)  # the scale's middle grey
    np.testing.assert_array_equal(masked[observed], X[0][observed])


def test_displays_refuse_a_pipeline_they_cannot_invert(plt, digits):
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import Binarizer, FunctionTransformer
    X16, y = load_digits(return_X_y=True)
    small = dict(hidden_layer_sizes=(8,), max_iter=2, n_generation_steps=10, random_state=0)
    for step, name in [(Binarizer(threshold=8), "binarizer"),
                       (FunctionTransformer(np.sqrt), "functiontransformer")]:
        gen = make_pipeline(step, PCGenerator(**small)).fit(X16, y)
        with pytest.raises(TypeError, match=f"'{name}' .* has no inverse_transform"):
            ImageGridDisplay.from_generator(gen)
    auto = make_pipeline(PCA(10), GNCNAutoencoder(
        "t1", latent_sizes=(4,), likelihood="gaussian", n_inference_steps=5, max_iter=1,
        n_prior_components=1, random_state=0)).fit(X16)
    with pytest.raises(ValueError, match="turn 64 features into 10"):
        ImageGridDisplay.from_autoencoder(auto, X16[:2], mask=np.arange(64) < 32)


def test_a_pipeline_of_the_estimator_alone_draws_as_the_estimator(plt, digits, generator,
                                                                  autoencoder):
    X, y = digits
    for steps in ([generator], ["passthrough", generator]):
        display = ImageGridDisplay.from_generator(make_pipeline(*steps), classes=[3])
        np.testing.assert_array_equal(drawn(display.axes_[0, 0]),
                                      generator.generate([3])[0].reshape(8, 8))
    display = ImageGridDisplay.from_autoencoder(make_pipeline(autoencoder), X[:2],
                                                mask=np.arange(64) < 32)
    np.testing.assert_array_equal(drawn(display.axes_[3, 1]),
                                  autoencoder.complete(X[:2], np.arange(64) < 32)[1].reshape(8, 8))
    assert display.axes_[0, 0].images[0].get_clim() == (0, 1)


def test_training_curves(plt):
    curves = {"fast": [4.0, 2.0, 1.0], "slow": [4.0, 3.5, 3.0, 2.5]}
    display = TrainingCurveDisplay(curves, ylabel="BCE")
    assert display.plot() is display
    assert set(display.lines_) == {"fast", "slow"}
    for label, values in curves.items():
        np.testing.assert_array_equal(display.lines_[label].get_ydata(), values)
        np.testing.assert_array_equal(display.lines_[label].get_xdata(),
                                      np.arange(1, len(values) + 1))
    assert len(display.ax_.get_lines()) == 2
    assert display.ax_.get_yscale() == "log"
    assert display.ax_.get_xlabel() == "epoch"
    assert display.ax_.get_ylabel() == "BCE"
    assert [t.get_text() for t in display.ax_.get_legend().get_texts()] == ["fast", "slow"]
    assert display.validation_ax_ is None and display.figure_ is display.ax_.figure

    _, ax = plt.subplots()
    display = TrainingCurveDisplay(curves).plot(ax=ax, log_scale=False)
    assert display.ax_ is ax and ax.get_yscale() == "linear"
    assert ax.get_ylabel() == "energy"


def test_from_estimators(plt, digits):
    X, y = digits
    models = [PCClassifier(hidden_layer_sizes=(16,), inference=inference, max_iter=3,
                           random_state=0).fit(X, y) for inference in ("alternating", "euler")]
    display = TrainingCurveDisplay.from_estimators(models)
    assert list(display.lines_) == ["PCClassifier (1)", "PCClassifier (2)"]
    for line, model in zip(display.lines_.values(), models):
        np.testing.assert_array_equal(line.get_ydata(), model.loss_curve_)
    assert display.validation_ax_ is None

    display = TrainingCurveDisplay.from_estimators(models, ["alternating", "euler"],
                                                   log_scale=False)
    assert list(display.lines_) == ["alternating", "euler"]
    assert display.ax_.get_yscale() == "linear"
    with pytest.raises(ValueError, match="2 distinct strings"):
        TrainingCurveDisplay.from_estimators(models, ["a"])
    with pytest.raises(ValueError, match="2 distinct strings"):
        TrainingCurveDisplay.from_estimators(models, ["a", "a"])
    with pytest.raises(NotFittedError):
        TrainingCurveDisplay.from_estimators([PCClassifier()])


def test_from_estimators_validation_scores_and_pipelines(plt, digits, autoencoder):
    X, y = digits
    stopped = PCClassifier(hidden_layer_sizes=(16,), max_iter=3, early_stopping=True,
                           random_state=0).fit(X, y)
    pipe = make_pipeline(MinMaxScaler(), PCClassifier(hidden_layer_sizes=(16,), max_iter=2,
                                                      random_state=0)).fit(X, y)
    display = TrainingCurveDisplay.from_estimators([pipe, stopped, autoencoder])
    assert list(display.lines_) == ["PCClassifier (1)", "PCClassifier (2)", "GNCNAutoencoder"]
    np.testing.assert_array_equal(display.lines_["PCClassifier (1)"].get_ydata(),
                                  pipe[-1].loss_curve_)
    np.testing.assert_array_equal(display.lines_["GNCNAutoencoder"].get_ydata(),
                                  autoencoder.loss_curve_)
    assert list(display.validation_lines_) == ["PCClassifier (2)"]
    line = display.validation_lines_["PCClassifier (2)"]
    assert line in display.validation_ax_.get_lines()
    np.testing.assert_array_equal(line.get_ydata(), stopped.validation_scores_)
    assert line.get_color() == display.lines_["PCClassifier (2)"].get_color()
    assert display.validation_ax_.get_ylabel() == "validation score"
    legend = display.ax_.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [
        "PCClassifier (1)", "PCClassifier (2)", "GNCNAutoencoder", "validation score (right axis)"]
    with pytest.raises(ValueError, match=r"labels \['b'\] that are not in curves"):
        TrainingCurveDisplay({"a": [1.0]}, validation_curves={"b": [0.5]})
