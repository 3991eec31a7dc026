"""Sphinx configuration: numpydoc API reference and a sphinx-gallery of ``examples/``."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # the gallery's examples are small

project = "sklearn-pc"
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
numpydoc_show_class_members = False
html_theme = "alabaster"
exclude_patterns = ["_build"]
# Methods inherited from scikit-learn's mixins (e.g. ClassifierMixin.score) cite labels of
# scikit-learn's own user guide, which do not exist here.
suppress_warnings = ["ref.ref"]
intersphinx_mapping = {}  # offline builds: no inventories fetched

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "plot_gallery": "True",
}
