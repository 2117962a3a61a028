// Typed access to config.json's values for the OCI parsers (spec.cc,
// seccomp.cc). Every helper takes the path of the value it reads so that an
// error names the field, e.g. "mounts[2].options[0]". Internal to src/oci.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace runvm::oci::fields {

using nlohmann::json;

inline std::string member(const std::string& parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return parent + "." + std::string(key);
}

inline std::string element(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

inline Failure bad(const std::string& path, const std::string& problem) {
  return fail(path + ": " + problem);
}

// A string as a JSON literal, so that odd values (empty, spaces, control
// characters) stay readable in messages. `replace` keeps dump() from
// throwing on invalid UTF-8 in JSON built by a caller.
inline std::string as_literal(std::string_view s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

// The member, or null when absent. An explicit JSON null counts as absent,
// as Go's encoding/json (behind runc and most spec writers) treats it.
inline const json* find(const json& object, const std::string& key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

inline Status expect_object(const json& v, const std::string& path) {
  if (!v.is_object()) return bad(path, "expected an object");
  return ok();
}

inline Result<std::string> get_string(const json& v, const std::string& path) {
  if (!v.is_string()) return bad(path, "expected a string");
  return v.get<std::string>();
}

inline Result<bool> get_bool(const json& v, const std::string& path) {
  if (!v.is_boolean()) return bad(path, "expected a boolean");
  return v.get<bool>();
}

// nlohmann stores non-negative literals as unsigned, but JSON built in code
// from a signed int is "integer" even when positive, so both are accepted.
template <typename T>
Result<T> get_unsigned(const json& v, const std::string& path) {
  bool negative = v.is_number_integer() && !v.is_number_unsigned() &&
                  v.get<int64_t>() < 0;
  if (!v.is_number_integer() || negative)
    return bad(path, "expected an unsigned integer");
  uint64_t n = v.get<uint64_t>();
  uint64_t max = std::numeric_limits<T>::max();
  if (n > max) return bad(path, "out of range (at most " + std::to_string(max) + ")");
  return static_cast<T>(n);
}

template <typename T>
Result<T> get_signed(const json& v, const std::string& path) {
  if (!v.is_number_integer()) return bad(path, "expected an integer");
  int64_t min = std::numeric_limits<T>::min();
  int64_t max = std::numeric_limits<T>::max();
  bool in_range = v.is_number_unsigned()
                      ? v.get<uint64_t>() <= static_cast<uint64_t>(max)
                      : v.get<int64_t>() >= min && v.get<int64_t>() <= max;
  if (!in_range)
    return bad(path, "out of range (" + std::to_string(min) + " to " +
                         std::to_string(max) + ")");
  return static_cast<T>(v.get<int64_t>());
}

inline Result<std::string> get_absolute_path(const json& v, const std::string& path) {
  std::string s = TRY(get_string(v, path));
  if (!s.starts_with('/'))
    return bad(path, "must be an absolute path (got " + as_literal(s) + ")");
  return s;
}

// Parses each element of an array with parse(element, element_path).
template <typename T, typename Parse>
Result<std::vector<T>> get_array(const json& v, const std::string& path,
                                 Parse parse) {
  if (!v.is_array()) return bad(path, "expected an array");
  std::vector<T> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    out.push_back(TRY(parse(v[i], element(path, i))));
  return out;
}

inline Result<std::vector<std::string>> get_strings(const json& v, const std::string& path) {
  return get_array<std::string>(v, path, get_string);
}

// Sets out from object[key] when present; an absent field leaves out at its
// default.
template <typename T, typename Parse>
Status read_optional(const json& object, const std::string& path, const std::string& key, T& out,
                     Parse parse) {
  if (const json* v = find(object, key)) out = TRY(parse(*v, member(path, key)));
  return ok();
}

template <typename T, typename Parse>
Status read_required(const json& object, const std::string& path, const std::string& key, T& out,
                     Parse parse) {
  const json* v = find(object, key);
  if (!v) return bad(member(path, key), "is required");
  out = TRY(parse(*v, member(path, key)));
  return ok();
}

}  // namespace runvm::oci::fields
