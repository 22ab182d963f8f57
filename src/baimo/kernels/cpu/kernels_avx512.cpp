// The cpu kernels of kernels_impl.inc and attention_impl.inc, AVX-512 build (F/BW/DQ/VL, 512-bit vectors); only called when cpu::has_avx512().
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

#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,prefer-vector-width=512")

namespace baimo::cpu::avx512 {

#include "baimo/kernels/cpu/kernels_impl.inc"
#define BAIMO_VEC_BYTES 64
#include "baimo/kernels/cpu/attention_blocks.inc"
#include "baimo/kernels/cpu/attention_impl.inc"

}  // namespace baimo::cpu::avx512
