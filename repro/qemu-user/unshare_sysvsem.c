/* qemu-user: unshare(CLONE_SYSVSEM) does not apply the caller's semaphore adjustments (SEM_UNDO): qemu's own
 * helper thread shares the process's undo list (threads are created with CLONE_SYSVSEM), so the kernel only
 * drops a reference. On Linux, a single-threaded caller's adjustments are applied at once. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  int id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
  if (id < 0) return perror("semget"), 2;
  pid_t pid = fork();
  if (pid == 0) {
    struct sembuf up = {0, 2, SEM_UNDO};
    if (semop(id, &up, 1) != 0 || unshare(CLONE_SYSVSEM) != 0) _exit(2);
    int v = semctl(id, 0, GETVAL);
    printf("value after unshare(CLONE_SYSVSEM), before exit: %d (Linux: 0)\n", v);
    fflush(stdout);
    _exit(v == 0 ? 0 : 1);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  semctl(id, 0, IPC_RMID);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}
