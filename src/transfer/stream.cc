#include "transfer/stream.h"

#include <unistd.h>

#include <cerrno>

#include "common/io.h"

namespace runvm::transfer {

Result<size_t> FdSource::read(char* buf, size_t size) {
  for (;;) {
    ssize_t n = ::read(fd_, buf, size);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return fail_errno("read the archive");
  }
}

Status FdSink::write(std::string_view data) {
  return io::write_all(fd_, data).context("write the archive");
}

void drain_trailer(ByteSource& in) {
  char buf[64 * 1024];
  for (size_t total = 0; total < kMaxTrailer;) {
    Result<size_t> n = in.read(buf, sizeof buf);
    if (!n || *n == 0) return;
    total += *n;
  }
}

}  // namespace runvm::transfer
