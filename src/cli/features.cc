// runvm features: what this runtime supports, in runc's JSON shape.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "oci/mount_options.h"
#include "oci/seccomp.h"

namespace runvm::cli {

void add_features_command(CLI::App& app, const GlobalOptions&, CommandRunner& selected) {
  CLI::App* cmd = app.add_subcommand("features", "show what runvm supports (JSON)");
  cmd->callback([&selected] {
    selected = []() -> int {
      nlohmann::ordered_json f;
      f["ociVersionMin"] = "1.0.0";
      f["ociVersionMax"] = "1.2.0";
      f["hooks"] = {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"};
      f["mountOptions"] = oci::known_mount_options();
      // The guest gives every container its own cgroup namespace; user and
      // time namespaces are refused (oci/spec.cc).
      f["linux"]["namespaces"] = {"cgroup", "ipc", "mount", "network", "pid", "uts"};
      f["linux"]["capabilities"] = nlohmann::json::array();
      f["linux"]["cgroup"] = {{"v1", false}, {"v2", true}, {"systemd", false}, {"systemdUser", false}};
      // Enforced in the guest (agent/seccomp.h); SCMP_ACT_NOTIFY is refused.
      f["linux"]["seccomp"] = {{"enabled", true},
                               {"actions", oci::seccomp_supported_actions()},
                               {"operators", oci::seccomp_supported_operators()},
                               {"archs", oci::seccomp_supported_architectures()},
                               {"knownFlags", oci::seccomp_supported_flags()},
                               {"supportedFlags", oci::seccomp_supported_flags()}};
      // apparmorProfile, selinuxLabel and mountLabel are accepted and not
      // applied: the guest has no policy (ARCHITECTURE).
      f["linux"]["apparmor"] = {{"enabled", false}};
      f["linux"]["selinux"] = {{"enabled", false}};
      f["linux"]["intelRdt"] = {{"enabled", false}};
      f["annotations"] = {{"org.opencontainers.runc.version", RUNVM_VERSION},
                          {"io.github.runvm.isolation", "vm"}};
      std::printf("%s\n", f.dump(4).c_str());
      return 0;
    };
  });
}

}  // namespace runvm::cli
