// The built-in tar as a static program: the size guard for the agent's
// link (see CMakeLists.txt), and a tar to try by hand.
#include <string>
#include <vector>

#include "transfer/tar_cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  return runvm::transfer::run_tar_command(args, 0, 1, 2);
}
