/* valgrind: a handler installed with SA_NODEFER and its own signal in sa_mask runs with the signal unblocked
 * (a raise() inside it nests); on Linux sa_mask still blocks it (SA_NODEFER only stops the automatic
 * addition). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>

static volatile sig_atomic_t calls = 0, depth = 0, max_depth = 0, own_blocked = -1;

static void handler(int sig) {
  sigset_t cur;
  sigprocmask(SIG_BLOCK, NULL, &cur);
  if (own_blocked == -1) own_blocked = sigismember(&cur, sig);
  if (++depth > max_depth) max_depth = depth;
  if (++calls == 1) raise(sig); /* once: the second instance nests, or runs after this one returns */
  --depth;
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = handler;
  sa.sa_flags = SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGUSR1);
  if (sigaction(SIGUSR1, &sa, NULL) != 0) return perror("sigaction"), 2;
  raise(SIGUSR1);
  printf("SIGUSR1 blocked in its handler: %d, nesting depth %d (Linux: 1, 1)\n", (int)own_blocked,
         (int)max_depth);
  return own_blocked == 1 && max_depth == 1 ? 0 : 1;
}
