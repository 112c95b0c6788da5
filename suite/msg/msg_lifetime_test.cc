// A message queue outlives the process that created it: it exists, with its messages, until IPC_RMID
// removes it (msgctl(2) IPC_RMID); the exit of its creator and of every process that used it changes
// nothing. Rules: suite/rules/msg.ini.
#include <sys/msg.h>
#include <unistd.h>

#include <cerrno>

#include "ipcsuite/fixtures.h"
#include "msg_util.h"

namespace ipc {
namespace {

using namespace msg_util;

IPC_TEST(MsgLifetime, QueueOutlivesItsCreatorWithItsMessages, "msg.persist-until-rmid") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 0x101;
  Child creator = Child::Spawn(
      [&] {
        const int id = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
        ASSERT_THAT(id, SyscallSucceeds());
        ASSERT_THAT(Send(id, 7, "first"), SyscallSucceeds());
        ASSERT_THAT(Send(id, 8, "second"), SyscallSucceeds());
      },
      {.what = "creating a queue, sending two messages and exiting"});
  const pid_t creator_pid = creator.pid();
  creator.ExpectExited(0);
  const int id = msgget(key, 0);
  ASSERT_THAT(id, SyscallSucceeds()) << "the queue is gone with its creator";
  MsgQueue q = MsgQueue::Adopt(id);
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(id));
  EXPECT_EQ(ds.msg_qnum, 2u);
  EXPECT_EQ(ds.msg_lspid, creator_pid);
  EXPECT_TRUE(Receives(id, 0, IPC_NOWAIT, 7, "first"));
  EXPECT_TRUE(Receives(id, 0, IPC_NOWAIT, 8, "second"));
}

IPC_TEST(MsgLifetime, OnlyIpcRmidRemovesTheQueue, "msg.persist-until-rmid", "msg.ipc-rmid") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 0x102;
  Child creator = Child::Spawn(
      [&] {
        const int id = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
        ASSERT_THAT(id, SyscallSucceeds());
        ASSERT_THAT(Send(id, 1, "kept"), SyscallSucceeds());
      },
      {.what = "creating a queue and exiting"});
  creator.ExpectExited(0);
  const int id = msgget(key, 0);
  ASSERT_THAT(id, SyscallSucceeds());
  MsgQueue q = MsgQueue::Adopt(id);
  // Another process uses it and exits: still there.
  Child user = Child::Spawn([&] { EXPECT_THAT(Send(id, 2, "also kept"), SyscallSucceeds()); },
                            {.what = "sending to the queue and exiting"});
  user.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(id));
  EXPECT_EQ(ds.msg_qnum, 2u);
  // A third process removes it.
  Child remover = Child::Spawn([&] { EXPECT_THAT(msgctl(id, IPC_RMID, nullptr), SyscallSucceeds()); },
                               {.what = "removing the queue"});
  remover.ExpectExited(0);
  EXPECT_THAT(msgget(key, 0), SyscallFailsWithErrno(ENOENT));
  EXPECT_TRUE(q.ConfirmRemoved());
}

}  // namespace
}  // namespace ipc
