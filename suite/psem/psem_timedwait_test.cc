// sem_timedwait(3): ETIMEDOUT when the absolute CLOCK_REALTIME timeout passes (and not before), at once for
// a timeout already past, never when the decrement can be done at once, a post before the timeout, and
// EINVAL for tv_nsec out of range when the call would block.
// Rules: suite/rules/psem.ini. Helpers: psem_util.h.
#include <fcntl.h>
#include <semaphore.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <thread>

#include "ipcsuite/fixtures.h"
#include "psem_util.h"

namespace ipc {
namespace {

using namespace psem_util;

IPC_TEST(PsemTimedwait, TimesOutWithEtimedoutNotBeforeTheDeadline, "psem.timedwait-etimedout") {
  ASSERT_OK_AND_ASSIGN(SharedSem s, SharedSem::Create(0));
  timespec deadline = RealtimeIn(150);
  EXPECT_THAT(sem_timedwait(s.get(), &deadline), SyscallFailsWithErrno(ETIMEDOUT));
  EXPECT_TRUE(RealtimeReached(deadline)) << "sem_timedwait returned before its CLOCK_REALTIME deadline";
  EXPECT_EQ(Value(s.get()), 0);
}

IPC_TEST(PsemTimedwait, NamedSemaphoreTimesOutToo, "psem.timedwait-etimedout") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSemaphore, "timeout");
  ASSERT_OK_AND_ASSIGN(NamedSem s, Open(name.c_str(), O_CREAT | O_EXCL, 0600, 0));
  timespec deadline = RealtimeIn(50);
  EXPECT_THAT(sem_timedwait(s.get(), &deadline), SyscallFailsWithErrno(ETIMEDOUT));
  EXPECT_TRUE(RealtimeReached(deadline)) << "sem_timedwait returned before its CLOCK_REALTIME deadline";
}

IPC_TEST(PsemTimedwait, BlockedWaiterInAChildTimesOut, "psem.timedwait-etimedout") {
  ASSERT_OK_AND_ASSIGN(SharedSem s, SharedSem::Create(0));
  Child c = Child::Spawn(
      [&] {
        timespec deadline = RealtimeIn(300);
        EXPECT_THAT(sem_timedwait(s.get(), &deadline), SyscallFailsWithErrno(ETIMEDOUT));
        EXPECT_TRUE(RealtimeReached(deadline));
      },
      {.what = "sem_timedwait that nobody posts"});
  // It sleeps in the futex meanwhile (not spinning until the deadline).
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_futex));
  c.ExpectExited(0);
  EXPECT_EQ(Value(s.get()), 0);
}

struct ExpiredRow {
  const char* name;
  rules::RuleList rules;
  time_t sec;  // absolute, or relative to now when `relative`
  long nsec;
  bool relative;
};
const ExpiredRow kExpired[] = {
    {"TheEpoch", {}, 0, 0, false},
    {"OneSecondAgo", {}, -1, 0, true},
    {"OneNanosecondAfterTheEpoch", {}, 0, 1, false},
    {"NegativeSeconds", {}, -1, 0, false},
};

class PsemTimedwaitExpired : public ::testing::TestWithParam<ExpiredRow> {};

timespec RowTimeout(const ExpiredRow& row) {
  if (!row.relative) return timespec{row.sec, row.nsec};
  timespec t = RealtimeIn(row.sec * 1000);
  t.tv_nsec = row.nsec;
  return t;
}

IPC_TEST_P(PsemTimedwaitExpired, AtZeroFailsAtOnceWithEtimedout, "psem.timedwait-expired") {
  ASSERT_OK_AND_ASSIGN(SharedSem s, SharedSem::Create(0));
  timespec t = RowTimeout(GetParam());
  timespec start = Monotonic();
  EXPECT_THAT(sem_timedwait(s.get(), &t), SyscallFailsWithErrno(ETIMEDOUT));
  EXPECT_LT(ElapsedMs(start, Monotonic()), 1000) << "an expired timeout still waited";
  EXPECT_EQ(Value(s.get()), 0);
}

