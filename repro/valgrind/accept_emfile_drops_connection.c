/* valgrind: accept(2) with no free descriptor (RLIMIT_NOFILE at the lowest free one) fails with EMFILE but
 * takes the pending connection off the queue: valgrind lets the kernel accept it, finds the new descriptor
 * beyond its limit, closes it and returns EMFILE. Linux fails before dequeuing: the connection stays queued
 * for the next accept. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  /* An abstract name: nothing to remove afterwards. */
  int n = snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1, "ipcsuite-repro-accept-%d", (int)getpid());
  socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  if (l < 0 || bind(l, (struct sockaddr*)&addr, len) != 0 || listen(l, 4) != 0) return perror("listen"), 2;
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  if (c < 0 || connect(c, (struct sockaddr*)&addr, len) != 0) return perror("connect"), 2;
  pid_t pid = fork();
  if (pid == 0) {
    int lowest = dup(0);
    if (lowest < 0) _exit(2);
    close(lowest);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(2);
    rl.rlim_cur = (rlim_t)lowest;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(2);
    int a = accept(l, NULL, NULL);
    printf("accept with no free descriptor: %s\n", a < 0 ? strerror(errno) : "accepted");
    fflush(stdout);
    _exit(a < 0 && errno == EMFILE ? 0 : 3);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return 2;
  fcntl(l, F_SETFL, O_NONBLOCK);
  int a = accept(l, NULL, NULL);
  printf("the next accept: %s\n", a < 0 ? strerror(errno) : "the connection was still queued");
  return a >= 0 ? 0 : 1;
}
