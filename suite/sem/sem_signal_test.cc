// signal(7) and semop(2)/semtimedop(2): a caught signal fails a blocked call with EINTR, SA_RESTART does
// not restart it, a stop and continue interrupts it, a blocked signal does not.
// Rules: suite/rules/sem.ini. Helpers: sem_util.h.
#include <signal.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "sem_util.h"

namespace ipc {
namespace {

using namespace sem_util;

// ---------------------------------------------------------------------------------------------------------
// Signals: EINTR, never restarted.

IPC_TEST(SemOpSignal, CaughtSignalFailsBlockedDecrementWithEintr, "sem.semop-eintr") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        EXPECT_THAT(Semop(set.id(), {Op(0, -1)}), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
        // semncnt was decremented when the call failed.
        EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(0));
      },
      {.what = "blocked decrementing, interrupted by SIGUSR1"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(1));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemOpSignal, CaughtSignalFailsBlockedWaitForZeroWithEintr, "sem.semop-eintr") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 1), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr2(SIGUSR2);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR2);
        EXPECT_THAT(Semop(set.id(), {Op(0, 0)}), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr2.count(), 1);
        // semzcnt was decremented when the call failed.
        EXPECT_THAT(GetZcnt(set.id(), 0), SyscallSucceedsWithValue(0));
      },
      {.what = "blocked waiting for zero, interrupted by SIGUSR2"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(GetZcnt(set.id(), 0), SyscallSucceedsWithValue(1));
  ASSERT_THAT(c.Kill(SIGUSR2), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(1));
}

IPC_TEST(SemOpSignal, SaRestartDoesNotRestartSemop, "sem.semop-no-restart", "sem.semop-eintr") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, SA_RESTART);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        EXPECT_THAT(Semop(set.id(), {Op(0, -1)}), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "blocked in semop, interrupted by a SA_RESTART handler"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SemOpSignal, SaRestartDoesNotRestartSemtimedop, "sem.semop-no-restart", "sem.semop-eintr") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 1), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, SA_RESTART);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        timespec ts{60, 0};
        EXPECT_THAT(Semtimedop(set.id(), {Op(0, 0)}, &ts), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "blocked in semtimedop, interrupted by a SA_RESTART handler"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SemOpSignal, SemtimedopEintrLeavesTimeoutUnchanged, "sem.semtimedop-eintr-timeout",
         "sem.semop-eintr") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        timespec ts{45, 123456789};
        EXPECT_THAT(Semtimedop(set.id(), {Op(0, -1)}, &ts), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(ts.tv_sec, 45);
        EXPECT_EQ(ts.tv_nsec, 123456789);
      },
      {.what = "blocked in semtimedop, interrupted by SIGUSR1"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SemOpSignal, StopAndContinueFailsWithEintr, "sem.semop-eintr-stop") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  // No handler at all: SIGSTOP then SIGCONT makes the blocked semop fail with EINTR on Linux.
  Child c = SemopChild(set.id(), {Op(0, -1)}, EINTR, "blocked in semop, stopped and continued");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(c.Kill(SIGSTOP), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilStopped(c.pid()));
  ASSERT_THAT(c.Kill(SIGCONT), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemOpSignal, BlockedSignalDoesNotInterrupt, "sem.semop-eintr") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1);
        ScopedSigmask block(SIG_BLOCK, SIGUSR1);
        // A signal that is blocked is not caught: the call goes on waiting and then succeeds.
        EXPECT_THAT(Semop(set.id(), {Op(0, -1)}), SyscallSucceeds());
        EXPECT_TRUE(IsSignalPending(SIGUSR1));
        EXPECT_EQ(usr1.count(), 0);
      },
      {.what = "blocked in semop with SIGUSR1 blocked"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(1));
  ASSERT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

}  // namespace
}  // namespace ipc
