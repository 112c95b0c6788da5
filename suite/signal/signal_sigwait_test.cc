// sigwaitinfo(2) and sigtimedwait(2) (one page, sigwaitinfo.2; sigtimedwait.2 is a link to it): taking a
// pending signal with its siginfo, waiting for one to arrive, the order (lowest-numbered standard signal
// first, real-time signals after them in number order), and the errors EAGAIN, EINTR, EINVAL. Rules in
// suite/rules/signal-delivery.ini.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "ipcsuite/fixtures.h"
#include "signal_delivery_util.h"

namespace ipc {
namespace {

using signal_util::RecordSignal;
using signal_util::SetOf;

IPC_TEST(SignalSigwaitinfo, TakesAPendingSignalWithItsInfo, "signal.sigwaitinfo-returns-pending") {
  Child c = Child::Spawn(
      [&] {
        ScopedSigmask block(SIG_BLOCK, SIGUSR1);
        union sigval v;
        v.sival_int = 55;
        ASSERT_THAT(sigqueue(getpid(), SIGUSR1, v), SyscallSucceeds());
        sigset_t set = SetOf({SIGUSR1});
        siginfo_t si = {};
        ASSERT_THAT(sigwaitinfo(&set, &si), SyscallSucceedsWithValue(SIGUSR1));
        EXPECT_EQ(si.si_signo, SIGUSR1);
        EXPECT_EQ(si.si_code, SI_QUEUE);
        EXPECT_EQ(si.si_value.sival_int, 55);
        EXPECT_EQ(si.si_pid, getpid());
        EXPECT_FALSE(IsSignalPending(SIGUSR1)) << "the signal is still pending after it was taken";
      },
      {.what = "sigwaitinfo on a pending SIGUSR1"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigwaitinfo, AcceptedSignalDoesNotRunTheHandler, "signal.sigwaitinfo-returns-pending") {
  Child c = Child::Spawn(
      [&] {
        RecordSignal rec(SIGUSR2);
        ASSERT_TRUE(rec.ok());
        ScopedSigmask block(SIG_BLOCK, SIGUSR2);
        ASSERT_THAT(kill(getpid(), SIGUSR2), SyscallSucceeds());
        sigset_t set = SetOf({SIGUSR2});
        ASSERT_THAT(sigwaitinfo(&set, nullptr), SyscallSucceedsWithValue(SIGUSR2));
        EXPECT_EQ(rec->count.load(), 0);
      },
      {.what = "sigwaitinfo on a signal that has a handler"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigwaitinfo, WaitsUntilASignalOfTheSetArrives, "signal.sigwaitinfo-blocks") {
  ASSERT_OK_AND_ASSIGN(Pipe ready, Pipe::Create());
  int wfd = ready.write.get();
  Child c = Child::Spawn(
      [=] {
        ScopedSigmask block(SIG_BLOCK, SetOf({SIGUSR1, SIGUSR2}));
        ASSERT_THAT(write(wfd, "r", 1), SyscallSucceedsWithValue(1));
        sigset_t set = SetOf({SIGUSR1});
        siginfo_t si = {};
        ASSERT_THAT(sigwaitinfo(&set, &si), SyscallSucceedsWithValue(SIGUSR1));
        EXPECT_EQ(si.si_code, SI_USER);
        EXPECT_EQ(si.si_pid, getppid());
        EXPECT_TRUE(IsSignalPending(SIGUSR2)) << "a signal outside the set ended the wait";
        sigset_t u2 = SetOf({SIGUSR2});
        struct timespec zero = {0, 0};
        EXPECT_THAT(sigtimedwait(&u2, nullptr, &zero), SyscallSucceedsWithValue(SIGUSR2));
      },
      {.what = "waiting in sigwaitinfo for SIGUSR1"});
  char b;
  ASSERT_THAT(read(ready.read.get(), &b, 1), SyscallSucceedsWithValue(1));
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_rt_sigtimedwait));
  ASSERT_THAT(c.Kill(SIGUSR2), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_rt_sigtimedwait)) << "SIGUSR2 (outside the set) ended the wait";
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SignalSigtimedwait, TimeoutWithoutSignalIsEagain, "signal.sigtimedwait-eagain") {
  Child c = Child::Spawn(
      [&] {
        ScopedSigmask block(SIG_BLOCK, SIGUSR1);
        sigset_t set = SetOf({SIGUSR1});
        struct timespec zero = {0, 0};
        EXPECT_THAT(sigtimedwait(&set, nullptr, &zero), SyscallFailsWithErrno(EAGAIN))
            << "zero timeout (a poll)";
        struct timespec ts = {0, 20 * 1000 * 1000};
        auto start = Monotonic();
        EXPECT_THAT(sigtimedwait(&set, nullptr, &ts), SyscallFailsWithErrno(EAGAIN));
        EXPECT_GE(ElapsedMs(start, Monotonic()), 19) << "returned before the timeout";
      },
      {.what = "sigtimedwait with nothing pending"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigtimedwait, HandlerForAnotherSignalIsEintr, "signal.sigtimedwait-eintr") {
  ASSERT_OK_AND_ASSIGN(Pipe ready, Pipe::Create());
  int wfd = ready.write.get();
  Child c = Child::Spawn(
      [=] {
        SignalCounter usr2(SIGUSR2, SA_RESTART);  // SA_RESTART or not: never restarted
        ScopedSigmask block(SIG_BLOCK, SIGUSR1);
        ASSERT_THAT(write(wfd, "r", 1), SyscallSucceedsWithValue(1));
        sigset_t set = SetOf({SIGUSR1});
        struct timespec ts = {60, 0};
        EXPECT_THAT(sigtimedwait(&set, nullptr, &ts), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr2.count(), 1);
      },
      {.what = "waiting in sigtimedwait for SIGUSR1, interrupted by a SIGUSR2 handler"});
  char b;
  ASSERT_THAT(read(ready.read.get(), &b, 1), SyscallSucceedsWithValue(1));
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_rt_sigtimedwait));
  ASSERT_THAT(c.Kill(SIGUSR2), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SignalSigwaitinfo, HandlerForAnotherSignalIsEintr, "signal.sigtimedwait-eintr") {
  ASSERT_OK_AND_ASSIGN(Pipe ready, Pipe::Create());
  int wfd = ready.write.get();
  Child c = Child::Spawn(
      [=] {
        SignalCounter usr2(SIGUSR2);
        ScopedSigmask block(SIG_BLOCK, SIGUSR1);
        ASSERT_THAT(write(wfd, "r", 1), SyscallSucceedsWithValue(1));
        sigset_t set = SetOf({SIGUSR1});
        EXPECT_THAT(sigwaitinfo(&set, nullptr), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr2.count(), 1);
      },
      {.what = "waiting in sigwaitinfo for SIGUSR1, interrupted by a SIGUSR2 handler"});
  char b;
  ASSERT_THAT(read(ready.read.get(), &b, 1), SyscallSucceedsWithValue(1));
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_rt_sigtimedwait));
  ASSERT_THAT(c.Kill(SIGUSR2), SyscallSucceeds());
  c.ExpectExited(0);
}

struct TimeoutEinvalRow {
  const char* name;
  rules::RuleList rules;
  struct timespec ts;
};
const TimeoutEinvalRow kTimeoutEinval[] = {
    {"NsecOneBillion", {}, {0, 1000000000}},
    {"NsecNegative", {}, {0, -1}},
    {"SecNegative", {}, {-1, 0}},
};
class SignalSigtimedwaitEinval : public ::testing::TestWithParam<TimeoutEinvalRow> {};
IPC_TEST_P(SignalSigtimedwaitEinval, InvalidTimeoutIsEinvalEvenWithASignalPending,
           "signal.sigtimedwait-einval") {
  struct timespec ts = GetParam().ts;
  Child c = Child::Spawn(
      [&] {
        ScopedSigmask block(SIG_BLOCK, SIGUSR1);
        sigset_t set = SetOf({SIGUSR1});
        EXPECT_THAT(sigtimedwait(&set, nullptr, &ts), SyscallFailsWithErrno(EINVAL));
        ASSERT_THAT(kill(getpid(), SIGUSR1), SyscallSucceeds());
        EXPECT_THAT(sigtimedwait(&set, nullptr, &ts), SyscallFailsWithErrno(EINVAL));
        EXPECT_TRUE(IsSignalPending(SIGUSR1)) << "the failed call took the signal";
        struct timespec zero = {0, 0};
        EXPECT_THAT(sigtimedwait(&set, nullptr, &zero), SyscallSucceedsWithValue(SIGUSR1));
      },
      {.what = "sigtimedwait with an invalid timeout"});
  c.ExpectExited(0);
}
IPC_INSTANTIATE_TABLE(Table, SignalSigtimedwaitEinval, kTimeoutEinval);

IPC_TEST(SignalSigwaitinfo, LowestNumberedStandardSignalFirst, "signal.sigwaitinfo-standard-lowest-first") {
  Child c = Child::Spawn(
      [&] {
        sigset_t set = SetOf({SIGHUP, SIGUSR1, SIGUSR2, SIGTERM, SIGWINCH});
        ScopedSigmask block(SIG_BLOCK, set);
        for (int sig : {SIGWINCH, SIGTERM, SIGUSR1, SIGHUP, SIGUSR2})
          ASSERT_THAT(kill(getpid(), sig), SyscallSucceeds());
        std::vector<int> got;
        struct timespec zero = {0, 0};
        int s;
        while ((s = sigtimedwait(&set, nullptr, &zero)) > 0) got.push_back(s);
        EXPECT_EQ(got, (std::vector<int>{SIGHUP, SIGUSR1, SIGUSR2, SIGTERM, SIGWINCH}));
      },
      {.what = "taking five pending standard signals sent in a shuffled order"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigwaitinfo, RealTimeSignalsAfterStandardOnesInNumberOrder,
         "signal.sigwaitinfo-realtime-order") {
  Child c = Child::Spawn(
      [&] {
        int r0 = SIGRTMIN, r1 = SIGRTMIN + 1, r2 = SIGRTMIN + 2;
        sigset_t set = SetOf({SIGUSR1, r0, r1, r2});
        ScopedSigmask block(SIG_BLOCK, set);
        auto q = [](int sig, int v) {
          union sigval sv;
          sv.sival_int = v;
          return sigqueue(getpid(), sig, sv);
        };
        ASSERT_THAT(q(r2, 1), SyscallSucceeds());
        ASSERT_THAT(q(r0, 2), SyscallSucceeds());
        ASSERT_THAT(q(r2, 3), SyscallSucceeds());
        ASSERT_THAT(q(SIGUSR1, 4), SyscallSucceeds());
        ASSERT_THAT(q(r1, 5), SyscallSucceeds());
        ASSERT_THAT(q(r0, 6), SyscallSucceeds());
        std::vector<std::pair<int, int>> got;
        struct timespec zero = {0, 0};
        siginfo_t si;
        int s;
        while ((s = sigtimedwait(&set, &si, &zero)) > 0) got.emplace_back(s, si.si_value.sival_int);
        std::vector<std::pair<int, int>> want = {{SIGUSR1, 4}, {r0, 2}, {r0, 6}, {r1, 5}, {r2, 1}, {r2, 3}};
        EXPECT_EQ(got, want);
      },
      {.what = "taking queued real-time signals and a standard one"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
