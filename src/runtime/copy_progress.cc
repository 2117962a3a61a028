#include "runtime/copy_progress.h"

#include <cstdio>

#include "common/io.h"

namespace runvm::runtime {
namespace {

// Quick copies show nothing; longer ones are redrawn a few times a second.
constexpr auto kFirstDraw = std::chrono::seconds(1);
constexpr auto kRedraw = std::chrono::milliseconds(250);

}  // namespace

std::string human_bytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", value, kUnits[unit]);
  return buf;
}

std::string progress_line(const std::string& label, uint64_t bytes, double seconds) {
  std::string line = label + ": " + human_bytes(bytes);
  if (seconds > 0)
    line += ", " + human_bytes(static_cast<uint64_t>(static_cast<double>(bytes) / seconds)) + "/s";
  return line;
}

Progress::Progress(std::string label, int fd, bool enabled)
    : label_(std::move(label)), fd_(fd), enabled_(enabled) {}

void Progress::add(uint64_t bytes) {
  bytes_ += bytes;
  if (!enabled_) return;
  auto now = Clock::now();
  if (now - started_ < kFirstDraw || (drawn_ && now - drawn_at_ < kRedraw)) return;
  draw(now);
}

void Progress::draw(Clock::time_point now) {
  double seconds = std::chrono::duration<double>(now - started_).count();
  // \r and erase-to-end: the line shrinks as well as grows.
  (void)io::write_all(fd_, "\r" + progress_line(label_, bytes_, seconds) + "\x1b[K");
  drawn_ = true;
  drawn_at_ = now;
}

void Progress::finish() {
  if (!drawn_) return;
  draw(Clock::now());
  (void)io::write_all(fd_, "\n");
  drawn_ = false;
}

Status CountingSink::write(std::string_view data) {
  TRY(inner_.write(data));
  progress_.add(data.size());
  return ok();
}

Result<size_t> CountingSource::read(char* buf, size_t size) {
  size_t n = TRY(inner_.read(buf, size));
  progress_.add(n);
  return n;
}

}  // namespace runvm::runtime
