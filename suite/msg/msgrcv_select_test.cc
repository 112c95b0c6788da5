// msgrcv(2) (man 2 msgop): which message msgtyp selects (zero, positive, negative, MSG_EXCEPT) and
// ENOMSG when none matches under IPC_NOWAIT. Rules: suite/rules/msg.ini.
#include <sys/msg.h>

#include "ipcsuite/fixtures.h"
#include "msg_util.h"

namespace ipc {
namespace {

using namespace msg_util;

// ---------------------------------------------------------------------------------------------
// Selection by msgtyp.

IPC_TEST(MsgSelect, MsgtypZeroTakesMessagesInQueueOrder, "msg.msgtyp-zero") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 5, "five"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 1, "one"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 3, "three"), SyscallSucceeds());
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 5, "five"));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "one"));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 3, "three"));
}

IPC_TEST(MsgSelect, MsgtypZeroKeepsOrderWithinOneType, "msg.msgtyp-zero") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  for (const char* t : {"a", "b", "c", "d"}) ASSERT_THAT(Send(q.id(), 4, t), SyscallSucceeds());
  for (const char* t : {"a", "b", "c", "d"}) EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 4, t));
}

IPC_TEST(MsgSelect, PositiveMsgtypTakesFirstMessageOfThatType, "msg.msgtyp-positive") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "1a"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 2, "2a"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 1, "1b"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 2, "2b"), SyscallSucceeds());
  EXPECT_TRUE(Receives(q.id(), 2, IPC_NOWAIT, 2, "2a"));
  EXPECT_TRUE(Receives(q.id(), 2, IPC_NOWAIT, 2, "2b"));
  EXPECT_TRUE(Receives(q.id(), 1, IPC_NOWAIT, 1, "1a"));
}

IPC_TEST(MsgSelect, PositiveMsgtypLeavesOtherMessagesInOrder, "msg.msgtyp-positive") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "1a"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 3, "3a"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 2, "2a"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 1, "1b"), SyscallSucceeds());
  ASSERT_TRUE(Receives(q.id(), 3, IPC_NOWAIT, 3, "3a"));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "1a"));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 2, "2a"));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "1b"));
}

IPC_TEST(MsgSelect, PositiveMsgtypWithNoSuchMessageFailsEnomsg, "msg.msgtyp-positive", "msg.msgrcv-enomsg") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "one"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 3, "three"), SyscallSucceeds());
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 2, IPC_NOWAIT), SyscallFailsWithErrno(ENOMSG));
  EXPECT_TRUE(Holds(q.id(), 2, 8)) << "a failed receive must not consume anything";
}

IPC_TEST(MsgSelect, NegativeMsgtypTakesLowestTypeNotAboveItsAbsoluteValue, "msg.msgtyp-negative") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 3, "3"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 2, "2"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 1, "1a"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 5, "5"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 1, "1b"), SyscallSucceeds());
  // Lowest type first; among messages of the lowest type, the first in the queue.
  EXPECT_TRUE(Receives(q.id(), -4, IPC_NOWAIT, 1, "1a"));
  EXPECT_TRUE(Receives(q.id(), -4, IPC_NOWAIT, 1, "1b"));
  EXPECT_TRUE(Receives(q.id(), -4, IPC_NOWAIT, 2, "2"));
  EXPECT_TRUE(Receives(q.id(), -4, IPC_NOWAIT, 3, "3"));
  // Only type 5 is left: above 4.
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, -4, IPC_NOWAIT), SyscallFailsWithErrno(ENOMSG));
}

IPC_TEST(MsgSelect, NegativeMsgtypIncludesTypeEqualToItsAbsoluteValue, "msg.msgtyp-negative") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 9, "nine"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 6, "six"), SyscallSucceeds());
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, -5, IPC_NOWAIT), SyscallFailsWithErrno(ENOMSG));
  EXPECT_TRUE(Receives(q.id(), -6, IPC_NOWAIT, 6, "six"));
  EXPECT_TRUE(Receives(q.id(), -9, IPC_NOWAIT, 9, "nine"));
}

IPC_TEST(MsgSelect, MsgExceptTakesFirstMessageOfAnotherType, "msg.msg-except") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "1a"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 1, "1b"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 3, "3"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 2, "2"), SyscallSucceeds());
  EXPECT_TRUE(Receives(q.id(), 1, IPC_NOWAIT | MSG_EXCEPT, 3, "3"));
  EXPECT_TRUE(Receives(q.id(), 1, IPC_NOWAIT | MSG_EXCEPT, 2, "2"));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "1a")) << "type-1 messages stay, in order";
}

IPC_TEST(MsgSelect, MsgExceptWithOnlyThatTypeFailsEnomsg, "msg.msg-except", "msg.msgrcv-enomsg") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 4, "x"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 4, "y"), SyscallSucceeds());
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 4, IPC_NOWAIT | MSG_EXCEPT), SyscallFailsWithErrno(ENOMSG));
  EXPECT_TRUE(Holds(q.id(), 2, 2));
}

IPC_TEST(MsgSelect, EmptyQueueWithNowaitFailsEnomsg, "msg.msgrcv-enomsg") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 0, IPC_NOWAIT), SyscallFailsWithErrno(ENOMSG));
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, -100, IPC_NOWAIT), SyscallFailsWithErrno(ENOMSG));
}

}  // namespace
}  // namespace ipc
