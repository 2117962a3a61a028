// Linux strings are bytes; JSON strings are UTF-8. A byte string that a
// peer or a file must get back exactly (a non-UTF-8 argument, path or
// environment entry) is carried as a JSON string when it is valid UTF-8,
// and otherwise as {"hex": "<its bytes in hex>"}; see docs/protocol.md,
// "Byte strings". Text meant only for people (messages, logs) is dumped with
// invalid bytes replaced instead (to_text below).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace runvm::json_bytes {

// Whether `s` is well-formed UTF-8 (no overlongs, surrogates or code points
// past U+10FFFF), as nlohmann's dump() demands.
bool is_utf8(std::string_view s);

// The JSON form of a byte string.
nlohmann::json encode(std::string_view bytes);

// A list of byte strings (arguments, an environment), each as above.
nlohmann::json encode_all(const std::vector<std::string>& list);

// Back to bytes; an error for anything but a string or {"hex": even-length
// hex} (the hex form carrying valid UTF-8 is accepted too). `path` names the
// field in the error.
Result<std::string> decode(const nlohmann::json& value, const std::string& path);

// dump() that never throws: invalid UTF-8 in strings becomes U+FFFD. For
// JSON whose byte strings were encoded above, nothing is replaced.
std::string to_text(const nlohmann::json& value, int indent = -1);
std::string to_text(const nlohmann::ordered_json& value, int indent = -1);

}  // namespace runvm::json_bytes
