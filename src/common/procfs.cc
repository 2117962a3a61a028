#include "common/procfs.h"

namespace runvm::procfs {

std::vector<std::string_view> split_ws(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

Result<ProcStat> parse_proc_stat(std::string_view text) {
  size_t open = text.find('(');
  size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return fail("malformed /proc stat: no (comm)");
  ProcStat st;
  st.comm = std::string(text.substr(open + 1, close - open - 1));
  // Fields after comm, numbered from 3 (state) as in proc(5).
  auto f = split_ws(text.substr(close + 1));
  if (f.size() < 20) return fail("malformed /proc stat: too few fields");
  auto field = [&](int n) { return f[static_cast<size_t>(n - 3)]; };
  st.state = field(3).empty() ? '?' : field(3)[0];
  if (!parse_number(field(4), st.ppid) || !parse_number(field(7), st.tty_nr) ||
      !parse_number(field(14), st.utime) || !parse_number(field(15), st.stime) ||
      !parse_number(field(22), st.starttime))
    return fail("malformed /proc stat: bad number");
  return st;
}

namespace {

// Mountinfo writes space, tab, newline and backslash as \ooo.
std::string unescape_octal(std::string_view s) {
  std::string out;
  auto octal = [](char c) { return c >= '0' && c <= '7'; };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && octal(s[i + 1]) && octal(s[i + 2]) && octal(s[i + 3])) {
      out.push_back(static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
      continue;
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

std::vector<MountInfo> parse_mountinfo(std::string_view text) {
  std::vector<MountInfo> out;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    auto f = split_ws(line);
    MountInfo m;
    if (f.size() < 5 || !parse_number(f[0], m.id) || !parse_number(f[1], m.parent)) continue;
    m.mount_point = unescape_octal(f[4]);
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace runvm::procfs
