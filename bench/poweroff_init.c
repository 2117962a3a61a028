/* PID 1 for the bare-boot baseline of bench/run_boot_bench.sh: powers the
 * VM off at once. QEMU runs with -no-reboot, so a reboot (the fallback)
 * ends it too. Build: cc -static -O2 -o init poweroff_init.c */
#include <sys/reboot.h>
#include <unistd.h>

int main(void) {
  reboot(RB_POWER_OFF);
  reboot(RB_AUTOBOOT);
  for (;;) pause();
}
