// sem_wait(3)/sem_timedwait(3) and signals (sem_wait(3) ERRORS, signal(7) "Interruption of system calls and
// library functions by signal handlers"): a handler established without SA_RESTART interrupts the wait
// with EINTR and the interrupted call decremented nothing; with SA_RESTART sem_wait is restarted (signal(7)
// lists sem_wait and sem_timedwait among the restarted interfaces since Linux 2.6.22); an ignored or
// blocked signal does not interrupt it.
//
// Not claimed: sem_timedwait with SA_RESTART. signal(7) says it is restarted, but the kernel's timed futex
// wait returns -ERESTART_RESTARTBLOCK, which a handler always turns into EINTR (Linux 6.x, glibc 2.36): no
// test asserts either outcome.
//
// Pattern: the waiter is a Child with the handler (SignalCounter); the test waits until it sleeps in the
// futex system call (glibc 2.36's sem_wait), sends the signal and checks how the wait returned.
// Rules: suite/rules/psem.ini. Helpers: psem_util.h.
#include <semaphore.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "ipcsuite/fixtures.h"
#include "psem_util.h"

namespace ipc {
namespace {

using namespace psem_util;

enum class Call { kWait, kTimedwait };

struct InterruptRow {
  const char* name;
  rules::RuleList rules;
  Call call;
  int sa_flags;
};
const InterruptRow kInterrupts[] = {
    {"Wait", {}, Call::kWait, 0},
    {"Timedwait", {}, Call::kTimedwait, 0},
};
class PsemInterrupt : public ::testing::TestWithParam<InterruptRow> {};

int WaitOnce(Call call, sem_t* s) {
  if (call == Call::kWait) return sem_wait(s);
  timespec deadline = RealtimeIn(ScaledDeadline(milliseconds(60000)).count());
  return sem_timedwait(s, &deadline);
}

IPC_TEST_P(PsemInterrupt, HandlerInterruptsTheWaitWithEintr, "psem.wait-eintr") {
  const InterruptRow& row = GetParam();
  ASSERT_OK_AND_ASSIGN(SharedSem s, SharedSem::Create(0));
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, row.sa_flags);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        EXPECT_THAT(WaitOnce(row.call, s.get()), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
        EXPECT_EQ(Value(s.get()), 0);
      },
      {.what = "waiting on a semaphore of value 0 until SIGUSR1"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_futex));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
  // The interrupted wait took nothing: a post is there for the next one.
  EXPECT_EQ(Value(s.get()), 0);
  ASSERT_THAT(sem_post(s.get()), SyscallSucceeds());
  EXPECT_THAT(sem_trywait(s.get()), SyscallSucceeds());
}
IPC_INSTANTIATE_TABLE(Table, PsemInterrupt, kInterrupts);

IPC_TEST(PsemInterrupt, SaRestartHandlerRestartsSemWait, "psem.wait-sa-restart") {
  ASSERT_OK_AND_ASSIGN(SharedSem s, SharedSem::Create(0));
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, SA_RESTART);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        // Restarted after the handler: returns only for the post made afterwards.
        EXPECT_THAT(sem_wait(s.get()), SyscallSucceedsWithValue(0));
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "sem_wait with an SA_RESTART handler for SIGUSR1"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_futex));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  // kill(2) wakes the sleeping child before it returns: the next sleep seen is the restarted wait.
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_futex)) << "the interrupted sem_wait was not restarted";
  ASSERT_THAT(sem_post(s.get()), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_EQ(Value(s.get()), 0);
}

IPC_TEST(PsemInterruptNot, IgnoredSignalDoesNotInterruptTheWait, "psem.wait-blocks-until-post") {
  ASSERT_OK_AND_ASSIGN(SharedSem s, SharedSem::Create(0));
  Child c = Child::Spawn(
      [&] {
        ScopedSigaction ignore(SIGUSR1, SIG_IGN);
        EXPECT_THAT(sem_wait(s.get()), SyscallSucceedsWithValue(0));
      },
      {.what = "waiting with SIGUSR1 ignored"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_futex));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_futex)) << "the ignored signal ended the wait";
  ASSERT_THAT(sem_post(s.get()), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_EQ(Value(s.get()), 0);
}

IPC_TEST(PsemInterruptNot, BlockedSignalDoesNotInterruptTheWait, "psem.wait-blocks-until-post") {
  ASSERT_OK_AND_ASSIGN(SharedSem s, SharedSem::Create(0));
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1);
        ScopedSigmask block(SIG_BLOCK, SIGUSR1);
        EXPECT_THAT(sem_wait(s.get()), SyscallSucceedsWithValue(0));
        EXPECT_EQ(usr1.count(), 0);
        EXPECT_TRUE(IsSignalPending(SIGUSR1));
      },
      {.what = "waiting with SIGUSR1 blocked"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_futex));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_futex)) << "the blocked signal ended the wait";
  ASSERT_THAT(sem_post(s.get()), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_EQ(Value(s.get()), 0);
}

}  // namespace
}  // namespace ipc
