/* ociinit: pid 1 of an oci:RUNTIME container (runner/target_oci.py), as `docker run --init` gives one.
 *
 *   ociinit -- PROGRAM [ARGS...]     run PROGRAM as pid 2, reap every orphan, exit as PROGRAM did
 *   ociinit --probe                   print "ok" and exit 0 (the runtime's start-up probe)
 *
 * PROGRAM (a test binary or its fork server) then sees the pid-namespace rules a containerised workload
 * sees, not those of pid 1 (which ignores signals it has no handler for). SIGTERM, SIGINT and SIGHUP are
 * passed on to PROGRAM; PROGRAM dies with ociinit (PR_SET_PDEATHSIG), and the namespace's other processes
 * with the namespace's pid 1. Linked statically: the probe's rootfs holds nothing else.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t child = -1;

static void forward(int sig) {
  if (child > 0) kill(child, sig);
}

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "--probe") == 0) {
    puts("ok");
    return 0;
  }
  if (argc < 3 || strcmp(argv[1], "--") != 0) {
    fprintf(stderr, "usage: ociinit -- PROGRAM [ARGS...] | ociinit --probe\n");
    return 125;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = forward;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "ociinit: fork: %s\n", strerror(errno));
    return 125;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    execvp(argv[2], argv + 2);
    fprintf(stderr, "ociinit: exec %s: %s\n", argv[2], strerror(errno));
    _exit(127);
  }
  child = pid;
  for (;;) {
    int s;
    pid_t w = waitpid(-1, &s, 0);
    if (w == pid) {
      if (WIFEXITED(s)) return WEXITSTATUS(s);
      return 128 + WTERMSIG(s);
    }
    if (w < 0 && errno != EINTR) {
      fprintf(stderr, "ociinit: waitpid: %s\n", strerror(errno));
      return 125;
    }
  }
}
