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

using signal_util::Forged;
using signal_util::ForkRaw;
using signal_util::ForkWaiter;
using signal_util::LowerSigpendingLimit;
using signal_util::RecordSignal;
using signal_util::RtSigqueueinfo;
using signal_util::SetOf;
using signal_util::WaitPid;

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
        ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
        int wfd = p.write.get();
        pid_t parent = getpid();
        pid_t pid = ForkRaw([=] {
          close(wfd);  // unused
          siginfo_t si = {};
          sigset_t set = SetOf({SIGRTMIN});
          if (sigwaitinfo(&set, &si) != SIGRTMIN) return 10;
          if (si.si_code != SI_QUEUE) return 11;
          if (si.si_value.sival_int != 77) return 12;
          if (si.si_pid != parent) return 13;
          return 0;
        });
        ASSERT_THAT(pid, SyscallSucceeds());
        union sigval v;
        v.sival_int = 77;
        ASSERT_THAT(sigqueue(pid, SIGRTMIN, v), SyscallSucceeds());
        int st = 0;
        ASSERT_THAT(WaitPid(pid, &st, 0), SyscallSucceedsWithValue(pid));
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
            << ExitStatus::FromWaitStatus(st).Describe()
            << " (10 wrong signal, 11 si_code, 12 value, 13 si_pid)";
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
  Child c = Child::Spawn(
      [&] {
        ASSERT_EQ(signal_util::EnterPrivateSignalCount(), 0);
        ScopedSigmask block(SIG_BLOCK, SIGRTMIN);
        constexpr rlim_t kLimit = 4;
        ASSERT_TRUE(LowerSigpendingLimit(kLimit)) << DescribeErrno(errno);
        union sigval v;
        v.sival_int = 0;
        int queued = 0;
        int r = 0;
        // The limit counts every signal queued for this real user ID: at most kLimit succeed.
        for (rlim_t i = 0; i <= kLimit; ++i) {
          r = sigqueue(getpid(), SIGRTMIN, v);
          if (r != 0) break;
          ++queued;
        }
        EXPECT_THAT(r, SyscallFailsWithErrno(EAGAIN)) << "after " << queued << " queued, limit " << kLimit;
        EXPECT_LE(queued, static_cast<int>(kLimit));
        EXPECT_TRUE(IsSignalPending(SIGRTMIN));
        // Taking one off the queue makes room for one more.
        sigset_t set = SetOf({SIGRTMIN});
        struct timespec zero = {0, 0};
        if (queued > 0) {
          ASSERT_THAT(sigtimedwait(&set, nullptr, &zero), SyscallSucceedsWithValue(SIGRTMIN));
          EXPECT_THAT(sigqueue(getpid(), SIGRTMIN, v), SyscallSucceeds());
        }
        while (sigtimedwait(&set, nullptr, &zero) == SIGRTMIN) {
        }
      },
      {.what = "filling RLIMIT_SIGPENDING = 4 with sigqueue"});
  c.ExpectExited(0);
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
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
        pid_t target = ForkWaiter(p);
        ASSERT_THAT(target, SyscallSucceeds());
        pid_t sender = ForkRaw([=] {
          if (!isolation::DropPrivileges()) return 3;
          union sigval v;
          v.sival_int = 0;
          if (sigqueue(target, SIGUSR1, v) == 0) return 4;
          return errno == EPERM ? 0 : 5;
        });
        ASSERT_THAT(sender, SyscallSucceeds());
        int st = 0;
        ASSERT_THAT(WaitPid(sender, &st, 0), SyscallSucceedsWithValue(sender));
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
            << ExitStatus::FromWaitStatus(st).Describe()
            << " (3 drop failed, 4 sigqueue succeeded, 5 other errno)";
        p.write.Close();
        ASSERT_THAT(WaitPid(target, &st, 0), SyscallSucceedsWithValue(target));
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << ExitStatus::FromWaitStatus(st).Describe();
      },
      {.what = "sigqueue to a root process as uid 65534"});
  c.ExpectExited(0);
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
        pid_t pid = ForkRaw([] {
          siginfo_t si = {};
          sigset_t set = SetOf({SIGRTMIN});
          if (sigwaitinfo(&set, &si) != SIGRTMIN) return 10;
          if (si.si_code != SI_QUEUE) return 11;
          return si.si_value.sival_int == 99 ? 0 : 12;
        });
        ASSERT_THAT(pid, SyscallSucceeds());
        siginfo_t si = Forged(SIGRTMIN, SI_QUEUE, 99);
        ASSERT_THAT(RtSigqueueinfo(pid, SIGRTMIN, &si), SyscallSucceeds());
        int st = 0;
        ASSERT_THAT(WaitPid(pid, &st, 0), SyscallSucceedsWithValue(pid));
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << ExitStatus::FromWaitStatus(st).Describe();
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
        int st = 0;
        ASSERT_THAT(WaitPid(pid, &st, 0), SyscallSucceedsWithValue(pid));
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
            << "the forged signal was delivered: " << ExitStatus::FromWaitStatus(st).Describe();
      },
      {.what = "forging si_code for another process with rt_sigqueueinfo"});
  c.ExpectExited(0);
}
IPC_INSTANTIATE_TABLE(Table, SignalRtSigqueueinfoForged, kForgedCodes);

IPC_TEST(SignalRtSigqueueinfo, AnotherUsersProcessIsEperm, "signal.rt-sigqueueinfo-eperm") {
  IPC_REQUIRE_OTHER_USERS("to signal a root process as uid 65534");
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
        pid_t target = ForkWaiter(p);
        ASSERT_THAT(target, SyscallSucceeds());
        pid_t sender = ForkRaw([=] {
          if (!isolation::DropPrivileges()) return 3;
          siginfo_t si = Forged(SIGUSR1, SI_QUEUE, 0);
          if (RtSigqueueinfo(target, SIGUSR1, &si) == 0) return 4;
          return errno == EPERM ? 0 : 5;
        });
        ASSERT_THAT(sender, SyscallSucceeds());
        int st = 0;
        ASSERT_THAT(WaitPid(sender, &st, 0), SyscallSucceedsWithValue(sender));
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
            << ExitStatus::FromWaitStatus(st).Describe() << " (3 drop failed, 4 succeeded, 5 other errno)";
        p.write.Close();
        ASSERT_THAT(WaitPid(target, &st, 0), SyscallSucceedsWithValue(target));
      },
      {.what = "rt_sigqueueinfo to a root process as uid 65534"});
  c.ExpectExited(0);
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
  Child c = Child::Spawn(
      [&] {
        ASSERT_EQ(signal_util::EnterPrivateSignalCount(), 0);
        ScopedSigmask block(SIG_BLOCK, SIGRTMIN);
        constexpr rlim_t kLimit = 3;
        ASSERT_TRUE(LowerSigpendingLimit(kLimit)) << DescribeErrno(errno);
        int r = 0, queued = 0;
        for (rlim_t i = 0; i <= kLimit; ++i) {
          siginfo_t si = Forged(SIGRTMIN, SI_QUEUE, static_cast<int>(i));
          r = RtSigqueueinfo(getpid(), SIGRTMIN, &si);
          if (r != 0) break;
          ++queued;
        }
        EXPECT_THAT(r, SyscallFailsWithErrno(EAGAIN)) << "after " << queued << " queued, limit " << kLimit;
        sigset_t set = SetOf({SIGRTMIN});
        struct timespec zero = {0, 0};
        while (sigtimedwait(&set, nullptr, &zero) == SIGRTMIN) {
        }
      },
      {.what = "filling RLIMIT_SIGPENDING = 3 with rt_sigqueueinfo"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
