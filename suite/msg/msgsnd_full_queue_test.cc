// msgsnd(2) (man 2 msgop) to a full queue: msg_qbytes bounds both the bytes and the number of
// messages; IPC_NOWAIT fails with EAGAIN, a blocking sender sleeps until there is room.
// Rules: suite/rules/msg.ini.
//
// Every queue is an RAII MsgQueue with an IPC_PRIVATE key, removed when the test ends. A call that
// is expected to block runs in a Child with a deadline, and the parent waits until the child sleeps
// inside msgsnd/msgrcv (WaitUntilBlockedIn) before it acts, so nothing depends on timing.
#include <sys/msg.h>
#include <sys/syscall.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "ipcsuite/fixtures.h"
#include "msg_util.h"

namespace ipc {
namespace {

using namespace msg_util;

// ---------------------------------------------------------------------------------------------
// Full queues: msg_qbytes bounds both the bytes and the number of messages.

IPC_TEST_F(MsgFullQueue, NowaitSendToFullQueueFailsEagain, "msg.msgsnd-eagain") {
  EXPECT_THAT(Send(id(), 2, "x", IPC_NOWAIT), SyscallFailsWithErrno(EAGAIN));
  EXPECT_TRUE(Holds(id(), 1, 8)) << "the refused message must not be queued";
}

IPC_TEST_F(MsgFullQueue, ZeroLengthMessageStillFitsWhileCountIsBelowQbytes, "msg.msgsnd-full-count") {
  // Bytes: 8 of 8 used, a 0-byte message adds none; messages: 1 of at most 8. It fits.
  EXPECT_THAT(Send(id(), 2, "", IPC_NOWAIT), SyscallSucceeds());
  EXPECT_TRUE(Holds(id(), 2, 8));
}

// Also IPC_SET's side of lowering msg_qbytes (msgctl(2)): the new value reads back and governs the capacity.
IPC_TEST(MsgFull, SendThatExactlyReachesQbytesSucceeds, "msg.msgsnd-full-bytes", "msg.ipc-set",
         "msg.msgsnd-eagain") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_TRUE(SetQbytes(q.id(), 10));
  ASSERT_OK_AND_ASSIGN(msqid_ds after, Stat(q.id()));
  EXPECT_EQ(after.msg_qbytes, 10u);
  EXPECT_THAT(Send(q.id(), 1, "12345"), SyscallSucceeds());
  EXPECT_THAT(Send(q.id(), 1, "6789"), SyscallSucceeds());
  EXPECT_THAT(Send(q.id(), 1, "ab"), SyscallFailsWithErrno(EAGAIN)) << "11 bytes would exceed 10";
  EXPECT_THAT(Send(q.id(), 1, "0"), SyscallSucceeds()) << "10 bytes exactly fit";
  EXPECT_THAT(Send(q.id(), 1, "x"), SyscallFailsWithErrno(EAGAIN));
  EXPECT_TRUE(Holds(q.id(), 3, 10));
}

IPC_TEST(MsgFull, MessageCountIsBoundedByQbytes, "msg.msgsnd-full-count", "msg.msgsnd-eagain") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_TRUE(SetQbytes(q.id(), 4));
  for (int i = 0; i < 4; ++i) ASSERT_THAT(Send(q.id(), 1, ""), SyscallSucceeds()) << "message " << i;
  // No bytes are used at all, but a fifth message would make the count exceed msg_qbytes.
  EXPECT_THAT(Send(q.id(), 1, ""), SyscallFailsWithErrno(EAGAIN));
  EXPECT_TRUE(Holds(q.id(), 4, 0));
}

IPC_TEST(MsgFull, FreshQueueHoldsExactlyMsgmnbBytes, "msg.msgsnd-full-bytes", "msg.msgsnd-eagain") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(long msgmax, limits::MsgMax());
  ASSERT_OK_AND_ASSIGN(long msgmnb, limits::MsgMnb());
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  std::string chunk(static_cast<size_t>(msgmax), 'm');
  long left = msgmnb;
  unsigned long sent = 0;
  while (left > 0) {
    size_t n = static_cast<size_t>(std::min(left, msgmax));
    ASSERT_THAT(Send(q.id(), 1, std::string_view(chunk).substr(0, n)), SyscallSucceeds())
        << "with " << (msgmnb - left) << " of " << msgmnb << " bytes queued";
    left -= static_cast<long>(n);
    ++sent;
  }
  EXPECT_THAT(Send(q.id(), 1, "x"), SyscallFailsWithErrno(EAGAIN)) << "the queue holds MSGMNB bytes";
  EXPECT_TRUE(Holds(q.id(), sent, static_cast<unsigned long>(msgmnb)));
}

IPC_TEST_F(MsgFullQueue, BlockedSenderIsWokenByReceive, "msg.msgsnd-blocks-when-full") {
  Child c = Child::Spawn([&] { EXPECT_THAT(Send(id(), 2, "late", 0), SyscallSucceedsWithValue(0)); },
                         {.what = "sending to a full queue"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgsnd));
  EXPECT_TRUE(Holds(id(), 1, 8)) << "the blocked message must not be queued yet";
  ASSERT_TRUE(Receives(id(), 0, IPC_NOWAIT, 1, kFiller));
  c.ExpectExited(0);
  EXPECT_TRUE(Receives(id(), 0, IPC_NOWAIT, 2, "late"));
}

IPC_TEST_F(MsgFullQueue, LoweredQbytesMakesSendBlock, "msg.msgsnd-blocks-when-full",
           "msg.msgsnd-full-bytes") {
  // The queue (capacity lowered to 8 by the fixture) is full although far below MSGMNB.
  Child c = Child::Spawn([&] { EXPECT_THAT(Send(id(), 1, "z", 0), SyscallSucceeds()); },
                         {.what = "sending to a queue whose msg_qbytes was lowered"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgsnd));
  // Raising msg_qbytes again makes room: the sleeping sender is woken and completes.
  ASSERT_TRUE(SetQbytes(id(), 9));
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(id(), 2, 9));
}

}  // namespace
}  // namespace ipc
