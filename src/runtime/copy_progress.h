// runvm cp's progress line: on a terminal, for a copy that takes a while,
// "Copying to c1:/data: 12.5 MiB, 4.1 MiB/s" redrawn in place on stderr
// (docker cp shows a similar one); nothing otherwise, so scripts and logs
// never see it. The counting wrappers sit on the tar stream where runvm cp
// reads or writes it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "transfer/stream.h"

namespace runvm::runtime {

// "0 B", "999 B", "1.5 KiB", "64.0 MiB", "2.0 GiB".
std::string human_bytes(uint64_t bytes);
// The line for `bytes` done after `seconds`: "LABEL: 12.5 MiB, 4.1 MiB/s".
std::string progress_line(const std::string& label, uint64_t bytes, double seconds);

class Progress {
 public:
  // `fd` gets the line if `enabled` (runvm cp: stderr is a terminal and
  // not --quiet).
  Progress(std::string label, int fd, bool enabled);
  void add(uint64_t bytes);
  // Ends the line, if one was drawn, with the totals.
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  void draw(Clock::time_point now);

  std::string label_;
  int fd_;
  bool enabled_;
  uint64_t bytes_ = 0;
  Clock::time_point started_ = Clock::now();
  Clock::time_point drawn_at_{};
  bool drawn_ = false;
};

class CountingSink : public transfer::ByteSink {
 public:
  CountingSink(transfer::ByteSink& inner, Progress& progress) : inner_(inner), progress_(progress) {}
  Status write(std::string_view data) override;

 private:
  transfer::ByteSink& inner_;
  Progress& progress_;
};

class CountingSource : public transfer::ByteSource {
 public:
  CountingSource(transfer::ByteSource& inner, Progress& progress)
      : inner_(inner), progress_(progress) {}
  Result<size_t> read(char* buf, size_t size) override;

 private:
  transfer::ByteSource& inner_;
  Progress& progress_;
};

}  // namespace runvm::runtime
