// msgctl(2): IPC_STAT and IPC_RMID, EFAULT for IPC_STAT and IPC_SET, and EINVAL for the command and
// the identifier.
// Rules: suite/rules/msg.ini (IPC_SET: msgctl_set_test.cc; IPC_INFO, MSG_INFO, MSG_STAT,
// MSG_STAT_ANY: msgctl_info_test.cc).
//
// Tests that depend on the limits run only in the private IPC namespace of the test binary.
// Unprivileged callers are children that dropped to uid/gid 65534.
#include <sys/msg.h>
#include <unistd.h>

#include <climits>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "msg_util.h"

namespace ipc {
namespace {

using namespace msg_util;

// ---------------------------------------------------------------------------------------------
// IPC_STAT.

IPC_TEST(MsgCtlStat, IpcStatReportsCurrentCountsAndLimit, "msg.ipc-stat") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(long msgmnb, limits::MsgMnb());
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "abc"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 2, "defgh"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 3, ""), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  EXPECT_EQ(ds.msg_qnum, 3u);
  EXPECT_EQ(ds.msg_cbytes, 8u);
  EXPECT_EQ(ds.msg_qbytes, static_cast<msglen_t>(msgmnb));
  EXPECT_EQ(ds.msg_lspid, getpid());
  EXPECT_EQ(ds.msg_lrpid, 0);
}

IPC_TEST(MsgCtlStat, IpcStatWithoutReadPermissionFailsEacces, "msg.msgctl-eacces") {
  IPC_REQUIRE_OTHER_USERS("to create a queue another user may not read");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | 0622));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        msqid_ds ds{};
        EXPECT_THAT(msgctl(q.id(), IPC_STAT, &ds), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(Send(q.id(), 1, "w"), SyscallSucceeds()) << "write permission is granted";
      },
      {.what = "IPC_STAT of a mode 0622 queue as an unprivileged user"});
  c.ExpectExited(0);
}

IPC_TEST(MsgCtlStat, IpcStatWithReadPermissionOnlySucceeds, "msg.ipc-stat", "msg.msgctl-eacces") {
  IPC_REQUIRE_OTHER_USERS("to act as another user");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | 0604));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        msqid_ds ds{};
        EXPECT_THAT(msgctl(q.id(), IPC_STAT, &ds), SyscallSucceedsWithValue(0));
        EXPECT_EQ(ds.msg_perm.mode & 0777, 0604);
        EXPECT_EQ(ds.msg_perm.uid, 0u);
      },
      {.what = "IPC_STAT of a mode 0604 queue as an unprivileged user"});
  c.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------
// EFAULT: IPC_STAT and IPC_SET with a buffer that cannot be accessed. In a child: an interposed library
// that touched the buffer itself would die of SIGSEGV, which must fail the test, not kill the binary.

struct MsgCtlEfaultRow {
  const char* name;
  rules::RuleList rules;
  int cmd;
};

const MsgCtlEfaultRow kMsgCtlEfault[] = {
    {"IpcStat", {"msg.msgctl-efault"}, IPC_STAT},
    {"IpcSet", {"msg.msgctl-efault"}, IPC_SET},
};

class MsgCtlEfault : public ::testing::TestWithParam<MsgCtlEfaultRow> {};

