/* Breaks sem_wait(3): "a sem_wait or sem_timedwait interrupted by a signal handler fails with EINTR".
 * sem_wait and sem_timedwait silently wait again when interrupted. */
// ipcsuite-teeth: filter=psem/* rules=psem.wait-eintr
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <semaphore.h>
#include <time.h>

int sem_wait(sem_t* sem) {
  static int (*real)(sem_t*);
  if (!real) real = (int (*)(sem_t*))dlsym(RTLD_NEXT, "sem_wait");
  int r;
  do r = real(sem);
  while (r < 0 && errno == EINTR);
  return r;
}

int sem_timedwait(sem_t* sem, const struct timespec* abs_timeout) {
  static int (*real)(sem_t*, const struct timespec*);
  if (!real) real = (int (*)(sem_t*, const struct timespec*))dlsym(RTLD_NEXT, "sem_timedwait");
  int r;
  do r = real(sem, abs_timeout);
  while (r < 0 && errno == EINTR);
  return r;
}
