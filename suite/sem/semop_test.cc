// semop(2): the three kinds of operation, atomicity and array order, and blocked callers failing with
// EIDRM when their set is removed.
// Rules: suite/rules/sem.ini. Helpers: sem_util.h.
#include <sys/sem.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "sem_util.h"

namespace ipc {
namespace {

using namespace sem_util;

// ---------------------------------------------------------------------------------------------------------
// semop(2): the three kinds of operation.

IPC_TEST(SemOpBasic, PositiveOpAddsWithoutWaiting, "sem.semop-positive") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_THAT(Semop(set.id(), {Op(0, 3)}), SyscallSucceeds());
  ASSERT_THAT(Semop(set.id(), {Op(0, 4)}), SyscallSucceeds());
  ASSERT_THAT(Semop(set.id(), {Op(1, 1)}), SyscallSucceeds());
  EXPECT_THAT(GetAll(set.id(), 2), ElementsAre(7, 1));
}

IPC_TEST(SemOpBasic, DecrementProceedsWhenValueSuffices, "sem.semop-decrement") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 5), SyscallSucceeds());
  ASSERT_THAT(Semop(set.id(), {Op(0, -3)}), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(2));
  // semval equal to |sem_op| also proceeds, down to zero.
  ASSERT_THAT(Semop(set.id(), {Op(0, -2)}), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemOpBasic, DecrementBlocksUntilValueSuffices, "sem.semop-decrement", "sem.semctl-getncnt") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = SemopChild(set.id(), {Op(0, -2)}, 0, "decrementing by 2 from 0");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(1));
  // 1 is not enough: the waiter stays queued and the value is untouched.
  ASSERT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallSucceeds());
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(1));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(1));
  // 2 is: the waiter's decrement is applied.
  ASSERT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemOpBasic, WaitForZeroProceedsAtZero, "sem.semop-wait-zero") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  EXPECT_THAT(Semop(set.id(), {Op(0, 0)}), SyscallSucceeds());
  EXPECT_THAT(Semop(set.id(), {Op(0, 0, IPC_NOWAIT)}), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemOpBasic, WaitForZeroBlocksUntilZero, "sem.semop-wait-zero", "sem.semctl-getzcnt") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 2), SyscallSucceeds());
  Child c = SemopChild(set.id(), {Op(0, 0)}, 0, "waiting for zero from 2");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  EXPECT_THAT(GetZcnt(set.id(), 0), SyscallSucceedsWithValue(1));
  ASSERT_THAT(Semop(set.id(), {Op(0, -1)}), SyscallSucceeds());
  EXPECT_THAT(GetZcnt(set.id(), 0), SyscallSucceedsWithValue(1)) << "woken at 1, not 0";
  ASSERT_THAT(Semop(set.id(), {Op(0, -1)}), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(GetZcnt(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemOpBasic, IncrementAndWaitForZeroExample, "sem.semop-atomic", "sem.semop-wait-zero") {
  // The example of semop(2): wait for zero, then increment, as one atomic call.
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(Semop(set.id(), {Op(0, 0), Op(0, 1)}), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(1));
  // The second time the value is 1: the call waits (here: fails with IPC_NOWAIT) and increments nothing.
  EXPECT_THAT(Semop(set.id(), {Op(0, 0, IPC_NOWAIT), Op(0, 1)}), SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(1));
}

// ---------------------------------------------------------------------------------------------------------
// semop(2): atomicity and order.

IPC_TEST(SemOpAtomic, LaterOpThatCannotProceedLeavesEarlierUnapplied, "sem.semop-atomic",
         "sem.semop-eagain-nowait") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3));
  ASSERT_THAT(SetAll(set.id(), {1, 5, 0}), SyscallSucceeds());
  EXPECT_THAT(Semop(set.id(), {Op(0, -1), Op(1, 2), Op(2, -1, IPC_NOWAIT)}), SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(GetAll(set.id(), 3), ElementsAre(1, 5, 0));
}

IPC_TEST(SemOpAtomic, BlockedMultiOpAppliesNothingUntilAllCanProceed, "sem.semop-atomic") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_THAT(SetAll(set.id(), {1, 0}), SyscallSucceeds());
  Child c = SemopChild(set.id(), {Op(0, -1), Op(1, -1)}, 0, "decrementing two semaphores, one at 0");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  // The first operation could proceed but is not applied while the second waits.
  EXPECT_THAT(GetAll(set.id(), 2), ElementsAre(1, 0));
  ASSERT_THAT(Semop(set.id(), {Op(1, 1)}), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(GetAll(set.id(), 2), ElementsAre(0, 0));
}

