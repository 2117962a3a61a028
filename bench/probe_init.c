/* An instrumented stand-in for runvm's guest agent, used by
 * bench/profile_boot.sh to see where the guest's share of `runvm run` goes.
 * As PID 1 it repeats the agent's boot steps (src/agent/boot.cc: mount
 * /proc, /sys, /dev; load the modules listed in /etc/runvm/modules; mount
 * the virtio-fs share "rootfs" at /container; find and open the
 * virtio-serial port "runvm.agent"), then starts /bin/true from the share in
 * new mount and PID namespaces, as the agent starts a container process,
 * and powers off. After each step it writes a line to /dev/kmsg at error
 * level, so it reaches the console even with "quiet" and carries the
 * kernel's timestamp:  bench-probe: STEP
 *
 * The kernel argument bench_probe=poweroff (passed to init as an
 * environment variable) makes it power off right after the first line: the
 * bare boot, with the same timestamp for "init". bench_dmesg=1 makes it copy
 * the kernel's whole log buffer to the console before powering off (with
 * initcall_debug: how long each module's init took).
 *
 * Build: cc -static -O2 -o init probe_init.c */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int kmsg = -1;

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...) {
  char line[512];
  int n = snprintf(line, sizeof line, "<3>bench-probe: ");
  va_list ap;
  va_start(ap, fmt);
  n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  va_end(ap);
  if (kmsg >= 0 && n > 0) (void)!write(kmsg, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void dump_kernel_log(void) {
  const char *want = getenv("bench_dmesg");
  if (!want || strcmp(want, "1") != 0) return;
  int size = klogctl(10, NULL, 0); /* SYSLOG_ACTION_SIZE_BUFFER */
  if (size <= 0) return;
  char *buf = malloc((size_t)size);
  int n = buf ? klogctl(3, buf, size) : -1; /* SYSLOG_ACTION_READ_ALL */
  int console = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
  if (n > 0 && console >= 0) {
    (void)!write(console, "bench-probe: dmesg begin\n", 25);
    for (int off = 0; off < n;) {
      ssize_t w = write(console, buf + off, (size_t)(n - off));
      if (w <= 0) break;
      off += (int)w;
    }
    (void)!write(console, "bench-probe: dmesg end\n", 23);
  }
  if (console >= 0) close(console);
  free(buf);
}

static void power_off(void) {
  dump_kernel_log();
  sync();
  reboot(RB_POWER_OFF);
  reboot(RB_AUTOBOOT);
  for (;;) pause();
}

static void sleep_ms(int ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

static const char *module_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

static void load_modules(void) {
  FILE *list = fopen("/etc/runvm/modules", "r");
  if (!list) {
    note("FAIL open /etc/runvm/modules: %s", strerror(errno));
    return;
  }
  char path[512];
  while (fgets(path, sizeof path, list)) {
    path[strcspn(path, "\n")] = 0;
    if (!path[0] || path[0] == '#') continue;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST))
      note("FAIL load %s: %s", path, strerror(errno));
    else
      note("module %s", module_name(path));
    if (fd >= 0) close(fd);
  }
  fclose(list);
}

static int find_port(char *device, size_t size) {
  DIR *dir = opendir("/sys/class/virtio-ports");
  if (!dir) return 0;
  int found = 0;
  struct dirent *e;
  while (!found && (e = readdir(dir))) {
    if (e->d_name[0] == '.') continue;
    char path[512], name[64] = "";
    snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = read(fd, name, sizeof name - 1);
    close(fd);
    if (n > 0 && strncmp(name, "runvm.agent", 11) == 0) {
      snprintf(device, size, "/dev/%s", e->d_name);
      found = 1;
    }
  }
  closedir(dir);
  return found;
}

static int container_child(void *arg) {
  (void)arg;
  mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  mount("proc", "/container/proc", "proc", 0, NULL);
  mount("tmpfs", "/container/dev", "tmpfs", MS_NOSUID, "mode=755,size=65536k");
  if (chdir("/container") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
    _exit(120);
  char *argv[] = {"/bin/true", NULL};
  char *envp[] = {"PATH=/bin", NULL};
  execve(argv[0], argv, envp);
  _exit(127);
}

int main(void) {
  mkdir("/dev", 0755);
  mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
  note("init");
  const char *mode = getenv("bench_probe");
  if (mode && strcmp(mode, "poweroff") == 0) {
    note("poweroff");
    power_off();
  }

  mkdir("/proc", 0755);
  mkdir("/sys", 0755);
  mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  note("mounted proc, sys, dev");

  load_modules();

  mkdir("/container", 0755);
  int tries = 0;
  while (mount("rootfs", "/container", "virtiofs", 0, NULL) < 0) {
    if (++tries > 5000) {
      note("FAIL mount virtiofs: %s", strerror(errno));
      power_off();
    }
    sleep_ms(2);
  }
  note("virtiofs mounted (%d retries)", tries);

  char device[300];
  tries = 0;
  while (!find_port(device, sizeof device)) {
    if (++tries > 5000) {
      note("FAIL no port runvm.agent");
      power_off();
    }
    sleep_ms(2);
  }
  int port = open(device, O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  note("port open (%d retries)%s", tries, port < 0 ? " FAIL" : "");

  static char stack[256 * 1024];
  pid_t pid = clone(container_child, stack + sizeof stack, CLONE_NEWNS | CLONE_NEWPID | SIGCHLD, NULL);
  int status = -1;
  if (pid > 0) waitpid(pid, &status, 0);
  note("container /bin/true exited (status %d)", status);

  sync();
  note("poweroff");
  power_off();
}
