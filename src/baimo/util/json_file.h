// read_json_file: a whole file parsed as JSON. A missing or unreadable file is read_file's error; text
// that is not JSON (or holds a number out of range, e.g. 9e999) is a baimo::Error "PATH: not valid
// JSON: ..." naming the place nlohmann's parser stopped.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace baimo {

nlohmann::json read_json_file(const std::string& path);

}  // namespace baimo
