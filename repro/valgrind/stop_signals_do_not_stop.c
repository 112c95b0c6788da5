/* valgrind: a terminal stop signal at the default disposition (SIGTSTP; SIGTTIN, SIGTTOU alike) does not stop
 * the process that raises it: valgrind catches it and does not stop. Linux stops it (signal(7): Stop), which
 * its parent sees with waitpid(WUNTRACED). (SIGSTOP, which cannot be caught, does stop.)
 * The child gets a process group of its own, whose parent is in another group of the same session: a
 * terminal stop signal to an orphaned process group is discarded (setpgid(2), signal(7)), and a CI job's
 * group often is one. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    signal(SIGTSTP, SIG_DFL);
    raise(SIGTSTP);
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, WUNTRACED);
  int stopped = WIFSTOPPED(st) && WSTOPSIG(st) == SIGTSTP;
  printf("raise(SIGTSTP): %s\n", stopped ? "stopped" : "not stopped");
  if (stopped) {
    kill(pid, SIGCONT);
    waitpid(pid, &st, 0);
  }
  return stopped ? 0 : 1;
}
