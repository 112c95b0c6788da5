/* Breaks sigqueue(3): "the value is delivered with the signal (si_value)". The value is replaced by 0. */
// ipcsuite-teeth: filter=signal/* rules=signal.sigqueue-si-value,signal.sigqueue-rt-queued
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <sys/types.h>

int sigqueue(pid_t pid, int sig, const union sigval value) {
  static int (*real)(pid_t, int, const union sigval);
  if (!real) real = (int (*)(pid_t, int, const union sigval))dlsym(RTLD_NEXT, "sigqueue");
  (void)value;
  union sigval zero;
  zero.sival_ptr = 0;
  return real(pid, sig, zero);
}
