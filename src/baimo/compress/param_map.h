// A model held whole as f32 vectors by parameter name (param_layout names): what prune, structured
// prune and grow read (model_dir.h read_model_dir_params), rewrite and write (save_derived_model_dir).
// param_values: the values of a spec, baimo::Error naming the tensor when absent or of another size.
// layout_spec: the spec of a role in a layer (-1: outside the layers), baimo::Error when there is none.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "baimo/model/param_layout.h"

namespace baimo {

using ParamMap = std::map<std::string, std::vector<float>>;

const std::vector<float>& param_values(const ParamMap& params, const ParamSpec& s);
std::vector<float>& param_values(ParamMap& params, const ParamSpec& s);

const ParamSpec& layout_spec(const std::vector<ParamSpec>& layout, ParamRole role, int64_t layer);

}  // namespace baimo
