// ScopeGuard: runs a cleanup on every exit path unless dismissed. Used where
// a step of a multi-step setup must be undone if a later step fails.
#pragma once

#include <utility>

namespace runvm {

template <typename F>
class ScopeGuard {
 public:
  explicit ScopeGuard(F f) : f_(std::move(f)) {}
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;
  ~ScopeGuard() {
    if (armed_) f_();
  }
  void dismiss() { armed_ = false; }

 private:
  F f_;
  bool armed_ = true;
};

}  // namespace runvm
