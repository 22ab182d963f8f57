// Output paths, one rule for every command: a missing parent directory of an output file or
// directory is created; a path that cannot be created or written is a baimo::Error naming it and
// the reason (never "internal error: filesystem error"). Commands call these before long work, so
// an unwritable --out fails at once.
// - prepare_output_file(path): creates the parent directories; the parent must be writable and
//   `path` must not be a directory.
// - prepare_output_dir(path): creates `path` with its parents; it must be a writable directory.
// - ensure_parent_dir(path): only creates the parent directories (nothing for a bare name).
#pragma once
#include <string>

namespace baimo {

void prepare_output_file(const std::string& path);
void prepare_output_dir(const std::string& path);
void ensure_parent_dir(const std::string& path);

}  // namespace baimo
