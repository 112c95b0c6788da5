/* valgrind: sigqueue(3) to the calling process with the signal unblocked returns before the handler ran;
 * POSIX (sigqueue, DESCRIPTION) and Linux deliver it before sigqueue() returns. valgrind delivers the signal
 * at a later point of its own scheduling. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t count = 0;
static void on_usr1(int sig, siginfo_t* info, void* ctx) {
  (void)sig, (void)info, (void)ctx;
  count++;
}

int main(void) {
  struct sigaction act;
  memset(&act, 0, sizeof act);
  act.sa_sigaction = on_usr1;
  act.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &act, NULL);
  union sigval v = {.sival_int = 7};
  if (sigqueue(getpid(), SIGUSR1, v) != 0) return perror("sigqueue"), 2;
  int at_return = count;
  printf("handler calls when sigqueue returned: %d\n", at_return);
  return at_return == 1 ? 0 : 1;
}
