"""Leave an estimator as it was when training fails part-way."""

import copy
from contextlib import contextmanager


@contextmanager
def rollback_on_error(estimator):
    """Train on a copy of the estimator's state; keep the original if the block raises.

    A fit that stops with an error (diverging dynamics, bad labels in a
    later ``partial_fit``) never leaves half-updated weights behind: an
    unfitted estimator stays unfitted, a fitted one keeps its previous
    weights.  Training writes only into the fresh, writable copies, so fitted
    arrays loaded read-only (``joblib.load(..., mmap_mode="r")``) can be
    trained further, and arrays a caller holds from an earlier fit are never
    changed.  The copy goes through pickling's ``__getstate__`` /
    ``__setstate__`` (``copy.deepcopy``), which keeps tied feedback weights tied;
    the constructor parameters are not copied (a ``random_state`` passed as a
    ``RandomState`` instance is still the caller's and advances as usual), nor
    is the autoencoders' ``prior_``, which training replaces but never changes.
    """
    saved = estimator.__dict__
    keep = {id(value): value for value in estimator.get_params(deep=False).values()}
    # Training replaces the fitted prior (or drops it), never changes it in place, so the
    # copy shares it: a 75-component full-covariance mixture over 360 units is ~230 MB.
    prior = saved.get("prior_")
    if prior is not None:
        keep[id(prior)] = prior
    estimator.__dict__ = copy.deepcopy(estimator, keep).__dict__
    try:
        yield
    except Exception:
        estimator.__dict__ = saved
        raise
