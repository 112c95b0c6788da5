/* Breaks mq_receive(3) ERRORS "EINTR: the call was interrupted by a signal handler": mq_receive and
 * mq_timedreceive retry after EINTR, as if every handler had SA_RESTART, so a caller can never get out of a
 * blocked receive with a signal. */
// ipcsuite-teeth: filter=mq/* rules=mq.receive-eintr
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <mqueue.h>
#include <time.h>

ssize_t mq_receive(mqd_t d, char* msg, size_t len, unsigned* prio) {
  static ssize_t (*real)(mqd_t, char*, size_t, unsigned*);
  if (!real) real = (ssize_t(*)(mqd_t, char*, size_t, unsigned*))dlsym(RTLD_NEXT, "mq_receive");
  ssize_t r;
  do r = real(d, msg, len, prio);
  while (r < 0 && errno == EINTR);
  return r;
}

ssize_t mq_timedreceive(mqd_t d, char* msg, size_t len, unsigned* prio, const struct timespec* t) {
  static ssize_t (*real)(mqd_t, char*, size_t, unsigned*, const struct timespec*);
  if (!real)
    real = (ssize_t(*)(mqd_t, char*, size_t, unsigned*, const struct timespec*))dlsym(RTLD_NEXT,
                                                                                      "mq_timedreceive");
  ssize_t r;
  do r = real(d, msg, len, prio, t);
  while (r < 0 && errno == EINTR);
  return r;
}
