/* Breaks mq_notify(3) ERRORS "EBUSY: another process has already registered to receive notification for
 * this message queue": the refusal is swallowed and reported as success, so the caller believes it is
 * registered while the other process keeps the registration. */
// ipcsuite-teeth: filter=mq/* rules=mq.notify-ebusy
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <mqueue.h>
#include <signal.h>

int mq_notify(mqd_t d, const struct sigevent* sevp) {
  static int (*real)(mqd_t, const struct sigevent*);
  if (!real) real = (int (*)(mqd_t, const struct sigevent*))dlsym(RTLD_NEXT, "mq_notify");
  int saved = errno;
  int r = real(d, sevp);
  if (r < 0 && errno == EBUSY) {
    errno = saved;
    return 0;
  }
  return r;
}
