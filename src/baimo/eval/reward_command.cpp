// The command:CMD reward kind (eval/rewards.h): a user's program, run by util/subprocess.h.
#include <cmath>
#include <cstdlib>

#include "baimo/eval/reward_kinds.h"
#include "baimo/util/error.h"
#include "baimo/util/subprocess.h"
#include "baimo/util/trim.h"

namespace baimo::eval {
namespace {

class CommandReward : public NamedReward {
 public:
  CommandReward(std::string name, std::string command, double timeout_s)
      : NamedReward(std::move(name)), command_(std::move(command)), timeout_s_(timeout_s) {}

  std::vector<float> score(std::span<const RewardItem> items) override {
    if (items.empty()) return {};
    std::string input;
    for (const RewardItem& item : items)
      input += reward_item_json(item).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s_ * 1000));
    const ShellResult r = run_shell(command_, input, timeout);
    const std::string err = r.err_tail.empty() ? "" : fmt::format("; its stderr ends: {}", trim_space(r.err_tail));
    if (r.timed_out) fail("reward command '{}' did not finish within {} s (killed){}", command_, timeout_s_, err);
    if (r.signal) fail("reward command '{}' was killed by signal {}{}", command_, r.signal, err);
    if (r.exit_status) fail("reward command '{}' exited with status {}{}", command_, r.exit_status, err);

    std::vector<float> scores;
    size_t line_no = 0;
    for (size_t pos = 0; pos < r.out.size();) {
      size_t end = r.out.find('\n', pos);
      if (end == std::string::npos) end = r.out.size();
      const std::string line(trim_space(std::string_view(r.out).substr(pos, end - pos)));
      pos = end + 1;
      ++line_no;
      char* stop = nullptr;
      const double v = line.empty() ? NAN : std::strtod(line.c_str(), &stop);
      if (line.empty() || stop != line.c_str() + line.size() || !std::isfinite(v))
        fail("reward command '{}': line {} of its output is not a finite number: '{}'", command_, line_no,
             line.substr(0, 200));
      scores.push_back(static_cast<float>(v));
    }
    if (scores.size() != items.size())
      fail("reward command '{}' printed {} lines for {} items (one number per item, one per line)", command_,
           scores.size(), items.size());
    return scores;
  }

 private:
  std::string command_;
  double timeout_s_;
};

}  // namespace

std::unique_ptr<RewardFunction> make_command_reward(std::string name, const std::string& arg, const RewardContext& ctx) {
  if (trim_space(arg).empty()) fail("command: give a shell command (command:CMD)");
  if (!(ctx.timeout_s > 0)) fail("command: the timeout must be positive, got {} s", ctx.timeout_s);
  return std::make_unique<CommandReward>(std::move(name), arg, ctx.timeout_s);
}

}  // namespace baimo::eval
