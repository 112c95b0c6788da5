// msgget(2): creation, lookup by key, the initial msqid_ds, and its ERRORS (EEXIST, ENOENT, EACCES,
// ENOSPC). Rules: suite/rules/msg.ini.
//
// Tests with fixed keys or that depend on the limits run only in the private IPC namespace the test
// main enters (so they cannot collide with, or disturb, anything else on the machine). Limits are
// lowered only inside a Child that made yet another IPC namespace of its own.
#include <sys/msg.h>
#include <time.h>
#include <unistd.h>

#include <ios>

#include "ipcsuite/fixtures.h"
#include "msg_util.h"

namespace ipc {
namespace {

using namespace msg_util;

// ---------------------------------------------------------------------------------------------
// Creation and lookup.

IPC_TEST(MsgGet, IpcPrivateAlwaysCreatesANewQueue, "msg.msgget-ipc-private") {
  ASSERT_OK_AND_ASSIGN(MsgQueue a, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | 0600));
  // IPC_CREAT | IPC_EXCL does not matter with IPC_PRIVATE: still a new queue, never EEXIST.
  ASSERT_OK_AND_ASSIGN(MsgQueue b, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0600));
  ASSERT_OK_AND_ASSIGN(MsgQueue c, MsgQueue::Create(IPC_PRIVATE, 0600));  // without IPC_CREAT
  EXPECT_NE(a.id(), b.id());
  EXPECT_NE(a.id(), c.id());
  EXPECT_NE(b.id(), c.id());
  // They are distinct queues, not names for one.
  ASSERT_THAT(Send(a.id(), 1, "only in a"), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(msqid_ds sb, Stat(b.id()));
  ASSERT_OK_AND_ASSIGN(msqid_ds sc, Stat(c.id()));
  EXPECT_EQ(sb.msg_qnum, 0u);
  EXPECT_EQ(sc.msg_qnum, 0u);
}

IPC_TEST(MsgGet, IpcCreatWithNewKeyCreatesThenReturnsSameQueue, "msg.msgget-create-key") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 1;
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(key, IPC_CREAT | 0600));
  EXPECT_THAT(msgget(key, IPC_CREAT | 0600), SyscallSucceedsWithValue(q.id()))
      << "IPC_CREAT on an existing key returns the existing queue";
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  EXPECT_EQ(ds.msg_perm.__key, key);
}

IPC_TEST(MsgGet, ExistingKeyWithoutFlagsReturnsItsQueue, "msg.msgget-create-key") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 2;
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(key, IPC_CREAT | 0600));
  int id = msgget(key, 0);
  ASSERT_THAT(id, SyscallSucceedsWithValue(q.id()));
  // The same queue: a message sent through one lookup is there for the other.
  ASSERT_THAT(Send(id, 4, "via key"), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  EXPECT_EQ(ds.msg_qnum, 1u);
}

IPC_TEST(MsgGet, CreatExclOnExistingKeyFailsEexist, "msg.msgget-eexist") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 3;
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(key, IPC_CREAT | 0600));
  ASSERT_THAT(Send(q.id(), 1, "kept"), SyscallSucceeds());
  EXPECT_THAT(msgget(key, IPC_CREAT | IPC_EXCL | 0600), SyscallFailsWithErrno(EEXIST));
  EXPECT_THAT(msgget(key, IPC_CREAT | IPC_EXCL | 0666), SyscallFailsWithErrno(EEXIST));
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  EXPECT_EQ(ds.msg_qnum, 1u) << "the existing queue is untouched";
  EXPECT_EQ(ds.msg_perm.mode & 0777, 0600) << "the existing queue's mode is untouched";
}

IPC_TEST(MsgGet, CreatExclOnFreeKeyCreates, "msg.msgget-eexist", "msg.msgget-create-key") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 4;
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(key, IPC_CREAT | IPC_EXCL | 0640));
  EXPECT_THAT(msgget(key, 0), SyscallSucceedsWithValue(q.id()));
}

