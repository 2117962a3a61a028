#include "agent/boot.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "common/io.h"
#include "common/log.h"

namespace runvm::agent {
namespace {

Status mount_fs(const char* source, const char* target, const char* type,
                unsigned long flags, const char* data = nullptr) {
  ::mkdir(target, 0755);
  if (::mount(source, target, type, flags, data) < 0)
    return fail_errno(std::string("mount ") + type + " on " + target);
  return ok();
}

// Retries f until it succeeds or the deadline passes: devices announce
// themselves asynchronously after their driver loads.
template <typename F>
auto retry_for(std::chrono::milliseconds limit, F f) -> decltype(f()) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto result = f();
    if (result || std::chrono::steady_clock::now() >= deadline) return result;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Result<std::string> find_port_device(const std::string& name) {
  DIR* dir = ::opendir("/sys/class/virtio-ports");
  if (!dir) return fail_errno("open /sys/class/virtio-ports");
  std::string found;
  while (struct dirent* e = ::readdir(dir)) {
    std::string port = e->d_name;
    if (port[0] == '.') continue;
    auto port_name = io::read_file("/sys/class/virtio-ports/" + port + "/name");
    if (port_name && trim(*port_name) == name) found = "/dev/" + port;
  }
  ::closedir(dir);
  if (found.empty()) return fail("no virtio-serial port named " + name);
  return found;
}

}  // namespace

Status mount_guest_filesystems() {
  TRY(mount_fs("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC));
  TRY(mount_fs("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC));
  TRY(mount_fs("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"));
  TRY(mount_fs("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
               "newinstance,ptmxmode=0666,mode=0620"));
  TRY(mount_fs("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"));
  return ok();
}

Status load_modules(const char* list_path) {
  std::ifstream list(list_path);
  if (!list) return fail_errno(std::string("open ") + list_path);
  std::string path;
  while (std::getline(list, path)) {
    if (path.empty() || path[0] == '#') continue;
    UniqueFd fd = TRY(io::open_file(path, O_RDONLY));
    if (::syscall(SYS_finit_module, fd.get(), "", 0) < 0 && errno != EEXIST)
      return fail_errno("load module " + path);
  }
  return ok();
}

Status mount_container_root() {
  ::mkdir(kContainerRoot, 0755);
  return retry_for(std::chrono::seconds(10), [] {
    return mount_fs(kRootTag, kContainerRoot, "virtiofs", 0);
  });
}

std::string share_path(const std::string& tag) { return "/run/runvm-shares/" + tag; }

Status mount_share(const std::string& tag) {
  std::string path = share_path(tag);
  struct stat st;
  if (::stat((path + "/.").c_str(), &st) == 0 && ::stat("/run/runvm-shares", &st) == 0) {
    // Already mounted if it is a different device from its parent.
    struct stat parent, self;
    if (::stat("/run/runvm-shares", &parent) == 0 && ::stat(path.c_str(), &self) == 0 &&
        parent.st_dev != self.st_dev)
      return ok();
  }
  ::mkdir("/run", 0755);
  ::mkdir("/run/runvm-shares", 0700);
  return retry_for(std::chrono::seconds(10), [&] { return mount_fs(tag.c_str(), path.c_str(), "virtiofs", 0); });
}

Result<UniqueFd> open_host_port() {
  std::string device = TRY(retry_for(std::chrono::seconds(10), [] {
    return find_port_device(kPortName);
  }));
  return io::open_file(device, O_RDWR | O_NONBLOCK | O_NOCTTY);
}

void log_to_console() {
  int fd = ::open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return;
  log::set_sink([fd](log::Level level, const std::string& message) {
    std::string line = std::string("runvm-agent: ") + log::level_name(level) +
                       ": " + message + "\n";
    (void)!::write(fd, line.data(), line.size());
  });
}

void power_off() {
  ::sync();
  ::reboot(RB_POWER_OFF);
  // Only reached if the machine ignored the request: a reboot makes QEMU
  // (started with -no-reboot) exit.
  ::reboot(RB_AUTOBOOT);
  for (;;) ::pause();
}

}  // namespace runvm::agent
