"""Buffers kept from one training batch to the next.

A relaxation works in a few dozen arrays as large as its batch.  Allocated
afresh for every batch, they cost more than their size suggests: the C
allocator hands memory this large back to the operating system when it is
freed, and the next batch pays a page fault for each 4 KiB it touches
again, which threads relaxing row blocks at once pay in turn (page faults
take a lock of the process).  On the PC MLP 784-600-600-10 at batch 512
that was about 5,000 page faults per batch; with its buffers kept, about
700, and training ran about 10 % faster (one-off interleaved measurement,
see the scaling guide).  A :class:`Workspace` holds such buffers, by name,
for as long as a ``fit`` runs.
"""

import threading

import numpy as np


class Workspace:
    """Named buffers that outlive a call, one set per thread.

    Each thread that asks gets its own buffers, so row blocks relaxing at
    once in threads never share one.  A buffer keeps the most rows it was
    asked for, and a call for fewer rows gets a view of its first rows, so
    the smaller last batch of an epoch does not reallocate it.
    """

    def __init__(self):
        self._local = threading.local()

    def empty(self, name, shape, dtype):
        """An uninitialised C-contiguous array of ``shape`` and ``dtype``, in the
        buffer ``name`` of the calling thread.

        Its content is whatever the previous call left, and it is the same
        memory that the next call for ``name`` in this thread receives: a
        caller must be done with it before then.
        """
        buffers = self._local.__dict__.setdefault("buffers", {})
        n_rows, row_shape = shape[0], tuple(shape[1:])
        dtype = np.dtype(dtype)
        buffer = buffers.get(name)
        if (buffer is None or buffer.shape[1:] != row_shape or buffer.dtype != dtype
                or buffer.shape[0] < n_rows):
            buffer = buffers[name] = np.empty((n_rows,) + row_shape, dtype)
        return buffer[:n_rows]

    def copy(self, name, array):
        """A C-contiguous copy of ``array`` in the buffer ``name`` (see :meth:`empty`)."""
        buffer = self.empty(name, array.shape, array.dtype)
        np.copyto(buffer, array)
        return buffer


def empty(workspace, name, shape, dtype):
    """``workspace.empty(name, shape, dtype)``, or a new array without a workspace."""
    if workspace is None:
        return np.empty(shape, dtype)
    return workspace.empty(name, shape, dtype)


def copy(workspace, name, array):
    """A C-contiguous copy of ``array``: ``workspace.copy(name, array)``, or a new
    array without a workspace."""
    if workspace is None:
        return np.array(array, order="C")
    return workspace.copy(name, array)
