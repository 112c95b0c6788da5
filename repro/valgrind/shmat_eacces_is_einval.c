/* valgrind: shmat of a segment the caller may not read fails with EINVAL instead of EACCES: valgrind first
 * asks the segment's size with shmctl(IPC_STAT), which needs read permission, and fails the call itself.
 * Needs root (it switches to uid 65534). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  if (id < 0) return perror("shmget"), 2;
  pid_t pid = fork();
  if (pid == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(77); /* not root: cannot run here */
    void* at = shmat(id, NULL, 0);
    int e = errno;
    printf("shmat of a 0600 root segment as uid 65534: %s (Linux: EACCES)\n",
           at == (void*)-1 ? strerror(e) : "succeeded");
    fflush(stdout);
    _exit(at == (void*)-1 && e == EACCES ? 0 : 1);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  shmctl(id, IPC_RMID, NULL);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}
