#include "transfer/import.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <optional>

#include "transfer/extract.h"
#include "transfer/in_root.h"

namespace runvm::transfer {
namespace {

using detail::ImportContext;
using detail::Place;

Status refuse_kind_change(const Place& at, bool entry_is_dir) {
  struct stat st;
  if (::fstatat(at.parent.get(), at.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return ok();
  if (S_ISDIR(st.st_mode) && !entry_is_dir)
    return fail("cannot overwrite directory \"" + at.path + "\" with non-directory");
  if (!S_ISDIR(st.st_mode) && entry_is_dir)
    return fail("cannot overwrite non-directory \"" + at.path + "\" with directory");
  return ok();
}

Status extract_entry(ImportContext& ctx, TarReader& reader, archive_entry* e) {
  std::vector<std::string> parts = TRY(member_components(archive_entry_pathname(e)));
  bool is_dir = archive_entry_filetype(e) == AE_IFDIR && !archive_entry_hardlink(e);
  if (parts.empty()) {
    // "." or "/": the destination itself, which the archive may not change.
    if (is_dir) return ok();
    return fail("entry names the destination itself");
  }
  if (!ctx.options.only_under.empty() && parts.front() != ctx.options.only_under)
    return fail("entry outside " + ctx.options.only_under + ", the path that was asked for");
  parts.insert(parts.begin(), ctx.dest.begin(), ctx.dest.end());
  Place at = TRY(detail::place_for(ctx.root_fd, parts, ctx.options.no_symlinks));
  if (ctx.options.keep_kinds) TRY(refuse_kind_change(at, is_dir));
  if (archive_entry_hardlink(e)) return detail::extract_hardlink(ctx, e, at);
  switch (archive_entry_filetype(e)) {
    case AE_IFREG: return detail::extract_file(ctx, reader, e, at);
    case AE_IFDIR: return detail::extract_dir(ctx, e, at);
    case AE_IFLNK: return detail::extract_symlink(ctx, e, at);
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: return detail::extract_node(ctx, e, at);
    default: return fail("unsupported entry type");
  }
}

// Mode and times of directories, now that nothing more is written in them.
// One that was replaced since (by a later entry or the container) is left.
Status finish_dir(const ImportContext& ctx, const detail::DeferredDir& dir) {
  Result<UniqueFd> fd = open_in_root(ctx.root_fd, dir.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (!fd) return ok();
  struct stat st;
  if (::fstat(fd->get(), &st) < 0 || st.st_dev != dir.dev || st.st_ino != dir.ino) return ok();
  if (::fchmod(fd->get(), dir.mode) < 0) return fail_errno("set mode");
  if (!ctx.options.touch && ::futimens(fd->get(), dir.times) < 0) return fail_errno("set times");
  return ok();
}

// Records a failed entry; returns the error that ends the import, if it
// must end (no keep_going, or the stream itself broke).
std::optional<Error> entry_failed(ImportContext& ctx, Error error) {
  if (!ctx.options.keep_going || ctx.stream_failed) return error;
  ++ctx.summary.errors;
  if (ctx.options.on_error) ctx.options.on_error(error);
  if (!ctx.summary.first_error) ctx.summary.first_error = std::move(error);
  return std::nullopt;
}

}  // namespace

Result<TransferSummary> import_tar(int root_fd, const std::string& dest, ByteSource& in,
                                   const ImportOptions& options) {
  TransferSummary summary;
  ImportContext ctx{root_fd, clean_components(dest), options, summary};
  TRY_CTX(open_in_root(root_fd, join_components(ctx.dest, ctx.dest.size()), O_PATH | O_DIRECTORY),
          "destination");
  TarReader reader = TRY(TarReader::open(in));
  for (;;) {
    archive_entry* e = TRY(reader.next());
    if (e == nullptr) break;
    const char* name = archive_entry_pathname(e);
    std::string label = name ? name : "(entry without a name)";
    if (options.on_entry) options.on_entry(label);
    Status s = name ? extract_entry(ctx, reader, e) : Status(fail("entry without a name"));
    if (s) {
      ++summary.entries;
      continue;
    }
    if (auto fatal = entry_failed(ctx, std::move(s).error().context(label))) return *fatal;
  }
  for (const detail::DeferredDir& dir : ctx.dirs) {
    Status s = finish_dir(ctx, dir);
    if (s) continue;
    if (auto fatal = entry_failed(ctx, std::move(s).error().context(dir.path))) return *fatal;
  }
  return summary;
}

}  // namespace runvm::transfer
