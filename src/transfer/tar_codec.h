// TarReader / TarWriter: libarchive used only as a tar stream codec.
//
// libarchive parses and produces the tar format (pax headers, long and
// non-UTF-8 names, sparse maps, xattrs); everything that touches the file
// system is ours (import.cc, export.cc), because libarchive's disk
// readers and writers work on paths and would follow a container's
// symlinks. Only the tar reader and the pax writer are referenced, which
// keeps the static agent small (see libarchive_stub.cc).
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "transfer/stream.h"

namespace runvm::transfer {

struct ArchiveEntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using EntryPtr = std::unique_ptr<archive_entry, ArchiveEntryFree>;

class TarReader {
 public:
  static Result<TarReader> open(ByteSource& in);
  TarReader(TarReader&&) noexcept;
  TarReader& operator=(TarReader&&) noexcept;
  ~TarReader();

  // The next entry's header, or nullptr at the end of the archive. The
  // entry is owned by the reader and valid until the next call.
  Result<archive_entry*> next();

  // The next block of the current entry's data: `offset` jumps forward over
  // holes of sparse entries; `size` 0 means the entry's data is done.
  struct Block {
    const char* data = nullptr;
    size_t size = 0;
    int64_t offset = 0;
  };
  Result<Block> read_block();

 private:
  struct State;
  struct Free {
    void operator()(archive* a) const { archive_read_free(a); }
  };
  TarReader(std::unique_ptr<State> state, std::unique_ptr<archive, Free> a);
  static la_ssize_t read_callback(archive* a, void* client, const void** out);
  Error error(const char* what) const;

  std::unique_ptr<State> state_;  // heap: libarchive's callbacks hold its address
  std::unique_ptr<archive, Free> archive_;
};

class TarWriter {
 public:
  // A pax writer ("pax", not "pax restricted": that one drops nanoseconds).
  static Result<TarWriter> open(ByteSink& out);
  TarWriter(TarWriter&&) noexcept;
  TarWriter& operator=(TarWriter&&) noexcept;
  ~TarWriter();

  Status write_header(archive_entry* entry);
  Status write_data(const char* data, size_t size);
  // Writes the end-of-archive blocks and flushes.
  Status finish();

 private:
  struct State;
  struct Free {
    void operator()(archive* a) const { archive_write_free(a); }
  };
  TarWriter(std::unique_ptr<State> state, std::unique_ptr<archive, Free> a);
  static la_ssize_t write_callback(archive* a, void* client, const void* buf, size_t size);
  Error error(const char* what) const;

  std::unique_ptr<State> state_;
  std::unique_ptr<archive, Free> archive_;
};

}  // namespace runvm::transfer
