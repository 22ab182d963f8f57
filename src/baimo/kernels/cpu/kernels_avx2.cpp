// The cpu kernels of kernels_impl.inc and attention_impl.inc, AVX2 build (the x86-64-v3 baseline of the whole project).
// Every header is included before the target pragma so that no inline library code is compiled
// for a wider ISA than the caller's.
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "baimo/kernels/cpu/kernels_isa.h"
#include "baimo/kernels/cpu/vec_math.h"



namespace baimo::cpu::avx2 {

#include "baimo/kernels/cpu/kernels_impl.inc"
#define BAIMO_VEC_BYTES 32
#include "baimo/kernels/cpu/attention_blocks.inc"
#include "baimo/kernels/cpu/attention_impl.inc"

}  // namespace baimo::cpu::avx2
