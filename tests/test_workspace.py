"""Buffers kept from one training batch to the next (``_core._workspace``).

What the relaxation relies on: each call gets an array of the shape and dtype it
asks for, arrays of other names or threads never overwrite it, and once a name
has been asked for with its largest shape, asking again allocates nothing.
"""

import threading
import tracemalloc

import numpy as np
import pytest

from sklearn_pc._core._workspace import Workspace


def allocated_bytes(func):
    """Peak bytes traced while ``func()`` runs (numpy's buffers are traced)."""
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("shape, dtype", [((6, 4), np.float64), ((2, 4), np.float64),
                                          ((7, 4), np.float64), ((6, 5), np.float64),
                                          ((6, 4), np.float32), ((6,), np.float64)])
def test_each_request_gets_a_c_contiguous_array_of_its_shape_and_dtype(shape, dtype):
    workspace = Workspace()
    workspace.empty("x", (6, 4), np.float64)[:] = 1.0  # an earlier call of the same name
    array = workspace.empty("x", shape, dtype)
    assert array.shape == shape and array.dtype == dtype and array.flags.c_contiguous
    array[:] = 2.0  # writable over its whole extent
    assert np.all(array == 2.0)


def test_buffers_of_other_names_never_overwrite_one_another():
    workspace = Workspace()
    x = workspace.empty("x", (5, 3), np.float32)
    x[:] = 1.5
    for name, shape, dtype in [("y", (5, 3), np.float32), ("z", (9, 3), np.float32),
                               (("x", 1), (5, 3), np.float32)]:
        workspace.empty(name, shape, dtype)[:] = -7.0
    assert np.all(x == 1.5)


def test_each_thread_gets_buffers_no_other_thread_writes():
    """Row blocks relax at once in threads, each in its own buffers."""
    workspace = Workspace()
    mine = workspace.empty("x", (3, 3), np.float64)
    mine[:] = 1.0
    start = threading.Barrier(2)

    def other_thread():
        theirs = workspace.empty("x", (3, 3), np.float64)
        theirs[:] = 2.0
        start.wait()

    thread = threading.Thread(target=other_thread)
    thread.start()
    start.wait()
    thread.join()
    assert np.all(mine == 1.0)


def test_asking_again_for_at_most_the_largest_shape_allocates_nothing():
    """The smaller last batch of an epoch and the next epoch's batches reuse the
    buffer: memory stays bounded by the largest batch."""
    workspace = Workspace()
    n_bytes = 1000 * 500 * 8
    workspace.empty("x", (1000, 500), np.float64)
    workspace.copy("w", np.ones((500, 1000)).T)
    weights = np.full((1000, 500), 3.0)

    def later_batches():
        for n_rows in (1000, 10, 999, 1000):
            workspace.empty("x", (n_rows, 500), np.float64)[:] = n_rows
        workspace.copy("w", weights)

    assert allocated_bytes(later_batches) < n_bytes / 100
    # more rows than ever before: a new buffer for them
    assert allocated_bytes(lambda: workspace.empty("x", (1001, 500), np.float64)) >= n_bytes


def test_copy_is_a_c_contiguous_copy_the_source_does_not_share():
    workspace = Workspace()
    matrix = np.arange(12.0).reshape(3, 4)
    copy = workspace.copy("w", matrix.T)
    assert copy.flags.c_contiguous and np.array_equal(copy, matrix.T)
    copy[:] = 0.0
    assert np.array_equal(matrix, np.arange(12.0).reshape(3, 4))  # the caller's array
    again = workspace.copy("w", matrix[:2].T)  # fewer rows, same named buffer
    assert again.shape == (4, 2) and np.array_equal(again, matrix[:2].T)
