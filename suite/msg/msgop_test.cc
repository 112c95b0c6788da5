// msgsnd(2) and msgrcv(2) (man 2 msgop), the plain cases: a message round-trips with its type and
// text, zero-length and MSGMAX-sized messages, the largest mtype, and the msqid_ds fields a send or a
// receive updates. Rules: suite/rules/msg.ini.
//
// Every queue is an RAII MsgQueue with an IPC_PRIVATE key, removed when the test ends.
#include <sys/msg.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <string>

#include "ipcsuite/fixtures.h"
#include "msg_util.h"

namespace ipc {
namespace {

using namespace msg_util;

// ---------------------------------------------------------------------------------------------
// Sending and receiving.

IPC_TEST(MsgSendReceive, RoundTripsTypeAndText, "msg.msgrcv-removes-message",
         "msg.msgrcv-returns-bytes-copied") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 7, "hello"), SyscallSucceedsWithValue(0));
  // A buffer much larger than the message: msgrcv returns the message's length, not msgsz.
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 7, "hello", 64));
}

IPC_TEST(MsgSendReceive, ReceiveRemovesTheMessage, "msg.msgrcv-removes-message", "msg.msgrcv-enomsg") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "once"), SyscallSucceeds());
  ASSERT_TRUE(Holds(q.id(), 1, 4));
  ASSERT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "once"));
  EXPECT_TRUE(Holds(q.id(), 0, 0));
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 0, IPC_NOWAIT), SyscallFailsWithErrno(ENOMSG));
}

IPC_TEST(MsgSendReceive, ZeroLengthMessageIsPermitted, "msg.zero-length-message") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 3, ""), SyscallSucceedsWithValue(0));
  EXPECT_TRUE(Holds(q.id(), 1, 0));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 3, "", 8));
}

IPC_TEST(MsgSendReceive, LargestPositiveMtypeRoundTrips, "msg.mtype-positive") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), LONG_MAX, "max"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 1, "one"), SyscallSucceeds());
  EXPECT_TRUE(Receives(q.id(), LONG_MAX, IPC_NOWAIT, LONG_MAX, "max"));
  EXPECT_TRUE(Receives(q.id(), 1, IPC_NOWAIT, 1, "one"));
}

IPC_TEST(MsgSendReceive, MessageOfExactlyMsgmaxBytesRoundTrips, "msg.msgmax",
         "msg.msgrcv-returns-bytes-copied") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(long msgmax, limits::MsgMax());
  ASSERT_OK_AND_ASSIGN(long msgmnb, limits::MsgMnb());
  ASSERT_LE(msgmax, msgmnb) << "a message of MSGMAX bytes must fit in a fresh queue for this test";
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  // Every byte value, NUL included: the text is binary data, not a string.
  std::string text(static_cast<size_t>(msgmax), '\0');
  for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>((i * 7 + 3) & 0xff);
  ASSERT_THAT(Send(q.id(), 2, text), SyscallSucceedsWithValue(0));
  EXPECT_TRUE(Holds(q.id(), 1, static_cast<unsigned long>(msgmax)));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 2, text, static_cast<size_t>(msgmax)));
}

IPC_TEST(MsgSendReceive, SendUpdatesLspidQnumAndStime, "msg.msgsnd-updates-ds") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "first"), SyscallSucceeds());  // qnum 1 before the child's send
  time_t before = time(nullptr);
  Child c = Child::Spawn([&] { EXPECT_THAT(Send(q.id(), 1, "xyz"), SyscallSucceeds()); },
                         {.what = "sending one message"});
  const pid_t sender = c.pid();
  c.ExpectExited(0);
  time_t after = time(nullptr);
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  EXPECT_EQ(ds.msg_lspid, sender) << "msg_lspid must be the sender's pid";
  EXPECT_EQ(ds.msg_qnum, 2u);
  EXPECT_EQ(ds.msg_cbytes, 8u);
  EXPECT_GE(ds.msg_stime, before);
  EXPECT_LE(ds.msg_stime, after);
  EXPECT_EQ(ds.msg_lrpid, 0) << "nothing was received yet";
  EXPECT_EQ(ds.msg_rtime, 0) << "nothing was received yet";
}

IPC_TEST(MsgSendReceive, ReceiveUpdatesLrpidQnumAndRtime, "msg.msgrcv-updates-ds") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "ab"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 1, "cde"), SyscallSucceeds());
  time_t before = time(nullptr);
  Child c = Child::Spawn([&] { EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "ab")); },
                         {.what = "receiving one message"});
  const pid_t receiver = c.pid();
  c.ExpectExited(0);
  time_t after = time(nullptr);
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  EXPECT_EQ(ds.msg_lrpid, receiver) << "msg_lrpid must be the receiver's pid";
  EXPECT_EQ(ds.msg_lspid, getpid()) << "msg_lspid still names the sender";
  EXPECT_EQ(ds.msg_qnum, 1u);
  EXPECT_EQ(ds.msg_cbytes, 3u);
  EXPECT_GE(ds.msg_rtime, before);
  EXPECT_LE(ds.msg_rtime, after);
}

}  // namespace
}  // namespace ipc