IPC_TEST_P(MsgCtlEfault, FailsAndChangesNothing) {
  const MsgCtlEfaultRow& row = GetParam();
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | 0600));
  Child c = Child::Spawn(
      [&] {
        InaccessiblePage page;
        ASSERT_TRUE(page.ok());
        EXPECT_THAT(msgctl(q.id(), row.cmd, static_cast<msqid_ds*>(page.get())),
                    SyscallFailsWithErrno(EFAULT));
      },
      {.what = "msgctl with a PROT_NONE page as buf"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  EXPECT_EQ(ds.msg_perm.mode & 0777, 0600);
}

IPC_INSTANTIATE_TABLE(Table, MsgCtlEfault, kMsgCtlEfault);

// ---------------------------------------------------------------------------------------------
// IPC_RMID.

IPC_TEST(MsgCtlRmid, IpcRmidRemovesQueueAndItsMessagesAtOnce, "msg.ipc-rmid", "msg.msgctl-einval-msqid") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "one"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 2, "two"), SyscallSucceeds());
  int id = q.id();
  ASSERT_THAT(msgctl(id, IPC_RMID, nullptr), SyscallSucceedsWithValue(0));
  q.Release();
  msqid_ds ds{};
  EXPECT_THAT(msgctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(msgctl(id, IPC_RMID, nullptr), SyscallFailsWithErrno(EINVAL)) << "already removed";
  std::vector<char> buf(sizeof(long) + 16);
  EXPECT_THAT(msgrcv(id, buf.data(), 16, 0, IPC_NOWAIT), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(MsgCtlRmid, IpcRmidIgnoresItsThirdArgument, "msg.ipc-rmid") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  const int id = q.id();
  Child c = Child::Spawn(
      [&] {
        InaccessiblePage page;
        ASSERT_TRUE(page.ok());
        EXPECT_THAT(msgctl(id, IPC_RMID, static_cast<msqid_ds*>(page.get())), SyscallSucceedsWithValue(0));
      },
      {.what = "IPC_RMID with an inaccessible buf"});
  c.ExpectExited(0);
  EXPECT_TRUE(q.ConfirmRemoved());
}

IPC_TEST(MsgCtlRmid, NonOwnerIpcRmidFailsEperm, "msg.msgctl-eperm-owner") {
  IPC_REQUIRE_OTHER_USERS("to act as a user who neither owns nor created the queue");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | 0666));
  ASSERT_THAT(Send(q.id(), 1, "stay"), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(msgctl(q.id(), IPC_RMID, nullptr), SyscallFailsWithErrno(EPERM));
      },
      {.what = "IPC_RMID by a non-owner"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  EXPECT_EQ(ds.msg_qnum, 1u) << "the queue and its message are still there";
}

IPC_TEST(MsgCtlRmid, OwnerWhoIsNotCreatorMayRemove, "msg.ipc-rmid", "msg.msgctl-eperm-owner") {
  IPC_REQUIRE_OTHER_USERS("to give the queue to another user");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_TRUE(SetOwner(q.id(), kNobodyUid));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(msgctl(q.id(), IPC_RMID, nullptr), SyscallSucceeds());
      },
      {.what = "IPC_RMID by the owner who is not the creator"});
  c.ExpectExited(0);
  EXPECT_TRUE(q.ConfirmRemoved());
}

// ---------------------------------------------------------------------------------------------
// EINVAL for the command and the identifier.

IPC_TEST(MsgCtlInvalid, UnknownCommandFailsEinval, "msg.msgctl-einval-cmd") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  msqid_ds ds{};
  EXPECT_THAT(msgctl(q.id(), 99, &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(msgctl(q.id(), -1, &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(msgctl(q.id(), 4, &ds), SyscallFailsWithErrno(EINVAL)) << "4: between IPC_INFO and MSG_STAT";
  EXPECT_TRUE(Stat(q.id()).ok()) << "the queue is untouched";
}

IPC_TEST(MsgCtlInvalid, NegativeIdFailsEinval, "msg.msgctl-einval-msqid") {
  msqid_ds ds{};
  EXPECT_THAT(msgctl(-1, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(msgctl(-1, IPC_RMID, nullptr), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(msgctl(INT_MIN, IPC_SET, &ds), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(MsgCtlInvalid, RemovedIdFailsEinvalForEveryCommand, "msg.msgctl-einval-msqid") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  int stale = q.id();
  ASSERT_THAT(q.Remove(), SyscallSucceeds());
  EXPECT_THAT(msgctl(stale, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(msgctl(stale, IPC_SET, &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(msgctl(stale, IPC_RMID, nullptr), SyscallFailsWithErrno(EINVAL));
}

}  // namespace
}  // namespace ipc
