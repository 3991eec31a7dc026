"""Plotting displays following scikit-learn's Display API.

Each display stores the data to draw; ``plot`` draws it and returns the
display, and the ``from_*`` class methods compute the data from fitted
estimators first.  Matplotlib is imported only when drawing: install it with
``pip install sklearn-pc[plot]``.
"""

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_array, check_is_fitted

from ._pc import class_indices

__all__ = ["ImageGridDisplay", "TrainingCurveDisplay"]


def _check_matplotlib(caller_name):
    try:
        check_matplotlib_support(caller_name)
    except ImportError as exc:
        raise ImportError(f"{exc}, or sklearn-pc with its plotting extra: "
                          "`pip install sklearn-pc[plot]`.") from exc


def _in_input_space(estimator):
    """``(model, to_model, from_model)`` of a fitted estimator or of a fitted
    pipeline ending in one: ``to_model`` maps inputs through the pipeline's
    earlier steps, ``from_model`` maps the model's images back through their
    ``inverse_transform`` (None without earlier steps)."""
    if not isinstance(estimator, Pipeline):
        return estimator, None, None
    steps = [(name, step) for name, step in estimator.steps[:-1]
             if step not in (None, "passthrough")]
    if not steps:
        return estimator[-1], None, None
    for name, step in steps:
        # a FunctionTransformer without inverse_func would "invert" by the identity
        if not hasattr(step, "inverse_transform") or (
                isinstance(step, FunctionTransformer) and step.func is not None
                and step.inverse_func is None):
            raise TypeError(f"The pipeline's step {name!r} ({type(step).__name__}) has no "
                            "inverse_transform, so the model's images cannot be drawn as "
                            "inputs; pass the pipeline's last step and inputs transformed "
                            "by the steps before it.")
    earlier = estimator[:-1]
    return estimator[-1], earlier.transform, earlier.inverse_transform


