"""Build the optional compiled kernels: ``sklearn_pc/_core/_update_kernels.pyx``
(optimizer updates) and ``_relaxation_kernels.pyx`` (the relaxation's
elementwise passes).

They only accelerate the numpy references of ``sklearn_pc/_core/_reference.py``,
which the package uses where they are missing.  So the build never fails
for them: without Cython (and without the generated ``.c`` files), without
a working C compiler, or with ``SKLEARN_PC_NO_COMPILED=1`` in the
environment, it warns and installs the pure-Python package.

Everything else about the package is declared in ``pyproject.toml``.
"""

import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

NAMES = ("_update_kernels", "_relaxation_kernels")

# GCC and Clang: optimise and vectorise, let sqrt compile to its instruction (no errno),
# and no fused multiply-adds (the kernels round like their numpy references, up to
# math.h's tanh and exp).
UNIX_FLAGS = ["-O3", "-fno-math-errno", "-ffp-contract=off"]


def warn(message):
    print(f"WARNING (sklearn-pc): {message}; installing without the compiled kernels "
          "(the numpy references run instead, slower)", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """``build_ext`` that warns instead of failing when an extension cannot be built."""

    def run(self):
        try:
            super().run()
        except Exception as error:  # no compiler, or one that does not work
            warn(f"building the extensions failed ({error})")

    def build_extensions(self):
        if self.compiler.compiler_type == "unix":
            for extension in self.extensions:
                extension.extra_compile_args += UNIX_FLAGS
        super().build_extensions()

    def build_extension(self, extension):
        try:
            super().build_extension(extension)
        except Exception as error:
            warn(f"building {extension.name} failed ({error})")


def extensions():
    """The extensions to build: none when told so or when there is nothing to
    build them from (no Cython and no generated C)."""
    if os.environ.get("SKLEARN_PC_NO_COMPILED", "") not in ("", "0"):
        warn("SKLEARN_PC_NO_COMPILED is set")
        return []
    try:
        import numpy
    except ImportError:
        warn("numpy is not importable at build time")
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        cythonize, suffix = None, ".c"
    else:
        suffix = ".pyx"
    sources = {name: f"sklearn_pc/_core/{name}{suffix}" for name in NAMES}
    if cythonize is None and not all(Path(source).exists() for source in sources.values()):
        warn("Cython is not installed and there are no generated C files")
        return []
    modules = [
        Extension(f"sklearn_pc._core.{name}", [source],
                  include_dirs=[numpy.get_include()],
                  depends=["sklearn_pc/_core/_kernels.h"],
                  # numpy >= 1.23 at run time
                  define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_23_API_VERSION"),
                                 ("NPY_TARGET_VERSION", "NPY_1_23_API_VERSION")])
        for name, source in sources.items()]
    if cythonize is None:
        return modules
    try:
        return cythonize(modules)
    except Exception as error:
        warn(f"Cython failed ({error})")
        return []


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
