/* Breaks sigaction(2)/signal(7): "SA_RESTART makes interrupted calls restart": the flag is dropped. */
// ipcsuite-teeth: filter=pipe/*,fifo/*,signal/* rules=signal.sa-restart-slow-io,fifo.open-sa-restart,pipe.sa-restart
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>

int sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
  static int (*real)(int, const struct sigaction*, struct sigaction*);
  if (!real) real = (int (*)(int, const struct sigaction*, struct sigaction*))dlsym(RTLD_NEXT, "sigaction");
  if (act == NULL || !(act->sa_flags & SA_RESTART)) return real(sig, act, old);
  struct sigaction copy = *act;
  copy.sa_flags &= ~SA_RESTART;
  return real(sig, &copy, old);
}
