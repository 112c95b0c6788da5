/* Breaks kill(2): "sig 0 performs the existence check: ESRCH when the process or group does not exist".
 * kill(pid, 0) reports success whatever the target; every other signal is sent as usual. */
// ipcsuite-teeth: filter=signal/* rules=signal.kill-esrch,signal.kill-sig-zero-probe
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <sys/types.h>

int kill(pid_t pid, int sig) {
  static int (*real)(pid_t, int);
  if (!real) real = (int (*)(pid_t, int))dlsym(RTLD_NEXT, "kill");
  if (sig == 0) return 0;
  return real(pid, sig);
}
