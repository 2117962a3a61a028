// Result<T>: errors as values, in the shape of C++23's std::expected.
//
// Every fallible function in runvm returns Result<T>. Callers pass errors up
// with TRY (a GCC/Clang statement expression, as SerenityOS's TRY) and add
// context on the way with .context("what we were doing"). See docs/errors.md.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace runvm {

class Error {
 public:
  Error() = default;
  explicit Error(std::string message, int errno_value = 0)
      : message_(std::move(message)), errno_(errno_value) {}

  // An error for a failed system call: the message names the call and its
  // argument; errno is captured at the call.
  static Error from_errno(const std::string& what, int errno_value = errno) {
    return Error(what, errno_value);
  }

  int errno_value() const { return errno_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with what the caller was doing, keeping errno.
  Error context(const std::string& what) && {
    message_ = what + ": " + message_;
    return std::move(*this);
  }

  // "what: detail: strerror(errno)", the form printed to users.
  std::string describe() const;

 private:
  std::string message_;
  int errno_ = 0;
};

// Wraps an Error so that Result<T> can be constructed from it unambiguously,
// like std::unexpected.
struct Failure {
  Error error;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : storage_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : storage_(std::in_place_index<1>, std::move(error)) {}
  Result(Failure failure)
      : storage_(std::in_place_index<1>, std::move(failure.error)) {}

  bool has_value() const { return storage_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(storage_); }
  const T& value() const& { return std::get<0>(storage_); }
  T&& value() && { return std::get<0>(std::move(storage_)); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(storage_); }
  Error&& error() && { return std::get<1>(std::move(storage_)); }

  Result context(const std::string& what) && {
    if (has_value()) return std::move(*this);
    return std::move(*this).error().context(what);
  }

 private:
  std::variant<T, Error> storage_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}
  Result(Failure failure) : error_(std::move(failure.error)), failed_(true) {}

  bool has_value() const { return !failed_; }
  explicit operator bool() const { return has_value(); }
  void value() const {}

  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

  Result context(const std::string& what) && {
    if (has_value()) return std::move(*this);
    return std::move(*this).error().context(what);
  }

 private:
  Error error_;
  bool failed_ = false;
};

using Status = Result<void>;

inline Status ok() { return {}; }

// An error whose message is the formatted arguments, with no errno.
inline Failure fail(std::string message) { return Failure{Error(std::move(message))}; }

// An error for a failed system call, capturing errno now.
inline Failure fail_errno(std::string what) {
  return Failure{Error::from_errno(std::move(what), errno)};
}

}  // namespace runvm

// Evaluates a Result; on error returns it from the enclosing function,
// otherwise yields the value.
#define TRY(expr)                                            \
  ({                                                         \
    auto _runvm_try_result = (expr);                         \
    if (!_runvm_try_result) {                                \
      return std::move(_runvm_try_result).error();           \
    }                                                        \
    std::move(_runvm_try_result).value();                    \
  })

// As TRY, adding context to the error on the way up.
#define TRY_CTX(expr, what)                                          \
  ({                                                                 \
    auto _runvm_try_result = (expr);                                 \
    if (!_runvm_try_result) {                                        \
      return std::move(_runvm_try_result).error().context(what);     \
    }                                                                \
    std::move(_runvm_try_result).value();                            \
  })
