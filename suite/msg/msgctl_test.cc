// msgctl(2): IPC_STAT, IPC_SET, IPC_RMID, IPC_INFO, MSG_INFO, MSG_STAT, MSG_STAT_ANY and the ERRORS
// section (EACCES, EFAULT, EINVAL, EPERM), plus msg_qbytes against MSGMNB (msgop(2) NOTES).
//
// Tests that count queues system-wide (IPC_INFO/MSG_INFO/MSG_STAT indexes) or depend on the limits run
// only in the private IPC namespace of the test binary, where nothing else creates queues. Unprivileged
// callers are children that dropped to uid/gid 65534.
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "msg_util.h"

namespace ipc {
namespace {

using namespace msg_util;

#define REQUIRE_CAPABILITY(cap)                                                                         \
  do {                                                                                                  \
    if (!HasEffectiveCapability(cap)) GTEST_SKIP() << "needs " #cap " in the effective capability set"; \
  } while (0)

::testing::AssertionResult Set(int id, const msqid_ds& ds) {
  msqid_ds copy = ds;
  if (msgctl(id, IPC_SET, &copy) != 0)
    return ::testing::AssertionFailure() << "msgctl(IPC_SET) failed with " << DescribeErrno(errno);
  return ::testing::AssertionSuccess();
}

// Removes a queue by id at scope exit (for queues not created through MsgQueue in this process).
class RemoveAtExit {
 public:
  explicit RemoveAtExit(int id) : id_(id) {}
  ~RemoveAtExit() {
    if (id_ >= 0) msgctl(id_, IPC_RMID, nullptr);
  }
  void Forget() { id_ = -1; }

 private:
  int id_;
};

// Creates an IPC_PRIVATE queue as uid/gid 65534 (a child that dropped privileges), so that root is
// neither its creator nor its owner. Returns the id; the caller removes the queue.
PosixResult<int> CreateAsNobody(int mode) {
  auto p = Pipe::Create();
  if (!p.ok()) return PosixResult<int>::Error(p.error_number(), "pipe");
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(isolation::DropPrivileges(), SyscallSucceeds());
        int id = msgget(IPC_PRIVATE, IPC_CREAT | mode);
        ASSERT_THAT(id, SyscallSucceeds());
        ASSERT_THAT(WriteAll(p.value().write.get(), &id, sizeof id), SyscallSucceeds());
      },
      {.what = "creating a queue as uid 65534"});
  ExitStatus st = c.Wait();
  if (!st.Exited(0))
    return PosixResult<int>::Error(ECHILD, "creating a queue as uid 65534: " + st.Describe());
  int id = -1;
  if (!ReadAll(p.value().read.get(), &id, sizeof id)) return PosixResult<int>::Error(errno, "reading the id");
  return id;
}

// A page that exists in the address space but cannot be read or written.
void* MapInaccessiblePage() {
  return mmap(nullptr, static_cast<size_t>(limits::PageSize()), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
              0);
}

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
        ASSERT_THAT(isolation::DropPrivileges(), SyscallSucceeds());
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
        ASSERT_THAT(isolation::DropPrivileges(), SyscallSucceeds());
        msqid_ds ds{};
        EXPECT_THAT(msgctl(q.id(), IPC_STAT, &ds), SyscallSucceedsWithValue(0));
        EXPECT_EQ(ds.msg_perm.mode & 0777, 0604);
        EXPECT_EQ(ds.msg_perm.uid, 0u);
      },
      {.what = "IPC_STAT of a mode 0604 queue as an unprivileged user"});
  c.ExpectExited(0);
}

IPC_TEST(MsgCtlStat, IpcStatIntoInaccessibleBufferFailsEfault, "msg.msgctl-efault") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  Child c = Child::Spawn(
      [&] {
        void* page = MapInaccessiblePage();
        ASSERT_NE(page, MAP_FAILED);
        EXPECT_THAT(msgctl(q.id(), IPC_STAT, static_cast<msqid_ds*>(page)), SyscallFailsWithErrno(EFAULT));
      },
      {.what = "IPC_STAT into a PROT_NONE page"});
  c.ExpectExited(0);
}

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

IPC_TEST(MsgCtlSet, IpcSetLowersQbytes, "msg.ipc-set", "msg.msgsnd-eagain") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  ds.msg_qbytes = 5;
  ASSERT_TRUE(Set(q.id(), ds));
  ASSERT_OK_AND_ASSIGN(msqid_ds after, Stat(q.id()));
  EXPECT_EQ(after.msg_qbytes, 5u);
  // The new value governs the capacity.
  EXPECT_THAT(Send(q.id(), 1, "12345"), SyscallSucceeds());
  EXPECT_THAT(Send(q.id(), 1, "6"), SyscallFailsWithErrno(EAGAIN));
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

