"""Row-block parallelism: same results as one block, BLAS limits restored."""

import threading

import numpy as np
import pytest
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_info, threadpool_limits

from sklearn_pc import GNCNAutoencoder, PCClassifier, _pc
from sklearn_pc._core import _threads
from sklearn_pc._core._threads import (MIN_BLOCK_ROWS, blas_threads, map_row_blocks,
                                       one_blas_thread, row_parallelism)


@pytest.fixture
def two_blas_threads():
    """Give BLAS two threads, whatever the machine's default (one on one core): the
    row-block code then runs two blocks.  Skips where BLAS cannot be given two."""
    with threadpool_limits(2, user_api="blas"):
        if blas_threads() != 2:
            pytest.skip("no BLAS library whose thread count threadpoolctl can set to 2: "
                        "nothing would run in two row blocks")
        yield


class ThreadsOfParts:
    """Wraps ``_threads.map_parts``, through which every row block runs, and records
    the threads that ran the parts of each call: proof that blocks ran at once."""

    def __init__(self, monkeypatch):
        self.calls = []
        map_parts = _threads.map_parts

        def recorded(function, parts):
            threads = set()
            self.calls.append(threads)

            def run(part):
                threads.add(threading.get_ident())
                return function(part)
            return map_parts(run, parts)

        monkeypatch.setattr(_threads, "map_parts", recorded)
        monkeypatch.setattr(_pc, "map_parts", recorded)

    def most_threads(self):
        return max(map(len, self.calls), default=0)


def test_blocks_cover_the_rows_in_order_and_run_in_two_threads():
    seen = []
    n_rows = 2 * MIN_BLOCK_ROWS + 5

    def record(rows):
        seen.append(threading.current_thread().name)
        return np.arange(n_rows)[rows]

    blocks = map_row_blocks(record, n_rows, 2)
    assert np.array_equal(np.concatenate(blocks), np.arange(n_rows))
    assert len(blocks) == 2 and len(set(seen)) == 2
    # too few rows for two blocks of MIN_BLOCK_ROWS: one block, in the caller's thread
    assert len(map_row_blocks(record, 2 * MIN_BLOCK_ROWS - 1, 2)) == 1


def test_block_errors_propagate_with_the_callers_error_settings():
    def overflow(rows):
        return np.exp(np.full(3, 1000.0))

    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        map_row_blocks(overflow, 4 * MIN_BLOCK_ROWS, 2)
    with np.errstate(over="ignore"):
        assert np.isinf(map_row_blocks(overflow, 4 * MIN_BLOCK_ROWS, 2)[1]).all()


def test_row_parallelism_limits_blas_and_restores_it(two_blas_threads):
    with row_parallelism() as n_blocks:
        assert n_blocks == 2
        assert blas_threads() == 1
        with row_parallelism() as nested:  # nested: same count, no second limit
            assert nested == n_blocks
    assert blas_threads() == 2
    with pytest.raises(RuntimeError), row_parallelism():
        raise RuntimeError
    assert blas_threads() == 2
    with threadpool_limits(1), row_parallelism() as n_blocks:
        assert n_blocks == 1


def test_one_blas_thread_limits_every_blas_library_and_restores_them():
    def threads_per_library():
        return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]

    with threadpool_limits(2, user_api="blas"):
        with one_blas_thread():
            assert threads_per_library() and set(threads_per_library()) == {1}
        assert set(threads_per_library()) == {2}
        with row_parallelism(), one_blas_thread():  # already one thread: left as it is
            assert set(threads_per_library()) == {1}
        assert set(threads_per_library()) == {2}


def test_batches_too_small_for_two_blocks_keep_every_blas_thread(two_blas_threads):
    with row_parallelism(2 * MIN_BLOCK_ROWS - 1) as n_blocks:
        assert n_blocks == 1
        assert blas_threads() == 2  # one block, on every BLAS thread
    with row_parallelism(2 * MIN_BLOCK_ROWS) as n_blocks:
        assert n_blocks == 2
        assert blas_threads() == 1
    assert blas_threads() == 2


@pytest.mark.parametrize("feedback", ["tied", "separate"])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-9), (np.float32, 1e-3)])
def test_pc_training_in_blocks_matches_one_block(two_blas_threads, monkeypatch, dtype, rtol,
                                                 feedback):
    """Two row blocks relax and two parts update the weights, in two threads (the
    fixed-length relaxation, inference_tol=0), as one block and one part do."""
    X, y = load_digits(return_X_y=True)
    X = (X[:512] / 16).astype(dtype)
    params = dict(hidden_layer_sizes=(24,), batch_size=256, max_iter=2, inference_tol=0.0,
                  feedback=feedback, weight_decay=1e-3, random_state=0)
    threads = ThreadsOfParts(monkeypatch)
    blocked = PCClassifier(**params).fit(X, y[:512])
    assert threads.most_threads() == 2
    threads.calls.clear()
    with threadpool_limits(1, user_api="blas"):
        single = PCClassifier(**params).fit(X, y[:512])
    assert threads.most_threads() == 1
    for a, b in zip(blocked.coefs_ + blocked.intercepts_ + blocked.feedback_coefs_,
                    single.coefs_ + single.intercepts_ + single.feedback_coefs_):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())
    np.testing.assert_allclose(blocked.loss_curve_, single.loss_curve_, rtol=rtol)


def test_gncn_in_blocks_matches_one_block(two_blas_threads, monkeypatch):
    """Row blocks change a row's arithmetic by float rounding only (BLAS blocks its
    products by the number of rows), so weights and latents agree closely."""
    X, _ = load_digits(return_X_y=True)
    X = (X[:256] / 16 > 0.5).astype(float)
    params = dict(latent_sizes=(12, 12), n_inference_steps=10, batch_size=128, max_iter=2,
                  n_prior_components=2, random_state=0)
    threads = ThreadsOfParts(monkeypatch)
    blocked = GNCNAutoencoder("pdh", **params).fit(X)
    blocked_latents = blocked.transform(X)
    assert threads.most_threads() == 2
    threads.calls.clear()
    with threadpool_limits(1, user_api="blas"):
        single = GNCNAutoencoder("pdh", **params).fit(X)
        single_latents = single.transform(X)
    assert threads.most_threads() == 1
    for a, b in zip(blocked.weights_, single.weights_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(blocked_latents, single_latents, rtol=1e-9, atol=1e-12)
