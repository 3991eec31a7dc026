"""Build the compiled kernels: ``sklearn_pc/_core/_update_kernels.pyx`` (optimizer updates)
and ``_relaxation_kernels.pyx`` (the relaxation's elementwise passes).

Everything else about the package is declared in ``pyproject.toml``.
"""

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# GCC and Clang: optimise and vectorise, let sqrt compile to its instruction (no errno),
# and keep numpy's rounding (no fused multiply-adds).
UNIX_FLAGS = ["-O3", "-fno-math-errno", "-ffp-contract=off"]


class BuildExt(build_ext):
    def build_extensions(self):
        if self.compiler.compiler_type == "unix":
            for extension in self.extensions:
                extension.extra_compile_args += UNIX_FLAGS
        super().build_extensions()


extensions = [
    Extension(f"sklearn_pc._core.{name}", [f"sklearn_pc/_core/{name}.pyx"],
              include_dirs=[numpy.get_include()],
              depends=["sklearn_pc/_core/_kernels.h"],
              # numpy >= 1.23 at run time
              define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_23_API_VERSION"),
                             ("NPY_TARGET_VERSION", "NPY_1_23_API_VERSION")])
    for name in ("_update_kernels", "_relaxation_kernels")]

setup(ext_modules=cythonize(extensions), cmdclass={"build_ext": BuildExt})
