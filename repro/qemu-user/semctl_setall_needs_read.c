/* qemu-user: semctl(SETALL) on a set the caller may alter but not read (mode 0602) fails with EACCES: qemu
 * first reads the set's size with IPC_STAT (target_to_host_semarray), which needs read permission. On Linux
 * SETALL needs alter permission only. Needs root (it switches to uid 65534). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

union semun {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
};

int main(void) {
  int id = semget(IPC_PRIVATE, 2, IPC_CREAT | 0602);
  if (id < 0) return perror("semget"), 2;
  pid_t pid = fork();
  if (pid == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(77); /* not root: cannot run here */
    unsigned short vals[2] = {5, 6};
    union semun arg = {.array = vals};
    int r = semctl(id, 0, SETALL, arg);
    printf("SETALL on a 0602 set as uid 65534: %s\n", r == 0 ? "succeeds" : strerror(errno));
    fflush(stdout);
    _exit(r == 0 ? 0 : 1);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  semctl(id, 0, IPC_RMID);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}
