/* valgrind (--trace-children=yes): a blocked signal pending in a child before execve(2) is no longer pending
 * after it; Linux keeps pending signals across execve (execve(2): "the set of pending signals is preserved").
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int usr1_pending(void) {
  sigset_t p;
  sigpending(&p);
  return sigismember(&p, SIGUSR1) == 1;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "after-exec") == 0) {
    int pending = usr1_pending();
    printf("SIGUSR1 pending after execve: %s (Linux: yes)\n", pending ? "yes" : "no");
    return pending ? 0 : 1;
  }
  pid_t pid = fork(); /* as the suite does: a child of the test process */
  if (pid == 0) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    kill(getpid(), SIGUSR1);
    if (!usr1_pending()) _exit(2);
    execl(argv[0], argv[0], "after-exec", (char*)NULL); /* argv[0]: run by its path */
    _exit(2);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}
