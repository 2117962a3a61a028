#include "common/log.h"

#include <cstdio>
#include <utility>

namespace runvm::log {
namespace {

Level g_min_level = Level::info;

void stderr_sink(Level level, const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", level_name(level), message.c_str());
}

Sink& sink() {
  static Sink s = stderr_sink;
  return s;
}

}  // namespace

void set_sink(Sink s) { sink() = std::move(s); }
void set_min_level(Level level) { g_min_level = level; }
bool enabled(Level level) { return level >= g_min_level; }

void write(Level level, const std::string& message) {
  if (enabled(level)) sink()(level, message);
}

const char* level_name(Level level) {
  switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warning";
    case Level::error: return "error";
  }
  return "?";
}

}  // namespace runvm::log
