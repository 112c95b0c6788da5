/* Breaks sigpending(2): "returns the set of signals pending for the process and the calling thread".
 * The set comes back empty, as if blocked signals had been lost. */
// ipcsuite-teeth: filter=signal/* rules=signal.sigpending-set,signal.sigpending-thread-and-process
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>

int sigpending(sigset_t* set) {
  static int (*real)(sigset_t*);
  if (!real) real = (int (*)(sigset_t*))dlsym(RTLD_NEXT, "sigpending");
  int r = real(set);
  if (r == 0) sigemptyset(set);
  return r;
}
