// msgrcv(2) (man 2 msgop): a message longer than msgsz. MSG_NOERROR truncates it (and consumes it);
// without MSG_NOERROR msgrcv fails with E2BIG, at once, and leaves the message queued.
// Rules: suite/rules/msg.ini.
//
// Every queue is an RAII MsgQueue with an IPC_PRIVATE key, removed when the test ends. A call that
// is expected to block runs in a Child with a deadline, and the parent waits until the child sleeps
// inside msgsnd/msgrcv (WaitUntilBlockedIn) before it acts, so nothing depends on timing.
#include <sys/msg.h>
#include <sys/syscall.h>

#include "ipcsuite/fixtures.h"
#include "msg_util.h"

namespace ipc {
namespace {

using namespace msg_util;

// ---------------------------------------------------------------------------------------------
// Messages longer than msgsz: MSG_NOERROR and E2BIG.

IPC_TEST(MsgTruncate, MsgNoerrorTruncatesToMsgsz, "msg.msg-noerror") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 6, "abcdefgh"), SyscallSucceeds());
  MsgBuf b(3);
  ASSERT_THAT(msgrcv(q.id(), b.get(), 3, 0, IPC_NOWAIT | MSG_NOERROR), SyscallSucceedsWithValue(3));
  EXPECT_EQ(b.type(), 6);
  EXPECT_EQ(b.text(3), "abc");
}

IPC_TEST(MsgTruncate, MsgNoerrorConsumesTheTruncatedMessage, "msg.msg-noerror") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "truncated"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 1, "next"), SyscallSucceeds());
  MsgBuf b(2);
  ASSERT_THAT(msgrcv(q.id(), b.get(), 2, 0, IPC_NOWAIT | MSG_NOERROR), SyscallSucceedsWithValue(2));
  EXPECT_EQ(b.text(2), "tr");
  // The rest of the text is lost, not left behind: the queue holds only the second message.
  EXPECT_TRUE(Holds(q.id(), 1, 4));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "next"));
}

IPC_TEST(MsgTruncate, MsgNoerrorWithLargeEnoughBufferReturnsWholeMessage, "msg.msg-noerror",
         "msg.msgrcv-returns-bytes-copied") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 2, "whole"), SyscallSucceeds());
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT | MSG_NOERROR, 2, "whole", 32));
}

IPC_TEST(MsgTruncate, TooLongWithoutMsgNoerrorFailsE2bigAndKeepsMessage, "msg.msgrcv-e2big") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "abcdefgh"), SyscallSucceeds());
  MsgBuf b(7);
  EXPECT_THAT(msgrcv(q.id(), b.get(), 7, 0, IPC_NOWAIT), SyscallFailsWithErrno(E2BIG));
  EXPECT_TRUE(b.UntouchedFrom(0)) << "a failed msgrcv must not copy text";
  EXPECT_TRUE(Holds(q.id(), 1, 8)) << "the message must not be removed";
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "abcdefgh", 8));
}

IPC_TEST(MsgTruncate, E2bigIsReportedWithoutBlocking, "msg.msgrcv-e2big") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "abcdefgh"), SyscallSucceeds());
  // A blocking receive: the matching message exists but is too long, so msgrcv fails at once.
  Child c = Child::Spawn(
      [&] {
        MsgBuf b(4);
        EXPECT_THAT(msgrcv(q.id(), b.get(), 4, 1, 0), SyscallFailsWithErrno(E2BIG));
      },
      {.what = "receiving a too-long message without IPC_NOWAIT"});
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 1, 8));
}

IPC_TEST(MsgTruncate, E2bigConcernsOnlyTheSelectedMessage, "msg.msgrcv-e2big", "msg.msgtyp-positive") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "a long message"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 2, "ok"), SyscallSucceeds());
  EXPECT_TRUE(Receives(q.id(), 2, IPC_NOWAIT, 2, "ok", 2));
  MsgBuf b(2);
  EXPECT_THAT(msgrcv(q.id(), b.get(), 2, 0, IPC_NOWAIT), SyscallFailsWithErrno(E2BIG));
}

IPC_TEST(MsgTruncate, BlockedReceiverFailsE2bigWhenTooLongMessageArrives, "msg.msgrcv-e2big") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  Child c = Child::Spawn(
      [&] {
        MsgBuf b(2);
        EXPECT_THAT(msgrcv(q.id(), b.get(), 2, 0, 0), SyscallFailsWithErrno(E2BIG));
      },
      {.what = "waiting in msgrcv with a 2-byte buffer"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  ASSERT_THAT(Send(q.id(), 1, "longer"), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 1, 6)) << "the message the receiver could not take stays queued";
}

}  // namespace
}  // namespace ipc
