// Helpers shared by the signal area's test files (signal_test.cc, signal_interrupt_test.cc,
// signal_wait_test.cc).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>

#include "ipcsuite/fixtures.h"

namespace ipc::signal_util {

// The signal set holding exactly `sigs`.
inline sigset_t SetOf(std::initializer_list<int> sigs) {
  sigset_t s;
  sigemptyset(&s);
  for (int sig : sigs) sigaddset(&s, sig);
  return s;
}

// fork(2) without the Child machinery, for grandchildren whose status a Child collects itself with
// waitpid(2). The grandchild dies with its parent and ends with _exit(body()); it makes no gtest
// assertions (its result is its exit status). A refused fork is reported here, tagged as the machine's
// limit (EAGAIN under RLIMIT_NPROC), and -1 is returned with errno kept.
inline pid_t ForkRaw(const std::function<int()>& body) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    IPC_ADD_FAILURE_FOR_ERRNO(err) << "fork failed with " << DescribeErrno(err);
    errno = err;
    return pid;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    _exit(body());
  }
  return pid;
}

// sigaction(2) for good, in a process that keeps the disposition until it ends (a grandchild, a namespace's
// init): `handler` (or SIG_DFL, SIG_IGN) with `flags` and an empty sa_mask. Returns sigaction's result.
[[nodiscard]] inline int InstallHandler(int sig, void (*handler)(int), int flags = 0) {
  struct sigaction act = {};
  act.sa_handler = handler;
  act.sa_flags = flags;
  sigemptyset(&act.sa_mask);
  return sigaction(sig, &act, nullptr);
}

// InstallHandler for an SA_SIGINFO handler (SA_SIGINFO is added to `flags`).
[[nodiscard]] inline int InstallSiginfoHandler(int sig, void (*handler)(int, siginfo_t*, void*),
                                               int flags = 0) {
  struct sigaction act = {};
  act.sa_sigaction = handler;
  act.sa_flags = SA_SIGINFO | flags;
  sigemptyset(&act.sa_mask);
  return sigaction(sig, &act, nullptr);
}

// Waits until `pid` sleeps in waitpid()/wait() (wait4, or waitid in some C libraries).
[[nodiscard]] inline ::testing::AssertionResult WaitUntilBlockedInWait(pid_t pid) {
  return WaitUntilBlockedInOneOf(pid, {SYS_wait4, SYS_waitid});
}

}  // namespace ipc::signal_util
