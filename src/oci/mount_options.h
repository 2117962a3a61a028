// A mount's options as runc reads them (libcontainer/specconv's
// parseMountOptions, runc 1.1): mount(2) flags, propagation changes made
// after the mount, recursive attributes set with mount_setattr(2), and
// what is left for the filesystem as its data. Shared by the host (which
// mounts are binds, which shares are read-only, `runvm features`) and the
// agent (which mounts them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "oci/spec.h"

namespace runvm::oci {

struct MountOptions {
  unsigned long flags = 0;  // MS_RDONLY, MS_NOSUID, ..., MS_BIND (| MS_REC), MS_REMOUNT
  // Propagation changes, in the spec's order, each a mount(2) of its own
  // after the mount: MS_SHARED, MS_SLAVE | MS_REC, ...
  std::vector<unsigned long> propagation;
  // rro, rnosuid, ...: MOUNT_ATTR_* set and cleared on the mount and every
  // mount below it (mount_setattr with AT_RECURSIVE).
  uint64_t attr_set = 0, attr_clr = 0;
  bool tmpcopyup = false;  // runc's extension: the tmpfs starts with what it covers
  std::string data;        // every other option, comma-separated, for the filesystem

  bool bind() const;                // bind or rbind
  bool recursive_bind() const;      // rbind
  bool readonly() const;            // ro (the last of ro and rw)
  bool recursive_readonly() const;  // rro (the last of rro and rrw)
};

MountOptions parse_mount_options(const std::vector<std::string>& options);

// A bind mount: type "bind", or the bind or rbind option (runc takes any
// type with those as a bind).
bool is_bind(const Mount& m);

// Every option word parse_mount_options knows (not data), for `runvm features`.
std::vector<std::string> known_mount_options();

// linux.rootfsPropagation as runc maps it: "" (none: runc's default), shared,
// slave, private, unbindable and their r forms; nullopt for anything else.
std::optional<unsigned long> root_propagation_flags(const std::string& value);

}  // namespace runvm::oci
