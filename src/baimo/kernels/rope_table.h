// RopeTable: the one table of rotary-embedding angles (the backend's rope op and the engine's decode
// step both read it). Row p holds cos(p f_i) for i < D/2 then sin(p f_i), f_i = 1 / theta^(2i/D)
// computed in f32 as HF does (the angle p * f_i in f32; cos and sin in double, rounded to f32).
// extend() adds rows (the existing ones do not change); row() of a position < positions().
#pragma once
#include <cstdint>
#include <vector>

namespace baimo {

struct RopeTable {
  float theta = 10000.0f;
  int64_t head_dim = 0;
  std::vector<float> cos_sin;  // (positions, head_dim)

  RopeTable() = default;
  RopeTable(float theta, int64_t head_dim, int64_t positions);
  int64_t positions() const { return head_dim ? static_cast<int64_t>(cos_sin.size()) / head_dim : 0; }
  void extend(int64_t positions);  // to at least `positions` rows
  const float* row(int32_t pos) const { return cos_sin.data() + static_cast<int64_t>(pos) * head_dim; }
};

}  // namespace baimo
