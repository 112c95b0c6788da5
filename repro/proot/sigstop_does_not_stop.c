/* proot: SIGSTOP does not stop a process (proot, its tracer, resumes it): /proc/<pid>/stat never shows the
 * stopped state T (or t) within 5 s; on Linux the child stops at once. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char state_of(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = fopen(path, "r");
  if (!f) return '?';
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char* paren = strrchr(buf, ')');
  return paren && paren[1] == ' ' ? paren[2] : '?';
}

int main(void) {
  pid_t pid = fork();
  if (pid == 0) {
    for (;;) pause();
  }
  kill(pid, SIGSTOP);
  char st = '?';
  struct timespec tick = {0, 10 * 1000 * 1000};
  for (int i = 0; i < 500 && st != 'T' && st != 't'; i++) {
    st = state_of(pid);
    if (st != 'T' && st != 't') nanosleep(&tick, NULL); /* polling /proc with a deadline */
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  printf("state of the child after SIGSTOP: %c (Linux: T)\n", st);
  return st == 'T' || st == 't' ? 0 : 1;
}
