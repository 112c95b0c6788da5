/* Breaks sigtimedwait(2): "EAGAIN when no signal in set became pending within the timeout".
 * A timeout is reported as EINTR instead, as if a handler had interrupted the wait. */
// ipcsuite-teeth: filter=signal/* rules=signal.sigtimedwait-eagain,signal.sigqueue-rt-queued
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <time.h>

int sigtimedwait(const sigset_t* set, siginfo_t* info, const struct timespec* timeout) {
  static int (*real)(const sigset_t*, siginfo_t*, const struct timespec*);
  if (!real)
    real = (int (*)(const sigset_t*, siginfo_t*, const struct timespec*))dlsym(RTLD_NEXT, "sigtimedwait");
  int r = real(set, info, timeout);
  if (r < 0 && errno == EAGAIN) errno = EINTR;
  return r;
}
