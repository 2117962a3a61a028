// runvm list [-f table|json] [-q]: the containers under --root, as runc
// lists them.
#include <pwd.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "cli/commands.h"
#include "common/json_bytes.h"
#include "runtime/lifecycle.h"

namespace runvm::cli {
namespace {

std::string owner_of(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) < 0) return "";
  if (passwd* pw = ::getpwuid(st.st_uid)) return pw->pw_name;
  return "#" + std::to_string(st.st_uid);
}

// Columns padded like Go's tabwriter(minwidth 12, padding 3), which runc uses.
void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], row[i].size());
    }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(std::max<size_t>(width[i] + 3, 12) - row[i].size(), ' ');
    }
    std::printf("%s\n", line.c_str());
  }
}

}  // namespace

void add_list_command(CLI::App& app, const GlobalOptions& g, CommandRunner& selected) {
  auto format = std::make_shared<std::string>("table");
  auto quiet = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("list", "list containers");
  cmd->add_option("--format,-f", *format, "table or json")->capture_default_str();
  cmd->add_flag("--quiet,-q", *quiet, "print only the IDs");
  cmd->callback([&g, &selected, format, quiet] {
    selected = [&g, format, quiet]() -> int {
      if (*format != "table" && *format != "json") return report_failure("list", "invalid format option");
      auto containers = runtime::list_containers(g.root);
      if (*quiet) {
        for (const auto& c : containers) std::printf("%s\n", c.id.c_str());
        return 0;
      }
      if (*format == "json") {
        nlohmann::ordered_json all = nlohmann::ordered_json::array();
        for (const auto& c : containers)
          all.push_back(runtime::state_for_output(c, owner_of(g.root + "/" + c.id)));
        std::printf("%s\n", containers.empty() ? "null" : json_bytes::to_text(all).c_str());
        return 0;
      }
      std::vector<std::vector<std::string>> rows = {{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
      for (const auto& c : containers) {
        auto s = runtime::state_for_output(c);
        rows.push_back({c.id, std::to_string(s["pid"].get<int>()), s["status"], c.bundle, c.created,
                        owner_of(g.root + "/" + c.id)});
      }
      print_table(rows);
      return 0;
    };
  });
}

}  // namespace runvm::cli
