/* repro-systems: qemu-user valgrind
 * The init of a PID namespace does not survive a signal it has no handler for, sent from inside the namespace
 * (pid_namespaces(7): such signals are not delivered to init). Waits 10 s at most. Needs CAP_SYS_ADMIN.
 * qemu-user: qemu catches every signal with a host handler and then tries to die of it: the init hangs.
 * valgrind: valgrind catches every signal, takes SIGTERM for fatal, cannot die of it as init and aborts ("the
 * impossible happened"). */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  if (unshare(CLONE_NEWPID) != 0) {
    printf("unshare(CLONE_NEWPID): %s\n", strerror(errno));
    return 77;
  }
  pid_t init = fork();
  if (init == 0) {
    signal(SIGTERM, SIG_DFL);
    pid_t member = fork();
    if (member == 0) _exit(kill(1, SIGTERM) == 0 ? 0 : 10);
    int st = 0;
    waitpid(member, &st, 0);
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 11);
  }
  int st = 0;
  for (int i = 0; i < 1000; ++i) { /* 10 s in 10 ms steps: the repro's own deadline */
    pid_t r = waitpid(init, &st, WNOHANG);
    if (r == init) {
      if (WIFEXITED(st))
        printf("init survived SIGTERM without a handler and exited with %d\n", WEXITSTATUS(st));
      else
        printf("init was killed by signal %d\n", WTERMSIG(st));
      return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
    }
    usleep(10000);
  }
  printf("init did not exit within 10 s after SIGTERM without a handler\n");
  kill(init, SIGKILL);
  waitpid(init, &st, 0);
  return 1;
}
