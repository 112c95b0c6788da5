// msgsnd(2)/msgrcv(2) callers that sleep: receivers woken by the message they wait for, EIDRM when
// the queue is removed under them (msgctl(2) IPC_RMID), EINTR when a caught signal arrives, never
// restarted (signal(7)), and stop/continue signals that do not interrupt. Rules: suite/rules/msg.ini.
//
// Every queue is an RAII MsgQueue with an IPC_PRIVATE key, removed when the test ends. A call that
// is expected to block runs in a Child with a deadline, and the parent waits until the child sleeps
// inside msgsnd/msgrcv (WaitUntilBlockedIn) before it acts, so nothing depends on timing.
#include <signal.h>
#include <sys/msg.h>
#include <sys/syscall.h>

#include <string>

#include "ipcsuite/fixtures.h"
#include "msg_util.h"

namespace ipc {
namespace {

using namespace msg_util;

// ---------------------------------------------------------------------------------------------
// Blocked receivers.

IPC_TEST(MsgBlocking, BlockedReceiverIsWokenBySend, "msg.msgrcv-blocks") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  Child c = Child::Spawn([&] { EXPECT_TRUE(Receives(q.id(), 0, 0, 8, "wake")); },
                         {.what = "receiving from an empty queue"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  ASSERT_THAT(Send(q.id(), 8, "wake"), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 0, 0));
}

IPC_TEST(MsgBlocking, BlockedReceiverWaitsForItsType, "msg.msgrcv-blocks", "msg.msgtyp-positive") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  Child c = Child::Spawn([&] { EXPECT_TRUE(Receives(q.id(), 5, 0, 5, "five")); },
                         {.what = "waiting for a type-5 message"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  // A message of another type must not satisfy it (the child would fail its check if it got it).
  ASSERT_THAT(Send(q.id(), 3, "three"), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  ASSERT_THAT(Send(q.id(), 5, "five"), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 3, "three"));
}

IPC_TEST(MsgBlocking, BlockedNegativeMsgtypReceiverTakesLowEnoughType, "msg.msgrcv-blocks",
         "msg.msgtyp-negative") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  Child c = Child::Spawn([&] { EXPECT_TRUE(Receives(q.id(), -3, 0, 2, "two")); },
                         {.what = "waiting for a message of type 3 or lower"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  ASSERT_THAT(Send(q.id(), 7, "seven"), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  ASSERT_THAT(Send(q.id(), 2, "two"), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 1, 5));
}

IPC_TEST(MsgBlocking, BlockedMsgExceptReceiverSkipsExcludedType, "msg.msgrcv-blocks", "msg.msg-except") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "one"), SyscallSucceeds());
  Child c = Child::Spawn([&] { EXPECT_TRUE(Receives(q.id(), 1, MSG_EXCEPT, 4, "four")); },
                         {.what = "waiting for a message of any type but 1"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  ASSERT_THAT(Send(q.id(), 1, "uno"), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  ASSERT_THAT(Send(q.id(), 4, "four"), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 2, 6));
}

// ---------------------------------------------------------------------------------------------
// Removal of the queue under blocked callers: EIDRM.

IPC_TEST(MsgRemoved, BlockedReceiverFailsEidrm, "msg.msgrcv-eidrm", "msg.ipc-rmid-wakes-waiters") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  Child c = Child::Spawn(
      [&] {
        MsgBuf b(16);
        EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 0, 0), SyscallFailsWithErrno(EIDRM));
      },
      {.what = "receiving from a queue that gets removed"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  ASSERT_THAT(q.Remove(), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST_F(MsgFullQueue, BlockedSenderFailsEidrm, "msg.msgsnd-eidrm", "msg.ipc-rmid-wakes-waiters") {
  Child c = Child::Spawn([&] { EXPECT_THAT(Send(id(), 1, "x", 0), SyscallFailsWithErrno(EIDRM)); },
                         {.what = "sending to a full queue that gets removed"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgsnd));
  ASSERT_THAT(q_->Remove(), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST_F(MsgFullQueue, RemovalWakesEveryBlockedSenderAndReceiver, "msg.ipc-rmid-wakes-waiters",
           "msg.msgsnd-eidrm", "msg.msgrcv-eidrm") {
  const int qid = id();
  auto receiver = [qid](long msgtyp) {
    return [qid, msgtyp] {
      MsgBuf b(16);
      EXPECT_THAT(msgrcv(qid, b.get(), 16, msgtyp, 0), SyscallFailsWithErrno(EIDRM));
    };
  };
  // The queue holds only a type-1 message: these receivers wait for types it does not have.
  Child r1 = Child::Spawn(receiver(9), {.what = "waiting for type 9"});
  Child r2 = Child::Spawn(receiver(5), {.what = "waiting for type 5"});
  Child s1 = Child::Spawn([qid] { EXPECT_THAT(Send(qid, 2, "s", 0), SyscallFailsWithErrno(EIDRM)); },
                          {.what = "sending to the full queue"});
  ASSERT_TRUE(WaitUntilBlockedIn(r1.pid(), SYS_msgrcv));
  ASSERT_TRUE(WaitUntilBlockedIn(r2.pid(), SYS_msgrcv));
  ASSERT_TRUE(WaitUntilBlockedIn(s1.pid(), SYS_msgsnd));
  ASSERT_THAT(q_->Remove(), SyscallSucceeds());
  r1.ExpectExited(0);
  r2.ExpectExited(0);
  s1.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------
// Signals while blocked: EINTR, never restarted (signal(7)); stop signals do not interrupt.

class MsgInterrupt : public ::testing::TestWithParam<int> {};  // param: sa_flags of the handler

std::string FlagsName(const ::testing::TestParamInfo<int>& info) {
  return info.param == SA_RESTART ? "SaRestart" : "NoFlags";
}

IPC_TEST_P(MsgInterrupt, BlockedReceiverCatchingSignalFailsEintr, "msg.msgrcv-eintr",
           "msg.signal-never-restarted") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  const int flags = GetParam();
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, flags);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        MsgBuf b(16);
        EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 0, 0), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "receiving until a signal arrives"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST_P(MsgInterrupt, BlockedSenderCatchingSignalFailsEintr, "msg.msgsnd-eintr",
           "msg.signal-never-restarted") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_TRUE(SetQbytes(q.id(), 4));
  ASSERT_THAT(Send(q.id(), 1, "full"), SyscallSucceeds());
  const int flags = GetParam();
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, flags);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        EXPECT_THAT(Send(q.id(), 2, "more", 0), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "sending to a full queue until a signal arrives"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgsnd));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 1, 4)) << "the interrupted send must not have queued its message";
}

