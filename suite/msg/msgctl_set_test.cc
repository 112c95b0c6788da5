// msgctl(2) IPC_SET: mode, owner, msg_qbytes (against MSGMNB, msgop(2) NOTES), ctime, who may set
// and remove (EPERM), and EFAULT. Rules: suite/rules/msg.ini.
//
// Tests that depend on the limits run only in the private IPC namespace of the test binary.
// Unprivileged callers are children that dropped to uid/gid 65534.
#include <linux/capability.h>
#include <sys/msg.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "ipcsuite/fixtures.h"
#include "msg_util.h"

namespace ipc {
namespace {

using namespace msg_util;

// ---------------------------------------------------------------------------------------------
// IPC_SET.

IPC_TEST(MsgCtlSet, IpcSetChangesOnlyTheLowNineModeBits, "msg.ipc-set") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | 0600));
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  ds.msg_perm.mode = 07642;  // set-id and sticky bits are not part of the queue's mode
  ASSERT_TRUE(Set(q.id(), ds));
  ASSERT_OK_AND_ASSIGN(msqid_ds after, Stat(q.id()));
  EXPECT_EQ(after.msg_perm.mode & 07777, 0642);
}

IPC_TEST(MsgCtlSet, IpcSetChangesOwnerButNotCreator, "msg.ipc-set") {
  IPC_REQUIRE_OTHER_USERS("to give the queue away");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  ds.msg_perm.uid = 4321;
  ds.msg_perm.gid = 1234;
  ASSERT_TRUE(Set(q.id(), ds));
  ASSERT_OK_AND_ASSIGN(msqid_ds after, Stat(q.id()));
  EXPECT_EQ(after.msg_perm.uid, 4321u);
  EXPECT_EQ(after.msg_perm.gid, 1234u);
  EXPECT_EQ(after.msg_perm.cuid, geteuid());
  EXPECT_EQ(after.msg_perm.cgid, getegid());
}

IPC_TEST(MsgCtlSet, IpcSetIgnoresFieldsItDoesNotSet, "msg.ipc-set") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "abcd"), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(msqid_ds before, Stat(q.id()));
  msqid_ds ds = before;
  ds.msg_qnum = 99;
  ds.msg_cbytes = 12345;
  ds.msg_lspid = 1;
  ds.msg_lrpid = 1;
  ds.msg_stime = 1;
  ds.msg_rtime = 1;
  ds.msg_perm.cuid = 4321;
  ds.msg_perm.cgid = 1234;
  ds.msg_perm.__key = 0x1234;
  ASSERT_TRUE(Set(q.id(), ds));
  ASSERT_OK_AND_ASSIGN(msqid_ds after, Stat(q.id()));
  EXPECT_EQ(after.msg_qnum, 1u);
  EXPECT_EQ(after.msg_cbytes, 4u);
  EXPECT_EQ(after.msg_lspid, before.msg_lspid);
  EXPECT_EQ(after.msg_lrpid, 0);
  EXPECT_EQ(after.msg_stime, before.msg_stime);
  EXPECT_EQ(after.msg_rtime, 0);
  EXPECT_EQ(after.msg_perm.cuid, before.msg_perm.cuid);
  EXPECT_EQ(after.msg_perm.cgid, before.msg_perm.cgid);
  EXPECT_EQ(after.msg_perm.__key, IPC_PRIVATE);
}

IPC_TEST(MsgCtlSet, IpcSetUpdatesCtime, "msg.ipc-set") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  ds.msg_perm.mode = 0640;
  time_t before = time(nullptr);
  ASSERT_TRUE(Set(q.id(), ds));
  time_t after = time(nullptr);
  ASSERT_OK_AND_ASSIGN(msqid_ds st, Stat(q.id()));
  // A second boundary between creation and IPC_SET would show a missing update; within one second
  // the check still pins ctime to the time of the call.
  EXPECT_GE(st.msg_ctime, before);
  EXPECT_LE(st.msg_ctime, after);
}

