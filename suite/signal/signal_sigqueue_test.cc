// sigqueue(3) and rt_sigqueueinfo(2): the value and SI_QUEUE in the receiver's siginfo, real-time
// signals queued in order and standard ones merged, the RLIMIT_SIGPENDING queue limit (EAGAIN), a forged
// si_code refused for another process (EPERM), and EINVAL, ESRCH, EPERM. Rules in
// suite/rules/signal-delivery.ini.
//
// rt_sigqueueinfo(2) has no glibc wrapper (glibc 2.36): signal_util::RtSigqueueinfo calls syscall(2).
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "signal_delivery_util.h"

namespace ipc {
namespace {

using namespace signal_util;

IPC_TEST(SignalSigqueue, HandlerGetsTheValueAndSiQueue, "signal.sigqueue-si-value") {
  Child c = Child::Spawn(
      [&] {
        RecordSignal rec(SIGUSR1);
        ASSERT_TRUE(rec.ok());
        union sigval v;
        v.sival_int = 4242;
        ASSERT_THAT(sigqueue(getpid(), SIGUSR1, v), SyscallSucceeds());
        EXPECT_EQ(rec->count.load(), 1);
        EXPECT_EQ(rec->code.load(), SI_QUEUE);
        EXPECT_EQ(rec->value.load(), 4242);
        EXPECT_EQ(rec->pid.load(), getpid());
        EXPECT_EQ(rec->uid.load(), static_cast<long>(getuid()));
      },
      {.what = "sigqueue to itself with a SA_SIGINFO handler"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigqueue, ValueReachesAnotherProcess, "signal.sigqueue-si-value") {
  Child c = Child::Spawn(
      [&] {
        ScopedSigmask block(SIG_BLOCK, SIGRTMIN);
        pid_t pid = ForkSiQueueWaiter(77, getpid());
        ASSERT_THAT(pid, SyscallSucceeds());
        union sigval v;
        v.sival_int = 77;
        ASSERT_THAT(sigqueue(pid, SIGRTMIN, v), SyscallSucceeds());
        ExpectReapedExit(pid, 0, kSiQueueWaiterCodes);
      },
      {.what = "sigqueue to a grandchild waiting in sigwaitinfo"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigqueue, RealTimeSignalsQueueEveryValueInOrder, "signal.sigqueue-rt-queued") {
  Child c = Child::Spawn(
      [&] {
        ScopedSigmask block(SIG_BLOCK, SIGRTMIN + 1);
        for (int i = 0; i < 5; ++i) {
          union sigval v;
          v.sival_int = 100 + i;
          ASSERT_THAT(sigqueue(getpid(), SIGRTMIN + 1, v), SyscallSucceeds());
        }
        sigset_t set = SetOf({SIGRTMIN + 1});
        struct timespec zero = {0, 0};
        for (int i = 0; i < 5; ++i) {
          siginfo_t si = {};
          ASSERT_THAT(sigtimedwait(&set, &si, &zero), SyscallSucceedsWithValue(SIGRTMIN + 1))
              << "instance " << i;
          EXPECT_EQ(si.si_value.sival_int, 100 + i);
        }
        EXPECT_THAT(sigtimedwait(&set, nullptr, &zero), SyscallFailsWithErrno(EAGAIN))
            << "more than 5 queued";
      },
      {.what = "queueing five instances of a blocked real-time signal"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigqueue, StandardSignalInstancesMerge, "signal.sigqueue-standard-merged") {
  Child c = Child::Spawn(
      [&] {
        ScopedSigmask block(SIG_BLOCK, SIGUSR2);
        for (int i = 0; i < 3; ++i) {
          union sigval v;
          v.sival_int = 200 + i;
          ASSERT_THAT(sigqueue(getpid(), SIGUSR2, v), SyscallSucceeds());
        }
        sigset_t set = SetOf({SIGUSR2});
        struct timespec zero = {0, 0};
        siginfo_t si = {};
        ASSERT_THAT(sigtimedwait(&set, &si, &zero), SyscallSucceedsWithValue(SIGUSR2));
        EXPECT_EQ(si.si_value.sival_int, 200) << "the first instance's information is kept";
        EXPECT_THAT(sigtimedwait(&set, nullptr, &zero), SyscallFailsWithErrno(EAGAIN))
            << "a standard signal was queued more than once";
      },
      {.what = "sigqueue of a blocked standard signal three times"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigqueue, SignalZeroProbesWithoutSending, "signal.sigqueue-sig-zero") {
  Child c = Child::Spawn(
      [&] {
        union sigval v;
        v.sival_int = 1;
        EXPECT_THAT(sigqueue(getpid(), 0, v), SyscallSucceeds());
        sigset_t pend;
        ASSERT_THAT(sigpending(&pend), SyscallSucceeds());
        EXPECT_TRUE(sigisemptyset(&pend));
        pid_t pid = ForkRaw([] { return 0; });
        ASSERT_THAT(pid, SyscallSucceeds());
        int st = 0;
        ASSERT_THAT(WaitPid(pid, &st, 0), SyscallSucceedsWithValue(pid));
        EXPECT_THAT(sigqueue(pid, 0, v), SyscallFailsWithErrno(ESRCH));
      },
      {.what = "sigqueue with signal 0"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigqueue, QueueLimitReachedIsEagain, "signal.sigqueue-eagain") {
  IPC_REQUIRE_PRIVATE_SIGNAL_COUNT();
  constexpr rlim_t kLimit = 4;
  union sigval v;
  v.sival_int = 0;
  // The limit counts every signal queued for this real user ID: at most kLimit succeed.
  ExpectSigpendingLimitIsEagain(
      kLimit, [&](int) { return sigqueue(getpid(), SIGRTMIN, v); },
      "filling RLIMIT_SIGPENDING = 4 with sigqueue",
      [&](int queued) {
        EXPECT_LE(queued, static_cast<int>(kLimit));
        EXPECT_TRUE(IsSignalPending(SIGRTMIN));
        // Taking one off the queue makes room for one more.
        sigset_t set = SetOf({SIGRTMIN});
        struct timespec zero = {0, 0};
        if (queued > 0) {
          ASSERT_THAT(sigtimedwait(&set, nullptr, &zero), SyscallSucceedsWithValue(SIGRTMIN));
          EXPECT_THAT(sigqueue(getpid(), SIGRTMIN, v), SyscallSucceeds());
        }
      });
}

struct SigqueueEinvalRow {
  const char* name;
  rules::RuleList rules;
  int sig;
};
const SigqueueEinvalRow kSigqueueEinval[] = {
    {"SignalNsig", {}, NSIG},
    {"NegativeSignal", {}, -1},
    {"SignalIntMax", {}, INT_MAX},
};
class SignalSigqueueEinval : public ::testing::TestWithParam<SigqueueEinvalRow> {};
IPC_TEST_P(SignalSigqueueEinval, FailsForAnInvalidSignalNumber, "signal.sigqueue-einval") {
  union sigval v;
  v.sival_int = 0;
  EXPECT_THAT(sigqueue(getpid(), GetParam().sig, v), SyscallFailsWithErrno(EINVAL));
}
IPC_INSTANTIATE_TABLE(Table, SignalSigqueueEinval, kSigqueueEinval);

IPC_TEST(SignalSigqueue, NoSuchProcessIsEsrch, "signal.sigqueue-esrch") {
  union sigval v;
  v.sival_int = 0;
  EXPECT_THAT(sigqueue(INT_MAX, SIGUSR1, v), SyscallFailsWithErrno(ESRCH));
}

IPC_TEST(SignalSigqueue, AnotherUsersProcessIsEperm, "signal.sigqueue-eperm") {
  IPC_REQUIRE_OTHER_USERS("to signal a root process as uid 65534");
  ExpectSendAsAnotherUserIsEperm(
      [](pid_t target, int) {
        union sigval v;
        v.sival_int = 0;
        return sigqueue(target, SIGUSR1, v);
      },
      "sigqueue to a root process as uid 65534");
}

// ---------------------------------------------------------------------------------------------------
// rt_sigqueueinfo(2)

IPC_TEST(SignalRtSigqueueinfo, ToItselfAnySiCodeIsDelivered, "signal.rt-sigqueueinfo-self-any-code") {
  Child c = Child::Spawn(
      [&] {
        RecordSignal rec(SIGUSR1);
        ASSERT_TRUE(rec.ok());
        siginfo_t si = Forged(SIGUSR1, SI_USER, 31);
        si.si_pid = 1;  // forged sender
        ASSERT_THAT(RtSigqueueinfo(getpid(), SIGUSR1, &si), SyscallSucceeds());
        EXPECT_EQ(rec->count.load(), 1);
        EXPECT_EQ(rec->code.load(), SI_USER);
        EXPECT_EQ(rec->pid.load(), 1) << "the forged sender is delivered as given";
        EXPECT_EQ(rec->value.load(), 31);
      },
      {.what = "rt_sigqueueinfo to itself with si_code SI_USER"});
  c.ExpectExited(0);
}

IPC_TEST(SignalRtSigqueueinfo, NegativeSiCodeReachesAnotherProcess, "signal.rt-sigqueueinfo-delivers") {
  Child c = Child::Spawn(
      [&] {
        ScopedSigmask block(SIG_BLOCK, SIGRTMIN);
        pid_t pid = ForkSiQueueWaiter(99);
        ASSERT_THAT(pid, SyscallSucceeds());
        siginfo_t si = Forged(SIGRTMIN, SI_QUEUE, 99);
        ASSERT_THAT(RtSigqueueinfo(pid, SIGRTMIN, &si), SyscallSucceeds());
        ExpectReapedExit(pid, 0, kSiQueueWaiterCodes);
      },
      {.what = "rt_sigqueueinfo with SI_QUEUE to a grandchild"});
  c.ExpectExited(0);
}

struct ForgedCodeRow {
  const char* name;
  rules::RuleList rules;
  int code;
};
const ForgedCodeRow kForgedCodes[] = {
    {"SiUser", {}, SI_USER},
    {"SiKernel", {}, SI_KERNEL},
    {"PositiveCode", {}, 1},
    {"SiTkill", {}, SI_TKILL},
};
class SignalRtSigqueueinfoForged : public ::testing::TestWithParam<ForgedCodeRow> {};
IPC_TEST_P(SignalRtSigqueueinfoForged, ToAnotherProcessIsEperm, "signal.rt-sigqueueinfo-eperm-forged-code") {
  int code = GetParam().code;
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
        pid_t pid = ForkWaiter(p);
        ASSERT_THAT(pid, SyscallSucceeds());
        siginfo_t si = Forged(SIGUSR1, code, 1);
        EXPECT_THAT(RtSigqueueinfo(pid, SIGUSR1, &si), SyscallFailsWithErrno(EPERM));
        p.write.Close();
        ExpectReapedExit(pid, 0, " (the forged signal was delivered)");
      },
      {.what = "forging si_code for another process with rt_sigqueueinfo"});
  c.ExpectExited(0);
}
IPC_INSTANTIATE_TABLE(Table, SignalRtSigqueueinfoForged, kForgedCodes);

IPC_TEST(SignalRtSigqueueinfo, AnotherUsersProcessIsEperm, "signal.rt-sigqueueinfo-eperm") {
  IPC_REQUIRE_OTHER_USERS("to signal a root process as uid 65534");
  ExpectSendAsAnotherUserIsEperm(
      [](pid_t target, int) {
        siginfo_t si = Forged(SIGUSR1, SI_QUEUE, 0);
        return RtSigqueueinfo(target, SIGUSR1, &si);
      },
      "rt_sigqueueinfo to a root process as uid 65534");
}

IPC_TEST(SignalRtSigqueueinfo, InvalidSignalIsEinval, "signal.rt-sigqueueinfo-einval") {
  siginfo_t si = Forged(SIGUSR1, SI_QUEUE, 0);
  EXPECT_THAT(RtSigqueueinfo(getpid(), NSIG, &si), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(RtSigqueueinfo(getpid(), -1, &si), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(SignalRtSigqueueinfo, NoSuchThreadGroupIsEsrch, "signal.rt-sigqueueinfo-esrch") {
  siginfo_t si = Forged(SIGUSR1, SI_QUEUE, 0);
  EXPECT_THAT(RtSigqueueinfo(INT_MAX, SIGUSR1, &si), SyscallFailsWithErrno(ESRCH));
}

IPC_TEST(SignalRtSigqueueinfo, QueueLimitReachedIsEagain, "signal.rt-sigqueueinfo-eagain") {
  IPC_REQUIRE_PRIVATE_SIGNAL_COUNT();
  ExpectSigpendingLimitIsEagain(
      3,
      [](int i) {
        siginfo_t si = Forged(SIGRTMIN, SI_QUEUE, i);
        return RtSigqueueinfo(getpid(), SIGRTMIN, &si);
      },
      "filling RLIMIT_SIGPENDING = 3 with rt_sigqueueinfo");
}

}  // namespace
}  // namespace ipc
