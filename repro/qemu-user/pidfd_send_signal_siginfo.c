/* qemu-user: pidfd_send_signal(2) with an SI_QUEUE siginfo of the caller's own making fails with EINVAL;
 * Linux queues it to the target, which sees si_code SI_QUEUE and the value. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGRTMIN);
  sigprocmask(SIG_BLOCK, &set, NULL);
  pid_t pid = fork();
  if (pid == 0) {
    siginfo_t si;
    if (sigwaitinfo(&set, &si) != SIGRTMIN) _exit(10);
    _exit(si.si_code == SI_QUEUE && si.si_value.sival_int == 314 ? 0 : 11);
  }
  int pfd = pidfd_open(pid, 0);
  if (pfd < 0) return perror("pidfd_open"), 2;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  si.si_signo = SIGRTMIN;
  si.si_code = SI_QUEUE;
  si.si_pid = getpid();
  si.si_uid = getuid();
  si.si_value.sival_int = 314;
  int r = pidfd_send_signal(pfd, SIGRTMIN, &si, 0);
  printf("pidfd_send_signal with an SI_QUEUE siginfo: %s\n", r == 0 ? "sent" : strerror(errno));
  if (r != 0) kill(pid, SIGKILL);
  int st = 0;
  waitpid(pid, &st, 0);
  if (r == 0) printf("the target %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "got it" : "did not get it");
  return r == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
