/* proot: SIGSTOP does not stop a process (proot, its tracer, resumes it): the child keeps running (and /proc
 * shows it stopped at most briefly, in a ptrace stop); on Linux the child stops at once and stays stopped. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
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
  volatile unsigned long* count = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (count == MAP_FAILED) return perror("mmap"), 2;
  pid_t pid = fork();
  if (pid == 0) {
    for (;;) ++*count; /* runs until stopped */
  }
  kill(pid, SIGSTOP);
  char st = '?';
  struct timespec tick = {0, 10 * 1000 * 1000}, settle = {0, 200 * 1000 * 1000};
  for (int i = 0; i < 500 && st != 'T' && st != 't'; i++) {
    st = state_of(pid);
    if (st != 'T' && st != 't') nanosleep(&tick, NULL); /* polling /proc with a deadline */
  }
  unsigned long before = *count;
  nanosleep(&settle, NULL); /* a stopped child does not count on */
  unsigned long after = *count;
  char later = state_of(pid);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  printf("after SIGSTOP the child's state is %c, then %c; it ran on: %s (Linux: T, T, no)\n", st, later,
         after != before ? "yes" : "no");
  return (st == 'T' || st == 't') && after == before ? 0 : 1;
}
