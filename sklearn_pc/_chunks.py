"""Chunks of rows: those that bound the memory of inference on many samples,
and the batches of a training epoch.

Every method that maps samples to outputs (``predict``, ``transform``,
``inverse_transform``, ``score_samples``, ``sample``, ...) works through its
input in chunks of rows, so that a call on millions of samples holds its
output and one chunk's intermediate arrays, never all of them.  The chunk
size follows scikit-learn's ``working_memory`` setting (MiB, default 1024),
as ``pairwise_distances_chunked`` does::

    with sklearn.config_context(working_memory=64):
        model.predict(X_huge)
"""

import warnings

from sklearn import get_config
from sklearn.utils import gen_batches


def row_chunks(n_rows, row_bytes):
    """Slices of rows whose intermediate arrays fit in ``working_memory``.

    Parameters
    ----------
    n_rows : int
        Number of rows to go through.
    row_bytes : int
        Bytes of intermediate arrays one row needs.

    Returns
    -------
    chunks : generator of slice
        Consecutive slices covering ``range(n_rows)``, each of
        ``working_memory / row_bytes`` rows (at least one).
    """
    budget = get_config()["working_memory"] * 2**20
    return gen_batches(n_rows, max(1, int(budget // row_bytes)))


def training_batch_size(batch_size, n_samples, incremental):
    """Rows per training update: ``"auto"`` is ``min(200, n_samples)``, and a
    larger size is clipped to ``n_samples`` with a warning (as MLPClassifier does)."""
    if batch_size == "auto":
        return min(200, n_samples)
    if batch_size > n_samples and not incremental:
        warnings.warn("Got `batch_size` less than 1 or larger than sample size. "
                      "It is going to be clipped.")
    return min(batch_size, n_samples)


def epoch_batches(n_samples, batch_size, rng, shuffle):
    """Row indices of one training epoch's batches: consecutive slices, or,
    with ``shuffle``, slices of a permutation drawn from ``rng`` now."""
    batches = gen_batches(n_samples, batch_size)
    if not shuffle:
        return list(batches)
    order = rng.permutation(n_samples)
    return [order[rows] for rows in batches]
