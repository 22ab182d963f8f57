// The web chat page's static files (web/ in the repository), embedded into the program at build
// time so that `baimo serve` serves them from any working directory and any install location.
// Contract: find_web_asset("/") is index.html; unknown paths give nullptr.
#pragma once
#include <string_view>

namespace baimo::serve {

struct WebAsset {
  std::string_view path;       // "/index.html", "/chat.js", ...
  std::string_view mime_type;  // "text/html; charset=utf-8", ...
  std::string_view bytes;
};

const WebAsset* find_web_asset(std::string_view path);

}  // namespace baimo::serve
