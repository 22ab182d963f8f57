// ConstraintCache: the last few compiled constraints by their source text, so requests with the same
// schema (or grammar) share one Constraint and with it its per-state mask cache. One per tokenizer
// (a server keeps one beside its model); thread-safe; holds at most `capacity` constraints, dropping
// the least recently used.
#pragma once
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "baimo/infer/constrained/constraint.h"

namespace baimo::constrained {

class ConstraintCache {
 public:
  explicit ConstraintCache(size_t capacity = 16) : capacity_(capacity) {}

  // key: e.g. "schema:" + the schema text; make() compiles on a miss (its errors pass through, nothing cached).
  std::shared_ptr<const Constraint> get(const std::string& key, const std::function<std::shared_ptr<const Constraint>()>& make) {
    {
      std::lock_guard lock(mu_);
      for (auto it = items_.begin(); it != items_.end(); ++it)
        if (it->first == key) {
          items_.splice(items_.begin(), items_, it);
          return it->second;
        }
    }
    auto c = make();
    std::lock_guard lock(mu_);
    items_.emplace_front(key, c);
    if (items_.size() > capacity_) items_.pop_back();
    return c;
  }

 private:
  size_t capacity_;
  std::mutex mu_;
  std::list<std::pair<std::string, std::shared_ptr<const Constraint>>> items_;
};

}  // namespace baimo::constrained
