// sigprocmask(2) and sigpending(2): SIG_BLOCK / SIG_UNBLOCK / SIG_SETMASK, a NULL set as a query, SIGKILL
// and SIGSTOP silently left out, unblocking delivers what was pending, the pending set of the thread and
// of the process, and the errors EINVAL and EFAULT. Rules in suite/rules/signal-delivery.ini.
//
// Everything that changes the mask runs in a Child.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "ipcsuite/fixtures.h"
#include "signal_delivery_util.h"

namespace ipc {
namespace {

using namespace signal_util;

sigset_t Mask() {
  sigset_t s;
  sigemptyset(&s);
  sigprocmask(SIG_SETMASK, nullptr, &s);
  return s;
}

IPC_TEST(SignalSigprocmask, BlockAddsToTheMask, "signal.sigprocmask-block") {
  Child c = Child::Spawn(
      [&] {
        sigset_t empty = SetOf({});
        ASSERT_THAT(sigprocmask(SIG_SETMASK, &empty, nullptr), SyscallSucceeds());
        sigset_t a = SetOf({SIGUSR1}), b = SetOf({SIGUSR2, SIGRTMIN}), old;
        ASSERT_THAT(sigprocmask(SIG_BLOCK, &a, nullptr), SyscallSucceeds());
        ASSERT_THAT(sigprocmask(SIG_BLOCK, &b, &old), SyscallSucceeds());
        EXPECT_EQ(sigismember(&old, SIGUSR1), 1);
        EXPECT_EQ(sigismember(&old, SIGUSR2), 0);
        sigset_t now = Mask();
        for (int sig : {SIGUSR1, SIGUSR2, SIGRTMIN}) EXPECT_EQ(sigismember(&now, sig), 1) << SignalName(sig);
        EXPECT_EQ(sigismember(&now, SIGTERM), 0);
      },
      {.what = "blocking two sets in turn"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigprocmask, UnblockRemovesFromTheMask, "signal.sigprocmask-unblock") {
  Child c = Child::Spawn(
      [&] {
        sigset_t three = SetOf({SIGUSR1, SIGUSR2, SIGTERM});
        ASSERT_THAT(sigprocmask(SIG_SETMASK, &three, nullptr), SyscallSucceeds());
        // Unblocking a signal that is not blocked (SIGHUP) is allowed.
        sigset_t some = SetOf({SIGUSR2, SIGHUP});
        ASSERT_THAT(sigprocmask(SIG_UNBLOCK, &some, nullptr), SyscallSucceeds());
        sigset_t now = Mask();
        EXPECT_EQ(sigismember(&now, SIGUSR1), 1);
        EXPECT_EQ(sigismember(&now, SIGUSR2), 0);
        EXPECT_EQ(sigismember(&now, SIGTERM), 1);
        EXPECT_EQ(sigismember(&now, SIGHUP), 0);
      },
      {.what = "unblocking part of the mask"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigprocmask, SetmaskReplacesTheMask, "signal.sigprocmask-setmask") {
  Child c = Child::Spawn(
      [&] {
        sigset_t a = SetOf({SIGUSR1, SIGTERM}), b = SetOf({SIGUSR2}), old;
        ASSERT_THAT(sigprocmask(SIG_SETMASK, &a, nullptr), SyscallSucceeds());
        ASSERT_THAT(sigprocmask(SIG_SETMASK, &b, &old), SyscallSucceeds());
        EXPECT_EQ(sigismember(&old, SIGUSR1), 1);
        EXPECT_EQ(sigismember(&old, SIGTERM), 1);
        sigset_t now = Mask();
        EXPECT_EQ(sigismember(&now, SIGUSR1), 0);
        EXPECT_EQ(sigismember(&now, SIGTERM), 0);
        EXPECT_EQ(sigismember(&now, SIGUSR2), 1);
      },
      {.what = "replacing the mask"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigprocmask, NullSetOnlyReportsTheMaskWhateverHow, "signal.sigprocmask-null-set") {
  Child c = Child::Spawn(
      [&] {
        sigset_t a = SetOf({SIGUSR1});
        ASSERT_THAT(sigprocmask(SIG_SETMASK, &a, nullptr), SyscallSucceeds());
        for (int how : {SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK, 12345}) {
          sigset_t old;
          sigemptyset(&old);
          EXPECT_THAT(sigprocmask(how, nullptr, &old), SyscallSucceeds()) << "how " << how;
          EXPECT_EQ(sigismember(&old, SIGUSR1), 1) << "how " << how;
        }
        sigset_t now = Mask();
        EXPECT_EQ(sigismember(&now, SIGUSR1), 1) << "a query changed the mask";
      },
      {.what = "querying the mask with set = NULL"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigprocmask, InvalidHowIsEinvalAndChangesNothing, "signal.sigprocmask-einval") {
  Child c = Child::Spawn(
      [&] {
        sigset_t a = SetOf({SIGUSR1}), b = SetOf({SIGUSR2});
        ASSERT_THAT(sigprocmask(SIG_SETMASK, &a, nullptr), SyscallSucceeds());
        for (int how : {-1, 3, 12345}) {
          EXPECT_THAT(sigprocmask(how, &b, nullptr), SyscallFailsWithErrno(EINVAL)) << "how " << how;
        }
        sigset_t now = Mask();
        EXPECT_EQ(sigismember(&now, SIGUSR1), 1);
        EXPECT_EQ(sigismember(&now, SIGUSR2), 0);
      },
      {.what = "sigprocmask with an invalid how"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigprocmask, BlockingKillAndStopIsSilentlyIgnored, "signal.sigprocmask-kill-stop-ignored") {
  Child c = Child::Spawn(
      [&] {
        sigset_t all;
        sigfillset(&all);
        sigaddset(&all, SIGKILL);
        sigaddset(&all, SIGSTOP);
        ASSERT_THAT(sigprocmask(SIG_SETMASK, &all, nullptr), SyscallSucceeds());
        sigset_t now = Mask();
        EXPECT_EQ(sigismember(&now, SIGKILL), 0);
        EXPECT_EQ(sigismember(&now, SIGSTOP), 0);
        EXPECT_EQ(sigismember(&now, SIGTERM), 1);
        // And SIGKILL still kills.
        raise(SIGKILL);
      },
      {.what = "blocking every signal, then raising SIGKILL"});
  c.ExpectKilledBy(SIGKILL);
}

IPC_TEST(SignalSigprocmask, OldsetOutsideTheAddressSpaceIsEfault, "signal.sigprocmask-efault") {
  Child c = Child::Spawn(
      [&] {
        InaccessiblePage page;
        ASSERT_TRUE(page.ok());
        sigset_t a = SetOf({SIGUSR1});
        EXPECT_THAT(sigprocmask(SIG_BLOCK, &a, page.as<sigset_t>()), SyscallFailsWithErrno(EFAULT));
        EXPECT_THAT(sigprocmask(SIG_BLOCK, nullptr, page.as<sigset_t>()), SyscallFailsWithErrno(EFAULT));
      },
      {.what = "sigprocmask with an inaccessible oldset"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigprocmask, UnblockingDeliversThePendingSignal, "signal.unblock-delivers-pending") {
  Child c = Child::Spawn(
      [&] {
        RecordSignal rec(SIGUSR1);
        ASSERT_TRUE(rec.ok());
        sigset_t a = SetOf({SIGUSR1});
        ASSERT_THAT(sigprocmask(SIG_BLOCK, &a, nullptr), SyscallSucceeds());
        ASSERT_THAT(kill(getpid(), SIGUSR1), SyscallSucceeds());
        EXPECT_EQ(rec->count.load(), 0) << "delivered while blocked";
        ASSERT_THAT(sigprocmask(SIG_UNBLOCK, &a, nullptr), SyscallSucceeds());
        EXPECT_EQ(rec->count.load(), 1) << "not delivered by the time sigprocmask returned";
        EXPECT_FALSE(IsSignalPending(SIGUSR1));
      },
      {.what = "unblocking a pending SIGUSR1"});
  c.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------------
// sigpending(2)

IPC_TEST(SignalSigpending, ReturnsTheBlockedPendingSignals, "signal.sigpending-set") {
  Child c = Child::Spawn(
      [&] {
        sigset_t a = SetOf({SIGUSR1, SIGUSR2, SIGRTMIN});
        ASSERT_THAT(sigprocmask(SIG_BLOCK, &a, nullptr), SyscallSucceeds());
        sigset_t pend;
        ASSERT_THAT(sigpending(&pend), SyscallSucceeds());
        EXPECT_TRUE(sigisemptyset(&pend));
        ASSERT_THAT(kill(getpid(), SIGUSR2), SyscallSucceeds());
        ASSERT_THAT(kill(getpid(), SIGRTMIN), SyscallSucceeds());
        ASSERT_THAT(sigpending(&pend), SyscallSucceeds());
        EXPECT_EQ(sigismember(&pend, SIGUSR1), 0);
        EXPECT_EQ(sigismember(&pend, SIGUSR2), 1);
        EXPECT_EQ(sigismember(&pend, SIGRTMIN), 1);
        // Taking them away empties the set.
        struct timespec zero = {0, 0};
        ASSERT_THAT(sigtimedwait(&a, nullptr, &zero), SyscallSucceeds());
        ASSERT_THAT(sigtimedwait(&a, nullptr, &zero), SyscallSucceeds());
        ASSERT_THAT(sigpending(&pend), SyscallSucceeds());
        EXPECT_TRUE(sigisemptyset(&pend));
      },
      {.what = "sigpending with two blocked signals sent"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigpending, UnionOfThreadAndProcessPending, "signal.sigpending-thread-and-process") {
  Child c = Child::Spawn(
      [&] {
        sigset_t a = SetOf({SIGUSR1, SIGUSR2});
        ASSERT_THAT(sigprocmask(SIG_BLOCK, &a, nullptr), SyscallSucceeds());
        std::atomic<pid_t> other_tid{0};
        std::atomic<bool> done{false};
        std::atomic<int> other_sees_usr2{-1}, other_sees_usr1{-1};
        std::atomic<bool> checked{false};
        std::thread t([&] {  // inherits the mask
          other_tid = static_cast<pid_t>(gettid());
          while (!done.load()) {
          }
          sigset_t pend;
          sigpending(&pend);
          other_sees_usr1 = sigismember(&pend, SIGUSR1);
          other_sees_usr2 = sigismember(&pend, SIGUSR2);
          checked = true;
          sigset_t u2 = SetOf({SIGUSR2});
          struct timespec zero = {0, 0};
          sigtimedwait(&u2, nullptr, &zero);  // takes its own thread-directed SIGUSR2
        });
        while (other_tid.load() == 0) {
        }
        // Process-directed SIGUSR1, thread-directed SIGUSR2 to the other thread only.
        ASSERT_THAT(kill(getpid(), SIGUSR1), SyscallSucceeds());
        ASSERT_THAT(tgkill(getpid(), other_tid.load(), SIGUSR2), SyscallSucceeds());
        sigset_t pend;
        ASSERT_THAT(sigpending(&pend), SyscallSucceeds());
        EXPECT_EQ(sigismember(&pend, SIGUSR1), 1) << "process-directed signal missing";
        EXPECT_EQ(sigismember(&pend, SIGUSR2), 0) << "another thread's pending signal shows here";
        done = true;
        t.join();
        EXPECT_EQ(other_sees_usr1.load(), 1) << "the other thread does not see the process's pending signal";
        EXPECT_EQ(other_sees_usr2.load(), 1) << "the other thread does not see its own pending signal";
        sigset_t u1 = SetOf({SIGUSR1});
        struct timespec zero = {0, 0};
        EXPECT_THAT(sigtimedwait(&u1, nullptr, &zero), SyscallSucceedsWithValue(SIGUSR1));
      },
      {.what = "sigpending in two threads with process- and thread-directed signals"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigpending, SetOutsideTheAddressSpaceIsEfault, "signal.sigpending-efault") {
  InaccessiblePage page;
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(sigpending(page.as<sigset_t>()), SyscallFailsWithErrno(EFAULT));
}

IPC_TEST(SignalSigpending, TkillMakesTheSignalPendingForTheThread, "signal.tkill-thread-directed") {
  // tkill(2) has no glibc wrapper (glibc 2.36): signal_util::Tkill calls syscall(2).
  Child c = Child::Spawn(
      [&] {
        RecordSignal rec(SIGUSR1);
        ASSERT_TRUE(rec.ok());
        ScopedSigmask block(SIG_BLOCK, SIGUSR1);
        ASSERT_THAT(Tkill(static_cast<pid_t>(gettid()), SIGUSR1), SyscallSucceeds());
        EXPECT_TRUE(IsSignalPending(SIGUSR1));
        sigset_t u1 = SetOf({SIGUSR1});
        siginfo_t si = {};
        struct timespec zero = {0, 0};
        ASSERT_THAT(sigtimedwait(&u1, &si, &zero), SyscallSucceedsWithValue(SIGUSR1));
        // sigaction(2) documents si_code SI_TKILL for tkill/tgkill; Linux 6.18 reports SI_USER, so the
        // code is not part of this rule.
        EXPECT_EQ(si.si_pid, getpid());
        EXPECT_FALSE(IsSignalPending(SIGUSR1));
      },
      {.what = "tkill to the calling thread"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
