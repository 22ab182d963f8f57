// AVX-512 kernels of qdot_kernels.h: two 32-element blocks per 512-bit step (activation rows are
// padded to an even block count; a weight row's odd last block pairs with zeros).
// VNNI (vpdpbusd, u8 x s8 -> s32): Q8_0 flips w to w + 128 (xor 0x80) and removes 128 * sum(x);
//   Q4_0 uses the nibbles n directly and removes 8 * sum(x). Each correction is pre-loaded into the
//   8 int32 lanes of a block (-16 sum, resp. -sum each, precomputed in ActQ8) as the start value.
// BW (no VNNI): vpmaddubsw + vpmaddwd; Q8_0 multiplies |w| by x carrying w's sign.
// This file: the VNNI build. Every function carries a target attribute; dispatch only calls them on CPUs that have it.
// GCC 12 reports its own _mm512_undefined_* as maybe-uninitialized inside the intrinsic headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "baimo/kernels/cpu/qdot_kernels.h"


#define BAIMO_QDOT_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define BAIMO_QDOT_VNNI 1
#define BAIMO_QDOT_Q8 q8_0_rows_avx512vnni
#define BAIMO_QDOT_Q4 q4_0_rows_avx512vnni
#include "baimo/kernels/cpu/qdot_avx512.inc"