IPC_TEST(MsgCtlSet, PrivilegedCallerMayRaiseQbytesAboveMsgmnb, "msg.qbytes-above-msgmnb-privileged") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  // msgctl(2) checks capable(CAP_SYS_RESOURCE): the capability in the initial user namespace.
  if (!isolation::HasCapabilityOverTheMachine(CAP_SYS_RESOURCE))
    GTEST_SKIP() << "needs CAP_SYS_RESOURCE in the initial user namespace (the kernel checks capable())";
  ASSERT_OK_AND_ASSIGN(long msgmnb, limits::MsgMnb());
  ASSERT_OK_AND_ASSIGN(long msgmax, limits::MsgMax());
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  ds.msg_qbytes = static_cast<msglen_t>(msgmnb) * 2;
  ASSERT_TRUE(Set(q.id(), ds));
  ASSERT_OK_AND_ASSIGN(msqid_ds after, Stat(q.id()));
  EXPECT_EQ(after.msg_qbytes, static_cast<msglen_t>(msgmnb) * 2);
  // The queue now really holds more than MSGMNB bytes.
  std::string chunk(static_cast<size_t>(msgmax), 'q');
  long queued = 0;
  while (queued <= msgmnb) {
    size_t n = static_cast<size_t>(std::min(msgmax, msgmnb + 1 - queued));
    ASSERT_THAT(Send(q.id(), 1, std::string_view(chunk).substr(0, n)), SyscallSucceeds())
        << "with " << queued << " bytes queued";
    queued += static_cast<long>(n);
  }
  ASSERT_OK_AND_ASSIGN(msqid_ds full, Stat(q.id()));
  EXPECT_EQ(full.msg_cbytes, static_cast<unsigned long>(msgmnb + 1));
}

IPC_TEST(MsgCtlSet, UnprivilegedRaiseOfQbytesAboveMsgmnbFailsEperm, "msg.msgctl-eperm-qbytes") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_OTHER_USERS("to hand the queue to an unprivileged owner");
  ASSERT_OK_AND_ASSIGN(long msgmnb, limits::MsgMnb());
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  // The unprivileged child owns it: only the qbytes limit can refuse.
  ASSERT_TRUE(SetOwner(q.id(), kNobodyUid, kNobodyGid));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        msqid_ds mine{};
        ASSERT_THAT(msgctl(q.id(), IPC_STAT, &mine), SyscallSucceeds());
        mine.msg_qbytes = static_cast<msglen_t>(msgmnb) + 1;
        EXPECT_THAT(msgctl(q.id(), IPC_SET, &mine), SyscallFailsWithErrno(EPERM));
      },
      {.what = "raising msg_qbytes above MSGMNB without CAP_SYS_RESOURCE"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(msqid_ds after, Stat(q.id()));
  EXPECT_EQ(after.msg_qbytes, static_cast<msglen_t>(msgmnb)) << "the refused IPC_SET changed nothing";
}

IPC_TEST(MsgCtlSet, RootOwnerWithoutCapSysResourceRaiseOfQbytesFailsEperm, "msg.msgctl-eperm-qbytes") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_OTHER_USERS("to be the queue's owner and creator while lacking only CAP_SYS_RESOURCE");
  ASSERT_OK_AND_ASSIGN(long msgmnb, limits::MsgMnb());
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(isolation::DropEffectiveCapability(CAP_SYS_RESOURCE), SyscallSucceeds());
        ASSERT_FALSE(isolation::HasEffectiveCapability(CAP_SYS_RESOURCE));
        msqid_ds ds{};
        ASSERT_THAT(msgctl(q.id(), IPC_STAT, &ds), SyscallSucceeds());
        ds.msg_qbytes = static_cast<msglen_t>(msgmnb) + 1;
        EXPECT_THAT(msgctl(q.id(), IPC_SET, &ds), SyscallFailsWithErrno(EPERM));
        ds.msg_qbytes = static_cast<msglen_t>(msgmnb) - 1;
        EXPECT_THAT(msgctl(q.id(), IPC_SET, &ds), SyscallSucceeds()) << "lowering needs no privilege";
      },
      {.what = "raising msg_qbytes as root without CAP_SYS_RESOURCE"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(msqid_ds after, Stat(q.id()));
  EXPECT_EQ(after.msg_qbytes, static_cast<msglen_t>(msgmnb) - 1);
}

