// Runs a recipe plan (recipe_plan.h): each stage's commands as child processes of this same program
// (recipe/child_process.h), then the stage's evaluation, then the report card (recipe_report.h).
// Contract:
// - DIR/recipe.json: the config the run was started with. A later run with a different config fails
//   (naming the first differing key) unless restart_from names the stage to redo from.
// - DIR/recipe_state.json (written atomically after every command): per stage its status
//   ("done" / "running" / "skipped"), commands done, wall seconds, the commands as shell text.
//   A rerun after a kill skips what is done and picks up at the first command not done; a training
//   command whose run directory holds checkpoints gets --resume (the step where it stopped).
// - restart_from STAGE: that stage and every later one are forgotten and their directories removed.
// - Every child's output goes to DIR/logs/STAGE.log and, shortened, to stdout: training steps redrawn
//   in place on a terminal, else one every ~10 s; every other line as it comes.
// - A command that fails is a baimo::Error naming the stage, the command and the log; the state says
//   how far the stage got, so the next run resumes there.
// - serve: starts `baimo serve` on loopback (port 0), asks every prompt over the OpenAI API
//   (POST /v1/chat/completions, greedy, 64 tokens), writes DIR/serve/samples.json and stops the server.
#pragma once
#include <string>

#include "baimo/recipe/recipe_plan.h"

namespace baimo::recipe {

struct RunOptions {
  std::string program;       // this program's path (the children run it)
  std::string restart_from;  // "" or a stage name
};

void run_recipe(const Plan& plan, const RunOptions& o);

// The commands of a stage as run: its own, then the evaluation of its model when it has one.
std::vector<Command> stage_commands(const Plan& plan, const Stage& stage);
std::string state_path(const std::string& out);

}  // namespace baimo::recipe
