#include "transfer/tar_codec.h"

namespace runvm::transfer {

struct TarWriter::State {
  ByteSink* out = nullptr;
  std::optional<Error> sink_error;  // why the sink failed, not libarchive's words
};

TarWriter::TarWriter(std::unique_ptr<State> state, std::unique_ptr<archive, Free> a)
    : state_(std::move(state)), archive_(std::move(a)) {}
TarWriter::TarWriter(TarWriter&&) noexcept = default;
// The archive goes first: freeing it may still call back into the state.
TarWriter& TarWriter::operator=(TarWriter&& other) noexcept {
  if (this != &other) {
    archive_.reset();
    state_ = std::move(other.state_);
    archive_ = std::move(other.archive_);
  }
  return *this;
}
TarWriter::~TarWriter() { archive_.reset(); }

la_ssize_t TarWriter::write_callback(archive* a, void* client, const void* buf, size_t size) {
  auto* state = static_cast<State*>(client);
  Status s = state->out->write(std::string_view(static_cast<const char*>(buf), size));
  if (!s) {
    archive_set_error(a, s.error().errno_value(), "%s", s.error().message().c_str());
    state->sink_error = std::move(s).error();
    return -1;
  }
  return static_cast<la_ssize_t>(size);
}

Result<TarWriter> TarWriter::open(ByteSink& out) {
  auto state = std::make_unique<State>();
  state->out = &out;
  std::unique_ptr<archive, Free> a(archive_write_new());
  if (!a) return fail("allocate an archive writer");
  if (archive_write_set_format_pax(a.get()) != ARCHIVE_OK)
    return fail("select the pax format: " + std::string(archive_error_string(a.get())));
  // Xattrs as SCHILY.xattr.* only, what GNU tar, Go's archive/tar (docker)
  // and libarchive read; libarchive's own LIBARCHIVE.xattr.* copy makes GNU
  // tar warn about every one.
  if (archive_write_set_format_option(a.get(), "pax", "xattrheader", "SCHILY") != ARCHIVE_OK)
    return fail("select SCHILY xattr headers: " + std::string(archive_error_string(a.get())));
  TarWriter writer(std::move(state), std::move(a));
  if (archive_write_open(writer.archive_.get(), writer.state_.get(), nullptr, write_callback,
                         nullptr) != ARCHIVE_OK)
    return writer.error("start the archive");
  return writer;
}

Error TarWriter::error(const char* what) const {
  if (state_->sink_error) return Error(*state_->sink_error).context(what);
  const char* msg = archive_error_string(archive_.get());
  return Error(std::string(what) + ": " + (msg ? msg : "unknown archive error"));
}

Status TarWriter::write_header(archive_entry* entry) {
  int r = archive_write_header(archive_.get(), entry);
  // ARCHIVE_WARN: a name that is not text in the (C) locale, written with
  // hdrcharset=BINARY, its bytes kept.
  if (r == ARCHIVE_OK || r == ARCHIVE_WARN) return ok();
  return error("write the header");
}

Status TarWriter::write_data(const char* data, size_t size) {
  while (size > 0) {
    la_ssize_t n = archive_write_data(archive_.get(), data, size);
    if (n < 0) return error("write file data");
    if (n == 0) return fail("write file data: more data than the header's size");
    data += n;
    size -= static_cast<size_t>(n);
  }
  return ok();
}

Status TarWriter::finish() {
  if (archive_write_close(archive_.get()) != ARCHIVE_OK) return error("finish the archive");
  return ok();
}

}  // namespace runvm::transfer
