#include "oci/mount_options.h"

#include <sys/mount.h>

#include <algorithm>
#include <map>

namespace runvm::oci {
namespace {

struct Flag {
  bool clear;
  unsigned long flag;
};

// runc 1.1's table (specconv's mountFlags), with acl and nosymfollow from
// 1.1.5's `runc features`.
const std::map<std::string, Flag>& flag_table() {
  static const std::map<std::string, Flag> kFlags = {
      {"acl", {false, MS_POSIXACL}},         {"async", {true, MS_SYNCHRONOUS}},
      {"atime", {true, MS_NOATIME}},         {"bind", {false, MS_BIND}},
      {"defaults", {false, 0}},              {"dev", {true, MS_NODEV}},
      {"diratime", {true, MS_NODIRATIME}},   {"dirsync", {false, MS_DIRSYNC}},
      {"exec", {true, MS_NOEXEC}},           {"iversion", {false, MS_I_VERSION}},
      {"lazytime", {false, MS_LAZYTIME}},    {"loud", {true, MS_SILENT}},
      {"mand", {false, MS_MANDLOCK}},        {"noacl", {true, MS_POSIXACL}},
      {"noatime", {false, MS_NOATIME}},      {"nodev", {false, MS_NODEV}},
      {"nodiratime", {false, MS_NODIRATIME}}, {"noexec", {false, MS_NOEXEC}},
      {"noiversion", {true, MS_I_VERSION}},  {"nolazytime", {true, MS_LAZYTIME}},
      {"nomand", {true, MS_MANDLOCK}},       {"norelatime", {true, MS_RELATIME}},
      {"nostrictatime", {true, MS_STRICTATIME}}, {"nosuid", {false, MS_NOSUID}},
      {"nosymfollow", {false, MS_NOSYMFOLLOW}}, {"rbind", {false, MS_BIND | MS_REC}},
      {"relatime", {false, MS_RELATIME}},    {"remount", {false, MS_REMOUNT}},
      {"ro", {false, MS_RDONLY}},            {"rw", {true, MS_RDONLY}},
      {"silent", {false, MS_SILENT}},        {"strictatime", {false, MS_STRICTATIME}},
      {"suid", {true, MS_NOSUID}},           {"symfollow", {true, MS_NOSYMFOLLOW}},
      {"sync", {false, MS_SYNCHRONOUS}}};
  return kFlags;
}

const std::map<std::string, unsigned long>& propagation_table() {
  static const std::map<std::string, unsigned long> kPropagation = {
      {"private", MS_PRIVATE},           {"shared", MS_SHARED},
      {"slave", MS_SLAVE},               {"unbindable", MS_UNBINDABLE},
      {"rprivate", MS_PRIVATE | MS_REC}, {"rshared", MS_SHARED | MS_REC},
      {"rslave", MS_SLAVE | MS_REC},     {"runbindable", MS_UNBINDABLE | MS_REC}};
  return kPropagation;
}

struct Attr {
  bool clear;
  uint64_t attr;
};

// runc 1.1's recAttrFlags.
const std::map<std::string, Attr>& attr_table() {
  static const std::map<std::string, Attr> kAttrs = {
      {"rro", {false, MOUNT_ATTR_RDONLY}},           {"rrw", {true, MOUNT_ATTR_RDONLY}},
      {"rnosuid", {false, MOUNT_ATTR_NOSUID}},       {"rsuid", {true, MOUNT_ATTR_NOSUID}},
      {"rnodev", {false, MOUNT_ATTR_NODEV}},         {"rdev", {true, MOUNT_ATTR_NODEV}},
      {"rnoexec", {false, MOUNT_ATTR_NOEXEC}},       {"rexec", {true, MOUNT_ATTR_NOEXEC}},
      {"rnodiratime", {false, MOUNT_ATTR_NODIRATIME}}, {"rdiratime", {true, MOUNT_ATTR_NODIRATIME}},
      {"rrelatime", {false, MOUNT_ATTR_RELATIME}},   {"rnorelatime", {true, MOUNT_ATTR_RELATIME}},
      {"rnoatime", {false, MOUNT_ATTR_NOATIME}},     {"ratime", {true, MOUNT_ATTR_NOATIME}},
      {"rstrictatime", {false, MOUNT_ATTR_STRICTATIME}},
      {"rnostrictatime", {true, MOUNT_ATTR_STRICTATIME}},
      {"rnosymfollow", {false, MOUNT_ATTR_NOSYMFOLLOW}},
      {"rsymfollow", {true, MOUNT_ATTR_NOSYMFOLLOW}}};
  return kAttrs;
}

}  // namespace

bool MountOptions::bind() const { return (flags & MS_BIND) != 0; }
bool MountOptions::recursive_bind() const { return (flags & (MS_BIND | MS_REC)) == (MS_BIND | MS_REC); }
bool MountOptions::readonly() const { return (flags & MS_RDONLY) != 0; }
bool MountOptions::recursive_readonly() const { return (attr_set & MOUNT_ATTR_RDONLY) != 0; }

MountOptions parse_mount_options(const std::vector<std::string>& options) {
  MountOptions out;
  for (const auto& option : options) {
    if (auto f = flag_table().find(option); f != flag_table().end()) {
      // "defaults" sets nothing (runc passes it to the filesystem, which
      // refuses it: one of runvm's few leniencies).
      if (f->second.clear) out.flags &= ~f->second.flag;
      else out.flags |= f->second.flag;
    } else if (auto p = propagation_table().find(option); p != propagation_table().end()) {
      out.propagation.push_back(p->second);
    } else if (auto a = attr_table().find(option); a != attr_table().end()) {
      if (a->second.clear) {
        out.attr_clr |= a->second.attr;
        out.attr_set &= ~a->second.attr;
      } else {
        out.attr_set |= a->second.attr;
        out.attr_clr &= ~a->second.attr;
        // An access-time mode is set by clearing the field first
        // (mount_setattr(2)), as runc does.
        if ((a->second.attr & MOUNT_ATTR__ATIME) == a->second.attr) out.attr_clr |= MOUNT_ATTR__ATIME;
      }
    } else if (option == "tmpcopyup") {
      out.tmpcopyup = true;
    } else {
      out.data += (out.data.empty() ? "" : ",") + option;
    }
  }
  return out;
}

bool is_bind(const Mount& m) { return m.type == "bind" || parse_mount_options(m.options).bind(); }

std::vector<std::string> known_mount_options() {
  std::vector<std::string> out;
  for (const auto& [name, _] : flag_table()) out.push_back(name);
  for (const auto& [name, _] : propagation_table()) out.push_back(name);
  for (const auto& [name, _] : attr_table()) out.push_back(name);
  out.push_back("tmpcopyup");
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<unsigned long> root_propagation_flags(const std::string& value) {
  if (value.empty()) return 0;
  auto p = propagation_table().find(value);
  if (p == propagation_table().end()) return std::nullopt;
  return p->second;
}

}  // namespace runvm::oci
