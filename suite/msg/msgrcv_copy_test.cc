// msgrcv(2) with MSG_COPY (man 2 msgop): a copy of the message at an ordinal position, the queue
// unchanged; ENOMSG, EINVAL and ENOSYS for MSG_COPY. Rules: suite/rules/msg.ini.
#include <sys/msg.h>

#include "ipcsuite/fixtures.h"
#include "msg_util.h"

namespace ipc {
namespace {

using namespace msg_util;

// ---------------------------------------------------------------------------------------------
// MSG_COPY.

IPC_TEST(MsgCopy, CopiesMessageAtOrdinalPosition, "msg.msg-copy") {
  IPC_REQUIRE_MSG_COPY();
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 30, "first"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 10, "second"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 20, "third"), SyscallSucceeds());
  // msgtyp is a position counted from 0, not a type.
  EXPECT_TRUE(Receives(q.id(), 1, IPC_NOWAIT | MSG_COPY, 10, "second"));
  EXPECT_TRUE(Receives(q.id(), 2, IPC_NOWAIT | MSG_COPY, 20, "third"));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT | MSG_COPY, 30, "first"));
}

IPC_TEST(MsgCopy, CopyLeavesQueueUnchanged, "msg.msg-copy") {
  IPC_REQUIRE_MSG_COPY();
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "alpha"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 2, "beta"), SyscallSucceeds());
  ASSERT_TRUE(Receives(q.id(), 0, IPC_NOWAIT | MSG_COPY, 1, "alpha"));
  ASSERT_TRUE(Receives(q.id(), 0, IPC_NOWAIT | MSG_COPY, 1, "alpha")) << "the same message again";
  EXPECT_TRUE(Holds(q.id(), 2, 9));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "alpha"));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 2, "beta"));
}

IPC_TEST(MsgCopy, PositionBeyondLastMessageFailsEnomsg, "msg.msgrcv-enomsg-copy") {
  IPC_REQUIRE_MSG_COPY();
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 0, IPC_NOWAIT | MSG_COPY), SyscallFailsWithErrno(ENOMSG));
  ASSERT_THAT(Send(q.id(), 1, "a"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 1, "b"), SyscallSucceeds());
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 2, IPC_NOWAIT | MSG_COPY), SyscallFailsWithErrno(ENOMSG));
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 100, IPC_NOWAIT | MSG_COPY), SyscallFailsWithErrno(ENOMSG));
  EXPECT_TRUE(Holds(q.id(), 2, 2));
}

// The next two checks precede the CONFIG_CHECKPOINT_RESTORE dependent part in the kernel: they hold
// on every kernel since 3.14, with or without MSG_COPY support.
IPC_TEST(MsgCopy, MsgCopyWithoutNowaitFailsEinval, "msg.msgrcv-einval-copy-nowait") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "m"), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        MsgBuf b(16);
        EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 0, MSG_COPY), SyscallFailsWithErrno(EINVAL));
        EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 5, MSG_COPY), SyscallFailsWithErrno(EINVAL));
      },
      {.what = "msgrcv with MSG_COPY but without IPC_NOWAIT"});
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 1, 1));
}

IPC_TEST(MsgCopy, MsgCopyWithMsgExceptFailsEinval, "msg.msgrcv-einval-copy-except") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "m"), SyscallSucceeds());
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 0, IPC_NOWAIT | MSG_COPY | MSG_EXCEPT),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_TRUE(Holds(q.id(), 1, 1));
}

IPC_TEST(MsgCopy, MsgCopyWithoutCheckpointRestoreFailsEnosys, "msg.msgrcv-enosys") {
  if (KernelHasMsgCopy())
    GTEST_SKIP() << "this kernel has CONFIG_CHECKPOINT_RESTORE (/proc/sys/kernel/msg_next_id exists), so "
                    "MSG_COPY is supported and ENOSYS cannot occur; MsgCopy.* check MSG_COPY itself";
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "m"), SyscallSucceeds());
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 0, IPC_NOWAIT | MSG_COPY), SyscallFailsWithErrno(ENOSYS));
  EXPECT_TRUE(Holds(q.id(), 1, 1));
}

}  // namespace
}  // namespace ipc