class ImageGridDisplay:
    """Grid of images, one row per group (e.g. originals, reconstructions).

    Parameters
    ----------
    images : array-like of shape (n_rows, n_cols, n_features) or (n_images, n_features)
        Flattened images; a 2-D array is laid out in one row.  A list of 2-D
        arrays with different numbers of rows gives rows of different
        lengths.
    image_shape : tuple of int or None, default=None
        ``(height, width)`` of one image; None infers a square from
        ``n_features``.
    row_labels : list of str or None, default=None
        Title of each row, drawn above its first image.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes of shape (n_rows, n_cols)
        Axes of the images; cells past the end of a shorter row are switched off.
    figure_ : matplotlib Figure
        Figure holding the grid.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_pc.plotting import ImageGridDisplay
    >>> images = np.random.RandomState(0).uniform(size=(2, 5, 64))
    >>> display = ImageGridDisplay(images, row_labels=["first", "second"]).plot()
    >>> display.axes_.shape
    (2, 5)
    """

    def __init__(self, images, *, image_shape=None, row_labels=None):
        if isinstance(images, (list, tuple)) and images and np.ndim(images[0]) == 2:
            rows = [np.asarray(row, dtype=float) for row in images]
        else:
            images = np.asarray(images, dtype=float)
            if images.ndim not in (2, 3):
                raise ValueError("images must have shape (n_rows, n_cols, n_features) or "
                                 f"(n_images, n_features), got {images.shape}.")
            rows = list(images) if images.ndim == 3 else [images]
        n_features = {row.shape[-1] for row in rows}
        if len(n_features) != 1 or any(row.ndim != 2 for row in rows):
            raise ValueError("Every row of images must be a 2-D array (n_images, n_features) "
                             "with the same n_features.")
        n_features = n_features.pop()
        if image_shape is None:
            side = int(np.sqrt(n_features) + 0.5)
            if side * side != n_features:
                raise ValueError(f"Images with {n_features} features are not square: "
                                 "pass image_shape=(height, width).")
            image_shape = (side, side)
        if int(np.prod(image_shape)) != n_features:
            raise ValueError(f"image_shape {tuple(image_shape)} does not hold {n_features} "
                             "features.")
        if row_labels is not None and len(row_labels) != len(rows):
            raise ValueError(f"Got {len(row_labels)} row_labels for {len(rows)} rows.")
        self.images = rows
        self.image_shape = tuple(image_shape)
        self.row_labels = row_labels

    def plot(self, ax=None, *, cmap="gray_r", vmin=None, vmax=None):
        """Draw the images.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of Axes, default=None
            ``n_rows * n_cols`` axes to draw on, row by row; None creates a
            figure.
        cmap : str or matplotlib Colormap, default="gray_r"
            Colormap of the images.
        vmin, vmax : float or None, default=None
            Range of the colormap; None scales each image on its own.

        Returns
        -------
        display : ImageGridDisplay
            The display, with ``axes_`` and ``figure_`` set.
        """
        _check_matplotlib(f"{type(self).__name__}.plot")
        n_rows, n_cols = len(self.images), max(row.shape[0] for row in self.images)
        if ax is None:
            import matplotlib.pyplot as plt

            labelled = self.row_labels is not None
            _, ax = plt.subplots(n_rows, n_cols, squeeze=False,
                                 figsize=(0.8 * n_cols, (1.1 if labelled else 0.8) * n_rows),
                                 gridspec_kw={"wspace": 0.05,
                                              "hspace": 0.45 if labelled else 0.05})
        axes = np.asarray(ax, dtype=object)
        if axes.size != n_rows * n_cols:
            raise ValueError(f"ax must hold n_rows * n_cols = {n_rows * n_cols} axes, "
                             f"got {axes.size}.")
        axes = axes.reshape(n_rows, n_cols)
        for i, row in enumerate(self.images):
            for j, cell in enumerate(axes[i]):
                if j < row.shape[0]:
                    cell.imshow(row[j].reshape(self.image_shape), cmap=cmap, vmin=vmin,
                                vmax=vmax)
                    cell.set_xticks([])
                    cell.set_yticks([])
                else:
                    cell.set_axis_off()
            if self.row_labels is not None:
                axes[i, 0].set_title(self.row_labels[i], loc="left", fontsize=9)
        self.axes_ = axes
        self.figure_ = axes[0, 0].figure
        return self

    @classmethod
    def from_generator(cls, generator, classes=None, X=None, y=None, *, image_shape=None,
                       ax=None, cmap="gray_r"):
        """Inputs generated per class by a fitted :class:`~sklearn_pc.PCGenerator`.

        Parameters
        ----------
        generator : PCGenerator or Pipeline
            Fitted generator; its ``generate(classes)`` gives the images.  A
            fitted pipeline ending in one draws them as inputs, through the
            ``inverse_transform`` of its earlier steps.
        classes : array-like of shape (n_classes,) or None, default=None
            Classes to generate; None uses ``generator.classes_``.
        X : array-like of shape (n_samples, n_features) or None, default=None
            Reference inputs: with ``y``, their class means form a first row.
        y : array-like of shape (n_samples,) or None, default=None
            Labels of ``X``.
        image_shape : tuple of int or None, default=None
            ``(height, width)``; None infers a square.
        ax : matplotlib Axes or array-like of Axes, default=None
            Passed to :meth:`plot`.
        cmap : str or matplotlib Colormap, default="gray_r"
            Passed to :meth:`plot`.

        Returns
        -------
        display : ImageGridDisplay
            The drawn display, rows "class means" and "generated" when ``X``
            and ``y`` are given, else the generated row alone.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from sklearn_pc import PCGenerator
        >>> from sklearn_pc.plotting import ImageGridDisplay
        >>> X, y = load_digits(return_X_y=True)
        >>> gen = PCGenerator(hidden_layer_sizes=(16,), max_iter=5, n_generation_steps=50,
        ...                   random_state=0).fit(X / 16, y)
        >>> display = ImageGridDisplay.from_generator(gen, X=X / 16, y=y)
        >>> display.axes_.shape
        (2, 10)
        """
        _check_matplotlib(f"{cls.__name__}.from_generator")
        check_is_fitted(generator)
        if (X is None) != (y is None):
            raise ValueError("Pass both X and y for the class-means row, or neither.")
        generator, _, from_model = _in_input_space(generator)
        classes = generator.classes_ if classes is None else np.asarray(classes).reshape(-1)
        generated = generator.generate(classes)
        if from_model is not None:
            generated = from_model(generated)
        if X is None:
            return cls(generated, image_shape=image_shape).plot(ax=ax, cmap=cmap)
        X, y = check_array(X), np.asarray(y).reshape(-1)
        present, of_class = np.unique(y, return_inverse=True)
        which = class_indices(present, classes, error="y has no samples of the classes {labels}.")
        means = np.stack([X[of_class.reshape(-1) == c].mean(axis=0) for c in which])
        return cls(np.stack([means, generated]), image_shape=image_shape,
                   row_labels=["class means", "generated"]).plot(ax=ax, cmap=cmap)

    @classmethod
    def from_autoencoder(cls, autoencoder, X, *, mask=None, n_samples=0, random_state=None,
                         image_shape=None, ax=None, cmap="gray_r"):
        """Reconstructions, completions and samples of a fitted autoencoder.

        Rows: "original" (``X``), "reconstruction" (``reconstruct(X)``); with
        ``mask``, "masked" (occluded pixels mid-grey) and "completed"
        (``complete(X, mask)``); with ``n_samples > 0``, "samples"
        (``sample(n_samples, random_state)``).  Every image of an autoencoder
        alone is drawn on the colour scale [0, 1].

        Parameters
        ----------
        autoencoder : estimator or Pipeline
            Fitted :class:`~sklearn_pc.GNCNAutoencoder` (or one of the backprop
            autoencoders), or a fitted pipeline ending in one: ``X`` then
            passes through its earlier steps, which must keep the features one
            to one (scalers, not PCA), and every image is mapped back by their
            ``inverse_transform`` and drawn on one colour scale, from the
            smallest to the largest value drawn (masked pixels at its middle).
        X : array-like of shape (n_images, n_features)
            Inputs (in [0, 1] for an autoencoder alone).
        mask : array-like of shape (n_features,) or (n_images, n_features), default=None
            1 (True) marks an observed pixel, 0 (False) an occluded one; a 1-D
            mask is shared by every image.  None draws no completion rows.
        n_samples : int, default=0
            Number of samples from the prior to draw in a last row.
        random_state : int, RandomState instance or None, default=None
            Seeds the samples; None uses the autoencoder's ``random_state``.
        image_shape : tuple of int or None, default=None
            ``(height, width)``; None infers a square.
        ax : matplotlib Axes or array-like of Axes, default=None
            Passed to :meth:`plot`.
        cmap : str or matplotlib Colormap, default="gray_r"
            Passed to :meth:`plot`.

        Returns
        -------
        display : ImageGridDisplay
            The drawn display.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_digits
        >>> from sklearn_pc import GNCNAutoencoder
        >>> from sklearn_pc.plotting import ImageGridDisplay
        >>> X = load_digits().data / 16
        >>> model = GNCNAutoencoder(latent_sizes=(12, 8, 4), n_inference_steps=10, n_groups=2,
        ...                         max_iter=2, n_prior_components=2, random_state=0).fit(X)
        >>> left_half = np.tile(np.arange(8) < 4, 8)
        >>> display = ImageGridDisplay.from_autoencoder(model, X[:5], mask=left_half,
        ...                                             n_samples=5)
        >>> display.axes_.shape
        (5, 5)
        """
        _check_matplotlib(f"{cls.__name__}.from_autoencoder")
        check_is_fitted(autoencoder)
        X = check_array(X)
        autoencoder, to_model, from_model = _in_input_space(autoencoder)
        X_model = X if to_model is None else to_model(X)
        if mask is not None and X_model.shape[1] != X.shape[1]:
            raise ValueError(f"The pipeline's earlier steps turn {X.shape[1]} features into "
                             f"{X_model.shape[1]}: a mask of the input pixels cannot be "
                             "applied to the model's inputs.")
        back = (lambda images: images) if from_model is None else from_model
        rows = [X, back(autoencoder.reconstruct(X_model))]
        labels = ["original", "reconstruction"]
        completed = samples = None
        if mask is not None:
            completed = back(autoencoder.complete(X_model, mask))  # validates the mask
            labels += ["masked", "completed"]
        if n_samples > 0:
            samples = back(autoencoder.sample(n_samples, random_state=random_state)[0])
            labels.append("samples")
        drawn = [a for a in (*rows, completed, samples) if a is not None]
        vmin, vmax = ((0.0, 1.0) if from_model is None else
                      (min(float(np.nanmin(a)) for a in drawn),
                       max(float(np.nanmax(a)) for a in drawn)))
        if mask is not None:
            rows += [np.where(np.asarray(mask, dtype=bool), X, (vmin + vmax) / 2), completed]
        if samples is not None:
            rows.append(samples)
        return cls(rows, image_shape=image_shape, row_labels=labels).plot(
            ax=ax, cmap=cmap, vmin=vmin, vmax=vmax)


