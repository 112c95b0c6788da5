/* qemu-user: sem_open(3) of an existing semaphore succeeds with RLIMIT_AS at the process's size (VmSize), where
 * Linux fails its mmap with ENOMEM. qemu keeps RLIMIT_AS to itself (setrlimit succeeds but is not applied to
 * the guest's mappings); see also shmat_rlimit_as.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned long vm_size_bytes(void) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[256];
  unsigned long kb = 0;
  while (f != NULL && fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, "VmSize:", 7) == 0) kb = strtoul(line + 7, NULL, 10);
  if (f != NULL) fclose(f);
  return kb * 1024;
}

int main(void) {
  char name[64];
  snprintf(name, sizeof name, "/ipcsuite-repro-rlimit-%d", (int)getpid());
  sem_t* s = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
  if (s == SEM_FAILED) return perror("sem_open"), 2;
  sem_close(s);
  pid_t pid = fork();
  if (pid == 0) {
    unsigned long size = vm_size_bytes();
    struct rlimit rl;
    if (size == 0 || getrlimit(RLIMIT_AS, &rl) != 0) _exit(2);
    rl.rlim_cur = size;
    if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(2);
    errno = 0;
    sem_t* again = sem_open(name, 0);
    int err = errno;
    printf("sem_open with RLIMIT_AS at VmSize (%lu bytes): %s\n", size,
           again == SEM_FAILED ? strerror(err) : "succeeded");
    fflush(stdout);
    _exit(again == SEM_FAILED && err == ENOMEM ? 0 : 1);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  sem_unlink(name);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}
