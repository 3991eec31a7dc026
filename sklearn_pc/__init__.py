"""sklearn-pc: predictive-coding networks as scikit-learn estimators."""

from ._generator import PCGenerator
from ._gncn import GNCNAutoencoder
from ._pc import PCClassifier

__version__ = "0.1.0.dev0"

__all__ = ["GNCNAutoencoder", "PCClassifier", "PCGenerator", "__version__"]
