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

// Waits until `pid` sleeps in waitpid()/wait() (wait4, or waitid in some C libraries).
[[nodiscard]] inline ::testing::AssertionResult WaitUntilBlockedInWait(pid_t pid) {
  return WaitUntilBlockedInOneOf(pid, {SYS_wait4, SYS_waitid});
}

}  // namespace ipc::signal_util