IPC_TEST(MsgCtlSet, IpcSetFromInaccessibleBufferFailsEfault, "msg.msgctl-efault") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | 0600));
  Child c = Child::Spawn(
      [&] {
        void* page = MapInaccessiblePage();
        ASSERT_NE(page, MAP_FAILED);
        EXPECT_THAT(msgctl(q.id(), IPC_SET, static_cast<msqid_ds*>(page)), SyscallFailsWithErrno(EFAULT));
      },
      {.what = "IPC_SET from a PROT_NONE page"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  EXPECT_EQ(ds.msg_perm.mode & 0777, 0600);
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
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  ds.msg_perm.uid = kNobody;  // the unprivileged child owns it: only the qbytes limit can refuse
  ds.msg_perm.gid = kNobody;
  ASSERT_TRUE(Set(q.id(), ds));
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(isolation::DropPrivileges(), SyscallSucceeds());
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
        ASSERT_THAT(DropEffectiveCapability(CAP_SYS_RESOURCE), SyscallSucceeds());
        ASSERT_FALSE(HasEffectiveCapability(CAP_SYS_RESOURCE));
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
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  ds.msg_perm.uid = kNobody;
  ds.msg_perm.gid = kNobody;
  ASSERT_TRUE(Set(q.id(), ds));
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(isolation::DropPrivileges(), SyscallSucceeds());
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
        ASSERT_THAT(isolation::DropPrivileges(), SyscallSucceeds());
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
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  ds.msg_perm.uid = kNobody;
  ASSERT_TRUE(Set(q.id(), ds));
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(isolation::DropPrivileges(), SyscallSucceeds());
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
  ASSERT_OK_AND_ASSIGN(int id, CreateAsNobody(0600));
  RemoveAtExit cleanup(id);
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(id));
  ASSERT_EQ(ds.msg_perm.cuid, kNobody);
  ds.msg_perm.uid = 0;  // root owns it now; 65534 stays the creator
  ds.msg_perm.gid = 0;
  ASSERT_TRUE(Set(id, ds));
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(isolation::DropPrivileges(), SyscallSucceeds());
        msqid_ds mine = ds;  // no read permission for IPC_STAT: start from the parent's copy
        mine.msg_perm.mode = 0644;
        EXPECT_THAT(msgctl(id, IPC_SET, &mine), SyscallSucceeds());
        EXPECT_THAT(msgctl(id, IPC_RMID, nullptr), SyscallSucceeds());
      },
      {.what = "IPC_SET and IPC_RMID by the creator who is not the owner"});
  c.ExpectExited(0);
  msqid_ds gone{};
  EXPECT_THAT(msgctl(id, IPC_STAT, &gone), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(MsgCtlSet, PrivilegedCallerMaySetAndRemoveAnyQueue, "msg.ipc-set", "msg.ipc-rmid") {
  IPC_REQUIRE_OTHER_USERS("to create a queue as another user");
  REQUIRE_CAPABILITY(CAP_SYS_ADMIN);
  ASSERT_OK_AND_ASSIGN(int id, CreateAsNobody(0600));
  RemoveAtExit cleanup(id);
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(id));
  ASSERT_EQ(ds.msg_perm.uid, kNobody);
  ASSERT_EQ(ds.msg_perm.cuid, kNobody);
  ds.msg_perm.mode = 0640;
  EXPECT_TRUE(Set(id, ds));
  EXPECT_THAT(msgctl(id, IPC_RMID, nullptr), SyscallSucceeds());
  cleanup.Forget();
}

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
  int id = q.id();
  q.Release();
  RemoveAtExit cleanup(id);
  Child c = Child::Spawn(
      [&] {
        void* page = MapInaccessiblePage();
        ASSERT_NE(page, MAP_FAILED);
        EXPECT_THAT(msgctl(id, IPC_RMID, static_cast<msqid_ds*>(page)), SyscallSucceedsWithValue(0));
      },
      {.what = "IPC_RMID with an inaccessible buf"});
  c.ExpectExited(0);
  msqid_ds ds{};
  EXPECT_THAT(msgctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(MsgCtlRmid, NonOwnerIpcRmidFailsEperm, "msg.msgctl-eperm-owner") {
  IPC_REQUIRE_OTHER_USERS("to act as a user who neither owns nor created the queue");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | 0666));
  ASSERT_THAT(Send(q.id(), 1, "stay"), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(isolation::DropPrivileges(), SyscallSucceeds());
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
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  ds.msg_perm.uid = kNobody;
  ASSERT_TRUE(Set(q.id(), ds));
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(isolation::DropPrivileges(), SyscallSucceeds());
        EXPECT_THAT(msgctl(q.id(), IPC_RMID, nullptr), SyscallSucceeds());
      },
      {.what = "IPC_RMID by the owner who is not the creator"});
  c.ExpectExited(0);
  msqid_ds gone{};
  EXPECT_THAT(msgctl(q.id(), IPC_STAT, &gone), SyscallFailsWithErrno(EINVAL));
  q.Release();
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
        ASSERT_THAT(isolation::DropPrivileges(), SyscallSucceeds());
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
