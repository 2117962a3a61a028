// runvm spec: write runc's default config.json into the bundle.
#include <fcntl.h>

#include "cli/commands.h"
#include "common/io.h"
#include "oci/spec.h"

namespace runvm::cli {

void add_spec_command(CLI::App& app, const GlobalOptions&, CommandRunner& selected) {
  auto bundle = std::make_shared<std::string>(".");
  CLI::App* cmd = app.add_subcommand("spec", "create a new specification file (config.json)");
  cmd->add_option("--bundle,-b", *bundle, "path to the bundle")->capture_default_str();
  cmd->callback([&selected, bundle] {
    selected = [bundle]() -> int {
      std::string path = *bundle + "/config.json";
      auto fd = io::open_file(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
      if (!fd) {
        if (fd.error().errno_value() == EEXIST) return report_failure("spec", "File " + path + " exists. Remove it first");
        return report_failure("spec", fd.error().describe());
      }
      if (Status s = io::write_all(fd->get(), oci::default_spec_json()); !s)
        return report_failure("spec", s.error().describe());
      return 0;
    };
  });
}

}  // namespace runvm::cli
