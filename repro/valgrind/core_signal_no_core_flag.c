/* valgrind: a process killed by a signal whose default action is Core (SIGQUIT) with RLIMIT_CORE unlimited
 * has no core flag in its wait status (WCOREDUMP): valgrind catches the signal, writes its own vgcore.<pid>
 * and then dies of the signal without a kernel dump. Linux sets the flag (signal(7), core(5)). Runs in a
 * temporary directory, removed afterwards; 77 where core_pattern does not write a plain file there. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  char pattern[256] = {0};
  int pfd = open("/proc/sys/kernel/core_pattern", O_RDONLY);
  if (pfd < 0 || read(pfd, pattern, sizeof pattern - 1) <= 0) return printf("core_pattern unreadable\n"), 77;
  close(pfd);
  if (pattern[0] == '|' || strchr(pattern, '/') != NULL) return printf("core_pattern: %s", pattern), 77;
  char dir[] = "/tmp/ipcsuite-repro-core-XXXXXX";
  if (mkdtemp(dir) == NULL) return perror("mkdtemp"), 2;
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit rl;
    getrlimit(RLIMIT_CORE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_CORE, &rl);
    prctl(PR_SET_DUMPABLE, 1);
    if (chdir(dir) != 0) _exit(2);
    signal(SIGQUIT, SIG_DFL);
    raise(SIGQUIT);
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  DIR* d = opendir(dir);
  struct dirent* e;
  while (d != NULL && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    printf("file in the dump directory: %s\n", e->d_name);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path);
  }
  if (d != NULL) closedir(d);
  rmdir(dir);
  printf("SIGQUIT: %s, core flag %s\n", WIFSIGNALED(st) ? "killed" : "not killed",
         WIFSIGNALED(st) && WCOREDUMP(st) ? "set" : "not set");
  return WIFSIGNALED(st) && WTERMSIG(st) == SIGQUIT && WCOREDUMP(st) ? 0 : 1;
}
