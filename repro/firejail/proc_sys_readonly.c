/* firejail: /proc/sys is mounted read-only in the sandbox (by design, even for root and inside a new IPC
 * namespace), so the IPC limits of a namespace (kernel.msgmni, kernel.sem, kernel.shmmax, ...) cannot be set.
 * On the host, root sets them in a new IPC namespace of its own. Needs root (CAP_SYS_ADMIN). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  if (unshare(CLONE_NEWIPC) != 0) return perror("unshare(CLONE_NEWIPC)"), 77; /* no CAP_SYS_ADMIN */
  int fd = open("/proc/sys/kernel/msgmni", O_WRONLY | O_CLOEXEC);
  int e = errno;
  ssize_t n = fd >= 0 ? write(fd, "4\n", 2) : -1;
  if (fd >= 0) close(fd);
  printf("writing kernel.msgmni in a new IPC namespace: %s\n",
         n == 2 ? "done" : strerror(fd >= 0 ? errno : e));
  return n == 2 ? 0 : 1;
}
