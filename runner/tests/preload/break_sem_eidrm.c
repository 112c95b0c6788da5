/* Breaks semop(2) ERRORS: "EIDRM: the semaphore set was removed" while the caller waited: reported as
 * EINVAL instead, so callers cannot tell removal from a bad id. */
// ipcsuite-teeth: filter=sem/* rules=sem.semop-eidrm
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/sem.h>

int semop(int id, struct sembuf* sops, size_t nsops) {
  static int (*real)(int, struct sembuf*, size_t);
  if (!real) real = (int (*)(int, struct sembuf*, size_t))dlsym(RTLD_NEXT, "semop");
  int r = real(id, sops, nsops);
  if (r < 0 && errno == EIDRM) errno = EINVAL;
  return r;
}