IPC_TEST(MsgGet, MissingKeyWithoutCreatFailsEnoent, "msg.msgget-enoent") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 5;
  EXPECT_THAT(msgget(key, 0), SyscallFailsWithErrno(ENOENT));
  EXPECT_THAT(msgget(key, 0600), SyscallFailsWithErrno(ENOENT));
  EXPECT_THAT(msgget(key, IPC_EXCL | 0600), SyscallFailsWithErrno(ENOENT));
  // Nothing was created by the failed calls.
  EXPECT_THAT(msgget(key, 0), SyscallFailsWithErrno(ENOENT));
}

IPC_TEST(MsgGet, RemovedQueueReleasesItsKey, "msg.msgget-enoent", "msg.ipc-rmid") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 6;
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(key, IPC_CREAT | 0600));
  ASSERT_THAT(Send(q.id(), 1, "lost"), SyscallSucceeds());
  int old_id = q.id();
  ASSERT_THAT(q.Remove(), SyscallSucceeds());
  EXPECT_THAT(msgget(key, 0), SyscallFailsWithErrno(ENOENT));
  ASSERT_OK_AND_ASSIGN(MsgQueue again, MsgQueue::Create(key, IPC_CREAT | IPC_EXCL | 0600));
  EXPECT_NE(again.id(), old_id) << "a new queue gets a new identifier";
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(again.id()));
  EXPECT_EQ(ds.msg_qnum, 0u) << "the new queue does not inherit the removed queue's messages";
}

// ---------------------------------------------------------------------------------------------
// The msqid_ds of a new queue.

IPC_TEST(MsgGet, NewQueueDataStructureIsInitialised, "msg.msgget-init", "msg.ipc-stat") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(long msgmnb, limits::MsgMnb());
  const key_t key = kKeyBase + 7;
  time_t before = time(nullptr);
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(key, IPC_CREAT | IPC_EXCL | 0640));
  time_t after = time(nullptr);
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  EXPECT_TRUE(CreatedByCaller(ds.msg_perm, key));
  EXPECT_EQ(ds.msg_perm.mode & 0777, 0640);
  EXPECT_EQ(ds.msg_qnum, 0u);
  EXPECT_EQ(ds.msg_cbytes, 0u);
  EXPECT_EQ(ds.msg_lspid, 0);
  EXPECT_EQ(ds.msg_lrpid, 0);
  EXPECT_EQ(ds.msg_stime, 0);
  EXPECT_EQ(ds.msg_rtime, 0);
  EXPECT_GE(ds.msg_ctime, before);
  EXPECT_LE(ds.msg_ctime, after);
  EXPECT_EQ(ds.msg_qbytes, static_cast<msglen_t>(msgmnb));
}

IPC_TEST(MsgGet, OwnerAndCreatorAreTheEffectiveIds, "msg.msgget-init") {
  IPC_REQUIRE_OTHER_USERS("to switch to other effective ids");
  constexpr uid_t kUid = 4321;
  constexpr gid_t kGid = 1234;
  Child c = Child::Spawn(
      [&] {
        // Real ids stay 0; only the effective ids change.
        ASSERT_THAT(setresgid(0, kGid, 0), SyscallSucceeds());
        ASSERT_THAT(setresuid(0, kUid, 0), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | 0600));
        ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
        EXPECT_EQ(ds.msg_perm.uid, kUid);
        EXPECT_EQ(ds.msg_perm.cuid, kUid);
        EXPECT_EQ(ds.msg_perm.gid, kGid);
        EXPECT_EQ(ds.msg_perm.cgid, kGid);
      },
      {.what = "creating a queue with effective ids 4321/1234"});
  c.ExpectExited(0);
}

IPC_TEST(MsgGet, ModeIsTheLowNineBitsOfMsgflg, "msg.msgget-init") {
  // Every mode lets the owner read, so that IPC_STAT works without CAP_IPC_OWNER too.
  for (int mode : {0400, 0421, 0642, 0753, 0777}) {
    ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | IPC_EXCL | mode));
    ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
    EXPECT_EQ(ds.msg_perm.mode & 0777, mode) << "created with mode " << std::oct << mode;
  }
}

// ---------------------------------------------------------------------------------------------
// EACCES: the permissions requested in msgflg are checked against an existing queue's mode.

