// ByteSource / ByteSink: how tar streams enter and leave the transfer code.
//
// The agent feeds archives from a protocol channel and sends them back the
// same way, and the built-in tar uses pipes; both fit behind these two
// interfaces, so import and export never need the whole stream in memory.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/result.h"

namespace runvm::transfer {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `size` bytes into `buf`, blocking until at least one byte
  // is there; 0 means the end of the stream.
  virtual Result<size_t> read(char* buf, size_t size) = 0;
};

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Writes all of `data` or fails.
  virtual Status write(std::string_view data) = 0;
};

// A blocking file descriptor (pipe, socket, file) as a source; not owned.
class FdSource : public ByteSource {
 public:
  explicit FdSource(int fd) : fd_(fd) {}
  Result<size_t> read(char* buf, size_t size) override;

 private:
  int fd_;
};

// A blocking file descriptor as a sink; not owned.
class FdSink : public ByteSink {
 public:
  explicit FdSink(int fd) : fd_(fd) {}
  Status write(std::string_view data) override;

 private:
  int fd_;
};

// What follows an archive's end (its writer's padding, up to a record) is
// read, up to kMaxTrailer, so that a writer on a pipe does not see its last
// write fail with EPIPE. Errors end it quietly: the archive was whole.
inline constexpr size_t kMaxTrailer = 1 << 20;
void drain_trailer(ByteSource& in);

}  // namespace runvm::transfer
