/* Breaks sem_wait(3): "sem_timedwait fails with ETIMEDOUT when the call timed out before the semaphore could
 * be locked". sem_timedwait reports a timeout as EAGAIN (sem_trywait's errno). */
// ipcsuite-teeth: filter=psem/* rules=psem.timedwait-etimedout,psem.timedwait-expired
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <semaphore.h>
#include <time.h>

int sem_timedwait(sem_t* sem, const struct timespec* abs_timeout) {
  static int (*real)(sem_t*, const struct timespec*);
  if (!real) real = (int (*)(sem_t*, const struct timespec*))dlsym(RTLD_NEXT, "sem_timedwait");
  int r = real(sem, abs_timeout);
  if (r < 0 && errno == ETIMEDOUT) errno = EAGAIN;
  return r;
}
