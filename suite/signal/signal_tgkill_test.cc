// tgkill(2) (glibc wrapper since 2.30) and pidfd_send_signal(2) with pidfd_open(2): thread-directed
// delivery, the thread group check (ESRCH), EINVAL, EPERM, EAGAIN for real-time signals at
// RLIMIT_SIGPENDING; a pidfd keeps naming its process (ESRCH only after the reap), flags, si_code forging
// and permission. Rules in suite/rules/signal-delivery.ini. tkill(2) is in signal_mask_test.cc.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <thread>

#include "ipcsuite/fixtures.h"
#include "signal_delivery_util.h"

namespace ipc {
namespace {

using namespace signal_util;

IPC_TEST(SignalTgkill, DeliversToTheNamedThread, "signal.tgkill-thread-directed") {
  Child c = Child::Spawn(
      [&] {
        RecordSignal rec(SIGUSR1);
        ASSERT_TRUE(rec.ok());
        std::atomic<pid_t> tid{0};
        std::atomic<bool> stop{false};
        std::thread t([&] {
          tid = static_cast<pid_t>(gettid());
          while (!stop.load() && rec->count.load() == 0) {
          }
        });
        while (tid.load() == 0) {
        }
        {
          ScopedSigmask block(SIG_BLOCK, SIGUSR1);  // this thread cannot take it
          ASSERT_THAT(tgkill(getpid(), tid.load(), SIGUSR1), SyscallSucceeds());
        }
        // The other thread ran the handler (the main thread's unblock found nothing pending for it).
        while (rec->count.load() == 0) {
        }
        stop = true;
        t.join();
        EXPECT_EQ(rec->count.load(), 1);
        EXPECT_EQ(rec->tid.load(), static_cast<long>(tid.load()));
        EXPECT_EQ(rec->pid.load(), getpid());
      },
      {.what = "tgkill to a second thread"});
  c.ExpectExited(0);
}

IPC_TEST(SignalTgkill, ThreadOfAnotherGroupIsEsrch, "signal.tgkill-esrch") {
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
        pid_t pid = ForkWaiter(p);
        ASSERT_THAT(pid, SyscallSucceeds());
        // pid's main thread exists, but not in the caller's thread group.
        EXPECT_THAT(tgkill(getpid(), pid, SIGUSR1), SyscallFailsWithErrno(ESRCH));
        EXPECT_THAT(tgkill(pid, getpid(), SIGUSR1), SyscallFailsWithErrno(ESRCH));
        EXPECT_THAT(tgkill(pid, pid, 0), SyscallSucceeds());
        p.write.Close();
        ExpectReapedExit(pid);
        EXPECT_THAT(tgkill(pid, pid, 0), SyscallFailsWithErrno(ESRCH)) << "after the reap";
      },
      {.what = "tgkill with a tid of another thread group"});
  c.ExpectExited(0);
}

IPC_TEST(SignalTgkill, ExitedThreadIsEsrch, "signal.tgkill-esrch") {
  pid_t tid = 0;
  std::thread t([&] { tid = static_cast<pid_t>(gettid()); });
  t.join();
  // pthread_join returns when the kernel clears the thread's tid (CLONE_CHILD_CLEARTID), a moment before the
  // thread is released (much longer under an emulator): wait, with a deadline, until it has left the group.
  const auto until = std::chrono::steady_clock::now() + ScaledDeadline(kDefaultBlockDeadline);
  while (ReadTaskState(getpid(), tid).has_value() && std::chrono::steady_clock::now() < until) sched_yield();
  ASSERT_FALSE(ReadTaskState(getpid(), tid).has_value())
      << "thread " << tid << " is still there after the join";
  EXPECT_THAT(tgkill(getpid(), tid, 0), SyscallFailsWithErrno(ESRCH));
}

struct TgkillEinvalRow {
  const char* name;
  rules::RuleList rules;
  bool own_tgid, own_tid;
  pid_t tgid, tid;
  int sig;
};
const TgkillEinvalRow kTgkillEinval[] = {
    {"SignalNsig", {}, true, true, 0, 0, NSIG},   {"NegativeSignal", {}, true, true, 0, 0, -1},
    {"TidZero", {}, true, false, 0, 0, SIGUSR1},  {"TidNegative", {}, true, false, 0, -1, SIGUSR1},
    {"TgidZero", {}, false, true, 0, 0, SIGUSR1}, {"TgidNegative", {}, false, true, -1, 0, SIGUSR1},
};
class SignalTgkillEinval : public ::testing::TestWithParam<TgkillEinvalRow> {};
IPC_TEST_P(SignalTgkillEinval, FailsWithoutSending, "signal.tgkill-einval") {
  const TgkillEinvalRow& row = GetParam();
  pid_t tgid = row.own_tgid ? getpid() : row.tgid;
  pid_t tid = row.own_tid ? static_cast<pid_t>(gettid()) : row.tid;
  EXPECT_THAT(tgkill(tgid, tid, row.sig), SyscallFailsWithErrno(EINVAL));
}
IPC_INSTANTIATE_TABLE(Table, SignalTgkillEinval, kTgkillEinval);

