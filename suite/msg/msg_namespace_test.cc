// ipc_namespaces(7) for message queues: each IPC namespace has its own queues and its own
// msgmax/msgmnb/msgmni. Rules: suite/rules/msg.ini.
//
// Runs only in the private IPC namespace the test main enters; limits are changed only inside a
// Child that made yet another IPC namespace of its own.
#include <sys/msg.h>
#include <unistd.h>

#include <string>

#include "ipcsuite/fixtures.h"
#include "msg_util.h"

namespace ipc {
namespace {

using namespace msg_util;

// ---------------------------------------------------------------------------------------------
// ipc_namespaces(7): each IPC namespace has its own queues and its own msgmax/msgmnb/msgmni.

IPC_TEST(MsgNamespace, QueuesAreInvisibleFromAnotherIpcNamespace, "msg.namespace-objects") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  const key_t key = kKeyBase + 14;
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(key, IPC_CREAT | 0600));
  ASSERT_THAT(Send(q.id(), 1, "here"), SyscallSucceeds());
  Child c = SpawnInNewIpcNamespace(
      [&] {
        EXPECT_THAT(msgget(key, 0), SyscallFailsWithErrno(ENOENT));
        msqid_ds ds{};
        EXPECT_THAT(msgctl(q.id(), IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
        int ret = -1;
        msginfo info = Info(MSG_INFO, &ret);
        ASSERT_THAT(ret, SyscallSucceeds());
        EXPECT_EQ(info.msgpool, 0) << "a new IPC namespace has no queues";
        // The same key names a different queue here.
        ASSERT_OK_AND_ASSIGN(MsgQueue mine, MsgQueue::Create(key, IPC_CREAT | IPC_EXCL | 0600));
        ASSERT_THAT(Send(mine.id(), 2, "there"), SyscallSucceeds());
      },
      {.what = "looking for the queue from a new IPC namespace"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  EXPECT_EQ(ds.msg_qnum, 1u) << "the child's queue is not this one";
  EXPECT_EQ(ds.msg_lspid, getpid());
}

IPC_TEST(MsgNamespace, MsgSysctlsBelongToTheIpcNamespace, "msg.namespace-sysctls", "msg.msgmax",
         "msg.msgsnd-einval-msgsz") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(long msgmax, limits::MsgMax());
  ASSERT_OK_AND_ASSIGN(long msgmnb, limits::MsgMnb());
  ASSERT_OK_AND_ASSIGN(long msgmni, limits::MsgMni());
  Child c = SpawnInNewIpcNamespace(
      [&] {
        ASSERT_TRUE(limits::WriteProcSys("/proc/sys/kernel/msgmax", "100"));
        ASSERT_TRUE(limits::WriteProcSys("/proc/sys/kernel/msgmnb", "1000"));
        ASSERT_TRUE(limits::WriteProcSys("/proc/sys/kernel/msgmni", "7"));
        int ret = -1;
        msginfo info = Info(IPC_INFO, &ret);
        ASSERT_THAT(ret, SyscallSucceeds());
        EXPECT_EQ(info.msgmax, 100);
        EXPECT_EQ(info.msgmnb, 1000);
        EXPECT_EQ(info.msgmni, 7);
        ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
        ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
        EXPECT_EQ(ds.msg_qbytes, 1000u) << "msg_qbytes starts at this namespace's MSGMNB";
        EXPECT_THAT(Send(q.id(), 1, std::string(100, 'a')), SyscallSucceeds());
        EXPECT_THAT(Send(q.id(), 1, std::string(101, 'a')), SyscallFailsWithErrno(EINVAL))
            << "101 bytes exceed this namespace's MSGMAX";
      },
      {.what = "changing msgmax/msgmnb/msgmni in a new IPC namespace"});
  c.ExpectExited(0);
  // This namespace kept its own values.
  ASSERT_OK_AND_ASSIGN(long msgmax_after, limits::MsgMax());
  ASSERT_OK_AND_ASSIGN(long msgmnb_after, limits::MsgMnb());
  ASSERT_OK_AND_ASSIGN(long msgmni_after, limits::MsgMni());
  EXPECT_EQ(msgmax_after, msgmax);
  EXPECT_EQ(msgmnb_after, msgmnb);
  EXPECT_EQ(msgmni_after, msgmni);
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  EXPECT_EQ(ds.msg_qbytes, static_cast<msglen_t>(msgmnb));
}

}  // namespace
}  // namespace ipc
