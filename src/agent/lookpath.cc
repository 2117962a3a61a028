#include "agent/lookpath.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace runvm::agent {
namespace {

constexpr const char* kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Go's error strings are strerror's, lower-cased at the start.
std::string go_strerror(int err) {
  std::string s = std::strerror(err);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

// 0 if path is an executable regular file, else the errno Go would report.
int check_executable(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) < 0) return errno;
  if (!S_ISDIR(st.st_mode) && (st.st_mode & 0111) != 0) return 0;
  return EACCES;
}

std::string env_path(const std::vector<std::string>& env) {
  for (const auto& kv : env)
    if (kv.rfind("PATH=", 0) == 0) return kv.substr(5);
  return kDefaultPath;
}

}  // namespace

LookPathResult look_path(const std::string& file, const std::vector<std::string>& env) {
  if (file.find('/') != std::string::npos) {
    int err = check_executable(file);
    if (err == 0) return {file, "", 0};
    if (err == EACCES) return {"", "exec: \"" + file + "\": permission denied", 126};
    return {"", "exec: \"" + file + "\": stat " + file + ": " + go_strerror(err), 127};
  }
  std::stringstream dirs(env_path(env));
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + file;
    if (check_executable(candidate) == 0) return {candidate, "", 0};
  }
  return {"", "exec: \"" + file + "\": executable file not found in $PATH", 127};
}

LookPathResult exec_failure(const std::string& path, int err) {
  int code = (err == ENOENT || err == ENOTDIR) ? 127 : 126;
  return {"", "exec " + path + ": " + go_strerror(err), code};
}

}  // namespace runvm::agent
