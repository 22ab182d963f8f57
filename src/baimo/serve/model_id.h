// The model id `baimo serve` answers to when --model-name is not given, from the --model path.
// Contract: a model directory's name ("models/qwen/" -> "qwen"), a GGUF file's stem
// ("models/x.gguf" -> "x"); a training run's outputs are named after the run: "runs/tiny/final"
// -> "tiny", "runs/tiny/checkpoints/step_0000040" -> "tiny-step_0000040". Relative paths ("." or
// "final") are resolved against the working directory first. Never empty ("baimo" as a last resort).
#pragma once
#include <string>

namespace baimo::serve {

std::string default_model_id(const std::string& model_path);

}  // namespace baimo::serve
