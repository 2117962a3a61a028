#include "runtime/copy.h"

#include <fcntl.h>
#include <unistd.h>

#include <climits>
#include <functional>

#include "common/io.h"
#include "common/log.h"
#include "runtime/copy_plan.h"
#include "runtime/copy_progress.h"
#include "runtime/copy_side.h"
#include "runtime/lifecycle.h"
#include "transfer/import.h"
#include "transfer/in_root.h"

namespace runvm::runtime {
namespace {

using transfer::PathInfo;
using StatFn = std::function<Result<PathInfo>(const std::string&, bool)>;

constexpr int kMaxLinkHops = 16;

// A relative host path is relative to the working directory; the text is
// kept as given (its trailing "/" or "/." matter).
std::string host_absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (!::getcwd(cwd, sizeof cwd)) return "/" + path;
  return std::string(cwd) + "/" + path;
}

// ENOENT and ENOTDIR (a component is a file): nothing there.
bool is_missing(const Error& e) { return e.errno_value() == ENOENT || e.errno_value() == ENOTDIR; }

Result<PathKind> kind_at(const StatFn& stat, const std::string& path, bool follow,
                         const std::string& label) {
  auto info = stat(path, follow);
  if (!info) {
    if (is_missing(info.error())) return PathKind::kMissing;
    return fail(label + ": " + info.error().describe());
  }
  return info->kind == PathInfo::Kind::kDirectory ? PathKind::kDirectory : PathKind::kFile;
}

// The destination as docker cp takes it: a symlink is replaced by the path
// it leads to (a file copied onto a link to a file overwrites the target).
Status look_at_dest(const StatFn& stat, CopyEnds& ends) {
  std::string path = clean_path(ends.dest);
  for (int hop = 0; hop < kMaxLinkHops; ++hop) {
    auto info = stat(path, false);
    if (!info && !is_missing(info.error()))
      return fail("destination " + ends.dest_label + ": " + info.error().describe());
    if (!info) {
      ends.dest_path = path;
      ends.dest_kind = PathKind::kMissing;
      ends.dest_parent_kind = TRY(kind_at(stat, parent_of(path), true, ends.dest_label));
      return ok();
    }
    if (info->kind != PathInfo::Kind::kSymlink) {
      ends.dest_path = path;
      ends.dest_kind = info->kind == PathInfo::Kind::kDirectory ? PathKind::kDirectory : PathKind::kFile;
      return ok();
    }
    path = link_destination(path, info->link_target);
  }
  return fail("destination " + ends.dest_label + ": too many levels of symbolic links");
}

// A trailing "/" or "/." names a directory, and a symlink to one too.
bool follows_source(const CopyOptions& o, const std::string& src) {
  return o.follow_link || wants_directory(src);
}

Status pump(transfer::ByteSource& in, transfer::ByteSink& out) {
  char buf[64 * 1024];
  for (;;) {
    size_t n = TRY(in.read(buf, sizeof buf));
    if (n == 0) return ok();
    TRY(out.write(std::string_view(buf, n)));
  }
}


void warn(const std::string& message) { log::warn(message); }

// The host's files, looked up from "/" with the functions the container's
// side uses.
struct Host {
  UniqueFd root;

  static Result<Host> open() { return Host{TRY(io::open_file("/", O_PATH | O_DIRECTORY))}; }

  StatFn stat() {
    return [this](const std::string& path, bool follow) {
      return transfer::stat_in_root(root.get(), path, follow);
    };
  }

  Status pack(const CopyPlan& plan, bool follow, transfer::ByteSink& out) {
    transfer::ExportOptions options;
    options.name = plan.name;
    options.contents_only = plan.contents_only;
    options.follow_link = follow;
    options.on_warning = warn;
    TRY(transfer::export_tar(root.get(), plan.source, out, options));
    return ok();
  }

