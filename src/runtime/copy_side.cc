#include "runtime/copy_side.h"

#include <fcntl.h>
#include <signal.h>

#include <thread>

#include <nlohmann/json.hpp>

#include "common/io.h"
#include "common/log.h"
#include "host/message_socket.h"
#include "runtime/lifecycle.h"
#include "runtime/monitor.h"
#include "transfer/import.h"

namespace runvm::runtime {
namespace {

using nlohmann::json;

Status status_of(const Result<transfer::TransferSummary>& r) {
  if (r) return ok();
  return r.error();
}

transfer::PathInfo path_info_of(const msg::StatPathAnswer& a) {
  transfer::PathInfo info;
  for (auto k : {transfer::PathInfo::Kind::kFile, transfer::PathInfo::Kind::kDirectory,
                 transfer::PathInfo::Kind::kSymlink, transfer::PathInfo::Kind::kOther})
    if (a.kind == transfer::kind_name(k)) info.kind = k;
  info.mode = static_cast<mode_t>(a.mode);
  info.size = a.size;
  info.link_target = a.link_target;
  return info;
}

// A copy in the guest: the tar stream on a pipe whose other end the
// monitor relays, as it relays an exec's stdio. Where the guest says the
// path lies on the rootfs share with nothing mounted at or below it, the
// copy is made on the host's view instead (`on_host`), as for a paused
// container: the same tree, without every byte crossing the agent channel.
class GuestSide : public ContainerSide {
 public:
  GuestSide(std::string state_dir, std::unique_ptr<ContainerSide> on_host, bool readonly_root)
      : state_dir_(std::move(state_dir)), on_host_(std::move(on_host)), readonly_root_(readonly_root) {}

  Result<transfer::PathInfo> stat(const std::string& path, bool follow_link) override {
    control::Reply reply = TRY(ask_monitor(state_dir_, control::StatPath{path, follow_link, false}));
    if (!reply.stat_path) return fail("stat " + path + ": the container's monitor sent no answer");
    const msg::StatPathAnswer& answer = *reply.stat_path;
    if (answer.error_number)
      return Error(answer.message.empty() ? "stat " + path : answer.message, *answer.error_number);
    return path_info_of(answer);
  }

  Result<transfer::TransferSummary> receive(const std::string& dir, bool same_owner,
                                            const Producer& produce) override {
    // A read-only root is never written on the host's view: the guest's
    // way refuses it (EROFS) and still reaches the container's volumes.
    if (!readonly_root_ && on_root_share(dir, true)) {
      auto unpacked = on_host_->receive(dir, same_owner, produce);
      // The guest may have looked the new names up before (a cached "no
      // such file") or hold what was replaced: it drops what it caches, so
      // what runs next sees the copy.
      (void)ask_monitor(state_dir_, control::ForgetCached{});
      return unpacked;
    }
    auto [r, w] = TRY(io::make_pipe());
    UniqueFd conn = TRY(start(control::CopyIn{dir, same_owner}, r.get()));
    r.reset();
    transfer::FdSink sink(w.get());
    Status written = produce(sink);
    w.reset();  // the guest's end of input
    msg::Copied copied = TRY(finish(conn.get()));
    Result<transfer::TransferSummary> unpacked = summary_of(copied);
    TRY(settle(written, status_of(unpacked)));
    return unpacked;
  }

  Status send(const std::string& path, const transfer::ExportOptions& options,
              const Consumer& consume) override {
    if (on_root_share(path, options.follow_link)) return on_host_->send(path, options, consume);
    auto [r, w] = TRY(io::make_pipe());
    UniqueFd conn = TRY(
        start(control::CopyOut{path, options.name, options.contents_only, options.follow_link}, w.get()));
    w.reset();
    transfer::FdSource source(r.get());
    Status read = consume(source);
    r.reset();
    // Our end failed: stop the guest's rather than wait for what nobody
    // reads (the monitor forwards the signal to the transfer).
    if (!read) (void)host::send_message(conn.get(), control::to_json(control::Signal{SIGKILL}));
    msg::Copied copied = TRY(finish(conn.get()));
    bool killed_by_us = !read && copied.exit_code == 128 + SIGKILL;
    Status written = killed_by_us ? ok() : status_of(summary_of(copied));
    return settle(written, read);
  }

 private:
  // Asked afresh just before the copy; any doubt (an error, an older
  // agent) means the guest's way.
  bool on_root_share(const std::string& path, bool follow_link) {
    if (!on_host_) return false;
    auto reply = ask_monitor(state_dir_, control::StatPath{path, follow_link, true});
    return reply && reply->stat_path && reply->stat_path->root_share == true;
  }

  Result<control::Reply> next_reply(int conn) {
    auto message = TRY(host::receive_message(conn));
    if (!message) return fail("the container's monitor went away");
    control::Reply reply = TRY_CTX(control::Reply::parse(message->body), "the container's monitor's reply");
    if (reply.error) return fail(*reply.error);
    return reply;
  }