IPC_TEST(MsgGet, UnprivilegedGetWithoutPermissionFailsEacces, "msg.msgget-eacces") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_OTHER_USERS("to create a queue another user may not access");
  const key_t key = kKeyBase + 8;
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(key, IPC_CREAT | 0600));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(msgget(key, 0600), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(msgget(key, 0400), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(msgget(key, 0200), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(msgget(key, IPC_CREAT | 0600), SyscallFailsWithErrno(EACCES))
            << "IPC_CREAT does not create a second queue for an existing key";
      },
      {.what = "looking up a mode 0600 root queue as an unprivileged user"});
  c.ExpectExited(0);
}

IPC_TEST(MsgGet, UnprivilegedGetIsGrantedWhatTheModeAllows, "msg.msgget-eacces", "msg.permission-classes") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_OTHER_USERS("to create a queue another user may only read");
  const key_t key = kKeyBase + 9;
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(key, IPC_CREAT | 0604));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(msgget(key, 0400), SyscallSucceedsWithValue(q.id()));
        EXPECT_THAT(msgget(key, 0004), SyscallSucceedsWithValue(q.id()));
        EXPECT_THAT(msgget(key, 0600), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(msgget(key, 0200), SyscallFailsWithErrno(EACCES));
      },
      {.what = "looking up a mode 0604 root queue as an unprivileged user"});
  c.ExpectExited(0);
}

IPC_TEST(MsgGet, CapIpcOwnerMayGetAQueueWithModeZero, "msg.msgget-cap-ipc-owner") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_IPC_OWNER, "look up a queue whose mode grants nothing");
  const key_t key = kKeyBase + 10;
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(key, IPC_CREAT | 0000));
  EXPECT_THAT(msgget(key, 0666), SyscallSucceedsWithValue(q.id()));
}

// ---------------------------------------------------------------------------------------------
// ENOSPC: in a Child that made an IPC namespace of its own and lowered MSGMNI there.

IPC_TEST(MsgGet, CreatingBeyondMsgmniFailsEnospc, "msg.msgget-enospc", "msg.namespace-sysctls") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  Child c = SpawnInNewIpcNamespace(
      [&] {
        ASSERT_TRUE(limits::WriteProcSys("/proc/sys/kernel/msgmni", "2"));
        ASSERT_OK_AND_ASSIGN(MsgQueue a, MsgQueue::Create(IPC_PRIVATE));
        ASSERT_OK_AND_ASSIGN(MsgQueue b, MsgQueue::Create(kKeyBase + 11, IPC_CREAT | 0600));
        EXPECT_THAT(msgget(IPC_PRIVATE, IPC_CREAT | 0600), SyscallFailsWithErrno(ENOSPC));
        EXPECT_THAT(msgget(kKeyBase + 12, IPC_CREAT | 0600), SyscallFailsWithErrno(ENOSPC));
        EXPECT_THAT(msgget(kKeyBase + 12, 0), SyscallFailsWithErrno(ENOENT)) << "nothing was created";
      },
      {.what = "filling MSGMNI = 2 in a new IPC namespace"});
  c.ExpectExited(0);
}

IPC_TEST(MsgGet, AtMsgmniLookupStillWorksAndRemovalFreesASlot, "msg.msgget-enospc") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  Child c = SpawnInNewIpcNamespace(
      [&] {
        ASSERT_TRUE(limits::WriteProcSys("/proc/sys/kernel/msgmni", "1"));
        const key_t key = kKeyBase + 13;
        ASSERT_OK_AND_ASSIGN(MsgQueue a, MsgQueue::Create(key, IPC_CREAT | 0600));
        // Only creation is limited: the existing queue can still be looked up, with or without IPC_CREAT.
        EXPECT_THAT(msgget(key, 0600), SyscallSucceedsWithValue(a.id()));
        EXPECT_THAT(msgget(key, IPC_CREAT | 0600), SyscallSucceedsWithValue(a.id()));
        EXPECT_THAT(msgget(IPC_PRIVATE, IPC_CREAT | 0600), SyscallFailsWithErrno(ENOSPC));
        ASSERT_THAT(a.Remove(), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(MsgQueue b, MsgQueue::Create(IPC_PRIVATE));
      },
      {.what = "working at MSGMNI = 1 in a new IPC namespace"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
