// Rewards and advantages of reinforcement learning from feedback (PPO, GRPO): plain float arrays,
// no autograd (everything here is a constant of the loss, rl_loss.h).
// Layout: a batch of N responses with T token slots each; a per-token array is (N, T) row-major
// (N * T floats); mask (N, T) is 1 on response tokens and 0 on padding (any pattern, usually a
// prefix of ones; every value must be 0 or 1).
// - ppo_token_rewards (OpenRLHF compute_reward; TRL PPOTrainer places the score the same way):
//     r[i, t] = -kl_coef * kl[i, t] * mask[i, t] + (t == last_i ? score[i] : 0)
//   last_i = the last response token of row i. kl: (N, T) per-token KL estimates (rl_kl.h
//   kl_values) or empty (no penalty); score: (N). A row without response tokens is an error.
// - gae (OpenRLHF get_advantages_and_returns, TRL PPOTrainer): with v = values * mask and
//   r = rewards * mask, backwards over t = T-1 .. 0 (v[T] = 0, A[T] = 0):
//     delta_t = r_t + gamma v_{t+1} - v_t,  A_t = delta_t + gamma lambda A_{t+1},  R_t = A_t + v_t
//   then A and R are set to 0 where mask == 0. gamma, lambda in [0, 1].
// - masked_whiten (TRL masked_whiten): over the n masked elements (n >= 2) the mean m and the
//   unbiased variance var = sum(mask (x - m)^2) / (n - 1):
//     y = (x - m) / sqrt(var + 1e-8) (+ m when !shift_mean), and y = 0 where mask == 0.
// - group_advantages (GRPO, TRL GRPOTrainer): rewards (N) in N / k groups of k consecutive
//   samples (k >= 2, N a multiple of k): A = r - mean_group, and with scale_rewards (GRPO; false is
//   Dr. GRPO) A /= (std_group + 1e-4), std_group the unbiased standard deviation (torch.std).
//   frac_zero_std = the share of groups whose rewards are all equal (TRL's frac_reward_zero_std).
// Sums are accumulated in double. Sizes that disagree, masks that are not 0/1, parameters out of
// range throw baimo::Error naming the function and the sizes.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace baimo::train {

std::vector<float> ppo_token_rewards(std::span<const float> scores, std::span<const float> kl,
                                     std::span<const float> mask, int64_t n, int64_t t, float kl_coef);

struct Gae {
  std::vector<float> advantages, returns;  // (N, T) each
};
Gae gae(std::span<const float> rewards, std::span<const float> values, std::span<const float> mask, int64_t n,
        int64_t t, float gamma, float lambda);

std::vector<float> masked_whiten(std::span<const float> x, std::span<const float> mask, bool shift_mean = true);

struct GroupAdvantages {
  std::vector<float> advantages;  // (N)
  double frac_zero_std = 0;
};
GroupAdvantages group_advantages(std::span<const float> rewards, int64_t group_size, bool scale_rewards = true);

// Checks that mask has n * t values, each 0 or 1 (`who` names the caller in the message).
void check_token_mask(const char* who, std::span<const float> mask, int64_t n, int64_t t);

}  // namespace baimo::train
