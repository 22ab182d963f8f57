#include "baimo/compress/param_map.h"

#include "baimo/util/error.h"

namespace baimo {
namespace {

template <class Map>  // ParamMap or const ParamMap
auto& values_in(Map& params, const ParamSpec& s) {
  auto it = params.find(s.name);
  if (it == params.end()) fail("the model has no tensor {}", s.name);
  if (static_cast<int64_t>(it->second.size()) != s.numel())
    fail("tensor {} has {} values, expected {}", s.name, it->second.size(), s.numel());
  return it->second;
}

}  // namespace

std::vector<float>& param_values(ParamMap& params, const ParamSpec& s) { return values_in(params, s); }
const std::vector<float>& param_values(const ParamMap& params, const ParamSpec& s) { return values_in(params, s); }

const ParamSpec& layout_spec(const std::vector<ParamSpec>& layout, ParamRole role, int64_t layer) {
  for (const ParamSpec& s : layout)
    if (s.role == role && s.layer == layer) return s;
  fail("the model has no parameter of role {} in layer {}", static_cast<int>(role), layer);
}

}  // namespace baimo
