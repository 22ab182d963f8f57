#include "baimo/kernels/half_float.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace half_float_test {
using namespace baimo;
using baimo::cpu::best_isa;
using baimo::cpu::CpuIsa;
using baimo::cpu::isa_name;

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Value of a finite non-negative f16 bit pattern, exact in double.
double ldexp_f16(uint16_t h) {
  const int exp = (h >> 10) & 31, mant = h & 1023;
  return exp == 0 ? std::ldexp(mant, -24) : std::ldexp(1024 + mant, exp - 25);
}

// Independent references, written from the IEEE definitions in double arithmetic.
uint32_t ref_f16_to_f32_bits(uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 31, mant = h & 1023;
  if (exp == 31) return (sign << 31) | 0x7f800000u | (mant << 13) | (mant ? 0x400000u : 0u);
  double v = exp == 0 ? std::ldexp(mant, -24) : std::ldexp(1024 + mant, exp - 25);
  return bits(static_cast<float>(sign ? -v : v));
}

// Round |f| to the nearest f16 (ties to even) by comparing against the two neighbours.
uint16_t ref_f32_to_f16(float f) {
  const uint32_t u = bits(f);
  const uint16_t sign = (u >> 16) & 0x8000;
  if (std::isnan(f)) return sign | 0x7e00 | ((u >> 13) & 0x3ff);
  const double a = std::fabs(static_cast<double>(f));
  if (a >= 65520.0) return sign | 0x7c00;  // 65504 + half an ulp (2^4): ties go to even = inf
  // Find the largest finite f16 magnitude <= a by walking exponents (exact in double).
  uint16_t lo = 0;
  for (int step = 1 << 14; step; step >>= 1) {
    uint16_t cand = lo + step;
    if (cand <= 0x7bff && ldexp_f16(cand) <= a) lo = cand;
  }
  const double vlo = ldexp_f16(lo);
  if (vlo == a || lo == 0x7bff) return sign | lo;
  const double vhi = ldexp_f16(lo + 1);
  const double dlo = a - vlo, dhi = vhi - a;
  if (dlo < dhi) return sign | lo;
  if (dhi < dlo) return sign | (lo + 1);
  return sign | ((lo & 1) ? lo + 1 : lo);
}

uint16_t ref_f32_to_bf16(float f) {
  const uint32_t u = bits(f);
  if (std::isnan(f)) return (u >> 16) | 0x40;
  const uint16_t lo = u >> 16;
  const uint32_t rest = u & 0xffff;
  if (rest > 0x8000 || (rest == 0x8000 && (lo & 1))) return lo + 1;  // carries into exp: correct
  return lo;
}

static const CpuIsa kIsas[] = {CpuIsa::Scalar, CpuIsa::Avx2, CpuIsa::Avx512Bw, CpuIsa::Avx512Vnni};

TEST(HalfRows, F16ToF32AllPatternsEveryIsa) {
  std::vector<uint16_t> h(65536 + 5);  // odd length exercises the tails
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint16_t>(i);
  for (CpuIsa isa : kIsas) {
    if (isa > best_isa()) continue;
    std::vector<float> out(h.size());
    f16_to_f32_row(h.data(), out.data(), h.size(), isa);
    for (size_t i = 0; i < h.size(); ++i)
      ASSERT_EQ(bits(out[i]), ref_f16_to_f32_bits(h[i])) << isa_name(isa) << " h=" << h[i];
  }
}

TEST(HalfRows, BF16ToF32AllPatternsEveryIsa) {
  std::vector<uint16_t> h(65536 + 3);
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint16_t>(i);
  for (CpuIsa isa : kIsas) {
    if (isa > best_isa()) continue;
    std::vector<float> out(h.size());
    bf16_to_f32_row(h.data(), out.data(), h.size(), isa);
    for (size_t i = 0; i < h.size(); ++i)
      ASSERT_EQ(bits(out[i]), static_cast<uint32_t>(h[i]) << 16) << isa_name(isa);
  }
}