INSTANTIATE_TEST_SUITE_P(Flags, MsgInterrupt, ::testing::Values(0, SA_RESTART), FlagsName);

IPC_TEST(MsgStopSignal, StopAndContinueDoNotInterruptBlockedReceiver, "msg.stop-signal-no-eintr") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  Child c = Child::Spawn([&] { EXPECT_TRUE(Receives(q.id(), 0, 0, 1, "after")); },
                         {.what = "receiving across SIGSTOP/SIGCONT"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  ASSERT_THAT(c.Kill(SIGSTOP), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilStopped(c.pid()));
  ASSERT_THAT(c.Kill(SIGCONT), SyscallSucceeds());
  // Back asleep in msgrcv: the call was resumed, not failed with EINTR (the child checks the result).
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  ASSERT_THAT(Send(q.id(), 1, "after"), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(MsgStopSignal, StopAndContinueDoNotInterruptBlockedSender, "msg.stop-signal-no-eintr") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_TRUE(SetQbytes(q.id(), 4));
  ASSERT_THAT(Send(q.id(), 1, "full"), SyscallSucceeds());
  Child c = Child::Spawn([&] { EXPECT_THAT(Send(q.id(), 2, "next", 0), SyscallSucceeds()); },
                         {.what = "sending across SIGSTOP/SIGCONT"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgsnd));
  ASSERT_THAT(c.Kill(SIGSTOP), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilStopped(c.pid()));
  ASSERT_THAT(c.Kill(SIGCONT), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgsnd));
  ASSERT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "full"));
  c.ExpectExited(0);
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 2, "next"));
}

}  // namespace
}  // namespace ipc