IPC_TEST(SemOpAtomic, BlockedMultiOpDoesNotHoldWhatItCouldTake, "sem.semop-atomic") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_THAT(SetAll(set.id(), {1, 0}), SyscallSucceeds());
  Child c = SemopChild(set.id(), {Op(0, -1), Op(1, -1)}, EIDRM, "decrementing two semaphores, one at 0");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  // Semaphore 0 is still free for others while the child waits for semaphore 1.
  EXPECT_THAT(Semop(set.id(), {Op(0, -1, IPC_NOWAIT)}), SyscallSucceeds());
  ASSERT_THAT(set.Remove(), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SemOpAtomic, OperationsApplyInArrayOrder, "sem.semop-atomic") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  // The decrement sees the increment before it in the array.
  EXPECT_THAT(Semop(set.id(), {Op(0, 1), Op(0, -1, IPC_NOWAIT)}), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
  // Reversed, the decrement comes first and cannot proceed: nothing is applied.
  EXPECT_THAT(Semop(set.id(), {Op(0, -1, IPC_NOWAIT), Op(0, 1)}), SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
  // A wait-for-zero after an increment of the same semaphore sees the increment.
  EXPECT_THAT(Semop(set.id(), {Op(0, 2), Op(0, 0, IPC_NOWAIT)}), SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemOpAtomic, ErangeInLaterOpLeavesEarlierUnapplied, "sem.semop-atomic", "sem.semop-erange") {
  ASSERT_OK_AND_ASSIGN(int vmx, SemVmx());
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_THAT(SetAll(set.id(), {3, static_cast<unsigned short>(vmx)}), SyscallSucceeds());
  EXPECT_THAT(Semop(set.id(), {Op(0, 1), Op(1, 1)}), SyscallFailsWithErrno(ERANGE));
  EXPECT_THAT(GetAll(set.id(), 2), ElementsAre(3, vmx));
}

IPC_TEST(SemOpAtomic, EfbigInLaterOpLeavesEarlierUnapplied, "sem.semop-atomic", "sem.semop-efbig") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  EXPECT_THAT(Semop(set.id(), {Op(0, 1), Op(2, 1)}), SyscallFailsWithErrno(EFBIG));
  EXPECT_THAT(GetAll(set.id(), 2), ElementsAre(0, 0));
}

IPC_TEST(SemOpAtomic, SeveralSemaphoresChangeTogether, "sem.semop-atomic") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 4));
  ASSERT_THAT(SetAll(set.id(), {5, 5, 0, 1}), SyscallSucceeds());
  ASSERT_THAT(Semop(set.id(), {Op(0, -2), Op(1, 3), Op(2, 0), Op(3, -1), Op(2, 4)}), SyscallSucceeds());
  EXPECT_THAT(GetAll(set.id(), 4), ElementsAre(3, 8, 4, 0));
}
// ---------------------------------------------------------------------------------------------------------
// Removal of a set with blocked callers: EIDRM.

IPC_TEST(SemOpBlocked, RemovalFailsBlockedDecrementWithEidrm, "sem.semop-eidrm", "sem.semctl-ipc-rmid") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = SemopChild(set.id(), {Op(0, -1)}, EIDRM, "blocked decrementing, set removed");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(1));
  ASSERT_THAT(set.Remove(), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SemOpBlocked, RemovalFailsBlockedWaitForZeroWithEidrm, "sem.semop-eidrm", "sem.semctl-ipc-rmid") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 1), SyscallSucceeds());
  Child c = SemopChild(set.id(), {Op(0, 0)}, EIDRM, "blocked waiting for zero, set removed");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(GetZcnt(set.id(), 0), SyscallSucceedsWithValue(1));
  ASSERT_THAT(set.Remove(), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SemOpBlocked, RemovalFailsBlockedSemtimedopWithEidrm, "sem.semop-eidrm", "sem.semctl-ipc-rmid") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = Child::Spawn(
      [&] {
        timespec ts{60, 0};
        EXPECT_THAT(Semtimedop(set.id(), {Op(0, -1)}, &ts), SyscallFailsWithErrno(EIDRM));
      },
      {.what = "blocked in semtimedop with a 60 s timeout, set removed"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(1));
  ASSERT_THAT(set.Remove(), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SemOpBlocked, RemovalWakesEveryWaiterWithEidrm, "sem.semctl-ipc-rmid", "sem.semop-eidrm") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3));
  ASSERT_THAT(SetAll(set.id(), {0, 1, 0}), SyscallSucceeds());
  std::vector<Child> waiters;
  waiters.push_back(SemopChild(set.id(), {Op(0, -1)}, EIDRM, "waiter 1: decrement"));
  waiters.push_back(SemopChild(set.id(), {Op(0, -2)}, EIDRM, "waiter 2: decrement by 2"));
  waiters.push_back(SemopChild(set.id(), {Op(1, 0)}, EIDRM, "waiter 3: wait for zero"));
  waiters.push_back(SemopChild(set.id(), {Op(2, 1), Op(0, -1)}, EIDRM, "waiter 4: increment and decrement"));
  waiters.push_back(Child::Spawn(
      [&] {
        timespec ts{60, 0};
        EXPECT_THAT(Semtimedop(set.id(), {Op(1, 0)}, &ts), SyscallFailsWithErrno(EIDRM));
      },
      {.what = "waiter 5: semtimedop wait for zero"}));
  for (auto& w : waiters) ASSERT_TRUE(WaitUntilBlockedIn(w.pid(), SYS_semtimedop));
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(3));
  EXPECT_THAT(GetZcnt(set.id(), 1), SyscallSucceedsWithValue(2));
  EXPECT_THAT(GetVal(set.id(), 2), SyscallSucceedsWithValue(0)) << "waiter 4's increment was applied";
  ASSERT_THAT(set.Remove(), SyscallSucceeds());
  for (auto& w : waiters) w.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
