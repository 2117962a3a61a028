// File data for export: sparse maps and streaming the data in chunks.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "transfer/export_node.h"

namespace runvm::transfer::detail {
namespace {

constexpr size_t kChunk = 256 * 1024;

Status write_zeros(TarWriter& writer, off_t count) {
  static const std::vector<char> zeros(kChunk, 0);
  while (count > 0) {
    size_t n = static_cast<size_t>(std::min<off_t>(count, kChunk));
    TRY(writer.write_data(zeros.data(), n));
    count -= static_cast<off_t>(n);
  }
  return ok();
}

// Copies [offset, offset + length) of the file; returns the bytes it had
// (fewer when the file shrank while we read it).
Result<off_t> copy_range(TarWriter& writer, int fd, off_t offset, off_t length,
                         std::vector<char>& buf) {
  off_t done = 0;
  while (done < length) {
    size_t want = static_cast<size_t>(std::min<off_t>(length - done, buf.size()));
    ssize_t n = ::pread(fd, buf.data(), want, offset + done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read file data");
    }
    if (n == 0) break;
    TRY(writer.write_data(buf.data(), static_cast<size_t>(n)));
    done += n;
  }
  return done;
}

}  // namespace

std::vector<std::pair<off_t, off_t>> sparse_regions(const Node& node) {
  const off_t size = node.st.st_size;
  // As GNU tar: only files using fewer blocks than their size have holes.
  if (!S_ISREG(node.st.st_mode) || node.st.st_blocks * 512 >= size) return {};
  std::vector<std::pair<off_t, off_t>> regions;
  off_t pos = 0;
  while (pos < size) {
    off_t data = ::lseek(node.fd.get(), pos, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // only a hole from here to the end
      return {};                  // no SEEK_DATA here: store it whole
    }
    if (data >= size) break;
    off_t hole = ::lseek(node.fd.get(), data, SEEK_HOLE);
    if (hole < 0) return {};
    hole = std::min(hole, size);
    regions.emplace_back(data, hole - data);
    pos = hole;
  }
  if (regions.size() == 1 && regions[0] == std::pair<off_t, off_t>(0, size)) return {};
  // An all-hole file still needs a map, or it would be stored as zeros.
  if (regions.empty()) regions.emplace_back(size, 0);
  return regions;
}

Result<uint64_t> write_file_data(TarWriter& writer, const Node& node,
                                 const std::vector<std::pair<off_t, off_t>>& regions,
                                 const ExportOptions& options, const std::string& name) {
  const off_t size = node.st.st_size;
  std::vector<std::pair<off_t, off_t>> whole = {{0, size}};
  std::vector<char> buf(static_cast<size_t>(std::min<off_t>(std::max<off_t>(size, 1), kChunk)));
  off_t pos = 0;
  uint64_t bytes = 0;
  bool shrank = false;
  for (auto [offset, length] : regions.empty() ? whole : regions) {
    TRY(write_zeros(writer, offset - pos));
    off_t got = TRY(copy_range(writer, node.fd.get(), offset, length, buf));
    bytes += static_cast<uint64_t>(got);
    if (got < length) {
      shrank = true;
      TRY(write_zeros(writer, length - got));
    }
    pos = offset + length;
  }
  TRY(write_zeros(writer, size - pos));
  if (shrank && options.on_warning)
    options.on_warning(name + ": file shrank while being read; padded with zeros");
  return bytes;
}

}  // namespace runvm::transfer::detail
