// StagedDir: a directory's new content is built beside it and swapped in whole at the end, so an
// interrupted run never destroys the previous output and never leaves a half-built one in its place.
// Contract:
// - StagedDir(final): creates final's missing parent directories (the one rule for output paths,
//   see ensure_parent_dir in output_path.h), removes a leftover of a killed run and creates the
//   empty staging directory "<parent>/.<name>.partial" (hidden, so directory inputs skip it).
//   Errors name the path and the reason ("permission denied", ...).
// - path(): where to write. commit(): fsyncs the staging directory, swaps it with `final`
//   atomically (renameat2 RENAME_EXCHANGE; a plain rename when `final` does not exist yet), removes
//   the old content and fsyncs the parent. A crash at any moment leaves `final` old-and-complete or
//   new-and-complete; at worst a hidden ".<name>.partial" beside it, removed by the next run.
// - Destroyed without commit() (an error, a cancel): the staging directory is removed.
// The files written inside should be complete and fsynced (write_file_atomic, ShardWriter).
#pragma once
#include <filesystem>
#include <string>

namespace baimo {

class StagedDir {
 public:
  explicit StagedDir(const std::string& final_dir);
  ~StagedDir();
  StagedDir(const StagedDir&) = delete;
  StagedDir& operator=(const StagedDir&) = delete;

  std::string path() const { return staging_.string(); }
  void commit();

 private:
  std::filesystem::path final_, staging_;
  bool committed_ = false;
};

}  // namespace baimo