IPC_TEST(MsgCtlSet, UnprivilegedOwnerMaySetQbytesUpToMsgmnb, "msg.msgctl-eperm-qbytes", "msg.ipc-set") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_OTHER_USERS("to hand the queue to an unprivileged owner");
  ASSERT_OK_AND_ASSIGN(long msgmnb, limits::MsgMnb());
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_TRUE(SetOwner(q.id(), kNobodyUid, kNobodyGid));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        msqid_ds mine{};
        ASSERT_THAT(msgctl(q.id(), IPC_STAT, &mine), SyscallSucceeds());
        mine.msg_qbytes = 100;
        EXPECT_THAT(msgctl(q.id(), IPC_SET, &mine), SyscallSucceeds()) << "lowering";
        // Raising again is allowed as long as it does not go beyond MSGMNB.
        mine.msg_qbytes = static_cast<msglen_t>(msgmnb);
        EXPECT_THAT(msgctl(q.id(), IPC_SET, &mine), SyscallSucceeds()) << "raising back to MSGMNB";
      },
      {.what = "setting msg_qbytes within MSGMNB as the unprivileged owner"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(msqid_ds after, Stat(q.id()));
  EXPECT_EQ(after.msg_qbytes, static_cast<msglen_t>(msgmnb));
}

IPC_TEST(MsgCtlSet, NonOwnerIpcSetFailsEperm, "msg.msgctl-eperm-owner") {
  IPC_REQUIRE_OTHER_USERS("to act as a user who neither owns nor created the queue");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | 0666));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        msqid_ds ds{};
        ASSERT_THAT(msgctl(q.id(), IPC_STAT, &ds), SyscallSucceeds()) << "mode 0666 grants reading";
        ds.msg_perm.mode = 0600;
        EXPECT_THAT(msgctl(q.id(), IPC_SET, &ds), SyscallFailsWithErrno(EPERM));
      },
      {.what = "IPC_SET by a non-owner"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  EXPECT_EQ(ds.msg_perm.mode & 0777, 0666);
}

IPC_TEST(MsgCtlSet, OwnerWhoIsNotCreatorMaySet, "msg.ipc-set", "msg.msgctl-eperm-owner") {
  IPC_REQUIRE_OTHER_USERS("to give the queue to another user");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_TRUE(SetOwner(q.id(), kNobodyUid));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        msqid_ds mine{};
        ASSERT_THAT(msgctl(q.id(), IPC_STAT, &mine), SyscallSucceeds());
        mine.msg_perm.mode = 0660;
        EXPECT_THAT(msgctl(q.id(), IPC_SET, &mine), SyscallSucceeds());
      },
      {.what = "IPC_SET by the owner who is not the creator"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(msqid_ds after, Stat(q.id()));
  EXPECT_EQ(after.msg_perm.mode & 0777, 0660);
}

IPC_TEST(MsgCtlSet, CreatorWhoIsNoLongerOwnerMaySetAndRemove, "msg.ipc-set", "msg.ipc-rmid",
         "msg.msgctl-eperm-owner") {
  IPC_REQUIRE_OTHER_USERS("to create a queue as another user and take its ownership");
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_IPC_OWNER, "read (IPC_STAT) another user's 0600 queue");
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_SYS_ADMIN, "take (IPC_SET) a queue it neither owns nor created");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, CreateMsgQueueAsNobody(0600));
  const int id = q.id();
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(id));
  ASSERT_EQ(ds.msg_perm.cuid, kNobodyUid);
  ds.msg_perm.uid = 0;  // root owns it now; 65534 stays the creator
  ds.msg_perm.gid = 0;
  ASSERT_TRUE(Set(id, ds));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        msqid_ds mine = ds;  // no read permission for IPC_STAT: start from the parent's copy
        mine.msg_perm.mode = 0644;
        EXPECT_THAT(msgctl(id, IPC_SET, &mine), SyscallSucceeds());
        EXPECT_THAT(msgctl(id, IPC_RMID, nullptr), SyscallSucceeds());
      },
      {.what = "IPC_SET and IPC_RMID by the creator who is not the owner"});
  c.ExpectExited(0);
  EXPECT_TRUE(q.ConfirmRemoved());
}

IPC_TEST(MsgCtlSet, PrivilegedCallerMaySetAndRemoveAnyQueue, "msg.ipc-set", "msg.ipc-rmid") {
  IPC_REQUIRE_OTHER_USERS("to create a queue as another user");
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_SYS_ADMIN, "set and remove a queue it neither owns nor created");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, CreateMsgQueueAsNobody(0600));
  const int id = q.id();
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(id));
  ASSERT_EQ(ds.msg_perm.uid, kNobodyUid);
  ASSERT_EQ(ds.msg_perm.cuid, kNobodyUid);
  ds.msg_perm.mode = 0640;
  EXPECT_TRUE(Set(id, ds));
  EXPECT_THAT(msgctl(id, IPC_RMID, nullptr), SyscallSucceeds());
  q.Release();
}

}  // namespace
}  // namespace ipc
