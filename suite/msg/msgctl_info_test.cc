// msgctl(2) IPC_INFO, MSG_INFO, MSG_STAT and MSG_STAT_ANY: the limits, the system-wide counts, the
// highest used index and the index-based lookups. Rules: suite/rules/msg.ini.
//
// Tests that count queues system-wide run only in the private IPC namespace of the test binary,
// where nothing else creates queues. Unprivileged callers are children that dropped to uid/gid 65534.
#include <sys/msg.h>
#include <unistd.h>

#include <set>

#include "ipcsuite/fixtures.h"
#include "msg_util.h"

namespace ipc {
namespace {

using namespace msg_util;

// ---------------------------------------------------------------------------------------------
// IPC_INFO, MSG_INFO, MSG_STAT, MSG_STAT_ANY.

IPC_TEST(MsgCtlInfo, IpcInfoReportsTheLimits, "msg.ipc-info") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(long msgmax, limits::MsgMax());
  ASSERT_OK_AND_ASSIGN(long msgmnb, limits::MsgMnb());
  ASSERT_OK_AND_ASSIGN(long msgmni, limits::MsgMni());
  int ret = -1;
  msginfo info = Info(IPC_INFO, &ret);
  ASSERT_THAT(ret, SyscallSucceeds());
  EXPECT_EQ(info.msgmax, msgmax);
  EXPECT_EQ(info.msgmnb, msgmnb);
  EXPECT_EQ(info.msgmni, msgmni);
}

IPC_TEST(MsgCtlInfo, MsgInfoReportsLimitsLikeIpcInfo, "msg.msg-info") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  int ret1 = -1, ret2 = -1;
  msginfo ipc = Info(IPC_INFO, &ret1);
  msginfo msg = Info(MSG_INFO, &ret2);
  ASSERT_THAT(ret1, SyscallSucceeds());
  ASSERT_THAT(ret2, SyscallSucceeds());
  EXPECT_EQ(msg.msgmax, ipc.msgmax);
  EXPECT_EQ(msg.msgmnb, ipc.msgmnb);
  EXPECT_EQ(msg.msgmni, ipc.msgmni);
  EXPECT_EQ(msg.msgssz, ipc.msgssz);
  EXPECT_EQ(msg.msgseg, ipc.msgseg);
}

