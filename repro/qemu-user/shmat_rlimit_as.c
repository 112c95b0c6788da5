/* qemu-user: shmat of a 256 MiB segment succeeds under RLIMIT_AS of 64 MiB above the current address space;
 * Linux fails it with ENOMEM. qemu does not apply the guest's RLIMIT_AS to the host process. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  int id = shmget(IPC_PRIVATE, 256 << 20, IPC_CREAT | 0600);
  if (id < 0) return perror("shmget"), 2;
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit rl = {64 << 20, 64 << 20};
    if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(2);
    void* at = shmat(id, NULL, 0);
    printf("shmat 256 MiB under RLIMIT_AS 64 MiB: %s\n", at == (void*)-1 ? strerror(errno) : "succeeded");
    int ok = at == (void*)-1 && errno == ENOMEM;
    fflush(stdout);
    _exit(ok ? 0 : 1);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  shmctl(id, IPC_RMID, NULL);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}
