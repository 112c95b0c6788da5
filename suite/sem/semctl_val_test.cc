// semctl(2) on semaphore values: GETVAL/SETVAL, GETALL/SETALL (ERANGE, waking waiters), GETNCNT/GETZCNT
// and GETPID.
// Rules: suite/rules/sem.ini. Helpers: sem_util.h.
#include <sys/sem.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "sem_util.h"

namespace ipc {
namespace {

using namespace sem_util;

// ---------------------------------------------------------------------------------------------------------
// semctl(2): values.

IPC_TEST(SemCtlVal, SetvalThenGetval, "sem.semctl-getval-setval") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3));
  ASSERT_THAT(SetVal(set.id(), 1, 42), SyscallSucceedsWithValue(0));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
  EXPECT_THAT(GetVal(set.id(), 1), SyscallSucceedsWithValue(42));
  EXPECT_THAT(GetVal(set.id(), 2), SyscallSucceedsWithValue(0));
  ASSERT_THAT(SetVal(set.id(), 1, 0), SyscallSucceedsWithValue(0));
  EXPECT_THAT(GetVal(set.id(), 1), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemCtlVal, SetvalToSemvmxSucceeds, "sem.semctl-getval-setval", "sem.semctl-erange") {
  ASSERT_OK_AND_ASSIGN(int vmx, SemVmx());
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, vmx), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(vmx));
}

IPC_TEST(SemCtlVal, SetvalAboveSemvmxFailsErange, "sem.semctl-erange") {
  ASSERT_OK_AND_ASSIGN(int vmx, SemVmx());
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 4), SyscallSucceeds());
  EXPECT_THAT(SetVal(set.id(), 0, vmx + 1), SyscallFailsWithErrno(ERANGE));
  EXPECT_THAT(SetVal(set.id(), 0, INT32_MAX), SyscallFailsWithErrno(ERANGE));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(4));
}

IPC_TEST(SemCtlVal, SetvalNegativeFailsErange, "sem.semctl-erange") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 4), SyscallSucceeds());
  EXPECT_THAT(SetVal(set.id(), 0, -1), SyscallFailsWithErrno(ERANGE));
  EXPECT_THAT(SetVal(set.id(), 0, INT32_MIN), SyscallFailsWithErrno(ERANGE));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(4));
}

IPC_TEST(SemCtlVal, SetallAboveSemvmxFailsErange, "sem.semctl-erange") {
  ASSERT_OK_AND_ASSIGN(int vmx, SemVmx());
  ASSERT_LT(vmx, USHRT_MAX) << "no unsigned short value above SEMVMX";
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3));
  ASSERT_THAT(SetAll(set.id(), {1, 2, 3}), SyscallSucceeds());
  EXPECT_THAT(SetAll(set.id(), {4, static_cast<unsigned short>(vmx + 1), 6}), SyscallFailsWithErrno(ERANGE));
  EXPECT_THAT(SetAll(set.id(), {4, 5, USHRT_MAX}), SyscallFailsWithErrno(ERANGE));
  EXPECT_THAT(GetAll(set.id(), 3), ElementsAre(1, 2, 3));
}

IPC_TEST(SemCtlVal, SetallThenGetall, "sem.semctl-getall-setall") {
  ASSERT_OK_AND_ASSIGN(int vmx, SemVmx());
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 5));
  std::vector<unsigned short> values = {3, 0, 17, static_cast<unsigned short>(vmx), 1};
  ASSERT_THAT(SetAll(set.id(), values), SyscallSucceedsWithValue(0));
  EXPECT_THAT(GetAll(set.id(), 5), ElementsAreArray(values));
  for (int i = 0; i < 5; ++i) EXPECT_THAT(GetVal(set.id(), i), SyscallSucceedsWithValue(values[i]));
}

IPC_TEST(SemCtlVal, GetallWritesExactlyNsemsValues, "sem.semctl-getall-setall") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3));
  ASSERT_THAT(SetAll(set.id(), {7, 8, 9}), SyscallSucceeds());
  std::vector<unsigned short> buf(6, 0xbeef);
  semun arg{};
  arg.array = buf.data();
  ASSERT_THAT(semctl(set.id(), 0, GETALL, arg), SyscallSucceedsWithValue(0));
  EXPECT_THAT(buf, ElementsAre(7, 8, 9, 0xbeef, 0xbeef, 0xbeef));
}

IPC_TEST(SemCtlVal, SetvalWakesBlockedDecrement, "sem.semctl-set-wakes") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = SemopChild(set.id(), {Op(0, -2)}, 0, "blocked decrementing by 2");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(SetVal(set.id(), 0, 5), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(3));
}

IPC_TEST(SemCtlVal, SetallWakesBlockedWaitForZero, "sem.semctl-set-wakes") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_THAT(SetAll(set.id(), {4, 4}), SyscallSucceeds());
  Child c = SemopChild(set.id(), {Op(0, 0), Op(1, 0)}, 0, "blocked waiting for two zeros");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(SetAll(set.id(), {0, 0}), SyscallSucceeds());
  c.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------------------
// semctl(2): GETNCNT, GETZCNT, GETPID.

