"""Build the optional compiled accelerator ``sklearn_pc/_core/_accel.c``.

It only speeds up the numpy functions of ``sklearn_pc/_core/_kernels.py``,
which run wherever it is missing, so the build never fails for it: without a
working C compiler, or with ``SKLEARN_PC_NO_COMPILED=1`` in the environment,
it warns and installs the pure-Python package.  Everything else about the
package is declared in ``pyproject.toml``.
"""

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# GCC and Clang: optimise and vectorise, let sqrt compile to its instruction (no errno), and
# no fused multiply-adds, so the loops round exactly like their numpy references.
UNIX_FLAGS = ["-O3", "-fno-math-errno", "-ffp-contract=off"]


def warn(message):
    print(f"WARNING (sklearn-pc): {message}; installing without the compiled accelerator "
          "(the numpy functions run instead, slower)", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """``build_ext`` that warns instead of failing when the accelerator cannot be built."""

    def run(self):
        try:
            super().run()
        except Exception as error:  # no compiler, or one that does not work
            warn(f"building the extension failed ({error})")

    def build_extension(self, extension):
        if self.compiler.compiler_type == "unix":
            extension.extra_compile_args = extension.extra_compile_args + UNIX_FLAGS
        try:
            super().build_extension(extension)
        except Exception as error:
            warn(f"building {extension.name} failed ({error})")


def extensions():
    """The accelerator, unless told not to build it or numpy's headers are missing."""
    if os.environ.get("SKLEARN_PC_NO_COMPILED", "") not in ("", "0"):
        warn("SKLEARN_PC_NO_COMPILED is set")
        return []
    try:
        import numpy
    except ImportError:
        warn("numpy is not importable at build time")
        return []
    return [Extension("sklearn_pc._core._accel", ["sklearn_pc/_core/_accel.c"],
                      include_dirs=[numpy.get_include()],
                      # the numpy C API of numpy >= 1.23, the oldest numpy the package supports
                      define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_23_API_VERSION"),
                                     ("NPY_TARGET_VERSION", "NPY_1_23_API_VERSION")])]


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
