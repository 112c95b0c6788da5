/* repro-systems: qemu-user valgrind
 * seccomp(2) fails with ENOSYS, so the suite's fault layer (a seccomp user-notification filter) cannot run
 * there. Linux installs the filter.
 * qemu-user: qemu does not implement seccomp filters for the guest. valgrind: "unhandled amd64-linux syscall:
 * 317". */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
  struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
  struct sock_fprog prog = {1, allow};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return perror("prctl"), 2;
  /* No glibc wrapper for seccomp(2) in glibc 2.36: the raw call. */
  long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
  printf("seccomp(SECCOMP_SET_MODE_FILTER): %s\n", r == 0 ? "installed" : strerror(errno));
  return r == 0 ? 0 : 1;
}
