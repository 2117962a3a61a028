#include "transfer/tar_cli.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <set>

#include "common/io.h"
#include "transfer/export.h"
#include "transfer/import.h"
#include "transfer/in_root.h"
#include "transfer/tar_args.h"

namespace runvm::transfer {
namespace {

// GNU tar's status for errors, fatal or not.
constexpr int kFailure = 2;

struct Console {
  int err_fd;
  int verbose_fd;
  void say(int fd, const std::string& line) const { (void)io::write_all(fd, line + "\n"); }
  void error(const std::string& message) const { say(err_fd, "tar: " + message); }
};

std::string resolve(const std::string& base, const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  return base + "/" + path;
}

// What GNU tar stores as a member's name: the path as given, without a
// leading '/' or anything up to a ".." component, with a note saying so.
std::string member_name(const std::string& path, const Console& console,
                        std::set<std::string>& noted) {
  std::string name = path;
  size_t cut = 0;
  for (size_t pos = 0; pos <= name.size();) {
    size_t end = std::min(name.find('/', pos), name.size());
    if (name.compare(pos, end - pos, "..") == 0) cut = end;
    pos = end + 1;
  }
  while (cut < name.size() && name[cut] == '/') ++cut;
  if (cut > 0) {
    std::string prefix = name.substr(0, cut);
    if (noted.insert(prefix).second)
      console.error("Removing leading `" + prefix + "' from member names");
    name.erase(0, cut);
  }
  while (name.size() > 1 && name.back() == '/') name.pop_back();
  return name;
}

mode_t current_umask() {
  mode_t mask = ::umask(0);
  ::umask(mask);
  return mask;
}

// The archive named by -f, inside the root; "-" is the given fd.
Result<UniqueFd> open_archive(int root_fd, const std::string& cwd, const std::string& file,
                              int flags) {
  return TRY_CTX(open_in_root(root_fd, resolve(cwd, file), flags, 0666), file + ": Cannot open");
}

int finish(const Console& console, uint64_t errors) {
  if (errors == 0) return 0;
  console.error("Exiting with failure status due to previous errors");
  return kFailure;
}

int run_extract(int root_fd, const std::string& cwd, const TarCommand& cmd, int in_fd,
                const Console& console) {
  UniqueFd file;
  if (cmd.archive != "-") {
    Result<UniqueFd> opened = open_archive(root_fd, cwd, cmd.archive, O_RDONLY);
    if (!opened) return console.error(opened.error().describe()), kFailure;
    file = std::move(*opened);
  }
  FdSource source(file ? file.get() : in_fd);
  bool root = ::geteuid() == 0;
  ImportOptions options;
  options.same_owner = cmd.same_owner.value_or(root);
  options.same_permissions = cmd.same_permissions.value_or(root);
  options.umask = current_umask();
  options.touch = cmd.touch;
  options.allow_devices = true;  // as GNU tar: the kernel decides who may mknod
  options.xattrs = cmd.xattrs;
  options.keep_going = true;
  if (cmd.verbose)
    options.on_entry = [&](const std::string& n) { console.say(console.verbose_fd, n); };
  options.on_error = [&](const Error& e) { console.error(e.describe()); };
  options.on_warning = [&](const std::string& m) { console.error(m); };
  std::string dest = resolve(cwd, cmd.directory.empty() ? "." : cmd.directory);
  Result<TransferSummary> summary = import_tar(root_fd, dest, source, options);
  if (!file) drain_trailer(source);
  if (!summary) {
    console.error(summary.error().describe());
    console.error("Error is not recoverable: exiting now");
    return kFailure;
  }
  return finish(console, summary->errors);
}

ExportOptions member_options(const TarCommand& cmd, const std::string& name,
                             const Console& console) {
  ExportOptions options;
  options.name = name;
  options.contents_only = name.empty();  // "/" or "..": its contents, as GNU tar
  options.xattrs = cmd.xattrs;
  options.keep_going = true;
  if (cmd.verbose)
    options.on_entry = [&console](const std::string& n) { console.say(console.verbose_fd, n); };
  options.on_error = [&console](const Error& e) { console.error(e.describe()); };
  options.on_warning = [&console](const std::string& m) { console.error(m); };
  return options;
}

int run_create(int root_fd, const std::string& cwd, const TarCommand& cmd, int out_fd,
               const Console& console) {
  UniqueFd file;
  if (cmd.archive != "-") {
    Result<UniqueFd> opened =
        open_archive(root_fd, cwd, cmd.archive, O_WRONLY | O_CREAT | O_TRUNC | O_NOCTTY);
    if (!opened) return console.error(opened.error().describe()), kFailure;
    file = std::move(*opened);
  }
  FdSink sink(file ? file.get() : out_fd);
  Result<TarExporter> exporter = TarExporter::open(sink);
  if (!exporter) return console.error(exporter.error().describe()), kFailure;
  uint64_t errors = 0;
  std::set<std::string> noted;
  for (const TarCommand::Member& member : cmd.members) {
    std::string name = member_name(member.path, console, noted);
    ExportOptions options = member_options(cmd, name, console);
    std::string path = resolve(resolve(cwd, member.directory), member.path);
    Status added = exporter->add(root_fd, path, options);
    if (!added) {
      console.error(added.error().describe());
      ++errors;
    }
  }
  Result<TransferSummary> summary = exporter->finish();
  if (!summary) {
    console.error(summary.error().describe());
    console.error("Error is not recoverable: exiting now");
    return kFailure;
  }
  return finish(console, errors + summary->errors);
}

}  // namespace

int run_tar_command_at(int root_fd, const std::string& cwd, const std::vector<std::string>& argv,
                       int in_fd, int out_fd, int err_fd) {
  Console console{err_fd, out_fd};
  Result<TarCommand> cmd = parse_tar_args(argv);
  if (!cmd) {
    console.error(cmd.error().describe());
    console.error("Try 'tar --help' or 'tar --usage' for more information.");
    return kFailure;
  }
  bool archive_on_stdout = cmd->mode == TarCommand::Mode::kCreate && cmd->archive == "-";
  console.verbose_fd = archive_on_stdout ? err_fd : out_fd;
  if (cmd->mode == TarCommand::Mode::kCreate) return run_create(root_fd, cwd, *cmd, out_fd, console);
  return run_extract(root_fd, cwd, *cmd, in_fd, console);
}

int run_tar_command(const std::vector<std::string>& argv, int in_fd, int out_fd, int err_fd) {
  int root = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) {
    Console{err_fd, err_fd}.error("cannot open /");
    return kFailure;
  }
  UniqueFd root_fd(root);
  char buf[PATH_MAX];
  // Outside the root (no path from it), GNU tar would fail later; "/" is
  // the nearest meaning.
  std::string cwd = ::getcwd(buf, sizeof buf) && buf[0] == '/' ? buf : "/";
  return run_tar_command_at(root_fd.get(), cwd, argv, in_fd, out_fd, err_fd);
}

}  // namespace runvm::transfer
