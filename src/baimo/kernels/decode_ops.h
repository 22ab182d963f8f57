// Row-sized elementwise ops of the engine's one-region decode step (infer/engine_team.cpp), without any
// OpenMP inside: called by each thread of the team on its own rows / column ranges (most backend
// ops open a nested parallel region per call, about a microsecond even when inactive). The math
// is the backend's (kernels/cpu/kernels_impl.inc); the elementwise ones are the same formulas.
//   rmsnorm_row: y (C) = x * w / sqrt(mean(x^2) + eps): the backend's own rmsnorm_fwd on one row
//                (bit-identical to the prefill path: quantized products round the normalized
//                activations to int8, so a 1-ulp difference there can flip a quant).
//   rope_heads:  rotates `heads` heads of D in place by one row of the rotary table (kernels/rope_table.h,
//                the backend's own) (HF rotate_half): y1 = x1 c - x2 s, y2 = x2 c + x1 s.
//   swiglu_range: out (n) = g * sigmoid(g) * u (out may alias gate): the backend's swiglu_fwd,
//                which opens no region for row-sized work (a plain loop here did not vectorize).
#pragma once
#include <cstdint>

#include "baimo/kernels/rope_table.h"

namespace baimo {

void rmsnorm_row(const float* x, const float* w, int64_t C, float eps, float* y);

void rope_heads(float* x, const float* cos_sin_row, int64_t heads, int64_t D);

void swiglu_range(const float* gate, const float* up, int64_t n, float* out);

}  // namespace baimo
