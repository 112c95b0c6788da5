/* valgrind: pidfd_open(2) fails with ENOSYS (valgrind 3.19 has no wrapper for it, nor for pidfd_send_signal);
 * Linux 5.3+ returns a pidfd. Every test of a pidfd rule fails there with ENOSYS. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

int main(void) {
  int fd = pidfd_open(getpid(), 0);
  printf("pidfd_open(getpid()): %s\n", fd >= 0 ? "a pidfd" : strerror(errno));
  return fd >= 0 ? 0 : 1;
}
