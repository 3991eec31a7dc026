"""Row-block parallelism for the relaxation loops, and parts of an update.

Every row of a batch relaxes on its own, so a batch can be cut into blocks
of rows relaxed at the same time in threads.  Inside :func:`row_parallelism`
BLAS runs one thread, and :func:`map_row_blocks` runs as many blocks as BLAS
would otherwise use threads, so both the matrix products and the elementwise
work (which numpy runs on one core) use every core.  On two cores this
trained the PC MLP and the GNCN about 10-35 % faster than one block on two
BLAS threads (OpenBLAS's Haswell kernel, batches of 128 and more).  Batches
too small for two blocks of ``MIN_BLOCK_ROWS`` rows are left one block on
every BLAS thread.  The limit must cover every product of the loop, not only
the relaxation: OpenBLAS's idle threads spin for a while after each
multithreaded product and would steal a core from the blocks.

A row's result can differ from the one-block run by float rounding (BLAS
blocks its products by the number of rows), never by more: the maths of a
row does not change.  The BLAS thread count is process-wide, so nested or
concurrent calls from other threads see one BLAS thread and run one block.

The weight update that follows can be cut too, by :func:`map_parts`, into
parts that each own some of the learned entries (see
``_learning.parameter_regions``): each part reads the factors of the whole
batch's gradients (which the blocks wrote) but computes and applies only its
own entries' gradients, so no gradient is summed over the blocks or moved
from one core to the other.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager

import numpy as np
from threadpoolctl import ThreadpoolController

# Fewer rows per block make the matrix products too thin to pay for the split: in an
# A/B on the PC MLP (600 wide, T = 20), a batch of 64 rows trained faster as one block
# on two BLAS threads than as two blocks of 32, and one of 128 faster as two blocks of
# 64 than as one, with OpenBLAS's Haswell and SkylakeX kernels alike.
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
def row_parallelism(n_rows=None):
    """Limit BLAS to one thread; yield how many row blocks to run at once.

    That is the number of threads BLAS used before.  It yields 1 and changes
    nothing when BLAS already runs one thread (for example under an outer
    ``threadpool_limits(1)``), or when ``n_rows``, the most rows the caller
    will pass to :func:`map_row_blocks` at once (a batch), are too few for
    two blocks: such batches then run as one block on every BLAS thread.
    Nested in an active ``row_parallelism`` of the same thread, it yields
    that one's count.
    """
    nested = getattr(_active, "n_blocks", None)
    if nested is not None:
        yield nested
        return
    n_threads = blas_threads()
    if n_threads <= 1 or (n_rows is not None and _n_blocks(n_rows, n_threads) <= 1):
        yield 1
        return
    with _lock, _blas_controller().limit(limits=1, user_api="blas"):
        _active.n_blocks = n_threads
        try:
            yield n_threads
        finally:
            _active.n_blocks = None


@contextmanager
def one_blas_thread():
    """Run the body with every BLAS library on one thread.

    For LAPACK calls through scipy, whose BLAS is a second library beside
    numpy's: its threads, once woken, keep spinning for a while after the
    call and slow numpy's next threaded products (three times slower GNCN
    training at batch 32 in our measurement).  Inside
    :func:`row_parallelism` BLAS already runs one thread.
    """
    if getattr(_active, "n_blocks", None) is not None:
        yield
        return
    with _blas_controller().limit(limits=1, user_api="blas"):
        yield


def _n_blocks(n_rows, n_threads):
    """Blocks of at least ``MIN_BLOCK_ROWS`` rows that ``n_threads`` threads
    run at once over ``n_rows`` rows."""
    return min(n_threads, n_rows // MIN_BLOCK_ROWS)


def map_row_blocks(function, n_rows, n_blocks):
    """Return ``[function(rows), ...]`` over consecutive blocks of ``n_rows`` rows.

    ``function`` receives a ``slice`` of rows and must touch only those rows
    of shared arrays.  At most ``n_blocks`` blocks of at least
    ``MIN_BLOCK_ROWS`` rows run at once in threads, each with the caller's
    numpy error settings; use it inside :func:`row_parallelism`.
    """
    n_blocks = max(1, _n_blocks(n_rows, n_blocks))
    bounds = np.linspace(0, n_rows, n_blocks + 1).round().astype(int)
    return map_parts(function, [slice(start, stop) for start, stop in zip(bounds[:-1], bounds[1:])])


def map_parts(function, parts):
    """Return ``[function(part) for part in parts]``, the parts running at once in
    threads (the first in the caller's), each with the caller's numpy error
    settings.

    ``function`` must write nothing that another part reads or writes.  Use
    it inside :func:`row_parallelism`, for as many parts as it yielded.
    """
    if len(parts) <= 1:
        return [function(part) for part in parts]
    settings = np.geterr()

    def run(part):
        with np.errstate(**settings):
            return function(part)

    global _executor, _executor_workers
    if _executor_workers < len(parts) - 1:
        _executor = ThreadPoolExecutor(len(parts) - 1, thread_name_prefix="sklearn-pc")
        _executor_workers = len(parts) - 1
    futures = [_executor.submit(run, part) for part in parts[1:]]
    try:
        first = run(parts[0])
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
