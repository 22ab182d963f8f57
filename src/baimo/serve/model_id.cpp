#include "baimo/serve/model_id.h"

#include <filesystem>

namespace baimo::serve {
namespace fs = std::filesystem;

std::string default_model_id(const std::string& model_path) {
  std::error_code ec;
  fs::path p = fs::absolute(fs::path(model_path), ec);
  if (ec) p = fs::path(model_path);
  p = p.lexically_normal();
  if (p.filename().empty()) p = p.parent_path();  // a trailing '/'
  std::string name;
  if (fs::is_directory(p, ec)) {
    name = p.filename().string();
    const fs::path parent = p.parent_path();
    if (name == "final" && !parent.filename().empty()) {
      name = parent.filename().string();  // runs/<run>/final
    } else if (name.rfind("step_", 0) == 0 && parent.filename() == "checkpoints" &&
               !parent.parent_path().filename().empty()) {
      name = parent.parent_path().filename().string() + "-" + name;  // runs/<run>/checkpoints/step_N
    }
  } else {
    name = p.stem().string();  // models/x.gguf -> x
  }
  return name.empty() ? "baimo" : name;
}

}  // namespace baimo::serve
