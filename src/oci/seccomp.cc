#include "oci/seccomp.h"

#include <array>
#include <utility>

#include <nlohmann/json.hpp>

#include "oci/fields.h"

namespace runvm::oci {
namespace {

using nlohmann::json;
using namespace fields;

constexpr std::array<std::pair<SeccompAction, std::string_view>, 8> kActions = {{
    {SeccompAction::kAllow, "SCMP_ACT_ALLOW"},
    {SeccompAction::kErrno, "SCMP_ACT_ERRNO"},
    {SeccompAction::kKill, "SCMP_ACT_KILL"},
    {SeccompAction::kKillProcess, "SCMP_ACT_KILL_PROCESS"},
    {SeccompAction::kKillThread, "SCMP_ACT_KILL_THREAD"},
    {SeccompAction::kLog, "SCMP_ACT_LOG"},
    {SeccompAction::kTrace, "SCMP_ACT_TRACE"},
    {SeccompAction::kTrap, "SCMP_ACT_TRAP"},
}};

constexpr std::array<std::pair<SeccompOperator, std::string_view>, 7> kOperators = {{
    {SeccompOperator::kEqualTo, "SCMP_CMP_EQ"},
    {SeccompOperator::kGreaterEqual, "SCMP_CMP_GE"},
    {SeccompOperator::kGreaterThan, "SCMP_CMP_GT"},
    {SeccompOperator::kLessEqual, "SCMP_CMP_LE"},
    {SeccompOperator::kLessThan, "SCMP_CMP_LT"},
    {SeccompOperator::kMaskedEqual, "SCMP_CMP_MASKED_EQ"},
    {SeccompOperator::kNotEqual, "SCMP_CMP_NE"},
}};

constexpr std::array<std::pair<SeccompFlag, std::string_view>, 3> kFlags = {{
    {SeccompFlag::kTsync, "SECCOMP_FILTER_FLAG_TSYNC"},
    {SeccompFlag::kSpecAllow, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"},
    {SeccompFlag::kLog, "SECCOMP_FILTER_FLAG_LOG"},
}};

// runc 1.1's list (its `features` archs), which libseccomp 2.5 knows.
constexpr std::array<std::string_view, 17> kArchitectures = {
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM",      "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",     "SCMP_ARCH_PPC64",    "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_S390",    "SCMP_ARCH_S390X",    "SCMP_ARCH_X32",      "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64"};

template <typename Table>
std::vector<std::string> names_of(const Table& table) {
  std::vector<std::string> out;
  for (const auto& entry : table) out.emplace_back(entry.second);
  return out;
}

template <typename T, typename Table>
std::string_view name_in(const Table& table, T value) {
  for (const auto& [v, name] : table)
    if (v == value) return name;
  return "?";
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

constexpr std::string_view kNotify = "SCMP_ACT_NOTIFY";

Result<SeccompAction> get_action(const json& v, const std::string& path) {
  std::string name = TRY(get_string(v, path));
  for (const auto& [action, known] : kActions)
    if (name == known) return action;
  if (name == kNotify)
    return bad(path, "SCMP_ACT_NOTIFY is not supported: runvm runs the container in a VM, "
                     "where no seccomp agent on the host can receive its notifications");
  return bad(path, "unknown action " + as_literal(name) + " (runvm supports " +
                       joined(seccomp_supported_actions()) + ")");
}

Result<SeccompOperator> get_operator(const json& v, const std::string& path) {
  std::string name = TRY(get_string(v, path));
  for (const auto& [op, known] : kOperators)
    if (name == known) return op;
  return bad(path, "unknown operator " + as_literal(name) + " (runvm supports " +
                       joined(seccomp_supported_operators()) + ")");
}

Result<SeccompFlag> get_flag(const json& v, const std::string& path) {
  std::string name = TRY(get_string(v, path));
  for (const auto& [flag, known] : kFlags)
    if (name == known) return flag;
  return bad(path, "unknown flag " + as_literal(name) + " (runvm supports " +
                       joined(seccomp_supported_flags()) + ")");
}

Result<std::string> get_architecture(const json& v, const std::string& path) {
  std::string name = TRY(get_string(v, path));
  for (std::string_view known : kArchitectures)
    if (name == known) return name;
  return bad(path, "unknown architecture " + as_literal(name) + " (runvm supports " +
                       joined(seccomp_supported_architectures()) + ")");
}

// The filter's return value carries 16 bits of data.
Result<uint32_t> get_errno_ret(const json& v, const std::string& path) {
  uint32_t n = TRY(get_unsigned<uint32_t>(v, path));
  if (n > 0xffff) return bad(path, "out of range (at most 65535)");
  return n;
}

// Syscall names are lowercase letters, digits and underscores ("_llseek").
Result<std::string> get_syscall_name(const json& v, const std::string& path) {
  std::string name = TRY(get_string(v, path));
  if (name.empty()) return bad(path, "must not be empty");
  if (name.size() > 64) return bad(path, "too long for a syscall name (" + std::to_string(name.size()) + " bytes)");
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return bad(path, "not a syscall name: " + as_literal(name));
  return name;
}

Result<SeccompArg> parse_arg(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  SeccompArg arg;
  TRY(read_required(v, path, "index", arg.index, get_unsigned<uint32_t>));
  if (arg.index > 5) return bad(member(path, "index"), "must be 0 to 5 (a syscall has six arguments)");
  TRY(read_required(v, path, "value", arg.value, get_unsigned<uint64_t>));
  TRY(read_optional(v, path, "valueTwo", arg.value_two, get_unsigned<uint64_t>));
  TRY(read_required(v, path, "op", arg.op, get_operator));
  return arg;
}

Result<SeccompSyscall> parse_syscall(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  SeccompSyscall rule;
  auto names = [](const json& n, const std::string& p) {
    return get_array<std::string>(n, p, get_syscall_name);
  };
  const json* list = find(v, "names");
  if (list && list->is_array() && list->size() > kSeccompMaxNames)
    return bad(member(path, "names"), "too many names (at most " + std::to_string(kSeccompMaxNames) + ")");
  TRY(read_required(v, path, "names", rule.names, names));
  if (rule.names.empty()) return bad(member(path, "names"), "must not be empty");
  TRY(read_required(v, path, "action", rule.action, get_action));
  TRY(read_optional(v, path, "errnoRet", rule.errno_ret, get_errno_ret));
  const json* args = find(v, "args");
  if (args && args->is_array() && args->size() > 6)
    return bad(member(path, "args"), "too many conditions (at most 6)");
  TRY(read_optional(v, path, "args", rule.args, [](const json& a, const std::string& p) {
    return get_array<SeccompArg>(a, p, parse_arg);
  }));
  return rule;
}

}  // namespace

std::string_view seccomp_action_name(SeccompAction action) { return name_in(kActions, action); }
std::string_view seccomp_operator_name(SeccompOperator op) { return name_in(kOperators, op); }
std::string_view seccomp_flag_name(SeccompFlag flag) { return name_in(kFlags, flag); }

std::vector<std::string> seccomp_supported_actions() { return names_of(kActions); }
std::vector<std::string> seccomp_supported_operators() { return names_of(kOperators); }
std::vector<std::string> seccomp_supported_flags() { return names_of(kFlags); }
std::vector<std::string> seccomp_supported_architectures() {
  return {kArchitectures.begin(), kArchitectures.end()};
}

json seccomp_to_json(const Seccomp& s) {
  json out = json::object();
  out["defaultAction"] = seccomp_action_name(s.default_action);
  if (s.default_errno_ret) out["defaultErrnoRet"] = *s.default_errno_ret;
  out["architectures"] = s.architectures;
  json flags = json::array();
  for (SeccompFlag f : s.flags) flags.push_back(seccomp_flag_name(f));
  out["flags"] = std::move(flags);
  json syscalls = json::array();
  for (const SeccompSyscall& rule : s.syscalls) {
    json entry = {{"names", rule.names}, {"action", seccomp_action_name(rule.action)}};
    if (rule.errno_ret) entry["errnoRet"] = *rule.errno_ret;
    json args = json::array();
    for (const SeccompArg& a : rule.args)
      args.push_back({{"index", a.index}, {"value", a.value}, {"valueTwo", a.value_two},
                      {"op", seccomp_operator_name(a.op)}});
    entry["args"] = std::move(args);
    syscalls.push_back(std::move(entry));
  }
  out["syscalls"] = std::move(syscalls);
  return out;
}

Result<Seccomp> seccomp_from_json(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  Seccomp s;
  TRY(read_required(v, path, "defaultAction", s.default_action, get_action));
  TRY(read_optional(v, path, "defaultErrnoRet", s.default_errno_ret, get_errno_ret));
  const json* archs = find(v, "architectures");
  if (archs && archs->is_array() && archs->size() > kSeccompMaxArchitectures)
    return bad(member(path, "architectures"),
               "too many (at most " + std::to_string(kSeccompMaxArchitectures) + ")");
  TRY(read_optional(v, path, "architectures", s.architectures,
                    [](const json& a, const std::string& p) {
                      return get_array<std::string>(a, p, get_architecture);
                    }));
  const json* flags = find(v, "flags");
  if (flags && flags->is_array() && flags->size() > kFlags.size() * 4)
    return bad(member(path, "flags"), "too many");
  TRY(read_optional(v, path, "flags", s.flags, [](const json& f, const std::string& p) {
    return get_array<SeccompFlag>(f, p, get_flag);
  }));
  const json* rules = find(v, "syscalls");
  if (rules && rules->is_array() && rules->size() > kSeccompMaxRules)
    return bad(member(path, "syscalls"), "too many rules (at most " + std::to_string(kSeccompMaxRules) + ")");
  TRY(read_optional(v, path, "syscalls", s.syscalls, [](const json& r, const std::string& p) {
    return get_array<SeccompSyscall>(r, p, parse_syscall);
  }));
  size_t names = 0;
  for (const auto& rule : s.syscalls) names += rule.names.size();
  if (names > kSeccompMaxNames)
    return bad(member(path, "syscalls"), "too many syscall names (" + std::to_string(names) +
                                             "; at most " + std::to_string(kSeccompMaxNames) + ")");
  if (size_t bytes = seccomp_to_json(s).dump().size(); bytes > kSeccompMaxJsonBytes)
    return bad(path, "too large (" + std::to_string(bytes) + " bytes as sent to the guest; at most " +
                         std::to_string(kSeccompMaxJsonBytes) + ")");
  // Checked after the rules, so that a NOTIFY rule is what the error names.
  if (const json* listener = find(v, "listenerPath")) {
    std::string listener_path = TRY(get_string(*listener, member(path, "listenerPath")));
    if (!listener_path.empty())
      return bad(member(path, "listenerPath"),
                 "not supported: runvm runs the container in a VM, where no seccomp agent on "
                 "the host can receive its notifications");
  }
  return s;
}

}  // namespace runvm::oci
