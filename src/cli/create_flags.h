// The flags create and run share.
#pragma once

#include "cli/commands.h"

namespace runvm::cli {

struct CreateFlags {
  std::string id, bundle = ".", pid_file, console_socket;
  bool no_pivot = false, no_new_keyring = false;
  int preserve_fds = 0;
};

void add_create_flags(CLI::App* cmd, CreateFlags& f);
runtime::CreateOptions create_options(const GlobalOptions& g, const CreateFlags& f);

}  // namespace runvm::cli