IPC_TEST_P(PsemTimedwaitExpired, WhenPositiveSucceedsRegardless, "psem.timedwait-immediate-never-times-out",
           "psem.wait-decrements") {
  ASSERT_OK_AND_ASSIGN(SharedSem s, SharedSem::Create(2));
  timespec t = RowTimeout(GetParam());
  EXPECT_THAT(sem_timedwait(s.get(), &t), SyscallSucceedsWithValue(0));
  EXPECT_EQ(Value(s.get()), 1);
}
IPC_INSTANTIATE_TABLE(Table, PsemTimedwaitExpired, kExpired);

IPC_TEST(PsemTimedwait, PostBeforeTheDeadlineWakesTheWaiter, "psem.timedwait-posted-in-time",
         "psem.post-wakes-waiter") {
  ASSERT_OK_AND_ASSIGN(SharedSem s, SharedSem::Create(0));
  Child c = Child::Spawn(
      [&] {
        timespec deadline = RealtimeIn(ScaledDeadline(milliseconds(60000)).count());
        EXPECT_THAT(sem_timedwait(s.get(), &deadline), SyscallSucceedsWithValue(0));
        EXPECT_FALSE(RealtimeReached(deadline));
      },
      {.what = "sem_timedwait with a minute to go"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_futex));
  ASSERT_THAT(sem_post(s.get()), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_EQ(Value(s.get()), 0) << "the timed waiter did not consume the post";
}

IPC_TEST(PsemTimedwait, ThreadPostBeforeTheDeadlineWakesTheWaiter, "psem.timedwait-posted-in-time",
         "psem.init-pshared-threads") {
  sem_t s;
  ASSERT_THAT(sem_init(&s, 0, 0), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        // In a child, so that a waiter that never wakes is bounded by the child's deadline.
        std::atomic<pid_t> tid{0};
        std::atomic<int> got{-2};
        std::thread t([&] {
          tid = gettid();
          timespec deadline = RealtimeIn(ScaledDeadline(milliseconds(60000)).count());
          got = sem_timedwait(&s, &deadline) == 0 ? 0 : errno;
        });
        while (tid.load() == 0) std::this_thread::yield();
        EXPECT_TRUE(WaitUntilBlockedIn(getpid(), SYS_futex, kDefaultBlockDeadline, tid.load()));
        EXPECT_THAT(sem_post(&s), SyscallSucceeds());
        t.join();
        EXPECT_EQ(got.load(), 0) << DescribeErrno(got.load());
        EXPECT_EQ(Value(&s), 0);
      },
      {.what = "a thread in sem_timedwait posted by another"});
  c.ExpectExited(0);
  EXPECT_THAT(sem_destroy(&s), SyscallSucceeds());
}

// ---------------------------------------------------------------------------------------------------------
// EINVAL for tv_nsec out of range, when the call would block (when it would not, the page says validity is
// not checked: no rule is claimed for that case).

struct NsecRow {
  const char* name;
  rules::RuleList rules;
  long nsec;
};
const NsecRow kBadNsec[] = {
    {"MinusOne", {}, -1},
    {"OneBillion", {}, 1000000000L},
    {"LongMax", {}, LONG_MAX},
    {"LongMin", {}, LONG_MIN},
};
class PsemTimedwaitEinval : public ::testing::TestWithParam<NsecRow> {};

IPC_TEST_P(PsemTimedwaitEinval, NsecOutOfRangeFailsWithEinvalAtZero, "psem.timedwait-einval") {
  ASSERT_OK_AND_ASSIGN(SharedSem s, SharedSem::Create(0));
  // In the future by its seconds: an implementation that ignored tv_nsec would block (the child's
  // deadline then fails the test) rather than time out.
  timespec t = RealtimeIn(ScaledDeadline(milliseconds(60000)).count());
  t.tv_nsec = GetParam().nsec;
  Child c = Child::Spawn([&] { EXPECT_THAT(sem_timedwait(s.get(), &t), SyscallFailsWithErrno(EINVAL)); },
                         {.what = "sem_timedwait with an invalid tv_nsec"});
  c.ExpectExited(0);
  EXPECT_EQ(Value(s.get()), 0);
  EXPECT_THAT(sem_post(s.get()), SyscallSucceeds());
  EXPECT_THAT(sem_trywait(s.get()), SyscallSucceeds());
}
IPC_INSTANTIATE_TABLE(Table, PsemTimedwaitEinval, kBadNsec);

}  // namespace
}  // namespace ipc