  // Sends the request with the stream's descriptor and our stderr (the
  // guest's warnings), and waits until the transfer runs in the guest.
  Result<UniqueFd> start(const control::Request& request, int stream_fd) {
    UniqueFd conn = TRY(host::connect_messages(state_dir_ + "/" + kControlSocket));
    TRY(host::send_message(conn.get(), control::to_json(request), {stream_fd, 2}));
    control::Reply reply = TRY(next_reply(conn.get()));
    if (!reply.started) return fail("unexpected answer from the container's monitor");
    return conn;
  }

  Result<msg::Copied> finish(int conn) {
    control::Reply reply = TRY(next_reply(conn));
    if (!reply.copied) return fail("the container stopped during the copy");
    return *reply.copied;
  }

  static Result<transfer::TransferSummary> summary_of(const msg::Copied& copied) {
    if (copied.error) return fail(*copied.error);
    transfer::TransferSummary summary;
    summary.bytes = copied.bytes;
    summary.entries = copied.entries;
    summary.errors = copied.errors;
    return summary;
  }

  std::string state_dir_;
  std::unique_ptr<ContainerSide> on_host_;
  bool readonly_root_;
};

// A paused container: the copy is made here, on the rootfs directory, with
// the stream between two threads over a pipe (bounded by the pipe).
class RootfsSide : public ContainerSide {
 public:
  RootfsSide(UniqueFd root, bool readonly_root) : root_(std::move(root)), readonly_root_(readonly_root) {}

  Result<transfer::PathInfo> stat(const std::string& path, bool follow_link) override {
    return transfer::stat_in_root(root_.get(), path, follow_link);
  }

  Result<transfer::TransferSummary> receive(const std::string& dir, bool same_owner,
                                            const Producer& produce) override {
    // As docker cp into a --read-only container's rootfs.
    if (readonly_root_) return fail("container rootfs is marked read-only");
    auto [read_end, write_end] = TRY(io::make_pipe());
    UniqueFd r = std::move(read_end), w = std::move(write_end);  // a thread takes one
    Status written;
    std::thread writer([&produce, &written, &w] {
      transfer::FdSink sink(w.get());
      written = produce(sink);
      w.reset();
    });
    // What the agent does for copy_in (transfer_service.cc), here.
    transfer::ImportOptions options;
    options.same_owner = same_owner;
    options.same_permissions = true;
    options.allow_devices = true;
    options.keep_kinds = true;  // as docker cp
    options.on_warning = [](const std::string& m) { log::warn(m); };
    transfer::FdSource source(r.get());
    Result<transfer::TransferSummary> unpacked = transfer::import_tar(root_.get(), dir, source, options);
    if (unpacked) transfer::drain_trailer(source);
    r.reset();  // a writer still going sees EPIPE
    writer.join();
    TRY(settle(written, status_of(unpacked)));
    return unpacked;
  }

  Status send(const std::string& path, const transfer::ExportOptions& options,
              const Consumer& consume) override {
    auto [read_end, write_end] = TRY(io::make_pipe());
    UniqueFd r = std::move(read_end), w = std::move(write_end);  // a thread takes one
    Status read;
    std::thread reader([&consume, &read, &r] {
      transfer::FdSource source(r.get());
      read = consume(source);
      r.reset();
    });
    transfer::ExportOptions o = options;
    o.on_warning = [](const std::string& m) { log::warn(m); };
    transfer::FdSink sink(w.get());
    Result<transfer::TransferSummary> packed = transfer::export_tar(root_.get(), path, sink, o);
    w.reset();
    reader.join();
    return settle(status_of(packed), read);
  }

 private:
  UniqueFd root_;
  bool readonly_root_;
};

}  // namespace

std::unique_ptr<ContainerSide> guest_side(const std::string& state_dir, const std::string& rootfs,
                                          bool readonly_root) {
  auto on_host = rootfs_side(rootfs, readonly_root);
  if (!on_host) log::debug("runvm cp: the rootfs is not reachable here, every copy goes through the guest: " +
                           on_host.error().describe());
  return std::make_unique<GuestSide>(state_dir, on_host ? std::move(*on_host) : nullptr, readonly_root);
}

Result<std::unique_ptr<ContainerSide>> rootfs_side(const std::string& rootfs, bool readonly_root) {
  UniqueFd root = TRY_CTX(io::open_file(rootfs, O_PATH | O_DIRECTORY), "the container's rootfs");
  return std::unique_ptr<ContainerSide>(std::make_unique<RootfsSide>(std::move(root), readonly_root));
}

Status settle(Status written, Status read) {
  if (!written && written.error().errno_value() != EPIPE) return written;
  if (!read) return read;
  return ok();
}

}  // namespace runvm::runtime
