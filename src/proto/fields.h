// The codec's reader of one JSON object's members: each read is typed and
// bounded, and an error names the member ("exit.exit_code: expected an
// integer from 0 to 255"). For the message codecs only (proto/messages.cc,
// runtime/control.cc): nothing else reads a peer's JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "common/json_bytes.h"
#include "common/result.h"

namespace runvm::msg {

using nlohmann::json;

// Reads the members of one object, naming each in its errors
// ("exit.exit_code: expected an integer from 0 to 255"). An absent member
// and a JSON null are the same.
class Fields {
 public:
  static Result<Fields> of(const json& j, std::string path) {
    if (!j.is_object()) return fail(path + ": expected an object");
    return Fields(j, std::move(path));
  }

  const json* find(const char* key) const {
    auto it = j_->find(key);
    return it == j_->end() || it->is_null() ? nullptr : &*it;
  }
  std::string name(const char* key) const { return path_ + "." + key; }

  Result<std::string> text(const char* key, size_t max, bool required = true) const {
    const json* v = find(key);
    if (!v) {
      if (required) return fail(name(key) + ": is required");
      return std::string();
    }
    if (!v->is_string()) return fail(name(key) + ": expected a string");
    std::string s = v->get<std::string>();
    if (s.size() > max) return fail(name(key) + ": longer than " + std::to_string(max) + " bytes");
    return s;
  }
  Result<std::optional<std::string>> optional_text(const char* key, size_t max) const {
    if (!find(key)) return std::optional<std::string>();
    return std::optional<std::string>(TRY(text(key, max)));
  }
  Result<std::string> bytes(const char* key, size_t max, bool required = true) const {
    const json* v = find(key);
    if (!v) {
      if (required) return fail(name(key) + ": is required");
      return std::string();
    }
    std::string s = TRY(json_bytes::decode(*v, name(key)));
    if (s.size() > max) return fail(name(key) + ": longer than " + std::to_string(max) + " bytes");
    return s;
  }
  Result<bool> flag(const char* key) const {
    const json* v = find(key);
    if (!v) return false;
    if (!v->is_boolean()) return fail(name(key) + ": expected true or false");
    return v->get<bool>();
  }
  template <typename T>
  Result<T> integer(const char* key, T min, T max) const {
    const json* v = find(key);
    if (!v) return fail(name(key) + ": is required");
    return integer_value<T>(*v, name(key), min, max);
  }
  template <typename T>
  Result<std::optional<T>> optional_integer(const char* key, T min, T max) const {
    const json* v = find(key);
    if (!v) return std::optional<T>();
    return std::optional<T>(TRY(integer_value<T>(*v, name(key), min, max)));
  }
  template <typename T>
  Result<T> integer_or(const char* key, T fallback, T min, T max) const {
    return TRY(optional_integer<T>(key, min, max)).value_or(fallback);
  }
  // The member as an object's fields; absent: an empty object.
  Result<Fields> section(const char* key) const {
    const json* v = find(key);
    if (!v) return Fields(empty(), name(key));
    return Fields::of(*v, name(key));
  }
  const json& value(const char* key) const {
    const json* v = find(key);
    return v ? *v : null();
  }

  template <typename T>
  static Result<T> integer_value(const json& v, const std::string& path, T min, T max) {
    auto range = [&]() -> Result<T> {
      return fail(path + ": expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
    };
    if (!v.is_number_integer()) return range();
    if (v.is_number_unsigned()) {
      uint64_t n = v.get<uint64_t>();
      if (n > static_cast<uint64_t>(max)) return range();
      if constexpr (std::is_signed_v<T>) {
        if (static_cast<int64_t>(n) < static_cast<int64_t>(min)) return range();
      } else {
        if (n < static_cast<uint64_t>(min)) return range();
      }
      return static_cast<T>(n);
    }
    int64_t n = v.get<int64_t>();
    if constexpr (std::is_unsigned_v<T>) {
      if (n < 0 || static_cast<uint64_t>(n) > static_cast<uint64_t>(max) ||
          static_cast<uint64_t>(n) < static_cast<uint64_t>(min))
        return range();
    } else {
      if (n < static_cast<int64_t>(min) || n > static_cast<int64_t>(max)) return range();
    }
    return static_cast<T>(n);
  }

 private:
  Fields(const json& j, std::string path) : j_(&j), path_(std::move(path)) {}
  static const json& empty() {
    static const json e = json::object();
    return e;
  }
  static const json& null() {
    static const json n;
    return n;
  }
  const json* j_;
  std::string path_;
};

}  // namespace runvm::msg
