// SEM_UNDO (semop(2)): adjustments applied at exit, clamped at zero, cleared by SETVAL/SETALL, not
// inherited by fork(2), kept across execve(2), shared by threads (clone(2) CLONE_SYSVSEM), and applied by
// unshare(2) CLONE_SYSVSEM and CLONE_NEWIPC.
// Rules: suite/rules/sem.ini. Helpers: sem_util.h.
#include <sched.h>
#include <signal.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "sem_util.h"

namespace ipc {
namespace {

using namespace sem_util;

// ---------------------------------------------------------------------------------------------------------
// SEM_UNDO.

IPC_TEST(SemUndo, IncrementReversedOnExit, "sem.semop-undo-exit") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_OK_AND_ASSIGN(Pipe gate, Pipe::Create());
  Child c = GatedSemopChild(set.id(), {Op(0, 2, SEM_UNDO)}, gate, "holding a SEM_UNDO increment");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(2));
  OpenGate(gate);
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemUndo, DecrementReversedOnExit, "sem.semop-undo-exit") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 3), SyscallSucceeds());
  Child c = Child::Spawn([&] { ASSERT_THAT(Semop(set.id(), {Op(0, -1, SEM_UNDO)}), SyscallSucceeds()); },
                         {.what = "taking a semaphore with SEM_UNDO and exiting"});
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(3));
}

IPC_TEST(SemUndo, ReversedWhenKilledBySigkill, "sem.semop-undo-exit") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 3), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(Pipe gate, Pipe::Create());
  Child c = GatedSemopChild(set.id(), {Op(0, -1, SEM_UNDO)}, gate,
                            "holding a semaphore taken with SEM_UNDO until killed");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(2));
  ASSERT_THAT(c.Kill(SIGKILL), SyscallSucceeds());
  c.ExpectKilledBy(SIGKILL);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(3));
}

IPC_TEST(SemUndo, ReversedAcrossSetsAndOperations, "sem.semop-undo-exit") {
  ASSERT_OK_AND_ASSIGN(SemSet a, SemSet::Create(IPC_PRIVATE, 3));
  ASSERT_OK_AND_ASSIGN(SemSet b, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_THAT(SetAll(a.id(), {0, 5, 7}), SyscallSucceeds());
  ASSERT_THAT(SetAll(b.id(), {10, 4}), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(Pipe gate, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(Semop(a.id(), {Op(0, 3, SEM_UNDO), Op(1, -1, SEM_UNDO)}), SyscallSucceeds());
        ASSERT_THAT(Semop(a.id(), {Op(1, 4)}), SyscallSucceeds());  // not undone
        ASSERT_THAT(Semop(a.id(), {Op(2, -7, SEM_UNDO)}), SyscallSucceeds());
        ASSERT_THAT(Semop(b.id(), {Op(0, 2, SEM_UNDO)}), SyscallSucceeds());
        ASSERT_THAT(Semop(b.id(), {Op(0, 5, SEM_UNDO), Op(1, -4, SEM_UNDO)}), SyscallSucceeds());
        ASSERT_THAT(Semop(b.id(), {Op(0, -4, SEM_UNDO)}), SyscallSucceeds());
        AwaitGate(gate);
      },
      {.what = "holding SEM_UNDO operations on two sets"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  EXPECT_THAT(GetAll(a.id(), 3), ElementsAre(3, 8, 0));
  EXPECT_THAT(GetAll(b.id(), 2), ElementsAre(13, 0));
  OpenGate(gate);
  c.ExpectExited(0);
  // Every SEM_UNDO operation is reversed (the net adjustment per semaphore); the plain +4 stays.
  EXPECT_THAT(GetAll(a.id(), 3), ElementsAre(0, 9, 7));
  EXPECT_THAT(GetAll(b.id(), 2), ElementsAre(10, 4));
}

IPC_TEST(SemUndo, ExitAdjustmentWakesWaiter, "sem.semop-undo-exit", "sem.semop-decrement") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 1), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(Pipe gate, Pipe::Create());
  Child holder =
      GatedSemopChild(set.id(), {Op(0, -1, SEM_UNDO)}, gate, "holding the semaphore with SEM_UNDO");
  ASSERT_TRUE(WaitUntilBlockedIn(holder.pid(), SYS_read));
  Child waiter = SemopChild(set.id(), {Op(0, -1)}, 0, "waiting for the holder's semaphore");
  ASSERT_TRUE(WaitUntilBlockedIn(waiter.pid(), SYS_semtimedop));
  // The holder dies without releasing; its adjustment gives the semaphore to the waiter.
  ASSERT_THAT(holder.Kill(SIGKILL), SyscallSucceeds());
  holder.ExpectKilledBy(SIGKILL);
  waiter.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemUndo, AdjustmentClampedAtZero, "sem.semop-undo-clamp") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_OK_AND_ASSIGN(Pipe gate, Pipe::Create());
  Child c = GatedSemopChild(set.id(), {Op(0, 5, SEM_UNDO)}, gate, "holding a SEM_UNDO increment of 5");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(Semop(set.id(), {Op(0, -3)}), SyscallSucceeds());
  OpenGate(gate);
  // The adjustment of -5 on a value of 2 goes as far as it can (0) and the exit is not held up.
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemUndo, SetvalClearsAdjustmentOfThatSemaphore, "sem.semop-undo-setval") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_OK_AND_ASSIGN(Pipe gate, Pipe::Create());
  Child c = GatedSemopChild(set.id(), {Op(0, 2, SEM_UNDO), Op(1, 3, SEM_UNDO)}, gate,
                            "holding SEM_UNDO increments on two semaphores");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(SetVal(set.id(), 0, 7), SyscallSucceeds());
  OpenGate(gate);
  c.ExpectExited(0);
  // Semaphore 0's adjustment was cleared by SETVAL; semaphore 1's still applied.
  EXPECT_THAT(GetAll(set.id(), 2), ElementsAre(7, 0));
}