class TrainingCurveDisplay:
    """Per-epoch training curves, e.g. the ``loss_curve_`` of fitted estimators.

    Parameters
    ----------
    curves : dict of str to array-like of float
        One curve per label, one value per epoch.
    ylabel : str, default="energy"
        Label of the y axis.
    validation_curves : dict of str to array-like of float or None, default=None
        Held-out scores per epoch (e.g. ``validation_scores_``) of some of the
        labels of ``curves``, drawn dashed in the same colour on a second y
        axis on the right.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes of the curves.
    figure_ : matplotlib Figure
        Figure holding ``ax_``.
    lines_ : dict of str to matplotlib Line2D
        The line of each curve.
    validation_ax_ : matplotlib Axes or None
        Right-hand axes of the validation curves, None without them.
    validation_lines_ : dict of str to matplotlib Line2D
        The line of each validation curve.

    Notes
    -----
    The legend names the curves, plus one dashed entry for all validation
    curves when there are any; it then sits below the axes.

    Examples
    --------
    >>> from sklearn_pc.plotting import TrainingCurveDisplay
    >>> display = TrainingCurveDisplay({"run": [1.0, 0.5, 0.3]}).plot()
    >>> display.lines_["run"].get_ydata().tolist()
    [1.0, 0.5, 0.3]
    """

    def __init__(self, curves, *, ylabel="energy", validation_curves=None):
        unknown = set(validation_curves or ()) - set(curves)
        if unknown:
            raise ValueError(f"validation_curves has labels {sorted(unknown)} that are not in "
                             "curves.")
        self.curves = curves
        self.ylabel = ylabel
        self.validation_curves = validation_curves

    def plot(self, ax=None, *, log_scale=True):
        """Draw one line per curve against the epoch (1-based).

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a figure.
        log_scale : bool, default=True
            Logarithmic y axis for ``curves`` (validation curves stay linear).

        Returns
        -------
        display : TrainingCurveDisplay
            The display, with ``ax_``, ``figure_`` and the lines set.
        """
        _check_matplotlib(f"{type(self).__name__}.plot")
        from matplotlib.ticker import MaxNLocator

        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(6, 4), layout="constrained")
        self.lines_ = {}
        for label, values in self.curves.items():
            values = np.asarray(values, dtype=float)
            (self.lines_[label],) = ax.plot(np.arange(1, values.size + 1), values, label=label)
        if log_scale:
            ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(self.ylabel)
        self.validation_ax_, self.validation_lines_ = None, {}
        handles = list(self.lines_.values())
        if self.validation_curves:
            from matplotlib.lines import Line2D

            self.validation_ax_ = ax.twinx()
            for label, values in self.validation_curves.items():
                values = np.asarray(values, dtype=float)
                (self.validation_lines_[label],) = self.validation_ax_.plot(
                    np.arange(1, values.size + 1), values, linestyle="--",
                    color=self.lines_[label].get_color(), label=f"{label} (validation)")
            self.validation_ax_.set_ylabel("validation score")
            handles.append(Line2D([], [], color="gray", linestyle="--",
                                  label="validation score (right axis)"))
            # Below the axes: inside, one of the two sets of lines would cross it.
            ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
        else:
            ax.legend(handles=handles)
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimators(cls, estimators, labels=None, *, ylabel="energy", ax=None,
                        log_scale=True):
        """Training curves of fitted sklearn-pc estimators.

        Reads each estimator's ``loss_curve_`` and, where it is not None, its
        ``validation_scores_`` (``early_stopping=True``).  A pipeline stands
        for its last step.

        Parameters
        ----------
        estimators : list of estimators
            Fitted :class:`~sklearn_pc.PCClassifier`,
            :class:`~sklearn_pc.PCGenerator` or
            :class:`~sklearn_pc.GNCNAutoencoder` (or pipelines ending in one).
        labels : list of str or None, default=None
            Legend labels; None uses the class names, numbered when repeated.
        ylabel : str, default="energy"
            Label of the y axis (a GNCN's ``loss_curve_`` is the BCE).
        ax : matplotlib Axes, default=None
            Passed to :meth:`plot`.
        log_scale : bool, default=True
            Passed to :meth:`plot`.

        Returns
        -------
        display : TrainingCurveDisplay
            The drawn display.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from sklearn_pc import PCClassifier
        >>> from sklearn_pc.plotting import TrainingCurveDisplay
        >>> X, y = load_digits(return_X_y=True)
        >>> models = [PCClassifier(hidden_layer_sizes=(16,), inference=inference, max_iter=3,
        ...                        random_state=0).fit(X / 16, y)
        ...           for inference in ("alternating", "euler")]
        >>> display = TrainingCurveDisplay.from_estimators(models, ["alternating", "euler"])
        >>> sorted(display.lines_)
        ['alternating', 'euler']
        """
        _check_matplotlib(f"{cls.__name__}.from_estimators")
        estimators = [est[-1] if isinstance(est, Pipeline) else est for est in estimators]
        if labels is None:
            names = [type(est).__name__ for est in estimators]
            labels = [f"{name} ({names[:i].count(name) + 1})" if names.count(name) > 1 else name
                      for i, name in enumerate(names)]
        if len(labels) != len(estimators) or len(set(labels)) != len(labels):
            raise ValueError(f"labels must be {len(estimators)} distinct strings, one per "
                             f"estimator, got {labels!r}.")
        curves, validation_curves = {}, {}
        for label, est in zip(labels, estimators):
            check_is_fitted(est)
            curves[label] = est.loss_curve_
            if getattr(est, "validation_scores_", None) is not None:
                validation_curves[label] = est.validation_scores_
        return cls(curves, ylabel=ylabel, validation_curves=validation_curves or None).plot(
            ax=ax, log_scale=log_scale)
