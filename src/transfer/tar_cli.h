// The built-in tar: enough of GNU tar's command line for kubectl cp and
// docker cp-like tools on images that have no tar of their own
// (tar_args.h lists what is understood). Archives are uncompressed pax,
// written and read by export_tar and import_tar, so the same safety holds:
// nothing is read or written outside the root.
#pragma once

#include <string>
#include <vector>

namespace runvm::transfer {

// Runs `tar ARGS...` (argv[0] is the program's name) with the archive on
// in_fd / out_fd for "-f -" (the default), verbose names on out_fd, or on
// err_fd when the archive goes to out_fd, as GNU tar. Paths are relative to
// the working directory, inside "/" (the agent has chrooted into the
// container). Returns 0, or 2 after "tar: ..." messages on err_fd.
int run_tar_command(const std::vector<std::string>& argv, int in_fd, int out_fd, int err_fd);

// The same inside root_fd, with `cwd` the working directory relative to
// it: for callers that have not chrooted, and for tests.
int run_tar_command_at(int root_fd, const std::string& cwd, const std::vector<std::string>& argv,
                       int in_fd, int out_fd, int err_fd);

}  // namespace runvm::transfer
