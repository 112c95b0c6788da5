/* qemu-user: with SA_NOCLDSTOP, stopping and continuing a child still sends SIGCHLD (CLD_STOPPED); on Linux
 * the first SIGCHLD is the child's exit. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t first_code = 0;

static void on_chld(int sig, siginfo_t* si, void* ctx) {
  (void)sig, (void)ctx;
  if (first_code == 0) first_code = si->si_code;
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_sigaction = on_chld;
  sa.sa_flags = SA_SIGINFO | SA_NOCLDSTOP;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGCHLD, &sa, NULL) != 0) return perror("sigaction"), 2;
  int go[2];
  if (pipe(go) != 0) return 2;
  pid_t pid = fork();
  if (pid == 0) {
    char b;
    raise(SIGSTOP);
    (void)!read(go[0], &b, 1);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, WUNTRACED);
  kill(pid, SIGCONT);
  waitpid(pid, &st, WCONTINUED);
  (void)!write(go[1], "g", 1);
  while (waitpid(pid, &st, 0) < 0) {
  }
  printf("first SIGCHLD si_code %d (CLD_EXITED %d, CLD_STOPPED %d, CLD_CONTINUED %d)\n", (int)first_code,
         CLD_EXITED, CLD_STOPPED, CLD_CONTINUED);
  return first_code == CLD_EXITED ? 0 : 1;
}