IPC_TEST(SignalTgkill, AnotherUsersThreadIsEperm, "signal.tgkill-eperm") {
  IPC_REQUIRE_OTHER_USERS("to signal a root process as uid 65534");
  ExpectSendAsAnotherUserIsEperm([](pid_t target, int) { return tgkill(target, target, SIGUSR1); },
                                 "tgkill to a root process as uid 65534");
}

IPC_TEST(SignalTgkill, RealTimeSignalAtTheQueueLimitIsEagain, "signal.tgkill-eagain") {
  IPC_REQUIRE_PRIVATE_SIGNAL_COUNT();
  ExpectSigpendingLimitIsEagain(
      3, [](int) { return tgkill(getpid(), static_cast<pid_t>(gettid()), SIGRTMIN); },
      "tgkill of a real-time signal with RLIMIT_SIGPENDING = 3");
}

// ---------------------------------------------------------------------------------------------------
// pidfd_send_signal(2)

IPC_TEST(SignalPidfd, SendSignalDeliversLikeKill, "signal.pidfd-send-signal-delivers") {
  Child c = Child::Spawn(
      [&] {
        RecordSignal rec(SIGUSR1);
        ASSERT_TRUE(rec.ok());
        FileDescriptor pfd(pidfd_open(getpid(), 0));
        ASSERT_TRUE(pfd.valid()) << DescribeErrno(errno);
        ASSERT_THAT(pidfd_send_signal(pfd.get(), SIGUSR1, nullptr, 0), SyscallSucceeds());
        EXPECT_EQ(rec->count.load(), 1);
        EXPECT_EQ(rec->code.load(), SI_USER);
        EXPECT_EQ(rec->pid.load(), getpid());
        EXPECT_EQ(rec->uid.load(), static_cast<long>(getuid()));
        // And to another process: SIGTERM kills it.
        ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
        pid_t pid = ForkWaiter(p);
        ASSERT_THAT(pid, SyscallSucceeds());
        FileDescriptor other(pidfd_open(pid, 0));
        ASSERT_TRUE(other.valid()) << DescribeErrno(errno);
        ASSERT_THAT(pidfd_send_signal(other.get(), SIGTERM, nullptr, 0), SyscallSucceeds());
        ExpectReapedKilledBy(pid, SIGTERM);
      },
      {.what = "pidfd_send_signal to itself and to a grandchild"});
  c.ExpectExited(0);
}

IPC_TEST(SignalPidfd, SendSignalCarriesAQueuedSiginfo, "signal.pidfd-send-signal-info") {
  Child c = Child::Spawn(
      [&] {
        ScopedSigmask block(SIG_BLOCK, SIGRTMIN);
        pid_t pid = ForkSiQueueWaiter(314);
        ASSERT_THAT(pid, SyscallSucceeds());
        FileDescriptor pfd(pidfd_open(pid, 0));
        ASSERT_TRUE(pfd.valid()) << DescribeErrno(errno);
        siginfo_t si = Forged(SIGRTMIN, SI_QUEUE, 314);
        ASSERT_THAT(pidfd_send_signal(pfd.get(), SIGRTMIN, &si, 0), SyscallSucceeds());
        ExpectReapedExit(pid, 0, kSiQueueWaiterCodes);
      },
      {.what = "pidfd_send_signal with an SI_QUEUE siginfo"});
  c.ExpectExited(0);
}

