// Regular files: created fresh, data written at the archive's offsets (so
// holes in sparse entries stay holes), metadata applied through the fd.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "transfer/extract.h"

namespace runvm::transfer::detail {
namespace {

// Attempts at creating an entry when something keeps reappearing in its
// place (the container racing with us).
constexpr int kCreateAttempts = 3;

// O_EXCL: never opens what is there, a symlink least of all; whatever was
// there is removed first.
Result<UniqueFd> create_fresh(const Place& at) {
  for (int attempt = 0;; ++attempt) {
    int fd = ::openat(at.parent.get(), at.name.c_str(),
                      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) return UniqueFd(fd);
    if (errno == EINTR) continue;
    if (errno != EEXIST || attempt + 1 == kCreateAttempts) return fail_errno("create file");
    TRY(make_room(at.parent.get(), at.name));
  }
}

Status pwrite_all(int fd, const char* data, size_t size, int64_t offset) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("write file data");
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return ok();
}

// Copies the entry's data; returns where the last block ended.
Result<int64_t> copy_data(ImportContext& ctx, TarReader& reader, int fd) {
  int64_t end = 0;
  for (;;) {
    Result<TarReader::Block> block = reader.read_block();
    if (!block) {
      ctx.stream_failed = true;
      return std::move(block).error();
    }
    if (block->size == 0) return end;
    if (block->offset < 0) return fail("negative data offset in the archive");
    TRY(pwrite_all(fd, block->data, block->size, block->offset));
    end = std::max(end, block->offset + static_cast<int64_t>(block->size));
    ctx.summary.bytes += block->size;
  }
}

}  // namespace

Status extract_file(ImportContext& ctx, TarReader& reader, archive_entry* e, const Place& at) {
  UniqueFd fd = TRY(create_fresh(at));
  int64_t end = TRY(copy_data(ctx, reader, fd.get()));
  // A sparse entry that ends in a hole: the size says where the file ends.
  int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : end;
  if (size > end && ::ftruncate(fd.get(), size) < 0) return fail_errno("set file size");
  TRY(set_owner(fd.get(), e, ctx.options));
  if (::fchmod(fd.get(), final_mode(e, false, ctx.options)) < 0) return fail_errno("set mode");
  set_xattrs(fd.get(), e, ctx);
  if (!ctx.options.touch) {
    timespec times[2];
    entry_times(e, times);
    if (::futimens(fd.get(), times) < 0) return fail_errno("set times");
  }
  return ok();
}

}  // namespace runvm::transfer::detail
