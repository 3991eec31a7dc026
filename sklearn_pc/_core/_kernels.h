/* Shared by the compiled kernels (_update_kernels.pyx, _relaxation_kernels.pyx).

   SKPC_CLONES compiles a function for AVX-512, AVX2 and baseline x86-64, the
   loader picking the version for the processor (GCC or Clang on x86-64 Linux);
   elsewhere the function is compiled for the baseline only. */
#ifndef SKPC_KERNELS_H
#define SKPC_KERNELS_H

#include <math.h>
#include <stddef.h>

#if defined(__x86_64__) && defined(__linux__) && defined(__has_attribute)
#  if __has_attribute(target_clones)
#    define SKPC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#  endif
#endif
#ifndef SKPC_CLONES
#  define SKPC_CLONES
#endif

#endif
