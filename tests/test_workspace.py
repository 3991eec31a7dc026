"""Buffers kept from one training batch to the next (``_core._workspace``)."""

import threading

import numpy as np
import pytest

from sklearn_pc._core._workspace import Workspace


def address(array):
    return array.__array_interface__["data"][0]


def test_a_buffer_is_the_same_memory_from_call_to_call():
    workspace = Workspace()
    first = workspace.empty("x", (5, 3), np.float32)
    first[:] = 1.5
    again = workspace.empty("x", (5, 3), np.float32)
    assert address(again) == address(first)
    assert np.all(again == 1.5)  # the content is what the last user left
    assert not np.shares_memory(workspace.empty("y", (5, 3), np.float32), first)


def test_fewer_rows_get_a_view_of_the_buffer_and_more_rows_a_new_one():
    workspace = Workspace()
    full = workspace.empty("x", (6, 4), np.float64)
    fewer = workspace.empty("x", (2, 4), np.float64)
    assert fewer.shape == (2, 4) and fewer.flags.c_contiguous
    assert address(fewer) == address(full)
    assert address(workspace.empty("x", (6, 4), np.float64)) == address(full)
    more = workspace.empty("x", (7, 4), np.float64)
    assert more.shape == (7, 4) and not np.shares_memory(more, full)


@pytest.mark.parametrize("shape, dtype", [((6, 5), np.float64), ((6, 4), np.float32),
                                          ((6,), np.float64)])
def test_another_row_shape_or_dtype_gets_a_new_buffer(shape, dtype):
    workspace = Workspace()
    full = workspace.empty("x", (6, 4), np.float64)
    other = workspace.empty("x", shape, dtype)
    assert other.shape == shape and other.dtype == dtype
    assert not np.shares_memory(other, full)


def test_each_thread_gets_its_own_buffers():
    workspace = Workspace()
    mine = workspace.empty("x", (3, 3), np.float64)
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(workspace.empty("x", (3, 3), float)))
    thread.start()
    thread.join()
    assert not np.shares_memory(theirs[0], mine)


def test_copy_is_a_c_contiguous_copy_in_the_named_buffer():
    workspace = Workspace()
    matrix = np.arange(12.0).reshape(3, 4)
    copy = workspace.copy("w", matrix.T)
    assert copy.flags.c_contiguous and np.array_equal(copy, matrix.T)
    assert address(copy) == address(workspace.empty("w", (4, 3), np.float64))
