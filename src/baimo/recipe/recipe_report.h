// The recipe's report card, rebuilt from what the run left in DIR (so `baimo recipe report DIR` can
// redo it at any time): DIR/report.json and DIR/report.md, and SVG curves in DIR/report/.
// Per stage: status, wall time, the commands (to redo it), the model it made (parameters or file
// size), for a training stage its steps, tokens, first and last loss and its held-out metrics at the
// first and last evaluation (from RUN/metrics.jsonl), the eval suite on its model (DIR/eval/STAGE.json),
// a few answers in English and Chinese (DIR/eval/STAGE.samples.jsonl); the served model's answers
// (DIR/serve/samples.json). Missing pieces (a stage not run yet) are reported as such, never an error;
// a file that is there but broken is an error naming it. Files are written atomically.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "baimo/recipe/recipe_plan.h"

namespace baimo::recipe {

struct ReportFiles {
  std::string markdown, json;
  std::string summary;  // report_summary of what was written
};

nlohmann::json report_json(const Plan& plan);
std::string report_markdown(const nlohmann::json& report);
// The summary table, the eval table and the served answers (what the recipe prints at its end).
std::string report_summary(const nlohmann::json& report);
ReportFiles write_report(const Plan& plan);

}  // namespace baimo::recipe
