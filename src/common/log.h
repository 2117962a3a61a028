// A tiny leveled logger. The host sends it to --log (text or JSON lines, as
// runc does, so containerd's shim can read the last error); the guest agent
// sends it to the kernel log so it lands in the VM's console log.
#pragma once

#include <functional>
#include <string>

namespace runvm::log {

enum class Level { debug, info, warn, error };

using Sink = std::function<void(Level, const std::string&)>;

void set_sink(Sink sink);
void set_min_level(Level level);
bool enabled(Level level);
void write(Level level, const std::string& message);

inline void debug(const std::string& m) { write(Level::debug, m); }
inline void info(const std::string& m) { write(Level::info, m); }
inline void warn(const std::string& m) { write(Level::warn, m); }
inline void error(const std::string& m) { write(Level::error, m); }

const char* level_name(Level level);

}  // namespace runvm::log
