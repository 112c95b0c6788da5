/* Breaks sem_post(3): "EOVERFLOW: the maximum allowable value for a semaphore would be exceeded".
 * sem_post at SEM_VALUE_MAX drops the post and reports success. */
// ipcsuite-teeth: filter=psem/* rules=psem.post-eoverflow
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <semaphore.h>

int sem_post(sem_t* sem) {
  static int (*real)(sem_t*);
  if (!real) real = (int (*)(sem_t*))dlsym(RTLD_NEXT, "sem_post");
  int saved = errno;
  int r = real(sem);
  if (r < 0 && errno == EOVERFLOW) {
    errno = saved;
    return 0;
  }
  return r;
}
