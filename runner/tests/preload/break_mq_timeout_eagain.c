/* Breaks mq_receive(3) ERRORS "ETIMEDOUT: the call timed out before a message could be transferred":
 * mq_timedreceive reports its timeout as EAGAIN, which callers take for an empty O_NONBLOCK queue. */
// ipcsuite-teeth: filter=mq/* rules=mq.timedreceive-etimedout,mq.timedreceive-expired
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <mqueue.h>
#include <time.h>

ssize_t mq_timedreceive(mqd_t d, char* msg, size_t len, unsigned* prio, const struct timespec* t) {
  static ssize_t (*real)(mqd_t, char*, size_t, unsigned*, const struct timespec*);
  if (!real)
    real = (ssize_t(*)(mqd_t, char*, size_t, unsigned*, const struct timespec*))dlsym(RTLD_NEXT,
                                                                                      "mq_timedreceive");
  ssize_t r = real(d, msg, len, prio, t);
  if (r < 0 && errno == ETIMEDOUT) errno = EAGAIN;
  return r;
}
