/* qemu-user: SIGKILL and SIGSTOP in sa_mask show as blocked inside the handler (sigprocmask reads them back);
 * Linux silently drops them from every mask. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>

static volatile sig_atomic_t kill_blocked = -1, stop_blocked = -1;

static void handler(int sig) {
  (void)sig;
  sigset_t cur;
  sigprocmask(SIG_BLOCK, NULL, &cur);
  kill_blocked = sigismember(&cur, SIGKILL);
  stop_blocked = sigismember(&cur, SIGSTOP);
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGKILL);
  sigaddset(&sa.sa_mask, SIGSTOP);
  if (sigaction(SIGUSR1, &sa, NULL) != 0) return perror("sigaction"), 2;
  raise(SIGUSR1);
  printf("in the handler: SIGKILL blocked %d, SIGSTOP blocked %d (Linux: 0 0)\n", (int)kill_blocked,
         (int)stop_blocked);
  return kill_blocked == 0 && stop_blocked == 0 ? 0 : 1;
}
