/* nsrun: run a program as a rootless container would: in fresh user, IPC, PID and mount namespaces.
 *
 *   nsrun [--uid-base N] -- PROGRAM [ARGS...]
 *
 * The user namespace maps uid/gid 0..65535 inside to N..N+65535 outside (N = 100000 by default) when the
 * caller is root, like a rootless container's subordinate ids; otherwise only the caller's own uid to 0.
 * Inside, a fresh /proc is mounted (the PID namespace's view) and PROGRAM runs as pid 2 under a minimal
 * pid 1 that reaps orphans, so it sees what a containerised workload sees, not the pid-1 signal rules.
 * nsrun exits as PROGRAM did (same exit code, or killed by the same signal), and every process of the
 * tree dies with nsrun (PR_SET_PDEATHSIG at each level; the PID namespace dies with its pid 1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char* what) {
  fprintf(stderr, "nsrun: %s: %s\n", what, strerror(errno));
  _exit(125);
}

static void write_file(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die(path);
  if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) die(path);
  close(fd);
}

int main(int argc, char** argv) {
  long base = 100000;
  int i = 1;
  for (; i < argc; ++i) {
    if (strcmp(argv[i], "--uid-base") == 0 && i + 1 < argc) {
      base = strtol(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--") == 0) {
      ++i;
      break;
    } else {
      break;
    }
  }
  if (i >= argc) {
    fprintf(stderr, "usage: nsrun [--uid-base N] -- PROGRAM [ARGS...]\n");
    return 125;
  }
  char** prog = argv + i;
  uid_t outer_uid = geteuid();
  gid_t outer_gid = getegid();

  int go[2], ready[2], status_pipe[2];
  if (pipe2(go, O_CLOEXEC) != 0 || pipe2(ready, O_CLOEXEC) != 0 || pipe2(status_pipe, O_CLOEXEC) != 0)
    die("pipe2");
  pid_t a = fork();
  if (a < 0) die("fork");
  if (a == 0) {
    /* A: enters the namespaces, waits for its id maps, forks pid 1 of the new PID namespace. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(go[1]);
    close(ready[0]);
    close(status_pipe[0]);
    if (unshare(CLONE_NEWUSER | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNS) != 0) die("unshare");
    if (write(ready[1], "r", 1) != 1) _exit(125);
    close(ready[1]);
    char c;
    if (read(go[0], &c, 1) != 1) _exit(125); /* the parent failed to write the maps */
    if (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0) die("setresuid(0) in the user namespace");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) die("making / private");
    pid_t b = fork();
    if (b < 0) die("fork");
    if (b == 0) {
      /* B: pid 1 of the PID namespace. */
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) die("mounting /proc");
      pid_t c2 = fork();
      if (c2 < 0) die("fork");
      if (c2 == 0) {
        /* C: the program, pid 2. Its parent is B, which lives as long as the namespace. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(status_pipe[1]);
        execvp(prog[0], prog);
        fprintf(stderr, "nsrun: exec %s: %s\n", prog[0], strerror(errno));
        _exit(127);
      }
      int st = 0;
      for (;;) {
        int s;
        pid_t w = waitpid(-1, &s, 0);
        if (w == c2) {
          st = s;
          break;
        }
        if (w < 0 && errno != EINTR) die("waitpid");
      }
      if (write(status_pipe[1], &st, sizeof st) != sizeof st) _exit(125);
      _exit(0); /* the namespace's other processes die with pid 1 */
    }
    int s;
    while (waitpid(b, &s, 0) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  close(go[0]);
  close(ready[1]);
  close(status_pipe[1]);
  char r;
  if (read(ready[0], &r, 1) != 1) {
    fprintf(stderr, "nsrun: could not create the namespaces\n");
    int s0;
    waitpid(a, &s0, 0);
    return 125;
  }
  close(ready[0]);
  char path[64], map[128];
  if (outer_uid == 0) {
    snprintf(map, sizeof map, "0 %ld 65536\n", base);
    snprintf(path, sizeof path, "/proc/%d/uid_map", (int)a);
    write_file(path, map);
    snprintf(path, sizeof path, "/proc/%d/gid_map", (int)a);
    write_file(path, map);
  } else {
    snprintf(path, sizeof path, "/proc/%d/setgroups", (int)a);
    write_file(path, "deny\n");
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)outer_uid);
    snprintf(path, sizeof path, "/proc/%d/uid_map", (int)a);
    write_file(path, map);
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)outer_gid);
    snprintf(path, sizeof path, "/proc/%d/gid_map", (int)a);
    write_file(path, map);
  }
  if (write(go[1], "x", 1) != 1) die("write");
  close(go[1]);
  int st = -1;
  ssize_t n = read(status_pipe[0], &st, sizeof st);
  int s;
  while (waitpid(a, &s, 0) < 0 && errno == EINTR) {
  }
  if (n != sizeof st) {
    fprintf(stderr, "nsrun: the namespace ended before the program reported a status\n");
    return 125;
  }
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) {
    int sig = WTERMSIG(st);
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    prctl(PR_SET_DUMPABLE, 0);
    kill(getpid(), sig);
    return 128 + sig;
  }
  return 125;
}
