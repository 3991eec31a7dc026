"""sklearn-pc: predictive-coding networks as scikit-learn estimators."""

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
    "sklearn_pc._core._learning.AdamOptimizer",
    "sklearn_pc._core._learning.SGDOptimizer",
]

__all__ = ["GNCNAutoencoder", "PCClassifier", "PCGenerator", "SKOPS_TRUSTED_TYPES",
           "__version__"]
