// runvm: an OCI runtime that runs each container in its own microVM, with
// runc's command line.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/log.h"

using namespace runvm;

namespace {

vm::AccelRequest accel_request = vm::AccelRequest::automatic;

std::string timestamp() {
  char buf[64];
  std::time_t now = std::time(nullptr);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

// Go's %q of a message, as logrus's text format quotes it.
std::string go_quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// --log/--log-format as runc: logrus's lines, JSON {"level","msg","time"}
// (what containerd's shim reads for the last error) or text (time="..."
// level=... msg="..."). The log file gets info and up (the accelerator
// choice, say), and debug with --debug. Without a file, stderr gets
// warnings and errors (and everything with --debug); with one, only errors
// also go to stderr, as runc's fatal errors do. A log file that cannot be
// opened is an error, as runc's.
Status configure_logging(const cli::GlobalOptions& g, bool use_stderr = true) {
  bool to_file = !g.log_file.empty();
  log::set_min_level(g.debug ? log::Level::debug : to_file ? log::Level::info : log::Level::warn);
  std::shared_ptr<FILE> file;
  Status opened = ok();
  if (!g.log_file.empty()) {
    FILE* f = std::fopen(g.log_file.c_str(), "ae");
    if (f) {
      file.reset(f, std::fclose);
    } else {
      std::string text = std::strerror(errno);
      if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
      opened = fail("open " + g.log_file + ": " + text);
    }
  }
  bool json = g.log_format == "json";
  log::set_sink([file, json, use_stderr](log::Level level, const std::string& message) {
    if (file) {
      std::string line = json ? nlohmann::json{{"level", log::level_name(level)},
                                               {"msg", message},
                                               {"time", timestamp()}}
                                    .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                              : "time=\"" + timestamp() + "\" level=" + log::level_name(level) +
                                    " msg=" + go_quote(message);
      std::fprintf(file.get(), "%s\n", line.c_str());
      std::fflush(file.get());
    }
    bool to_stderr = use_stderr && (level == log::Level::error ||
                                    (!file && (level >= log::Level::warn || log::enabled(log::Level::debug))));
    if (to_stderr)
      std::fprintf(stderr, level == log::Level::error ? "%s\n" : "runvm: %s\n", message.c_str());
  });
  return opened;
}

constexpr const char* kSpecVersion = "1.0.2-dev";

// Help in runc's (urfave/cli's) shape: NAME, USAGE, VERSION, COMMANDS and
// (GLOBAL) OPTIONS, which tools and people who know runc's read.
class RuncHelp : public CLI::Formatter {
 public:
  std::string make_help(const CLI::App* app, std::string, CLI::AppFormatMode) const override {
    std::ostringstream out;
    bool top = app->get_parent() == nullptr;
    std::string name = top ? "runvm" : "runvm " + app->get_name();
    out << "NAME:\n   " << name << " - " << app->get_description() << "\n\n";
    out << "USAGE:\n   " << name;
    if (top) {
      out << " [global options] command [command options] [arguments...]\n\n";
      out << "VERSION:\n   " << RUNVM_VERSION << "\nspec: " << kSpecVersion << "\n\n";
      out << "COMMANDS:\n";
      std::vector<std::pair<std::string, std::string>> rows;
      for (const CLI::App* sub : app->get_subcommands([](const CLI::App*) { return true; }))
        rows.emplace_back(sub->get_name(), sub->get_description());
      out << table(rows) << "\n";
    } else {
      out << " [command options]";
      for (const CLI::Option* opt : app->get_options())
        if (opt->get_positional()) {
          std::string pos = opt->get_name();
          out << (opt->get_required() ? " <" + pos + ">" : " [" + pos + "]");
        }
      out << "\n\n";
    }
    std::vector<std::pair<std::string, std::string>> rows;
    for (const CLI::Option* opt : app->get_options()) {
      if (opt->get_positional()) continue;
      bool takes_value = opt->get_expected_max() != 0;
      std::string names;
      for (const auto& l : opt->get_lnames()) names += (names.empty() ? "--" : ", --") + l + (takes_value ? " value" : "");
      for (const auto& s : opt->get_snames()) names += (names.empty() ? "-" : ", -") + s + (takes_value ? " value" : "");
      std::string desc = opt->get_description();
      if (!opt->get_default_str().empty()) desc += " (default: \"" + opt->get_default_str() + "\")";
      rows.emplace_back(names, desc);
    }
    out << (top ? "GLOBAL OPTIONS:\n" : "OPTIONS:\n") << table(rows);
    if (!app->get_footer().empty()) out << "\n" << app->get_footer() << "\n";
    return out.str();
  }

 private:
  static std::string table(const std::vector<std::pair<std::string, std::string>>& rows) {
    size_t width = 0;
    for (const auto& [left, right] : rows) width = std::max(width, left.size());
    std::string out;
    for (const auto& [left, right] : rows)
      out += "   " + left + std::string(width - left.size() + 2, ' ') + right + "\n";
    return out;
  }
};

// A CLI11 parse error as runc's (urfave/cli's) usage errors read: an unknown
// flag is "flag provided but not defined: -NAME"; the rest keep CLI11's
// words. Exit status 1, as runc's.
std::string usage_error(const CLI::ParseError& e) {
  std::string text = e.what();
  if (dynamic_cast<const CLI::ExtrasError*>(&e)) {
    size_t colon = text.find(": ");
    std::istringstream extras(colon == std::string::npos ? "" : text.substr(colon + 2));
    for (std::string arg; extras >> arg;)
      if (arg.size() > 1 && arg[0] == '-') return cli::undefined_flag(arg);
  }
  return text;
}

// The first word of the command line that is neither a global flag nor a
// flag's value: the command's name ("" if there is none). Whether a flag
// takes a value is the app's own definition of it.
std::string first_command_word(const CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") return i + 1 < argc ? argv[i + 1] : "";
    if (arg.empty() || arg[0] != '-') return arg;
    const CLI::Option* option = arg.find('=') == std::string::npos ? app.get_option_no_throw(arg) : nullptr;
    if (option && option->get_items_expected_min() > 0) ++i;
  }
  return "";
}

}  // namespace

