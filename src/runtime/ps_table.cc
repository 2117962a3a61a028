#include "runtime/ps_table.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace runvm::runtime {
namespace {

using Kind = PsColumn::Kind;

struct Shape {
  size_t width;
  bool right;
};

Shape shape_of(Kind kind) {
  switch (kind) {
    case Kind::uid: return {5, true};
    case Kind::user: return {8, false};
    case Kind::pid: return {5, true};
    case Kind::ppid: return {5, true};
    case Kind::c: return {2, true};
    case Kind::pcpu: return {4, true};
    case Kind::stime: return {5, false};
    case Kind::tty: return {8, false};
    case Kind::time: return {8, true};
    case Kind::bsd_time: return {6, true};
    case Kind::etime: return {11, true};
    case Kind::cmd: return {27, false};
    case Kind::comm: return {15, false};
    case Kind::stat: return {4, false};
    case Kind::state: return {1, false};
  }
  return {8, false};
}

// ps -o keywords runvm can fill from what the guest reports.
const std::map<std::string, PsColumn>& keywords() {
  static const std::map<std::string, PsColumn> k = {
      {"pid", {Kind::pid, "PID"}},        {"ppid", {Kind::ppid, "PPID"}},
      {"uid", {Kind::uid, "UID"}},        {"euid", {Kind::uid, "EUID"}},
      {"user", {Kind::user, "USER"}},     {"euser", {Kind::user, "EUSER"}},
      {"uname", {Kind::user, "USER"}},    {"c", {Kind::c, "C"}},
      {"pcpu", {Kind::pcpu, "%CPU"}},     {"%cpu", {Kind::pcpu, "%CPU"}},
      {"stime", {Kind::stime, "STIME"}},  {"start_time", {Kind::stime, "START"}},
      {"tty", {Kind::tty, "TT"}},         {"tt", {Kind::tty, "TT"}},
      {"tname", {Kind::tty, "TTY"}},      {"time", {Kind::time, "TIME"}},
      {"cputime", {Kind::time, "TIME"}},  {"etime", {Kind::etime, "ELAPSED"}},
      {"args", {Kind::cmd, "COMMAND"}},   {"command", {Kind::cmd, "COMMAND"}},
      {"cmd", {Kind::cmd, "CMD"}},        {"comm", {Kind::comm, "COMMAND"}},
      {"ucmd", {Kind::comm, "CMD"}},      {"ucomm", {Kind::comm, "COMMAND"}},
      {"stat", {Kind::stat, "STAT"}},     {"s", {Kind::state, "S"}},
      {"state", {Kind::state, "S"}}};
  return k;
}

std::string supported_keywords() {
  std::string out;
  for (const auto& [name, column] : keywords()) out += (out.empty() ? "" : ",") + name;
  return out;
}

const char* kSupported =
    "runvm ps takes -e -A -a -d -f -x -w -o LIST and BSD a x w o LIST (every process of the container is listed)";

// One -o list: keywords separated by commas or spaces; "kw=Header" renames
// a column, and the header runs to the end of the list, as in procps.
Status add_list(const std::string& list, std::vector<PsColumn>& columns) {
  size_t pos = 0;
  while (pos < list.size()) {
    size_t end = list.find_first_of(", ", pos);
    std::string item = list.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    size_t eq = item.find('=');
    if (eq != std::string::npos) item = list.substr(pos);  // the header takes the rest
    std::string name = item.substr(0, eq);
    if (!name.empty()) {
      auto it = keywords().find(name);
      if (it == keywords().end())
        return fail("ps: unknown or unsupported format keyword " + name + " (supported: " + supported_keywords() + ")");
      PsColumn column = it->second;
      if (eq != std::string::npos) column.header = item.substr(eq + 1);
      columns.push_back(column);
    }
    if (eq != std::string::npos || end == std::string::npos) break;
    pos = end + 1;
  }
  if (columns.empty()) return fail("ps: an empty format list");
  return ok();
}

std::string two(long v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02ld", v);
  return buf;
}

// [dd-]hh:mm:ss
std::string clock_time(uint64_t seconds) {
  uint64_t days = seconds / 86400;
  std::string out = days ? std::to_string(days) + "-" : "";
  return out + two(static_cast<long>(seconds / 3600 % 24)) + ":" + two(static_cast<long>(seconds / 60 % 60)) + ":" +
         two(static_cast<long>(seconds % 60));
}

// [[dd-]hh:]mm:ss
std::string elapsed_time(uint64_t seconds) {
  uint64_t days = seconds / 86400, hours = seconds / 3600 % 24;
  std::string out;
  if (days) out = std::to_string(days) + "-";
  if (days || hours) out += two(static_cast<long>(hours)) + ":";
  return out + two(static_cast<long>(seconds / 60 % 60)) + ":" + two(static_cast<long>(seconds % 60));
}

// ps's STIME: the time of day for today's processes, else the date.
std::string start_time(std::time_t start, std::time_t now) {
  std::tm s{}, n{};
  ::localtime_r(&start, &s);
  ::localtime_r(&now, &n);
  char buf[32];
  if (s.tm_year == n.tm_year && s.tm_yday == n.tm_yday)
    std::strftime(buf, sizeof buf, "%H:%M", &s);
  else if (s.tm_year == n.tm_year)
    std::strftime(buf, sizeof buf, "%b%d", &s);
  else
    std::strftime(buf, sizeof buf, "%Y", &s);
  return buf;
}

std::string cell(const PsColumn& column, const msg::PsEntry& p, uint64_t uptime_ms, std::time_t now) {
  uint64_t elapsed_ms = uptime_ms > p.start_time_ms ? uptime_ms - p.start_time_ms : 0;
  switch (column.kind) {
    case Kind::uid:
    case Kind::user: return std::to_string(p.uid);
    case Kind::pid: return std::to_string(p.pid);
    case Kind::ppid: return std::to_string(p.ppid);
    case Kind::c: return std::to_string(elapsed_ms ? std::min<uint64_t>(99, p.time_ms * 100 / elapsed_ms) : 0);
    case Kind::pcpu: {
      uint64_t tenths = elapsed_ms ? std::min<uint64_t>(9999, p.time_ms * 1000 / elapsed_ms) : 0;
      return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
    }
    case Kind::stime: return start_time(now - static_cast<std::time_t>(elapsed_ms / 1000), now);
    case Kind::tty: return p.tty.empty() ? "?" : p.tty;
    case Kind::time: return clock_time(p.time_ms / 1000);
    case Kind::bsd_time: {
      uint64_t s = p.time_ms / 1000;
      return std::to_string(s / 60) + ":" + two(static_cast<long>(s % 60));
    }
    case Kind::etime: return elapsed_time(elapsed_ms / 1000);
    case Kind::cmd: return p.cmd;
    case Kind::comm: {
      // The command's name: argv[0]'s last component ([name] for threads).
      std::string first = p.cmd.substr(0, p.cmd.find(' '));
      if (first.starts_with('[')) return first;
      return first.substr(first.rfind('/') == std::string::npos ? 0 : first.rfind('/') + 1);
    }
    case Kind::stat:
    case Kind::state: return std::string(1, p.state);
  }
  return "";
}

void append_row(std::string& out, const std::vector<PsColumn>& columns, const std::vector<std::string>& cells) {
  std::string line;
  for (size_t i = 0; i < columns.size(); ++i) {
    Shape s = shape_of(columns[i].kind);
    bool last = i + 1 == columns.size();
    std::string text = cells[i];
    bool text_column = columns[i].kind == Kind::cmd || columns[i].kind == Kind::comm;
    if (text_column && !last && text.size() > s.width) text.resize(s.width);
    size_t width = std::max(s.width, columns[i].header.size());
    if (i) line += ' ';
    if (text.size() >= width) {
      line += text;
    } else if (s.right) {
      line += std::string(width - text.size(), ' ') + text;
    } else {
      line += text;
      if (!last) line += std::string(width - text.size(), ' ');
    }
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  out += line + "\n";
}

}  // namespace

Result<PsFormat> parse_ps_args(const std::vector<std::string>& args) {
  if (args.empty()) return parse_ps_args({"-ef"});
  bool full = false, bsd = false;
  std::vector<PsColumn> listed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.starts_with("--")) return fail("ps: option " + a + " is not supported; " + kSupported);
    bool unix_style = a.starts_with('-');
    std::string cluster = unix_style ? a.substr(1) : a;
    if (cluster.empty()) return fail("ps: an empty option; " + std::string(kSupported));
    for (size_t j = 0; j < cluster.size(); ++j) {
      char ch = cluster[j];
      if (ch == 'o') {
        std::string list = cluster.substr(j + 1);
        if (list.empty()) {
          if (i + 1 == args.size()) return fail("ps: option " + a + " needs a format list");
          list = args[++i];
        }
        TRY(add_list(list, listed));
        break;
      }
      if (ch == 'w') continue;
      if (unix_style && (ch == 'e' || ch == 'A' || ch == 'a' || ch == 'd')) continue;
      if (unix_style && ch == 'f') {
        full = true;
        continue;
      }
      if (ch == 'x' || (!unix_style && ch == 'a')) {
        bsd = true;
        continue;
      }
      return fail(std::string("ps: option ") + (unix_style ? "-" : "") + ch + " is not supported; " + kSupported);
    }
  }
  PsFormat format;
  if (!listed.empty()) {
    format.columns = listed;
    format.header = std::any_of(listed.begin(), listed.end(), [](const PsColumn& c) { return !c.header.empty(); });
  } else if (full) {
    format.columns = {{Kind::user, "UID"}, {Kind::pid, "PID"},  {Kind::ppid, "PPID"}, {Kind::c, "C"},
                      {Kind::stime, "STIME"}, {Kind::tty, "TTY"}, {Kind::time, "TIME"}, {Kind::cmd, "CMD"}};
  } else if (bsd) {
    format.columns = {{Kind::pid, "PID"}, {Kind::tty, "TTY"}, {Kind::stat, "STAT"}, {Kind::bsd_time, "TIME"},
                      {Kind::cmd, "COMMAND"}};
  } else {
    format.columns = {{Kind::pid, "PID"}, {Kind::tty, "TTY"}, {Kind::time, "TIME"}, {Kind::cmd, "CMD"}};
  }
  return format;
}

std::string render_ps(const PsFormat& format, const std::vector<msg::PsEntry>& processes, uint64_t uptime_ms,
                      std::time_t now) {
  std::string out;
  if (format.header) {
    std::vector<std::string> headers;
    for (const auto& c : format.columns) headers.push_back(c.header);
    append_row(out, format.columns, headers);
  }
  for (const auto& p : processes) {
    std::vector<std::string> cells;
    for (const auto& c : format.columns) cells.push_back(cell(c, p, uptime_ms, now));
    append_row(out, format.columns, cells);
  }
  return out;
}

}  // namespace runvm::runtime
