// semtimedop(2): the timeout (EAGAIN not before it, no wait when the operation can proceed), a NULL
// timeout, and invalid or inaccessible timeouts (EINVAL, EFAULT).
// Rules: suite/rules/sem.ini. Helpers: sem_util.h.
#include <sys/mman.h>
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
// semtimedop(2).

// Also the waiter count: semncnt is back at 0 once the waiter timed out (was
// SemctlCount.CountsDropWhenWaitersTimeOut).
IPC_TEST(SemTimedOp, TimeoutFailsEagainNotBeforeTheTimeout, "sem.semtimedop-eagain-timeout",
         "sem.semctl-getncnt") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  constexpr long kTimeoutNs = 60 * 1000 * 1000;
  timespec ts{0, kTimeoutNs};
  timespec t0 = Monotonic();
  EXPECT_THAT(Semtimedop(set.id(), {Op(0, -1)}, &ts), SyscallFailsWithErrno(EAGAIN));
  timespec t1 = Monotonic();
  // The elapsed time of the call itself: the sleep may overrun, never end early.
  EXPECT_GE(ElapsedMs(t0, t1), kTimeoutNs / 1e6);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemTimedOp, WaitForZeroTimeoutFailsEagainNotBefore, "sem.semtimedop-eagain-timeout") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_THAT(SetVal(set.id(), 1, 1), SyscallSucceeds());
  constexpr long kTimeoutNs = 30 * 1000 * 1000;
  timespec ts{0, kTimeoutNs};
  timespec t0 = Monotonic();
  // The increment of semaphore 0 is not applied when the wait for semaphore 1 times out.
  EXPECT_THAT(Semtimedop(set.id(), {Op(0, 1), Op(1, 0)}, &ts), SyscallFailsWithErrno(EAGAIN));
  timespec t1 = Monotonic();
  EXPECT_GE(ElapsedMs(t0, t1), kTimeoutNs / 1e6);
  EXPECT_THAT(GetAll(set.id(), 2), ElementsAre(0, 1));
  EXPECT_THAT(GetZcnt(set.id(), 1), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemTimedOp, ZeroTimeoutFailsEagainWhenTheOpWouldWait, "sem.semtimedop-eagain-timeout") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  timespec ts{0, 0};
  EXPECT_THAT(Semtimedop(set.id(), {Op(0, -1)}, &ts), SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemTimedOp, OpThatCanProceedDoesNotWaitForTheTimeout, "sem.semtimedop-timeout") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 1), SyscallSucceeds());
  timespec zero{0, 0};
  EXPECT_THAT(Semtimedop(set.id(), {Op(0, -1)}, &zero), SyscallSucceeds());
  EXPECT_THAT(Semtimedop(set.id(), {Op(0, 0)}, &zero), SyscallSucceeds());
  timespec long_timeout{3600, 0};
  EXPECT_THAT(Semtimedop(set.id(), {Op(0, 2)}, &long_timeout), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(2));
}

IPC_TEST(SemTimedOp, WokenBeforeTheTimeoutSucceeds, "sem.semtimedop-timeout") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = Child::Spawn(
      [&] {
        timespec ts{60, 0};
        EXPECT_THAT(Semtimedop(set.id(), {Op(0, -1)}, &ts), SyscallSucceeds());
      },
      {.what = "blocked in semtimedop with a 60 s timeout"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemTimedOp, NullTimeoutBlocksLikeSemop, "sem.semtimedop-null") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = Child::Spawn([&] { EXPECT_THAT(Semtimedop(set.id(), {Op(0, -3)}, nullptr), SyscallSucceeds()); },
                         {.what = "blocked in semtimedop without a timeout"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(1));
  ASSERT_THAT(Semop(set.id(), {Op(0, 3)}), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemTimedOp, NullTimeoutWithNowaitFailsEagain, "sem.semtimedop-null", "sem.semop-eagain-nowait") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  EXPECT_THAT(Semtimedop(set.id(), {Op(0, -1, IPC_NOWAIT)}, nullptr), SyscallFailsWithErrno(EAGAIN));
}

IPC_TEST(SemTimedOp, InaccessibleTimeoutFailsEfault, "sem.semtimedop-efault-timeout") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  InaccessiblePage bad;
  ASSERT_TRUE(bad.ok());
  // The increment could proceed at once; the bad timeout address still fails the call and nothing is done.
  Child c = Child::Spawn(
      [&] {
        EXPECT_THAT(Semtimedop(set.id(), {Op(0, 1)}, bad.as<const timespec>()),
                    SyscallFailsWithErrno(EFAULT));
      },
      {.what = "semtimedop with an inaccessible timeout"});
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

// An invalid timeout: EINVAL, and nothing is done, neither for an increment (which could proceed at once)
// nor for a decrement (which would wait).
struct BadTimeoutRow {
  const char* name;
  rules::RuleList rules;
  timespec timeout;
};

const BadTimeoutRow kBadTimeouts[] = {
    {"NanosecondsTooLarge", {"sem.semtimedop-einval-timeout"}, {0, 1000000000}},
    {"NegativeNanoseconds", {"sem.semtimedop-einval-timeout"}, {1, -1}},
    {"NegativeSeconds", {"sem.semtimedop-einval-timeout"}, {-1, 0}},
};

class SemTimedOpBadTimeout : public ::testing::TestWithParam<BadTimeoutRow> {};

IPC_TEST_P(SemTimedOpBadTimeout, FailsEinval) {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  timespec ts = GetParam().timeout;
  EXPECT_THAT(Semtimedop(set.id(), {Op(0, 1)}, &ts), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(Semtimedop(set.id(), {Op(0, -1)}, &ts), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_INSTANTIATE_TABLE(Timeouts, SemTimedOpBadTimeout, kBadTimeouts);

}  // namespace
}  // namespace ipc
