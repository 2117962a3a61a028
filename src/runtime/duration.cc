#include "runtime/duration.h"

#include <cctype>
#include <cstdint>
#include <limits>
#include <utility>

namespace runvm::runtime {

Result<std::chrono::nanoseconds> parse_go_duration(const std::string& text) {
  auto invalid = [&] { return fail("time: invalid duration \"" + text + "\""); };
  std::string s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.erase(0, 1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  if (s.empty()) return invalid();
  static const std::pair<const char*, double> kUnits[] = {
      {"ns", 1.0}, {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  long double total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    bool whole = i > start;
    long double value = whole ? std::stold(s.substr(start, i - start)) : 0;
    if (i < s.size() && s[i] == '.') {
      size_t frac = ++i;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      if (!whole && i == frac) return invalid();
      long double scale = 1;
      for (size_t k = frac; k < i; ++k) value += (s[k] - '0') * (scale /= 10);
    } else if (!whole) {
      return invalid();
    }
    size_t unit_start = i;
    while (i < s.size() && s[i] != '.' && !std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    std::string unit = s.substr(unit_start, i - unit_start);
    if (unit.empty()) return fail("time: missing unit in duration \"" + text + "\"");
    bool known = false;
    for (const auto& [name, ns] : kUnits)
      if (unit == name) {
        total += value * ns;
        known = true;
      }
    if (!known) return fail("time: unknown unit \"" + unit + "\" in duration \"" + text + "\"");
    if (total > static_cast<long double>(std::numeric_limits<int64_t>::max()))
      return fail("time: invalid duration \"" + text + "\"");
  }
  auto ns = static_cast<int64_t>(total);
  return std::chrono::nanoseconds(negative ? -ns : ns);
}

}  // namespace runvm::runtime
