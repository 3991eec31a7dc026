"""sklearn-pc: predictive-coding networks as scikit-learn estimators."""

from ._autoencoders import (
    AdversarialAutoencoder,
    BackpropAutoencoder,
    VariationalAutoencoder,
)
from ._generator import PCGenerator
from ._gncn import GNCNAutoencoder
from ._pc import PCClassifier

__version__ = "0.1.0.dev0"

# The library's own types in a fitted estimator, to pass as ``trusted`` to
# ``skops.io.load`` (skops refuses unknown types unless they are listed).
SKOPS_TRUSTED_TYPES = [
    "sklearn_pc._pc.PCClassifier",
    "sklearn_pc._generator.PCGenerator",
    "sklearn_pc._gncn.GNCNAutoencoder",
    "sklearn_pc._autoencoders.BackpropAutoencoder",
    "sklearn_pc._autoencoders.VariationalAutoencoder",
    "sklearn_pc._autoencoders.AdversarialAutoencoder",
    "sklearn_pc._core._learning.AdamOptimizer",
    "sklearn_pc._core._learning.SGDOptimizer",
]

__all__ = [
    "SKOPS_TRUSTED_TYPES",
    "AdversarialAutoencoder",
    "BackpropAutoencoder",
    "GNCNAutoencoder",
    "PCClassifier",
    "PCGenerator",
    "VariationalAutoencoder",
    "__version__",
]