  // The archive comes from the guest, which the host does not trust. It is
  // unpacked with the destination directory as its root: nothing in it (a
  // symlink it made, "/" in a link target) reaches past it; and, unless a
  // directory's contents were asked for, every entry must be under the one
  // name asked for, and no entry goes through a symlink (one the archive
  // made could aim it anywhere in the directory). Device nodes are refused on the host: one would give
  // whoever can open it the host device of that number. FIFOs are fine.
  Status unpack(const CopyPlan& plan, bool same_owner, transfer::ByteSource& in,
                transfer::TransferSummary& summary) {
    UniqueFd dir = TRY_CTX(transfer::open_in_root(root.get(), plan.extract_dir, O_PATH | O_DIRECTORY),
                           "destination directory");
    transfer::ImportOptions options;
    options.same_owner = same_owner;
    options.same_permissions = true;
    options.allow_fifos = true;
    options.keep_kinds = true;  // as docker cp
    if (!plan.contents_only) options.only_under = plan.name.empty() ? basename_of(plan.source) : plan.name;
    options.no_symlinks = true;
    options.on_warning = warn;
    summary = TRY(transfer::import_tar(dir.get(), ".", in, options));
    transfer::drain_trailer(in);
    return ok();
  }
};

bool show_progress(const CopyOptions& o) { return !o.quiet && ::isatty(2); }

void report_done(const CopyOptions& o, uint64_t bytes, const std::string& where) {
  if (show_progress(o))
    (void)io::write_all(2, "Successfully copied " + human_bytes(bytes) + " to " + where + "\n");
}

Status copy_in(const CopyOptions& o, ContainerSide& side, const CopyOperand& src,
               const CopyOperand& dest) {
  Host host = TRY(Host::open());
  CopyEnds ends;
  ends.src = src.is_stream() ? "-" : host_absolute(src.path);
  ends.src_label = src.path;
  ends.dest = dest.path;
  ends.dest_label = dest.container + ":" + dest.path;
  TRY(look_at_dest([&side](const std::string& p, bool f) { return side.stat(p, f); }, ends));
  CopyPlan plan;
  if (src.is_stream()) {
    plan = TRY(plan_stream_in(ends));
  } else {
    ends.src_kind = TRY(kind_at(host.stat(), ends.src, follows_source(o, src.path), ends.src_label));
    plan = TRY(plan_copy(ends));
  }
  bool follow = follows_source(o, src.path);
  Progress progress("Copying to " + ends.dest_label, 2, show_progress(o));
  auto produce = [&](transfer::ByteSink& sink) -> Status {
    CountingSink counted(sink, progress);
    if (!src.is_stream()) return host.pack(plan, follow, counted);
    transfer::FdSource in(0);
    return pump(in, counted);
  };
  auto summary = side.receive(plan.extract_dir, o.archive, produce);
  progress.finish();
  TRY_CTX(summary, "copy " + ends.src_label + " to " + ends.dest_label);
  report_done(o, summary->bytes, ends.dest_label);
  return ok();
}

Status copy_out(const CopyOptions& o, ContainerSide& side, const CopyOperand& src,
                const CopyOperand& dest) {
  Host host = TRY(Host::open());
  CopyEnds ends;
  ends.src = src.path;
  ends.src_label = src.container + ":" + src.path;
  ends.dest = dest.is_stream() ? "-" : host_absolute(dest.path);
  ends.dest_label = dest.path;
  bool follow = follows_source(o, src.path);
  StatFn container_stat = [&side](const std::string& p, bool f) { return side.stat(p, f); };
  ends.src_kind = TRY(kind_at(container_stat, src.path, follow, ends.src_label));
  CopyPlan plan;
  if (dest.is_stream()) {
    plan = TRY(plan_stream_out(ends));
  } else {
    TRY(look_at_dest(host.stat(), ends));
    plan = TRY(plan_copy(ends));
  }
  transfer::ExportOptions options;
  options.name = plan.name;
  options.contents_only = plan.contents_only;
  options.follow_link = follow;
  Progress progress("Copying from " + ends.src_label, 2, show_progress(o));
  transfer::TransferSummary summary;
  auto consume = [&](transfer::ByteSource& source) -> Status {
    CountingSource counted(source, progress);
    if (!dest.is_stream()) return host.unpack(plan, o.archive, counted, summary);
    transfer::FdSink out(1);
    return pump(counted, out);
  };
  Status done = side.send(plan.source, options, consume);
  progress.finish();
  TRY_CTX(done, "copy " + ends.src_label + " to " + ends.dest_label);
  if (!dest.is_stream()) report_done(o, summary.bytes, ends.dest_label);
  return ok();
}

}  // namespace

Status copy_files(const CopyOptions& o) {
  CopyOperand src = parse_operand(o.src);
  CopyOperand dest = parse_operand(o.dest);
  if (!src.container.empty() && !dest.container.empty())
    return fail("copying between containers is not supported");
  if (src.container.empty() && dest.container.empty())
    return fail("must specify at least one container source (ID:PATH)");
  if (src.path.empty()) return fail("source path cannot be empty");
  if (dest.path.empty()) return fail("destination path cannot be empty");
  const std::string& id = src.container.empty() ? dest.container : src.container;
  ContainerState state = TRY(find_container(o.root, id));
  std::string status = live_status(state);
  std::unique_ptr<ContainerSide> side;
  if (status == "running") side = guest_side(o.root + "/" + id, state.rootfs, state.root_readonly);
  else if (status == "paused") side = TRY(rootfs_side(state.rootfs, state.root_readonly));
  else return fail("container " + id + " is not running");
  if (!dest.container.empty()) return copy_in(o, *side, src, dest);
  return copy_out(o, *side, src, dest);
}

}  // namespace runvm::runtime
