/* A tiny TCP benchmark tool for bench/net_bench.sh (IPv4 only, built with
 * `cc -static -O2` so it runs in a bare busybox rootfs):
 *   nettool server PORT            accepts connections forever, one child
 *       each; first byte 'T': reads and discards until EOF, then replies
 *       with the byte count (after the 'T') as text; 'R': echoes every
 *       following byte back.
 *   nettool stream HOST PORT SECS  sends 'T', then 64 KiB writes for SECS
 *       seconds, shuts down its write side, reads the server's count and
 *       prints throughput_mbit=<count * 8 / elapsed / 1e6> (elapsed: from
 *       connect to the count's arrival, so every counted byte was received).
 *   nettool rr HOST PORT COUNT     sends 'R', then COUNT one-byte round
 *       trips (TCP_NODELAY), prints rr_median_us=<f> rr_p90_us=<f>.
 * Exit status: 0 on success, 1 on a network or I/O error, 2 on bad usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

static void fail(const char *what) {
  fprintf(stderr, "nettool: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long arg_num(const char *s, const char *what, long lo, long hi) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end || end == s || v < lo || v > hi) {
    fprintf(stderr, "nettool: bad %s '%s' (%ld..%ld)\n", what, s, lo, hi);
    exit(2);
  }
  return v;
}

static void write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) fail("write");
    p += w;
    n -= (size_t)w;
  }
}

static ssize_t read_some(int fd, void *buf, size_t n) {
  ssize_t r;
  while ((r = read(fd, buf, n)) < 0 && errno == EINTR) {}
  return r;
}

static void nodelay(int fd) {
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) fail("TCP_NODELAY");
}

/* Connects to HOST:PORT, retrying refusals and unreachable routes for up to
 * 10 s (an interface or the server may still be coming up). */
static int dial(const char *host, const char *port_s) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_port = htons((unsigned short)arg_num(port_s, "port", 1, 65535));
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
    fprintf(stderr, "nettool: bad IPv4 address '%s'\n", host);
    exit(2);
  }
  double deadline = now() + 10;
  for (;;) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) fail("socket");
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) return fd;
    int e = errno;
    close(fd);
    errno = e;
    if ((e != ECONNREFUSED && e != ENETUNREACH && e != EHOSTUNREACH && e != EINTR) || now() > deadline)
      fail("connect");
    usleep(100 * 1000);
  }
}

static void serve_one(int c) {
  static char buf[CHUNK];
  char kind;
  if (read_some(c, &kind, 1) != 1) return;
  if (kind == 'T') {
    unsigned long long total = 0;
    ssize_t r;
    while ((r = read_some(c, buf, sizeof buf)) > 0) total += (unsigned long long)r;
    if (r < 0) fail("read");
    char reply[32];
    int n = snprintf(reply, sizeof reply, "%llu\n", total);
    write_all(c, reply, (size_t)n);
  } else if (kind == 'R') {
    nodelay(c);
    ssize_t r;
    while ((r = read_some(c, buf, sizeof buf)) > 0) write_all(c, buf, (size_t)r);
    if (r < 0) fail("read");
  } else {
    fprintf(stderr, "nettool: unknown request byte 0x%02x\n", (unsigned char)kind);
  }
}

static int server(const char *port_s) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
  a.sin_port = htons((unsigned short)arg_num(port_s, "port", 1, 65535));
  int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) fail("socket");
  if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) fail("SO_REUSEADDR");
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) fail("bind");
  if (listen(s, 16) < 0) fail("listen");
  signal(SIGCHLD, SIG_IGN); /* no zombies */
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      fail("accept");
    }
    pid_t pid = fork();
    if (pid == 0) {
      close(s);
      serve_one(c);
      _exit(0);
    }
    if (pid < 0) perror("nettool: fork");
    close(c);
  }
}

static int stream(const char *host, const char *port_s, const char *secs_s) {
  static char buf[CHUNK];
  double secs = (double)arg_num(secs_s, "seconds", 1, 3600);
  int fd = dial(host, port_s);
  double t0 = now(), end = t0 + secs;
  write_all(fd, "T", 1);
  memset(buf, 'x', sizeof buf);
  while (now() < end) write_all(fd, buf, sizeof buf);
  if (shutdown(fd, SHUT_WR) < 0) fail("shutdown");
  char reply[64];
  size_t got = 0;
  ssize_t r;
  while (got < sizeof reply - 1 && (r = read_some(fd, reply + got, sizeof reply - 1 - got)) > 0) got += (size_t)r;
  double elapsed = now() - t0;
  reply[got] = '\0';
  char *e;
  unsigned long long count = strtoull(reply, &e, 10);
  if (got == 0 || e == reply || *e != '\n') {
    fprintf(stderr, "nettool: no byte count from the server (got '%s')\n", reply);
    return 1;
  }
  close(fd);
  printf("throughput_mbit=%.1f\n", count * 8 / elapsed / 1e6);
  printf("stream_bytes=%llu stream_seconds=%.3f\n", count, elapsed);
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int rr(const char *host, const char *port_s, const char *count_s) {
  long count = arg_num(count_s, "count", 1, 10000000);
  double *us = malloc(sizeof *us * (size_t)count);
  if (!us) fail("malloc");
  int fd = dial(host, port_s);
  nodelay(fd);
  write_all(fd, "R", 1);
  for (long i = 0; i < count; i++) {
    char c = (char)('a' + i % 26), back;
    double t0 = now();
    write_all(fd, &c, 1);
    ssize_t r = read_some(fd, &back, 1);
    if (r < 0) fail("read");
    if (r == 0 || back != c) {
      fprintf(stderr, "nettool: echo %ld: %s\n", i, r == 0 ? "connection closed" : "wrong byte");
      return 1;
    }
    us[i] = (now() - t0) * 1e6;
  }
  close(fd);
  qsort(us, (size_t)count, sizeof *us, cmp_double);
  double median = count % 2 ? us[count / 2] : (us[count / 2 - 1] + us[count / 2]) / 2;
  printf("rr_median_us=%.1f rr_p90_us=%.1f\n", median, us[(count * 9 - 1) / 10]);
  free(us);
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN); /* a closed peer is a write error, not a signal */
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 3 && !strcmp(argv[1], "server")) return server(argv[2]);
  if (argc == 5 && !strcmp(argv[1], "stream")) return stream(argv[2], argv[3], argv[4]);
  if (argc == 5 && !strcmp(argv[1], "rr")) return rr(argv[2], argv[3], argv[4]);
  fprintf(stderr,
          "usage: nettool server PORT\n"
          "       nettool stream HOST PORT SECONDS\n"
          "       nettool rr HOST PORT COUNT\n");
  return 2;
}
