/* Breaks signal(7)/semop(2): "semop is never restarted after a signal handler; it fails with EINTR".
 * semop() silently retries when interrupted. */
// ipcsuite-teeth: filter=sem/* rules=sem.semop-no-restart
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/sem.h>

int semop(int id, struct sembuf* sops, size_t nsops) {
  static int (*real)(int, struct sembuf*, size_t);
  if (!real) real = (int (*)(int, struct sembuf*, size_t))dlsym(RTLD_NEXT, "semop");
  int r;
  do r = real(id, sops, nsops);
  while (r < 0 && errno == EINTR);
  return r;
}
