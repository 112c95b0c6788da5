/* valgrind: pipe() that fails with EMFILE (valgrind's own descriptor limit) has written two descriptor
 * numbers into the caller's array: valgrind lets the kernel create the pipe, then closes it and fails the
 * call. On Linux a failed pipe() leaves the array unchanged (pipe(2)). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int main(void) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = 16;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return perror("setrlimit"), 2;
  while (dup(0) >= 0) {
  }
  int fds[2] = {-7, -9};
  int r = pipe(fds), e = errno;
  printf("pipe() with no free descriptor: %s, array {%d, %d} (Linux: EMFILE, {-7, -9})\n",
         r == 0 ? "succeeded" : strerror(e), fds[0], fds[1]);
  return r == -1 && e == EMFILE && fds[0] == -7 && fds[1] == -9 ? 0 : 1;
}
