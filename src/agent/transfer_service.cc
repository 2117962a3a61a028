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

Result<std::string> string_member(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string() || it->get<std::string>().empty())
    return fail(std::string(key) + ": expected a non-empty string");
  return it->get<std::string>();
}

bool bool_member(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

Result<CopyJob> parse_copy_in(const json& request, const json& options) {
  CopyJob job;
  job.into_container = true;
  job.path = TRY(string_member(request, "dest"));
  // As docker cp: the archive's modes and times, its owners only when asked
  // (-a; otherwise what is copied in belongs to root, the receiving side's
  // user), device nodes and FIFOs allowed (they are the guest's devices).
  job.import.same_owner = bool_member(options, "same_owner");
  job.import.same_permissions = true;
  job.import.allow_devices = true;
  job.import.keep_kinds = true;
  return job;
}

Result<CopyJob> parse_copy_out(const json& request, const json& options) {
  CopyJob job;
  job.into_container = false;
  job.path = TRY(string_member(request, "path"));
  auto name = options.find("name");
  if (name != options.end() && !name->is_null()) {
    if (!name->is_string()) return fail("options.name: expected a string");
    job.export_.name = name->get<std::string>();
    if (job.export_.name.find('/') != std::string::npos || job.export_.name == "..")
      return fail("options.name: must be a single path component");
  }
  job.export_.contents_only = bool_member(options, "contents_only");
  job.export_.follow_link = bool_member(options, "follow_link");
  return job;
}


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

Result<CopyJob> parse_copy_request(const json& request) {
  json options = request.value("options", json::object());
  if (!options.is_object()) return fail("options: expected an object");
  std::string type = request.value("type", "");
  if (type == "copy_in") return parse_copy_in(request, options);
  if (type == "copy_out") return parse_copy_out(request, options);
  return fail("not a copy request: " + type);
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

Result<SpawnedCopy> spawn_copy(pid_t init_pid, const CopyJob& job, StartFailure& failure) {
  auto [result_r, result_w] = TRY(io::make_pipe());
  // Runs in the child, on its copy of `job`.
  ContainerTask task = [&job] { return run_copy(job, 3); };
  SpawnedProcess process = TRY(spawn_task(init_pid, task, result_w.get(), failure));
  result_w.reset();
  TRY(io::set_nonblocking(result_r.get()));
  return SpawnedCopy{std::move(process), std::move(result_r)};
}

json copied_message(const std::string& id, int result_fd, int wait_status) {
  json m = {{"type", "copied"}, {"id", id}, {"exit_code", 1}, {"bytes", 0},
            {"entries", 0},     {"errors", 0}, {"error", nullptr}};
  if (WIFEXITED(wait_status)) m["exit_code"] = WEXITSTATUS(wait_status);
  else if (WIFSIGNALED(wait_status)) m["exit_code"] = 128 + WTERMSIG(wait_status);
  json result = json::parse(read_result(result_fd), nullptr, false);
  if (result.is_object()) {
    for (const char* key : {"bytes", "entries", "errors"})
      if (result.contains(key) && result[key].is_number_unsigned()) m[key] = result[key];
    if (result.contains("error") && result["error"].is_string()) m["error"] = result["error"];
  } else if (WIFSIGNALED(wait_status)) {
    m["error"] = std::string("the copy was killed by signal ") + std::to_string(WTERMSIG(wait_status)) +
                 " (" + ::strsignal(WTERMSIG(wait_status)) + ")";
  } else {
    m["error"] = "the copy ended without a result (exit status " + m["exit_code"].dump() + ")";
  }
  if (m["exit_code"] != 0 && m["error"].is_null()) m["error"] = "the copy failed";
  return m;
}

json stat_answer(pid_t init_pid, const json& request) {
  auto failed = [](const Error& e) {
    return json{{"errno", e.errno_value()}, {"message", clip(e.message())}};
  };
  auto path = string_member(request, "path");
  if (!path) return failed(path.error());
  // init's root, seen from the agent: lookups below it cross the mounts of
  // the container's mount namespace (binds included) and never leave it.
  auto root = io::open_file("/proc/" + std::to_string(init_pid) + "/root", O_PATH | O_DIRECTORY);
  if (!root) return failed(root.error());
  bool follow = bool_member(request, "follow_link");
  auto info = transfer::stat_in_root(root->get(), *path, follow);
  if (!info) return failed(info.error());
  json answer = transfer::path_info_to_json(*info);
  if (bool_member(request, "root_share")) {
    // An error here is a "no": the copy then goes through the guest.
    auto shared = on_root_share(init_pid, *path, follow);
    answer["root_share"] = shared && *shared;
  }
  return answer;
}

}  // namespace runvm::agent
