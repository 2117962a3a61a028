#include "common/json_bytes.h"

#include "common/hex.h"

namespace runvm::json_bytes {

bool is_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static const uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

nlohmann::json encode(std::string_view bytes) {
  if (is_utf8(bytes)) return std::string(bytes);
  return nlohmann::json{{"hex", hex::encode(bytes)}};
}

nlohmann::json encode_all(const std::vector<std::string>& list) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : list) out.push_back(encode(s));
  return out;
}

Result<std::string> decode(const nlohmann::json& value, const std::string& path) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.size() == 1) {
    auto it = value.find("hex");
    if (it != value.end() && it->is_string())
      if (auto bytes = hex::decode(it->get<std::string>())) return *bytes;
  }
  return fail(path + ": expected a string");
}

std::string to_text(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string to_text(const nlohmann::ordered_json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace runvm::json_bytes
