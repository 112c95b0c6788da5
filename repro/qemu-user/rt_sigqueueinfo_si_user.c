/* qemu-user: rt_sigqueueinfo(2) to the caller itself with si_code SI_USER delivers a siginfo whose value is not
 * the one given (qemu converts it as a kill(2) siginfo); Linux delivers the siginfo as given (a process may
 * send itself any si_code). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t got_value = -1, got_code = 0, got_pid = 0;

static void on_usr1(int sig, siginfo_t* info, void* ctx) {
  (void)sig, (void)ctx;
  got_value = info->si_value.sival_int;
  got_code = info->si_code;
  got_pid = info->si_pid;
}

int main(void) {
  struct sigaction act;
  memset(&act, 0, sizeof act);
  act.sa_sigaction = on_usr1;
  act.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &act, NULL);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  si.si_signo = SIGUSR1;
  si.si_code = SI_USER;
  si.si_pid = 1;
  si.si_value.sival_int = 31;
  /* No glibc wrapper for rt_sigqueueinfo(2): the raw call (as the suite's test makes it). */
  if (syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &si) != 0) return perror("rt_sigqueueinfo"), 2;
  printf("delivered: si_code %d (SI_USER %d), si_pid %d, value %d (sent 31)\n", (int)got_code, SI_USER,
         (int)got_pid, (int)got_value);
  return got_code == SI_USER && got_pid == 1 && got_value == 31 ? 0 : 1;
}
