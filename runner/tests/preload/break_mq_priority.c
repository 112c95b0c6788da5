/* Breaks mq_overview(7) "messages are always delivered to the receiving process highest priority first" for
 * the upper part of the priority range: priorities 16 .. 32767 are stored reversed (p -> 32783 - p) and
 * mapped back on receipt, so every reported priority is right but their order among themselves is inverted.
 */
// ipcsuite-teeth: filter=mq/* rules=mq.priority-order,mq.receive-oldest-highest
#define _GNU_SOURCE
#include <dlfcn.h>
#include <mqueue.h>
#include <time.h>

static unsigned flip(unsigned p) { return (p >= 16 && p < 32768) ? 32783 - p : p; }

int mq_send(mqd_t d, const char* msg, size_t len, unsigned prio) {
  static int (*real)(mqd_t, const char*, size_t, unsigned);
  if (!real) real = (int (*)(mqd_t, const char*, size_t, unsigned))dlsym(RTLD_NEXT, "mq_send");
  return real(d, msg, len, flip(prio));
}

int mq_timedsend(mqd_t d, const char* msg, size_t len, unsigned prio, const struct timespec* t) {
  static int (*real)(mqd_t, const char*, size_t, unsigned, const struct timespec*);
  if (!real)
    real = (int (*)(mqd_t, const char*, size_t, unsigned, const struct timespec*))dlsym(RTLD_NEXT,
                                                                                        "mq_timedsend");
  return real(d, msg, len, flip(prio), t);
}

ssize_t mq_receive(mqd_t d, char* msg, size_t len, unsigned* prio) {
  static ssize_t (*real)(mqd_t, char*, size_t, unsigned*);
  if (!real) real = (ssize_t(*)(mqd_t, char*, size_t, unsigned*))dlsym(RTLD_NEXT, "mq_receive");
  ssize_t r = real(d, msg, len, prio);
  if (r >= 0 && prio) *prio = flip(*prio);
  return r;
}

ssize_t mq_timedreceive(mqd_t d, char* msg, size_t len, unsigned* prio, const struct timespec* t) {
  static ssize_t (*real)(mqd_t, char*, size_t, unsigned*, const struct timespec*);
  if (!real)
    real = (ssize_t(*)(mqd_t, char*, size_t, unsigned*, const struct timespec*))dlsym(RTLD_NEXT,
                                                                                      "mq_timedreceive");
  ssize_t r = real(d, msg, len, prio, t);
  if (r >= 0 && prio) *prio = flip(*prio);
  return r;
}
