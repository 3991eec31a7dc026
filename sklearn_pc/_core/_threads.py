"""Row-block parallelism for the relaxation loops.

Every row of a batch relaxes on its own, so a batch can be cut into blocks
of rows relaxed at the same time in threads.  Inside :func:`row_parallelism`
BLAS runs one thread, and :func:`map_row_blocks` runs as many blocks as BLAS
would otherwise use threads, so both the matrix products and the elementwise
work (which numpy runs on one core) use every core.  On two cores this
trains the PC MLP and the GNCN about 10-35 % faster than one block on two
BLAS threads.  The limit must cover every product of the loop, not only the
relaxation: OpenBLAS's idle threads spin for a while after each multithreaded
product and would steal a core from the blocks.

A row's result can differ from the one-block run by float rounding (BLAS
blocks its products by the number of rows), never by more: the maths of a
row does not change.  The BLAS thread count is process-wide, so nested or
concurrent calls from other threads see one BLAS thread and run one block.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager

import numpy as np
from threadpoolctl import ThreadpoolController

# Fewer rows per block make the matrix products too thin to pay for the split: a
# batch of 64 rows trains the PC MLP (600 wide) about 10 % faster as one block on
# two BLAS threads than as two blocks of 32, and one of 128 faster as two blocks
# of 64 than as one, with OpenBLAS's Haswell and SkylakeX kernels alike.
MIN_BLOCK_ROWS = 64

_controller = None
_executor, _executor_workers = None, 0
_lock = threading.Lock()
_active = threading.local()  # blocks of the row_parallelism this thread is in


def _forget_executor():
    # a forked child has the executor object but not its threads
    global _executor, _executor_workers
    _executor, _executor_workers = None, 0


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_forget_executor)


def _blas_controller():
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


def blas_threads():
    """Threads BLAS would use now (1 if no BLAS library is found)."""
    libraries = _blas_controller().select(user_api="blas").lib_controllers
    return max((library.num_threads for library in libraries), default=1)


@contextmanager
def row_parallelism():
    """Limit BLAS to one thread; yield how many row blocks to run at once.

    That is the number of threads BLAS used before (1 when it already ran
    one, for example under an outer ``threadpool_limits(1)``, in which case
    nothing is changed).  Nested in an active ``row_parallelism`` of the same
    thread, it yields that one's count.
    """
    nested = getattr(_active, "n_blocks", None)
    if nested is not None:
        yield nested
        return
    n_threads = blas_threads()
    if n_threads <= 1:
        yield 1
        return
    with _lock, _blas_controller().limit(limits=1, user_api="blas"):
        _active.n_blocks = n_threads
        try:
            yield n_threads
        finally:
            _active.n_blocks = None


@contextmanager
def _blas_threads_given_back(n_threads):
    """Inside this thread's active :func:`row_parallelism`, let BLAS use
    ``n_threads`` threads again; elsewhere change nothing."""
    if n_threads > 1 and getattr(_active, "n_blocks", None):
        with _blas_controller().limit(limits=n_threads, user_api="blas"):
            yield
    else:
        yield


def map_row_blocks(function, n_rows, n_blocks):
    """Return ``[function(rows), ...]`` over consecutive blocks of ``n_rows`` rows.

    ``function`` receives a ``slice`` of rows and must touch only those rows
    of shared arrays.  At most ``n_blocks`` blocks of at least
    ``MIN_BLOCK_ROWS`` rows run at once in threads, each with the caller's
    numpy error settings; use it inside :func:`row_parallelism`.  Rows too
    few for two blocks run as one block in the caller's thread, with the
    BLAS threads that :func:`row_parallelism` took away given back, so that
    a small batch still uses every core.
    """
    n_used = min(n_blocks, n_rows // MIN_BLOCK_ROWS)
    if n_used <= 1:
        with _blas_threads_given_back(n_blocks):
            return [function(slice(0, n_rows))]
    bounds = np.linspace(0, n_rows, n_used + 1).round().astype(int)
    blocks = [slice(start, stop) for start, stop in zip(bounds[:-1], bounds[1:])]
    settings = np.geterr()

    def run(rows):
        with np.errstate(**settings):
            return function(rows)

    global _executor, _executor_workers
    if _executor_workers < n_used - 1:
        _executor = ThreadPoolExecutor(n_used - 1, thread_name_prefix="sklearn-pc")
        _executor_workers = n_used - 1
    futures = [_executor.submit(run, rows) for rows in blocks[1:]]
    try:
        first = run(blocks[0])
    finally:
        wait(futures)
    return [first] + [future.result() for future in futures]


def sum_over_blocks(parts):
    """Sum, array by array and in place into the first block's arrays, the
    lists of arrays (e.g. gradients) that the row blocks returned."""
    total = parts[0]
    for block in parts[1:]:
        for array, part in zip(total, block):
            array += part
    return total
