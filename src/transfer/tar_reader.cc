#include <vector>

#include "transfer/tar_codec.h"

namespace runvm::transfer {
namespace {

constexpr size_t kReadChunk = 64 * 1024;

}  // namespace

struct TarReader::State {
  ByteSource* in = nullptr;
  std::vector<char> buf;
  std::optional<Error> source_error;  // why the source failed, not libarchive's words
};

TarReader::TarReader(std::unique_ptr<State> state, std::unique_ptr<archive, Free> a)
    : state_(std::move(state)), archive_(std::move(a)) {}
TarReader::TarReader(TarReader&&) noexcept = default;
// The archive goes first: freeing it may still call back into the state.
TarReader& TarReader::operator=(TarReader&& other) noexcept {
  if (this != &other) {
    archive_.reset();
    state_ = std::move(other.state_);
    archive_ = std::move(other.archive_);
  }
  return *this;
}
TarReader::~TarReader() { archive_.reset(); }

la_ssize_t TarReader::read_callback(archive* a, void* client, const void** out) {
  auto* state = static_cast<State*>(client);
  Result<size_t> n = state->in->read(state->buf.data(), state->buf.size());
  if (!n) {
    archive_set_error(a, n.error().errno_value(), "%s", n.error().message().c_str());
    state->source_error = std::move(n).error();
    return -1;
  }
  *out = state->buf.data();
  return static_cast<la_ssize_t>(*n);
}

Result<TarReader> TarReader::open(ByteSource& in) {
  auto state = std::make_unique<State>();
  state->in = &in;
  state->buf.resize(kReadChunk);
  std::unique_ptr<archive, Free> a(archive_read_new());
  if (!a) return fail("allocate an archive reader");
  // Tar only, no filters: compressed archives are refused, and the static
  // agent does not carry zlib/bzip2/xz decoders.
  if (archive_read_support_format_tar(a.get()) != ARCHIVE_OK)
    return fail("enable the tar format: " + std::string(archive_error_string(a.get())));
  TarReader reader(std::move(state), std::move(a));
  if (archive_read_open(reader.archive_.get(), reader.state_.get(), nullptr, read_callback,
                        nullptr) != ARCHIVE_OK)
    return reader.error("open the archive");
  return reader;
}

Error TarReader::error(const char* what) const {
  if (state_->source_error) return Error(*state_->source_error).context(what);
  const char* msg = archive_error_string(archive_.get());
  return Error(std::string(what) + ": " + (msg ? msg : "unknown archive error"));
}

Result<archive_entry*> TarReader::next() {
  archive_entry* entry = nullptr;
  int r = archive_read_next_header(archive_.get(), &entry);
  if (r == ARCHIVE_EOF) return static_cast<archive_entry*>(nullptr);
  // ARCHIVE_WARN is what a name that is not valid in the (C) locale gives;
  // libarchive keeps its bytes as they are, which is what we want.
  if (r == ARCHIVE_OK || r == ARCHIVE_WARN) return entry;
  return error("read the archive");
}

Result<TarReader::Block> TarReader::read_block() {
  const void* data = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  int r = archive_read_data_block(archive_.get(), &data, &size, &offset);
  if (r == ARCHIVE_EOF) return Block{};
  if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return error("read the archive");
  return Block{static_cast<const char*>(data), size, offset};
}

}  // namespace runvm::transfer
