/* qemu-user: raise(SIGRTMAX) at the default disposition (Term) does not kill the process: qemu 7.2 cannot map
 * the guest's last real-time signal to a host signal and drops it. Linux terminates the process. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGRTMAX, SIG_DFL);
    raise(SIGRTMAX);
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  if (WIFSIGNALED(st))
    printf("raise(SIGRTMAX = %d): killed by signal %d\n", SIGRTMAX, WTERMSIG(st));
  else
    printf("raise(SIGRTMAX = %d): not killed, exited with status %d\n", SIGRTMAX, WEXITSTATUS(st));
  return WIFSIGNALED(st) && WTERMSIG(st) == SIGRTMAX ? 0 : 1;
}