// Inputs for the f32 -> 16-bit direction: every 16-bit value, the midpoints between neighbours
// and one f32 ulp either side (the rounding boundaries), specials, subnormals, random bits.
static std::vector<float> boundary_inputs(bool bf16) {
  std::vector<float> v;
  for (uint32_t h = 0; h < 65536; ++h) {
    const float x = bf16 ? from_bits(h << 16) : from_bits(ref_f16_to_f32_bits(static_cast<uint16_t>(h)));
    v.push_back(x);
    if (!std::isfinite(x)) continue;
    const uint32_t next = bf16 ? ((h + 1) << 16) : ref_f16_to_f32_bits(static_cast<uint16_t>(h + 1));
    if ((h & 0x7fff) >= (bf16 ? 0x7f80u : 0x7c00u)) continue;
    const double mid = (static_cast<double>(x) + from_bits(next)) / 2;  // exact in f32 here
    const float m = static_cast<float>(mid);
    v.push_back(m);
    v.push_back(std::nextafter(m, 0.0f));
    v.push_back(std::nextafter(m, 2 * m));
  }
  for (uint32_t u : {0x7f800001u, 0xffc00000u, 0x7fbfffffu, 0x00000001u, 0x807fffffu, 0x007fffffu,
                     0x477ff000u, 0x477fefffu, 0x7f7fffffu, 0xff7fffffu})
    v.push_back(from_bits(u));
  std::mt19937 rng(5);
  for (int i = 0; i < 200000; ++i) v.push_back(from_bits(rng()));
  return v;
}

TEST(HalfRows, F32ToF16RoundingEveryIsa) {
  const std::vector<float> in = boundary_inputs(false);
  for (CpuIsa isa : kIsas) {
    if (isa > best_isa()) continue;
    std::vector<uint16_t> out(in.size());
    f32_to_f16_row(in.data(), out.data(), in.size(), isa);
    for (size_t i = 0; i < in.size(); ++i)
      ASSERT_EQ(out[i], ref_f32_to_f16(in[i])) << isa_name(isa) << " x=0x" << std::hex << bits(in[i]);
  }
}

TEST(HalfRows, F32ToBF16RoundingEveryIsa) {
  const std::vector<float> in = boundary_inputs(true);
  for (CpuIsa isa : kIsas) {
    if (isa > best_isa()) continue;
    std::vector<uint16_t> out(in.size());
    f32_to_bf16_row(in.data(), out.data(), in.size(), isa);
    for (size_t i = 0; i < in.size(); ++i)
      ASSERT_EQ(out[i], ref_f32_to_bf16(in[i])) << isa_name(isa) << " x=0x" << std::hex << bits(in[i]);
  }
}

TEST(HalfRows, KnownValues) {
  EXPECT_EQ(f32_to_f16_bits(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16_bits(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_f16_bits(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16_bits(65520.0f), 0x7c00);  // tie between 65504 and 65536 -> even (inf)
  EXPECT_EQ(f32_to_f16_bits(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(f32_to_f16_bits(std::ldexp(1.0f, -25)), 0x0000);  // tie -> even (zero)
  EXPECT_EQ(f32_to_bf16_bits(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16_bits(from_bits(0x3f808000u)), 0x3f80);  // tie -> even
  EXPECT_EQ(f32_to_bf16_bits(from_bits(0x3f818000u)), 0x3f82);  // tie -> even (up)
  EXPECT_EQ(f32_to_bf16_bits(from_bits(0x7f800001u)), 0x7fc0);  // signalling NaN comes back quiet
  EXPECT_EQ(f16_bits_to_f32(0x3555), 0.333251953125f);
}

// The byte forms (file buffers at any alignment) give the rows' results, aligned or not, across
// the chunk boundary of the unaligned path.
TEST(HalfRows, BytesAtAnyAlignmentMatchRows) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-70000.0f, 70000.0f);
  const size_t n = 2500;
  std::vector<float> x(n);
  for (float& v : x) v = dist(rng);
  std::vector<uint16_t> f16(n), bf16(n);
  f32_to_f16_row(x.data(), f16.data(), n);
  f32_to_bf16_row(x.data(), bf16.data(), n);
  for (size_t offset : {0, 1}) {
    std::vector<uint8_t> buf(2 * n + 2);
    uint8_t* p = buf.data() + offset;
    f32_to_f16_bytes(x.data(), p, n);
    ASSERT_EQ(std::memcmp(p, f16.data(), 2 * n), 0) << "offset " << offset;
    std::vector<float> back(n), want(n);
    f16_bytes_to_f32(p, back.data(), n);
    f16_to_f32_row(f16.data(), want.data(), n);
    ASSERT_EQ(std::memcmp(back.data(), want.data(), 4 * n), 0) << "offset " << offset;
    f32_to_bf16_bytes(x.data(), p, n);
    ASSERT_EQ(std::memcmp(p, bf16.data(), 2 * n), 0) << "offset " << offset;
    bf16_bytes_to_f32(p, back.data(), n);
    bf16_to_f32_row(bf16.data(), want.data(), n);
    ASSERT_EQ(std::memcmp(back.data(), want.data(), 4 * n), 0) << "offset " << offset;
  }
}

}  // namespace half_float_test
