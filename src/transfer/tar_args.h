// The command line of the built-in tar: what kubectl cp, docker cp-like
// tools and people type, parsed the way GNU tar parses it (old-style
// "cf -" bundles, "-xvf -" clusters, long options, "--").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace runvm::transfer {

struct TarCommand {
  enum class Mode { kNone, kCreate, kExtract };
  Mode mode = Mode::kNone;
  std::string archive = "-";  // -f; "-" is stdin or stdout
  bool verbose = false;       // -v
  bool touch = false;         // -m
  std::optional<bool> same_owner;        // --same-owner, --no-same-owner, -o; default: are we root
  std::optional<bool> same_permissions;  // -p, --no-same-permissions; default: are we root
  bool xattrs = false;                   // --xattrs, as GNU tar: off by default
  std::string directory;  // the last -C, where x extracts to
  // c: the paths to archive, each with the -C directory in force where it
  // appeared (-C is positional and cumulative, as in GNU tar).
  struct Member {
    std::string directory;
    std::string path;
  };
  std::vector<Member> members;
};

// argv[0] is the program's name. Errors are worded as GNU tar's, without
// the "tar: " prefix.
Result<TarCommand> parse_tar_args(const std::vector<std::string>& argv);

}  // namespace runvm::transfer
