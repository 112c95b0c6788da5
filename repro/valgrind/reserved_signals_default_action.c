/* valgrind: raise(SIGSTKFLT) and raise(SIGRTMAX) at the default disposition (Term) do not kill the process:
 * valgrind keeps these signals for itself and the client's are dropped. Linux terminates the process. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static int killed_by(int sig) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    signal(sig, SIG_DFL);
    raise(sig);
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  printf("raise(%d): %s\n", sig, WIFSIGNALED(st) ? "killed" : "not killed");
  return WIFSIGNALED(st) && WTERMSIG(st) == sig;
}

int main(void) {
  int a = killed_by(SIGSTKFLT), b = killed_by(SIGRTMAX);
  return a && b ? 0 : 1;
}
