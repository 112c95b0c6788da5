/* ipcsuite_floor: what this machine charges for the least a test process is, for `./ipcsuite bench runner`.
 *
 *   ipcsuite_floor N
 *
 * Forks N minimal children one after another (this program links only the C library), each of which ends at
 * once, and reaps each; then N more, each of which first enters a fresh IPC namespace (unshare(CLONE_NEWIPC),
 * as every test process does) and then ends. Prints one line: the wall microseconds per child of each,
 * "plain <us> ipcns <us>", the second "-" where unshare is refused (no CAP_SYS_ADMIN). A fork server's
 * test process does this and more (a larger process to copy, GoogleTest's run of one test, the runner's
 * side), so the runner's cost per test can be read as a multiple of this floor, which differs across machines
 * (page-table and fault costs of a VM) far more than that multiple does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* Wall microseconds per child; -1 when a child reported that unshare was refused. */
static double per_child(long n, int ipcns) {
  double started = now_us();
  for (long i = 0; i < n; ++i) {
    pid_t pid = fork();
    if (pid < 0) {
      fprintf(stderr, "ipcsuite_floor: fork: %s\n", strerror(errno));
      exit(1);
    }
    if (pid == 0) _exit(ipcns && unshare(CLONE_NEWIPC) != 0 ? 3 : 0);
    int status;
    while (waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) {
        fprintf(stderr, "ipcsuite_floor: waitpid: %s\n", strerror(errno));
        exit(1);
      }
    }
    if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 3)) {
      fprintf(stderr, "ipcsuite_floor: a child ended with status %d\n", status);
      exit(1);
    }
    if (WEXITSTATUS(status) == 3) return -1;
  }
  return (now_us() - started) / (double)n;
}

int main(int argc, char** argv) {
  char* end = NULL;
  long n = argc == 2 ? strtol(argv[1], &end, 10) : 0;
  if (argc != 2 || end == argv[1] || *end != '\0' || n < 1 || n > 1000000) {
    fprintf(stderr, "usage: ipcsuite_floor N (1..1000000)\n");
    return 2;
  }
  double plain = per_child(n, 0);
  double ipcns = per_child(n, 1);
  if (ipcns < 0)
    printf("plain %.1f ipcns -\n", plain);
  else
    printf("plain %.1f ipcns %.1f\n", plain, ipcns);
  return 0;
}
