#include "baimo/train/spike_guard.h"

#include <algorithm>
#include <cmath>

#include "baimo/util/error.h"

namespace baimo::train {

SpikeGuard::Verdict SpikeGuard::check(float loss, float grad_norm) const {
  if (!std::isfinite(loss) || !std::isfinite(grad_norm)) return Verdict::NonFinite;
  if (o_.factor <= 0 || accepted_ < o_.warmup || accepted_ == 0) return Verdict::Ok;
  const double m = mean();
  return loss > o_.factor * m && loss - m > kSpikeSigmas * stddev() ? Verdict::Spike : Verdict::Ok;
}

void SpikeGuard::accept(float loss) {
  ema_sum_ = o_.ema * ema_sum_ + (1.0 - o_.ema) * loss;
  ema_sq_sum_ = o_.ema * ema_sq_sum_ + (1.0 - o_.ema) * static_cast<double>(loss) * loss;
  ema_weight_ = o_.ema * ema_weight_ + (1.0 - o_.ema);
  ++accepted_;
  consecutive_ = 0;
}

double SpikeGuard::mean() const { return ema_weight_ > 0 ? ema_sum_ / ema_weight_ : 0.0; }

double SpikeGuard::stddev() const {
  if (ema_weight_ <= 0) return 0.0;
  const double m = mean();
  return std::sqrt(std::max(0.0, ema_sq_sum_ / ema_weight_ - m * m));
}

nlohmann::json SpikeGuard::to_json() const {
  return {{"ema_sum", ema_sum_},   {"ema_sq_sum", ema_sq_sum_}, {"ema_weight", ema_weight_},
          {"accepted", accepted_}, {"consecutive", consecutive_}};
}

void SpikeGuard::from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) fail("{}: field \"spike_guard\" must be an object", where);
  auto num = [&](const char* k) {
    if (!j.contains(k) || !j[k].is_number()) fail("{}: field \"spike_guard.{}\" missing or not a number", where, k);
    return j[k].get<double>();
  };
  auto count = [&](const char* k) {
    if (!j.contains(k) || !j[k].is_number_integer() || j[k].get<int64_t>() < 0)
      fail("{}: field \"spike_guard.{}\" missing or not a non-negative integer", where, k);
    return j[k].get<int64_t>();
  };
  ema_sum_ = num("ema_sum");
  ema_weight_ = num("ema_weight");
  // A state from before the variance was kept: variance 0 (the spike test is the factor's alone until
  // the EMA fills).
  ema_sq_sum_ = j.contains("ema_sq_sum") ? num("ema_sq_sum") : (ema_weight_ > 0 ? ema_sum_ * ema_sum_ / ema_weight_ : 0.0);
  accepted_ = count("accepted");
  consecutive_ = count("consecutive");
}

const char* verdict_name(SpikeGuard::Verdict v) {
  switch (v) {
    case SpikeGuard::Verdict::Ok: return "ok";
    case SpikeGuard::Verdict::NonFinite: return "nonfinite";
    case SpikeGuard::Verdict::Spike: return "spike";
  }
  return "?";
}

}  // namespace baimo::train