IPC_TEST(SignalPidfd, ZombieIsATargetReapedProcessIsEsrch, "signal.pidfd-send-signal-esrch") {
  Child c = Child::Spawn(
      [&] {
        pid_t pid = ForkRaw([] { return 3; });
        ASSERT_THAT(pid, SyscallSucceeds());
        FileDescriptor pfd(pidfd_open(pid, 0));
        ASSERT_TRUE(pfd.valid()) << DescribeErrno(errno);
        siginfo_t info = {};
        ASSERT_THAT(waitid(P_PID, pid, &info, WEXITED | WNOWAIT), SyscallSucceeds());
        EXPECT_THAT(pidfd_send_signal(pfd.get(), 0, nullptr, 0), SyscallSucceeds()) << "an unreaped zombie";
        int st = 0;
        ASSERT_THAT(WaitPid(pid, &st, 0), SyscallSucceedsWithValue(pid));
        EXPECT_THAT(pidfd_send_signal(pfd.get(), SIGTERM, nullptr, 0), SyscallFailsWithErrno(ESRCH));
        EXPECT_THAT(pidfd_send_signal(pfd.get(), 0, nullptr, 0), SyscallFailsWithErrno(ESRCH));
      },
      {.what = "pidfd_send_signal to an exited grandchild before and after the reap"});
  c.ExpectExited(0);
}

struct PidfdEinvalRow {
  const char* name;
  rules::RuleList rules;
  int sig;
  unsigned flags;
};
const PidfdEinvalRow kPidfdEinval[] = {
    {"FlagsBit31", {"signal.pidfd-send-signal-einval-flags"}, SIGUSR1, 1u << 31},
    {"FlagsAllBits", {"signal.pidfd-send-signal-einval-flags"}, SIGUSR1, ~0u},
    {"SignalNsig", {"signal.pidfd-send-signal-einval-sig"}, NSIG, 0},
    {"NegativeSignal", {"signal.pidfd-send-signal-einval-sig"}, -1, 0},
};
class SignalPidfdEinval : public ::testing::TestWithParam<PidfdEinvalRow> {};
IPC_TEST_P(SignalPidfdEinval, FailsWithoutSending) {
  const PidfdEinvalRow& row = GetParam();
  FileDescriptor pfd(pidfd_open(getpid(), 0));
  ASSERT_TRUE(pfd.valid()) << DescribeErrno(errno);
  EXPECT_THAT(pidfd_send_signal(pfd.get(), row.sig, nullptr, row.flags), SyscallFailsWithErrno(EINVAL));
}
IPC_INSTANTIATE_TABLE(Table, SignalPidfdEinval, kPidfdEinval);

IPC_TEST(SignalPidfd, DescriptorThatIsNotAPidfdIsEbadf, "signal.pidfd-send-signal-ebadf") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  EXPECT_THAT(pidfd_send_signal(p.read.get(), 0, nullptr, 0), SyscallFailsWithErrno(EBADF));
  EXPECT_THAT(pidfd_send_signal(-1, 0, nullptr, 0), SyscallFailsWithErrno(EBADF));
}

IPC_TEST(SignalPidfd, AnotherUsersProcessIsEperm, "signal.pidfd-send-signal-eperm") {
  IPC_REQUIRE_OTHER_USERS("to signal a root process as uid 65534");
  ExpectSendAsAnotherUserIsEperm(
      [](pid_t, int pidfd) { return pidfd_send_signal(pidfd, SIGUSR1, nullptr, 0); },
      "pidfd_send_signal to a root process as uid 65534, with a pidfd opened as root",
      /*open_pidfd=*/true);
}

IPC_TEST(SignalPidfd, ForgedSiCodeToAnotherProcessIsEperm, "signal.pidfd-send-signal-eperm-forged-code") {
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
        pid_t target = ForkWaiter(p);
        ASSERT_THAT(target, SyscallSucceeds());
        FileDescriptor pfd(pidfd_open(target, 0));
        ASSERT_TRUE(pfd.valid()) << DescribeErrno(errno);
        siginfo_t si = Forged(SIGUSR1, SI_USER, 0);
        EXPECT_THAT(pidfd_send_signal(pfd.get(), SIGUSR1, &si, 0), SyscallFailsWithErrno(EPERM));
        si = Forged(SIGUSR1, SI_KERNEL, 0);
        EXPECT_THAT(pidfd_send_signal(pfd.get(), SIGUSR1, &si, 0), SyscallFailsWithErrno(EPERM));
        // To itself the same siginfo is allowed.
        RecordSignal rec(SIGUSR2);
        ASSERT_TRUE(rec.ok());
        FileDescriptor self(pidfd_open(getpid(), 0));
        ASSERT_TRUE(self.valid()) << DescribeErrno(errno);
        si = Forged(SIGUSR2, SI_USER, 0);
        EXPECT_THAT(pidfd_send_signal(self.get(), SIGUSR2, &si, 0), SyscallSucceeds());
        EXPECT_EQ(rec->count.load(), 1);
        p.write.Close();
        ExpectReapedExit(target);
      },
      {.what = "pidfd_send_signal with a forged si_code"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
