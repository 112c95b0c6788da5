/* qemu-user: with SA_NOCLDWAIT on SIGCHLD, an exited child still becomes a zombie (wait reaps it); Linux
 * leaves no zombie and wait fails with ECHILD. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_chld(int sig) { (void)sig; }

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_chld;
  sa.sa_flags = SA_NOCLDWAIT;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGCHLD, &sa, NULL) != 0) return perror("sigaction"), 2;
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  int st;
  pid_t r;
  while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR) {
  }
  printf("waitpid after the child exited: %s\n", r < 0 ? strerror(errno) : "reaped a zombie (divergence)");
  return r < 0 && errno == ECHILD ? 0 : 1;
}