IPC_TEST(SemUndo, SetallClearsAdjustments, "sem.semop-undo-setval") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_OK_AND_ASSIGN(Pipe gate, Pipe::Create());
  Child c = GatedSemopChild(set.id(), {Op(0, 2, SEM_UNDO), Op(1, 3, SEM_UNDO)}, gate,
                            "holding SEM_UNDO increments on two semaphores");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(SetAll(set.id(), {7, 9}), SyscallSucceeds());
  OpenGate(gate);
  c.ExpectExited(0);
  EXPECT_THAT(GetAll(set.id(), 2), ElementsAre(7, 9));
}

IPC_TEST(SemUndo, NotInheritedByForkChild, "sem.semop-undo-fork") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(Semop(set.id(), {Op(0, 1, SEM_UNDO)}), SyscallSucceeds());
        Child grandchild = Child::Spawn(
            [&] {
              ASSERT_THAT(Semop(set.id(), {Op(0, 2, SEM_UNDO)}), SyscallSucceeds());
              EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(3));
            },
            {.what = "adding with SEM_UNDO in a forked child"});
        grandchild.ExpectExited(0);
        // The fork child undid only its own +2, not the parent's +1.
        EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(1));
      },
      {.what = "adding with SEM_UNDO, then forking"});
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemUndo, KeptAcrossExecve, "sem.semop-undo-exec") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  // The exec'd helper blocks writing to this full pipe until the test drains it.
  ASSERT_OK_AND_ASSIGN(Pipe full, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(full.write.get()));
  Child c = Child::SpawnWithExitCode(
      [&] {
        full.read.reset();
        if (Semop(set.id(), {Op(0, 1, SEM_UNDO)}) != 0) return 10;
        ExecHelper({"write-byte", std::to_string(full.write.get())});
        return 11;
      },
      {.what = "adding with SEM_UNDO, then exec'ing the write-byte helper"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_write));
  // After execve the adjustment is still pending: the value is still raised.
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(1));
  std::vector<char> drain(filled);
  ASSERT_TRUE(ReadAll(full.read.get(), drain.data(), drain.size()));
  c.ExpectExited(0);
  // And it was applied when the exec'd program exited.
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemUndo, ThreadsShareAdjustmentsUntilProcessExit, "sem.clone-sysvsem") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = Child::Spawn(
      [&] {
        int rc = -1;
        int err = 0;
        std::thread t([&] {
          rc = Semop(set.id(), {Op(0, 1, SEM_UNDO)});
          err = errno;
        });
        t.join();
        ASSERT_EQ(rc, 0) << DescribeErrno(err);
        // The thread has exited, but its adjustment belongs to the list it shares with the process.
        EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(1));
      },
      {.what = "adding with SEM_UNDO from a thread that exits"});
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemUndo, UnshareSysvsemAppliesAdjustments, "sem.unshare-sysvsem") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(
      "its runtime thread shares the semadj list, so unsharing it in one thread applies nothing until every "
      "sharer has exited (svipc(7))");
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(Semop(set.id(), {Op(0, 2, SEM_UNDO)}), SyscallSucceeds());
        ASSERT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(2));
        ASSERT_THAT(unshare(CLONE_SYSVSEM), SyscallSucceeds());
        // The process held the only reference to its list: the adjustments were applied now.
        EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
        // And the new list starts empty: a new adjustment is undone at exit, the old one is not repeated.
        ASSERT_THAT(Semop(set.id(), {Op(0, 5)}), SyscallSucceeds());
        ASSERT_THAT(Semop(set.id(), {Op(0, -1, SEM_UNDO)}), SyscallSucceeds());
      },
      {.what = "unsharing the semadj list"});
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(5));
}

IPC_TEST(SemUndo, UnshareNewipcAppliesAdjustments, "sem.unshare-newipc") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(
      "its runtime thread shares the semadj list, so unsharing it in one thread applies nothing until every "
      "sharer has exited (svipc(7))");
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_OK_AND_ASSIGN(Pipe gate, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(Semop(set.id(), {Op(0, 2, SEM_UNDO)}), SyscallSucceeds());
        ASSERT_THAT(unshare(CLONE_NEWIPC), SyscallSucceeds());
        AwaitGate(gate);
      },
      {.what = "moving to a new IPC namespace with a SEM_UNDO increment"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  // The child is alive, but CLONE_NEWIPC implied CLONE_SYSVSEM: its adjustment was applied.
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
  OpenGate(gate);
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

}  // namespace
}  // namespace ipc
