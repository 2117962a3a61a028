// Test support: run test bodies in private network namespaces, so unit
// tests can create links, qdiscs and taps without touching the host's
// network; everything vanishes with the namespace. Bodies run in a forked
// child and report through a Status, so they check with NET_CHECK*, not
// gtest's macros (whose failures would stay in the child).
#pragma once

#include <functional>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "common/unique_fd.h"

namespace runvm::net::testing {

// Runs body in a forked child that has unshared its network namespace;
// "" if it succeeded, else what failed. The child is killed after 60 s.
std::string in_new_netns(const std::function<Status()>& body);

// Another network namespace, held open by a descriptor; the caller stays
// where it was.
class Netns {
 public:
  static Result<Netns> create();
  // Moves the calling thread into it; enter the original's Netns to return.
  Status enter() const;
  static Result<Netns> current();
  // A path nsenter --net= accepts while this process lives.
  std::string path() const;

 private:
  explicit Netns(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// A descriptor of /proc, for scan_network_namespace; opened once.
int proc_fd();

// Runs /bin/sh -c command; its stdout, or an error with its stderr when it
// exits non-zero.
Result<std::string> sh(const std::string& command);
// sh, with the command run inside ns.
Result<std::string> sh_in(const Netns& ns, const std::string& command);
// sh, its stdout parsed as JSON (`ip -j`, `tc -j`).
Result<nlohmann::json> sh_json(const std::string& command);

template <typename T>
std::string as_text(const T& value) {
  // JSON first: it converts to std::string too, by throwing.
  if constexpr (std::is_same_v<T, nlohmann::json>)
    return value.dump();
  else if constexpr (std::is_convertible_v<T, std::string>)
    return std::string(value);
  else
    return std::to_string(value);
}

}  // namespace runvm::net::testing

#define NET_WHERE (std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": ")

#define NET_CHECK(cond)                                                       \
  do {                                                                        \
    if (!(cond)) return ::runvm::fail(NET_WHERE + "check failed: " #cond);    \
  } while (0)

// Copies, not references: `a` may be a part of a temporary.
#define NET_CHECK_EQ(a, b)                                                      \
  do {                                                                          \
    const auto net_a = (a);                                                     \
    const auto net_b = (b);                                                     \
    if (!(net_a == net_b))                                                      \
      return ::runvm::fail(NET_WHERE + #a " == " #b "\n    left:  " +           \
                           ::runvm::net::testing::as_text(net_a) +              \
                           "\n    right: " + ::runvm::net::testing::as_text(net_b)); \
  } while (0)

// TRY for test bodies: an error gains the line it happened on.
#define NET_TRY(expr) TRY_CTX((expr), NET_WHERE + #expr)