IPC_TEST(SemCtlCount, NcntAndZcntCountEveryBlockedWaiter, "sem.semctl-getncnt", "sem.semctl-getzcnt") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_THAT(SetAll(set.id(), {0, 1}), SyscallSucceeds());
  std::vector<Child> waiters;
  for (int i = 0; i < 3; ++i) waiters.push_back(SemopChild(set.id(), {Op(0, -1)}, 0, "decrementer"));
  for (int i = 0; i < 2; ++i) waiters.push_back(SemopChild(set.id(), {Op(1, 0)}, 0, "zero waiter"));
  for (auto& w : waiters) ASSERT_TRUE(WaitUntilBlockedIn(w.pid(), SYS_semtimedop));
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(3));
  EXPECT_THAT(GetZcnt(set.id(), 0), SyscallSucceedsWithValue(0));
  EXPECT_THAT(GetNcnt(set.id(), 1), SyscallSucceedsWithValue(0));
  EXPECT_THAT(GetZcnt(set.id(), 1), SyscallSucceedsWithValue(2));
  // Two decrementers can proceed: the count drops by exactly two.
  ASSERT_THAT(Semop(set.id(), {Op(0, 2)}), SyscallSucceeds());
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(1));
  ASSERT_THAT(SetVal(set.id(), 1, 0), SyscallSucceeds());
  EXPECT_THAT(GetZcnt(set.id(), 1), SyscallSucceedsWithValue(0));
  ASSERT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallSucceeds());
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(0));
  for (auto& w : waiters) w.ExpectExited(0);
  EXPECT_THAT(GetAll(set.id(), 2), ElementsAre(0, 0));
}

IPC_TEST(SemCtlPid, SemopSetsSempidOfEveryOperatedSemaphore, "sem.semctl-getpid", "sem.semop-sempid-otime") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3));
  ASSERT_THAT(Semop(set.id(), {Op(0, 1), Op(1, 1), Op(2, 0)}), SyscallSucceeds());
  for (int i = 0; i < 3; ++i) EXPECT_THAT(GetPid(set.id(), i), SyscallSucceedsWithValue(getpid()));
  pid_t child_pid = -1;
  {
    Child c = Child::Spawn(
        [&] {
          ASSERT_THAT(Semop(set.id(), {Op(0, -1), Op(2, 0)}), SyscallSucceeds());
        },
        {.what = "operating on semaphores 0 and 2"});
    child_pid = c.pid();
    c.ExpectExited(0);
  }
  // Semaphores 0 and 2 (also the wait-for-zero) name the child; semaphore 1 was not in its call.
  EXPECT_THAT(GetPid(set.id(), 0), SyscallSucceedsWithValue(child_pid));
  EXPECT_THAT(GetPid(set.id(), 1), SyscallSucceedsWithValue(getpid()));
  EXPECT_THAT(GetPid(set.id(), 2), SyscallSucceedsWithValue(child_pid));
}

IPC_TEST(SemCtlPid, FailedSemopLeavesSempid, "sem.semctl-getpid", "sem.semop-sempid-otime") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] { EXPECT_THAT(Semop(set.id(), {Op(0, -2, IPC_NOWAIT)}), SyscallFailsWithErrno(EAGAIN)); },
      {.what = "a semop that fails with EAGAIN"});
  c.ExpectExited(0);
  EXPECT_THAT(GetPid(set.id(), 0), SyscallSucceedsWithValue(getpid()));
}

IPC_TEST(SemCtlPid, SetvalSetsSempid, "sem.semctl-getpid") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_THAT(Semop(set.id(), {Op(0, 1), Op(1, 1)}), SyscallSucceeds());
  pid_t child_pid = -1;
  {
    Child c = Child::Spawn([&] { ASSERT_THAT(SetVal(set.id(), 1, 9), SyscallSucceeds()); },
                           {.what = "SETVAL of semaphore 1"});
    child_pid = c.pid();
    c.ExpectExited(0);
  }
  EXPECT_THAT(GetPid(set.id(), 0), SyscallSucceedsWithValue(getpid()));
  EXPECT_THAT(GetPid(set.id(), 1), SyscallSucceedsWithValue(child_pid));
}

IPC_TEST(SemCtlPid, SetallSetsSempid, "sem.semctl-getpid") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3));
  ASSERT_THAT(Semop(set.id(), {Op(0, 1), Op(1, 1), Op(2, 1)}), SyscallSucceeds());
  pid_t child_pid = -1;
  {
    Child c = Child::Spawn(
        [&] {
          ASSERT_THAT(SetAll(set.id(), {4, 5, 6}), SyscallSucceeds());
        },
        {.what = "SETALL"});
    child_pid = c.pid();
    c.ExpectExited(0);
  }
  for (int i = 0; i < 3; ++i) EXPECT_THAT(GetPid(set.id(), i), SyscallSucceedsWithValue(child_pid));
}

IPC_TEST(SemCtlPid, UndoAdjustmentSetsSempid, "sem.semctl-getpid", "sem.semop-undo-exit") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_OK_AND_ASSIGN(Pipe gate, Pipe::Create());
  Child c = GatedSemopChild(set.id(), {Op(0, 1, SEM_UNDO)}, gate, "holding a SEM_UNDO increment");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallSucceeds());
  ASSERT_THAT(GetPid(set.id(), 0), SyscallSucceedsWithValue(getpid()));
  const pid_t child_pid = c.pid();
  OpenGate(gate);
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(1));
  EXPECT_THAT(GetPid(set.id(), 0), SyscallSucceedsWithValue(child_pid));
}

}  // namespace
}  // namespace ipc
