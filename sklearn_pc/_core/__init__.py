"""The dynamics shared by every sklearn-pc estimator (no scikit-learn imports)."""
