// msgsnd(2)/msgrcv(2) permissions (man 2 msgop, svipc(7)): write permission to send, read
// permission to receive (EACCES), the owner/group/other classes, and CAP_IPC_OWNER.
// Rules: suite/rules/msg.ini.
//
// The queue is created by root; the caller drops to uid/gid 65534 in a child.
#include <linux/capability.h>
#include <sys/msg.h>

#include "ipcsuite/fixtures.h"
#include "msg_util.h"

namespace ipc {
namespace {

using namespace msg_util;

// Changes owner uid/gid and mode with IPC_SET (as root).
::testing::AssertionResult SetOwnerAndMode(int id, uid_t uid, gid_t gid, mode_t mode) {
  auto ds = Stat(id);
  if (!ds.ok()) return ::testing::AssertionFailure() << ds.error();
  ds.value().msg_perm.uid = uid;
  ds.value().msg_perm.gid = gid;
  ds.value().msg_perm.mode = static_cast<unsigned short>(mode);
  if (msgctl(id, IPC_SET, &ds.value()) != 0)
    return ::testing::AssertionFailure() << "msgctl(IPC_SET) failed with " << DescribeErrno(errno);
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------------------------
// Permissions: the queue is created by root, the caller drops to uid/gid 65534 in a child.

IPC_TEST(MsgPermission, SendWithoutWritePermissionFailsEacces, "msg.msgsnd-eacces") {
  IPC_REQUIRE_OTHER_USERS("to create a queue an unprivileged child cannot write");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | 0604));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(Send(q.id(), 1, "w"), SyscallFailsWithErrno(EACCES));
        // Read permission is granted: the same caller may receive (the queue is empty).
        MsgBuf b(8);
        EXPECT_THAT(msgrcv(q.id(), b.get(), 8, 0, IPC_NOWAIT), SyscallFailsWithErrno(ENOMSG));
      },
      {.what = "sending as an unprivileged user to a mode 0604 queue"});
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 0, 0));
}

IPC_TEST(MsgPermission, ReceiveWithoutReadPermissionFailsEacces, "msg.msgrcv-eacces") {
  IPC_REQUIRE_OTHER_USERS("to create a queue an unprivileged child cannot read");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | 0602));
  ASSERT_THAT(Send(q.id(), 1, "secret"), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        MsgBuf b(16);
        EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 0, IPC_NOWAIT), SyscallFailsWithErrno(EACCES));
        EXPECT_TRUE(b.UntouchedFrom(0));
        // Write permission is granted.
        EXPECT_THAT(Send(q.id(), 2, "in"), SyscallSucceeds());
      },
      {.what = "receiving as an unprivileged user from a mode 0602 queue"});
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 2, 8)) << "the refused receive must not consume the message";
}

IPC_TEST(MsgPermission, OtherPermissionBitsGrantSendAndReceive, "msg.permission-classes") {
  IPC_REQUIRE_OTHER_USERS("to give the queue to root and act as another user");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | 0606));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(Send(q.id(), 1, "other"), SyscallSucceeds());
        EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "other"));
      },
      {.what = "using a mode 0606 queue as an unprivileged user"});
  c.ExpectExited(0);
}

IPC_TEST(MsgPermission, GroupPermissionBitsApplyToGroupMembers, "msg.permission-classes") {
  IPC_REQUIRE_OTHER_USERS("to set the queue's group");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_TRUE(SetOwnerAndMode(q.id(), 0, kNobodyGid, 0060));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();  // gid 65534: the queue's group
        EXPECT_THAT(Send(q.id(), 1, "group"), SyscallSucceeds());
        EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "group"));
      },
      {.what = "using a mode 0060 queue as a member of its group"});
  c.ExpectExited(0);
}

IPC_TEST(MsgPermission, OwnerClassAppliesToOwnerEvenWhenOthersMayAccess, "msg.permission-classes",
         "msg.msgsnd-eacces", "msg.msgrcv-eacces") {
  IPC_REQUIRE_OTHER_USERS("to give the queue to another user");
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_IPC_OWNER, "check (IPC_STAT) a queue given away with mode 0066");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "m"), SyscallSucceeds());
  // Owner 65534 gets no access; group and others get everything.
  ASSERT_TRUE(SetOwnerAndMode(q.id(), kNobodyUid, kNobodyGid, 0066));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(Send(q.id(), 1, "x"), SyscallFailsWithErrno(EACCES));
        MsgBuf b(8);
        EXPECT_THAT(msgrcv(q.id(), b.get(), 8, 0, IPC_NOWAIT), SyscallFailsWithErrno(EACCES));
      },
      {.what = "using a mode 0066 queue as its owner"});
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 1, 1));
}

IPC_TEST(MsgPermission, CapIpcOwnerBypassesPermissionBits, "msg.cap-ipc-owner") {
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_IPC_OWNER,
                                   "send to and receive from a queue whose mode grants nothing");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | 0000));
  EXPECT_THAT(Send(q.id(), 1, "root"), SyscallSucceeds());
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "root"));
}

IPC_TEST(MsgPermission, RootWithoutCapIpcOwnerIsBoundByTheModeBits, "msg.cap-ipc-owner", "msg.msgsnd-eacces",
         "msg.msgrcv-eacces") {
  // The parent's first send needs CAP_IPC_OWNER; the child, still the queue's owner, drops it.
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_IPC_OWNER, "fill a mode 0000 queue before the child drops it");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | 0000));
  ASSERT_THAT(Send(q.id(), 1, "m"), SyscallSucceeds());  // with CAP_IPC_OWNER
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(isolation::DropEffectiveCapability(CAP_IPC_OWNER), SyscallSucceeds());
        ASSERT_FALSE(isolation::HasEffectiveCapability(CAP_IPC_OWNER));
        // Still uid 0 and the queue's owner, but mode 0000 grants the owner nothing.
        EXPECT_THAT(Send(q.id(), 1, "x"), SyscallFailsWithErrno(EACCES));
        MsgBuf b(8);
        EXPECT_THAT(msgrcv(q.id(), b.get(), 8, 0, IPC_NOWAIT), SyscallFailsWithErrno(EACCES));
      },
      {.what = "using a mode 0000 queue as root without CAP_IPC_OWNER"});
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 1, 1));
}

}  // namespace
}  // namespace ipc
