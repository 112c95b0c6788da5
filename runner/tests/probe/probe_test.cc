// Probe tests for the runner's own self-tests (runner/tests/test_forkserver.py): how a test process is run,
// not what the kernel does. Run only by those self-tests and by `./ipcsuite bench runner`.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <iostream>

#include "ipcsuite/isolation.h"

namespace {

constexpr key_t kLeftoverKey = 0x1bc5a11;
int g_runs_in_this_process = 0;  // static state a test changes

// Checks that nothing an earlier test left behind is visible, then leaves all of it behind.
void CheckCleanThenLeaveState() {
  ++g_runs_in_this_process;
  EXPECT_EQ(g_runs_in_this_process, 1) << "static state of an earlier test is visible";
  struct sigaction sa {};
  ASSERT_EQ(::sigaction(SIGUSR1, nullptr, &sa), 0);
  EXPECT_EQ(sa.sa_handler, SIG_DFL) << "an earlier test's signal disposition is visible";
  sigset_t mask;
  ASSERT_EQ(::sigprocmask(SIG_BLOCK, nullptr, &mask), 0);
  EXPECT_FALSE(::sigismember(&mask, SIGUSR2)) << "an earlier test's signal mask is visible";
  EXPECT_EQ(std::getenv("IPCSUITE_PROBE_LEFTOVER"), nullptr) << "an earlier test's environment is visible";
  // SysV objects only in the test's private IPC namespace (never leave one on the host).
  bool sysv = ipc::isolation::InPrivateIpcNamespace();
  if (sysv) {
    errno = 0;
    EXPECT_EQ(::semget(kLeftoverKey, 0, 0), -1) << "an earlier test's semaphore set is visible";
    EXPECT_EQ(errno, ENOENT);
  }
  // Leave everything behind.
  ::signal(SIGUSR1, SIG_IGN);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  ::sigprocmask(SIG_BLOCK, &block, nullptr);
  ::setenv("IPCSUITE_PROBE_LEFTOVER", "1", 1);
  if (sysv) {
    EXPECT_GE(::semget(kLeftoverKey, 1, IPC_CREAT | 0600), 0) << "semget: errno " << errno;
  }
}

TEST(Probe, Pass) { EXPECT_EQ(1 + 1, 2); }

// Distinct short tests (ShortProbe/Many.Pass/0 .. /249: about as many as the largest suite binary has), for
// `./ipcsuite bench runner`'s pipeline figure (N short tests through pytest, its workers and the plugin, as
// `run` runs them; more than 250 from copies of this binary, as a run has several binaries).
class Many : public ::testing::TestWithParam<int> {};
TEST_P(Many, Pass) { EXPECT_GE(GetParam(), 0); }
INSTANTIATE_TEST_SUITE_P(ShortProbe, Many, ::testing::Range(0, 250));

TEST(Probe, LeaveStateA) { CheckCleanThenLeaveState(); }
TEST(Probe, LeaveStateB) { CheckCleanThenLeaveState(); }
TEST(Probe, Hang) {
  for (;;) ::pause();
}
TEST(Probe, Crash) { std::abort(); }
TEST(Probe, Fail) { ADD_FAILURE() << "probe failure"; }
TEST(Probe, KillParent) {
  std::cout << "killing my parent " << ::getppid() << std::endl;
  ::kill(::getppid(), SIGKILL);
  for (;;) ::pause();
}
TEST(Probe, PrintEnv) {
  for (const char* name : {"PROBE_VALUE", "LD_BIND_NOW"}) {
    const char* v = std::getenv(name);
    std::cout << name << "=" << (v != nullptr ? v : "(unset)") << std::endl;
  }
}

}  // namespace
