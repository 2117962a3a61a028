#include "agent/transfer_service.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "agent/root_share.h"
#include "common/io.h"
#include "transfer/path_info.h"

namespace runvm::agent {
namespace {

using nlohmann::json;

// The result is a few numbers and one message: anything longer is cut.
constexpr size_t kMaxErrorText = 4096;
constexpr size_t kMaxResultText = 16 * 1024;

Result<transfer::TransferSummary> transfer(const CopyJob& job) {
  int raw = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (raw < 0) return fail_errno("open the container's root");
  UniqueFd root(raw);
  auto warn = [](const std::string& message) { (void)io::write_all(2, message + "\n"); };
  if (job.into_container) {
    transfer::ImportOptions options = job.import;
    options.on_warning = warn;
    transfer::FdSource in(0);
    auto summary = transfer::import_tar(root.get(), job.path, in, options);
    if (summary) transfer::drain_trailer(in);
    return summary;
  }
  transfer::ExportOptions options = job.export_;
  options.on_warning = warn;
  transfer::FdSink out(1);
  return transfer::export_tar(root.get(), job.path, out, options);
}

std::string clip(std::string text) {
  if (text.size() > kMaxErrorText) text.resize(kMaxErrorText);
  return text;
}

std::string read_result(int fd) {
  std::string text;
  char buf[4096];
  while (text.size() < kMaxResultText) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace

Result<CopyJob> copy_job(const msg::CopyIn& request) {
  if (request.dest.empty()) return fail("dest: expected a non-empty path");
  CopyJob job;
  job.into_container = true;
  job.path = request.dest;
  // As docker cp: the archive's modes and times, its owners only when asked
  // (-a; otherwise what is copied in belongs to root, the receiving side's
  // user), device nodes and FIFOs allowed (they are the guest's devices).
  job.import.same_owner = request.same_owner;
  job.import.same_permissions = true;
  job.import.allow_devices = true;
  job.import.keep_kinds = true;
  return job;
}

Result<CopyJob> copy_job(const msg::CopyOut& request) {
  if (request.path.empty()) return fail("path: expected a non-empty path");
  CopyJob job;
  job.into_container = false;
  job.path = request.path;
  job.export_.name = request.name;
  if (job.export_.name.find('/') != std::string::npos || job.export_.name == "..")
    return fail("options.name: must be a single path component");
  job.export_.contents_only = request.contents_only;
  job.export_.follow_link = request.follow_link;
  return job;
}

int run_copy(const CopyJob& job, int result_fd) {
  Result<transfer::TransferSummary> summary = transfer(job);
  json result = {{"bytes", 0}, {"entries", 0}, {"errors", 0}};
  if (summary) {
    result = {{"bytes", summary->bytes}, {"entries", summary->entries}, {"errors", summary->errors}};
    if (summary->first_error) result["error"] = clip(summary->first_error->describe());
  } else {
    result["error"] = clip(summary.error().describe());
  }
  (void)io::write_all(result_fd, result.dump(-1, ' ', false, json::error_handler_t::replace));
  return result.contains("error") ? 1 : 0;
}

Result<SpawnedCopy> spawn_copy(const ContainerHandle& container, const CopyJob& job, StartFailure& failure) {
  auto [result_r, result_w] = TRY(io::make_pipe());
  // Runs in the child, on its copy of `job`.
  ContainerTask task = [&job] { return run_copy(job, 3); };
  SpawnedProcess process = TRY(spawn_task(container, task, result_w.get(), failure));
  result_w.reset();
  TRY(io::set_nonblocking(result_r.get()));
  return SpawnedCopy{std::move(process), std::move(result_r)};
}

msg::Copied copied_message(const std::string& id, int result_fd, int wait_status) {
  msg::Copied m{id, 1, 0, 0, 0, std::nullopt};
  if (WIFEXITED(wait_status)) m.exit_code = WEXITSTATUS(wait_status);
  else if (WIFSIGNALED(wait_status)) m.exit_code = 128 + WTERMSIG(wait_status);
  // The child's own report (run_copy above), read defensively all the same.
  json result = json::parse(read_result(result_fd), nullptr, false);
  if (result.is_object()) {
    for (auto [key, out] : {std::pair{"bytes", &m.bytes}, {"entries", &m.entries}, {"errors", &m.errors}})
      if (result.contains(key) && result[key].is_number_unsigned()) *out = result[key].get<uint64_t>();
    if (result.contains("error") && result["error"].is_string()) m.error = result["error"].get<std::string>();
  } else if (WIFSIGNALED(wait_status)) {
    m.error = std::string("the copy was killed by signal ") + std::to_string(WTERMSIG(wait_status)) + " (" +
              ::strsignal(WTERMSIG(wait_status)) + ")";
  } else {
    m.error = "the copy ended without a result (exit status " + std::to_string(m.exit_code) + ")";
  }
  if (m.exit_code != 0 && !m.error) m.error = "the copy failed";
  return m;
}

msg::StatPathAnswer stat_answer(pid_t init_pid, const msg::StatPath& request) {
  msg::StatPathAnswer answer;
  auto failed = [&](const Error& e) {
    answer.error_number = e.errno_value();
    answer.message = clip(e.message());
    return answer;
  };
  // init's root, seen from the agent: lookups below it cross the mounts of
  // the container's mount namespace (binds included) and never leave it.
  auto root = io::open_file("/proc/" + std::to_string(init_pid) + "/root", O_PATH | O_DIRECTORY);
  if (!root) return failed(root.error());
  auto info = transfer::stat_in_root(root->get(), request.path, request.follow_link);
  if (!info) return failed(info.error());
  answer.kind = transfer::kind_name(info->kind);
  answer.mode = info->mode;
  answer.size = info->size;
  answer.link_target = info->link_target;
  if (request.root_share) {
    // An error here is a "no": the copy then goes through the guest.
    auto shared = on_root_share(init_pid, request.path, request.follow_link);
    answer.root_share = shared && *shared;
  }
  return answer;
}

}  // namespace runvm::agent