void cli::log_to_file_only(const GlobalOptions& g) { (void)configure_logging(g, false); }

std::string cli::undefined_flag(const std::string& arg) {
  std::string name = arg.substr(arg.find_first_not_of('-'));
  return "flag provided but not defined: -" + name.substr(0, name.find('='));
}

int cli::usage_failure(const CLI::App* command, const std::string& message) {
  std::printf("Incorrect Usage: %s\n\n%s", message.c_str(), command->help().c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "%s\n", message.c_str());
  return 1;
}

runtime::CreateOptions cli::create_options(const GlobalOptions& g) {
  runtime::CreateOptions o;
  o.root = g.root;
  o.accel = accel_request;
  o.systemd_cgroup = g.systemd_cgroup;
  o.artifacts = {g.kernel, g.initramfs};
  if (g.vcpus) o.size.vcpus = g.vcpus;
  if (g.memory_mib) o.size.memory_mib = g.memory_mib;
  o.boot_timeout = std::chrono::seconds(g.boot_timeout_s);
  o.daemonize_logging = [&g] { log_to_file_only(g); };
  return o;
}

int cli::report_failure(const std::string& command, const std::string& message) {
  log::error("runvm " + command + " failed: " + message);
  return 1;
}

int main(int argc, char** argv) {
  CLI::App app{"Open Container Initiative runtime that runs each container in its own microVM"};
  app.formatter(std::make_shared<RuncHelp>());
  app.set_help_flag("--help,-h", "show help");
  app.set_version_flag("--version,-v", std::string("runvm version ") + RUNVM_VERSION + "\nspec: " + kSpecVersion,
                       "print the version");
  app.require_subcommand(1);
  cli::GlobalOptions g;
  app.add_option("--root", g.root, "root directory for container state")->capture_default_str();
  app.add_option("--log", g.log_file, "log file (default: stderr)");
  app.add_option("--log-format", g.log_format, "log format: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--debug", g.debug, "enable debug logging");
  app.add_flag("--systemd-cgroup", g.systemd_cgroup, "accepted for runc compatibility");
  app.add_option("--accel", g.accel, "accelerator: kvm, tcg or auto")
      ->envname("RUNVM_ACCEL")->capture_default_str();
  app.add_option("--kernel", g.kernel, "guest kernel (default: <data dir>/vmlinuz)")
      ->envname("RUNVM_KERNEL");
  app.add_option("--initramfs", g.initramfs, "guest initramfs (default: <data dir>/initramfs.img)")
      ->envname("RUNVM_INITRAMFS");
  app.add_option("--boot-timeout", g.boot_timeout_s, "seconds to wait for the guest agent")
      ->envname("RUNVM_BOOT_TIMEOUT")->capture_default_str();
  app.add_option("--vm-vcpus", g.vcpus, "vCPUs per VM (default: from the spec, else 1)")
      ->envname("RUNVM_VCPUS");
  app.add_option("--vm-memory", g.memory_mib, "MiB of memory per VM (default: from the spec, else 512)")
      ->envname("RUNVM_MEMORY_MIB");

  cli::CommandRunner selected;
#define RUNVM_ADD(name) cli::add_##name##_command(app, g, selected);
  RUNVM_COMMANDS(RUNVM_ADD)
#undef RUNVM_ADD
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    // No command, as runc: help on stdout and success when none was named,
    // "No help topic" and 3 for a name that is not a command.
    if (app.get_subcommands().empty()) {
      std::string name = first_command_word(app, argc, argv);
      if (name.empty()) {
        std::printf("%s", app.help().c_str());
        return 0;
      }
      bool known = false;
      for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
        known |= sub->check_name(name);
      if (!known) {
        log::error("No help topic for '" + name + "'");
        return 3;
      }
    }
    const CLI::App* command = &app;
    for (const CLI::App* sub : app.get_subcommands()) command = sub;
    return cli::usage_failure(command, usage_error(e));
  }
  if (Status s = configure_logging(g); !s) {
    std::fprintf(stderr, "%s\n", s.error().message().c_str());
    return 1;
  }
  {
    std::string line = "runvm";
    for (int i = 1; i < argc; ++i) line += std::string(" ") + argv[i];
    log::debug("command line: " + line);
  }
  auto accel = vm::parse_accel_request(g.accel);
  if (!accel) return cli::report_failure(app.get_subcommands().front()->get_name(), accel.error().describe());
  accel_request = *accel;
  // A reader that goes away is an EPIPE to handle, not a reason to die.
  ::signal(SIGPIPE, SIG_IGN);
  // The last resort: an exception that escapes a command (a bug) is
  // reported as a failure; unwinding on the way runs every owner's cleanup
  // (a half-created container's state directory goes with its StateDir).
  try {
    return selected ? selected() : 1;
  } catch (const std::exception& e) {
    return cli::report_failure(app.get_subcommands().front()->get_name(), std::string("internal error: ") + e.what());
  }
}
