/* valgrind: shmget(SHM_HUGETLB) without CAP_IPC_LOCK succeeds: valgrind drops SHM_HUGETLB from the flags
 * ("WARNING: valgrind ignores shmget(shmflg) SHM_HUGETLB"). On Linux it fails with EPERM (unless the caller
 * is in vm.hugetlb_shm_group). Needs root (it switches to uid 65534) and hugetlb support. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  const size_t huge = 2 << 20;
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit rl = {0, 0};
    if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0 || setgid(65534) != 0 || setuid(65534) != 0) _exit(77);
    int id = shmget(IPC_PRIVATE, huge, IPC_CREAT | SHM_HUGETLB | 0600);
    int e = errno;
    printf("shmget(SHM_HUGETLB) as uid 65534: %s (Linux: EPERM)\n", id >= 0 ? "succeeded" : strerror(e));
    fflush(stdout);
    if (id >= 0) shmctl(id, IPC_RMID, NULL);
    _exit(id == -1 && e == EPERM ? 0 : 1);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}