IPC_TEST(MsgCtlInfo, MsgInfoCountsQueuesMessagesAndBytes, "msg.msg-info") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  int ret = -1;
  msginfo base = Info(MSG_INFO, &ret);
  ASSERT_THAT(ret, SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(MsgQueue a, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_OK_AND_ASSIGN(MsgQueue b, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(a.id(), 1, "1234"), SyscallSucceeds());
  ASSERT_THAT(Send(a.id(), 1, "56"), SyscallSucceeds());
  ASSERT_THAT(Send(b.id(), 1, "789"), SyscallSucceeds());
  msginfo now = Info(MSG_INFO, &ret);
  ASSERT_THAT(ret, SyscallSucceeds());
  EXPECT_EQ(now.msgpool - base.msgpool, 2) << "msgpool counts queues";
  EXPECT_EQ(now.msgmap - base.msgmap, 3) << "msgmap counts messages";
  EXPECT_EQ(now.msgtql - base.msgtql, 9) << "msgtql counts bytes";
  ASSERT_THAT(a.Remove(), SyscallSucceeds());
  now = Info(MSG_INFO, &ret);
  ASSERT_THAT(ret, SyscallSucceeds());
  EXPECT_EQ(now.msgpool - base.msgpool, 1);
  EXPECT_EQ(now.msgmap - base.msgmap, 1);
  EXPECT_EQ(now.msgtql - base.msgtql, 3);
}

IPC_TEST(MsgCtlInfo, InfoReturnsHighestUsedIndexForMsgStat, "msg.info-highest-index", "msg.msg-stat",
         "msg.msgctl-einval-msg-stat") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(MsgQueue a, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_OK_AND_ASSIGN(MsgQueue b, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_OK_AND_ASSIGN(MsgQueue c, MsgQueue::Create(IPC_PRIVATE));
  int highest = -1, highest2 = -1;
  Info(IPC_INFO, &highest);
  Info(MSG_INFO, &highest2);
  ASSERT_THAT(highest, SyscallSucceeds());
  EXPECT_EQ(highest2, highest) << "IPC_INFO and MSG_INFO return the same index";
  // Walking the indexes 0..highest with MSG_STAT finds every queue; the highest index is in use.
  std::set<int> found;
  int at_highest = -1;
  for (int i = 0; i <= highest; ++i) {
    msqid_ds ds{};
    int id = msgctl(i, MSG_STAT, &ds);
    if (id >= 0) found.insert(id);
    if (i == highest) at_highest = id;
  }
  EXPECT_TRUE(found.count(a.id()) && found.count(b.id()) && found.count(c.id()))
      << "MSG_STAT over indexes 0.." << highest << " did not find all of " << a.id() << ", " << b.id() << ", "
      << c.id();
  EXPECT_GE(at_highest, 0) << "the index returned by IPC_INFO must be in use";
  msqid_ds ds{};
  EXPECT_THAT(msgctl(highest + 1, MSG_STAT, &ds), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(MsgCtlInfo, MsgStatReturnsTheIdAndTheDataStructure, "msg.msg-stat") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | 0620));
  ASSERT_THAT(Send(q.id(), 1, "stat me"), SyscallSucceeds());
  int highest = -1;
  Info(IPC_INFO, &highest);
  ASSERT_THAT(highest, SyscallSucceeds());
  bool seen = false;
  for (int i = 0; i <= highest; ++i) {
    msqid_ds ds{};
    if (msgctl(i, MSG_STAT, &ds) != q.id()) continue;
    seen = true;
    EXPECT_EQ(ds.msg_qnum, 1u);
    EXPECT_EQ(ds.msg_cbytes, 7u);
    EXPECT_EQ(ds.msg_lspid, getpid());
    EXPECT_EQ(ds.msg_perm.mode & 0777, 0620);
  }
  EXPECT_TRUE(seen) << "no index up to " << highest << " gave queue " << q.id();
}

IPC_TEST(MsgCtlInfo, MsgStatOfUnusedIndexFailsEinval, "msg.msgctl-einval-msg-stat") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  int highest = -1;
  Info(IPC_INFO, &highest);
  ASSERT_THAT(highest, SyscallSucceeds());
  msqid_ds ds{};
  EXPECT_THAT(msgctl(highest + 1, MSG_STAT, &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(msgctl(highest + 1, MSG_STAT_ANY, &ds), SyscallFailsWithErrno(EINVAL));
  // An index freed by IPC_RMID is unused again.
  ASSERT_OK_AND_ASSIGN(MsgQueue last, MsgQueue::Create(IPC_PRIVATE));
  int top = -1;
  Info(IPC_INFO, &top);
  ASSERT_THAT(top, SyscallSucceeds());
  ASSERT_THAT(msgctl(top, MSG_STAT, &ds), SyscallSucceeds());
  int top_id = msgctl(top, MSG_STAT, &ds);
  ASSERT_TRUE(top_id == last.id() || top_id == q.id());
  ASSERT_THAT(msgctl(top_id, IPC_RMID, nullptr), SyscallSucceeds());
  (top_id == last.id() ? last : q).Release();
  EXPECT_THAT(msgctl(top, MSG_STAT, &ds), SyscallFailsWithErrno(EINVAL));
}

// MSG_STAT needs read permission like IPC_STAT; MSG_STAT_ANY does not (msgctl(2)).
IPC_TEST(MsgCtlInfo, MsgStatWithoutReadPermissionFailsEaccesButMsgStatAnySucceeds, "msg.msgctl-eacces",
         "msg.msg-stat-any") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_OTHER_USERS("to create a queue another user may not read");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | 0600));
  ASSERT_THAT(Send(q.id(), 1, "abc"), SyscallSucceeds());
  int highest = -1;
  Info(IPC_INFO, &highest);
  ASSERT_THAT(highest, SyscallSucceeds());
  int index = -1;
  for (int i = 0; i <= highest && index < 0; ++i) {
    msqid_ds ds{};
    if (msgctl(i, MSG_STAT, &ds) == q.id()) index = i;
  }
  ASSERT_GE(index, 0) << "queue " << q.id() << " not found by index";
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        msqid_ds ds{};
        EXPECT_THAT(msgctl(index, MSG_STAT, &ds), SyscallFailsWithErrno(EACCES));
        msqid_ds any{};
        EXPECT_THAT(msgctl(index, MSG_STAT_ANY, &any), SyscallSucceedsWithValue(q.id()));
        EXPECT_EQ(any.msg_qnum, 1u);
        EXPECT_EQ(any.msg_cbytes, 3u);
        EXPECT_EQ(any.msg_perm.mode & 0777, 0600);
      },
      {.what = "MSG_STAT and MSG_STAT_ANY of a mode 0600 root queue as an unprivileged user"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
