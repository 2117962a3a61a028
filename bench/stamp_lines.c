/* stamp_lines FILE: follows FILE (waiting for it to appear) and prints each
 * line written to it as "SECONDS.MICROS<TAB>line", the wall-clock time at
 * which the line's first byte was seen (polled every 0.5 ms). Used by
 * bench/profile_boot.sh to put the guest console's lines (a VM's serial
 * console is a file that QEMU writes byte by byte) on the host's clock, next
 * to strace's timestamps. Stops on SIGTERM or SIGINT, after one last read.
 *
 * Build: cc -O2 -o stamp_lines stamp_lines.c */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static double now(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: stamp_lines FILE\n");
    return 2;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  setvbuf(stdout, NULL, _IOLBF, 0);

  struct timespec tick = {0, 500000};
  int fd = -1;
  while (fd < 0 && !stop) {
    fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0) nanosleep(&tick, NULL);
  }
  if (fd < 0) return 0;

  char line[4096];
  size_t len = 0;
  double line_start = 0;
  for (;;) {
    int last = stop;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
      double t = now();
      for (ssize_t i = 0; i < n; i++) {
        if (len == 0) line_start = t;
        if (buf[i] == '\n' || len == sizeof line - 1) {
          line[len] = 0;
          if (len && line[len - 1] == '\r') line[len - 1] = 0;
          printf("%.6f\t%s\n", line_start, line);
          len = 0;
          if (buf[i] == '\n') continue;
        }
        if (buf[i] != '\n') line[len++] = buf[i];
      }
    }
    if (last) break;
    nanosleep(&tick, NULL);
  }
  if (len) {
    line[len] = 0;
    printf("%.6f\t%s\n", line_start, line);
  }
  return 0;
}
