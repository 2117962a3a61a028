// runvm features: what this runtime supports, in runc's JSON shape.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.h"

namespace runvm::cli {

void add_features_command(CLI::App& app, const GlobalOptions&, CommandRunner& selected) {
  CLI::App* cmd = app.add_subcommand("features", "show what runvm supports (JSON)");
  cmd->callback([&selected] {
    selected = []() -> int {
      nlohmann::ordered_json f;
      f["ociVersionMin"] = "1.0.0";
      f["ociVersionMax"] = "1.2.0";
      f["hooks"] = {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"};
      f["mountOptions"] = {"ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec",
                           "relatime", "strictatime", "noatime", "sync"};
      f["linux"]["namespaces"] = {"mount", "pid", "network", "ipc", "uts"};
      f["linux"]["capabilities"] = nlohmann::json::array();
      f["linux"]["cgroup"] = {{"v1", false}, {"v2", true}, {"systemd", false}, {"systemdUser", false}};
      f["linux"]["seccomp"] = {{"enabled", false}};
      f["linux"]["apparmor"] = {{"enabled", false}};
      f["linux"]["selinux"] = {{"enabled", false}};
      f["annotations"] = {{"org.opencontainers.runc.version", RUNVM_VERSION},
                          {"io.github.runvm.isolation", "vm"}};
      std::printf("%s\n", f.dump(4).c_str());
      return 0;
    };
  });
}

}  // namespace runvm::cli
