// msgsnd(2)/msgrcv(2) ERRORS (man 2 msgop) that one call shows: EINVAL for mtype, msgsz and msqid,
// EFAULT for a buffer that cannot be accessed. Rules: suite/rules/msg.ini.
#include <sys/msg.h>

#include <climits>
#include <string>

#include "ipcsuite/fixtures.h"
#include "msg_util.h"

namespace ipc {
namespace {

using namespace msg_util;

// ---------------------------------------------------------------------------------------------
// EINVAL.

IPC_TEST(MsgInvalid, MsgsndMtypeZeroFailsEinval, "msg.msgsnd-einval-mtype") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  EXPECT_THAT(Send(q.id(), 0, "zero"), SyscallFailsWithErrno(EINVAL));
  EXPECT_TRUE(Holds(q.id(), 0, 0));
}

IPC_TEST(MsgInvalid, MsgsndNegativeMtypeFailsEinval, "msg.msgsnd-einval-mtype") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  EXPECT_THAT(Send(q.id(), -1, "neg"), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(Send(q.id(), LONG_MIN, "min"), SyscallFailsWithErrno(EINVAL));
  EXPECT_TRUE(Holds(q.id(), 0, 0));
}

IPC_TEST(MsgInvalid, MsgsndSizeAboveMsgmaxFailsEinval, "msg.msgsnd-einval-msgsz", "msg.msgmax") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(long msgmax, limits::MsgMax());
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  std::string text(static_cast<size_t>(msgmax) + 1, 'x');
  EXPECT_THAT(Send(q.id(), 1, text), SyscallFailsWithErrno(EINVAL));
  // Even a blocking send fails at once: the size can never fit.
  Child c = Child::Spawn([&] { EXPECT_THAT(Send(q.id(), 1, text, 0), SyscallFailsWithErrno(EINVAL)); },
                         {.what = "sending MSGMAX + 1 bytes without IPC_NOWAIT"});
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 0, 0));
}

IPC_TEST(MsgInvalid, MsgsndNegativeSizeFailsEinval, "msg.msgsnd-einval-msgsz") {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "the sanitizer's msgsnd interceptor reads msgsz bytes of the buffer before the call";
#endif
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  MsgBuf b(1, "x");
  // msgsz is a size_t in the prototype; the kernel treats a value with the sign bit set as negative.
  EXPECT_THAT(msgsnd(q.id(), b.get(), static_cast<size_t>(-1), IPC_NOWAIT), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(msgsnd(q.id(), b.get(), static_cast<size_t>(LONG_MIN), IPC_NOWAIT),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_TRUE(Holds(q.id(), 0, 0));
}

IPC_TEST(MsgInvalid, MsgsndNegativeIdFailsEinval, "msg.msgsnd-einval-msqid") {
  EXPECT_THAT(Send(-1, 1, "x"), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(Send(INT_MIN, 1, "x"), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(MsgInvalid, MsgsndToRemovedQueueIdFailsEinval, "msg.msgsnd-einval-msqid") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  int stale = q.id();
  ASSERT_THAT(q.Remove(), SyscallSucceeds());
  EXPECT_THAT(Send(stale, 1, "x"), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(MsgInvalid, MsgrcvNegativeIdFailsEinval, "msg.msgrcv-einval-msqid") {
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(-1, b.get(), 16, 0, IPC_NOWAIT), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(msgrcv(INT_MIN, b.get(), 16, 0, IPC_NOWAIT), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(MsgInvalid, MsgrcvFromRemovedQueueIdFailsEinval, "msg.msgrcv-einval-msqid") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  int stale = q.id();
  ASSERT_THAT(Send(stale, 1, "gone"), SyscallSucceeds());
  ASSERT_THAT(q.Remove(), SyscallSucceeds());
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(stale, b.get(), 16, 0, IPC_NOWAIT), SyscallFailsWithErrno(EINVAL));
  // Without IPC_NOWAIT too (in a child, in case it blocked instead).
  Child c = Child::Spawn(
      [&] {
        MsgBuf cb(16);
        EXPECT_THAT(msgrcv(stale, cb.get(), 16, 0, 0), SyscallFailsWithErrno(EINVAL));
      },
      {.what = "receiving from a removed queue's id"});
  c.ExpectExited(0);
}

IPC_TEST(MsgInvalid, MsgrcvNegativeSizeFailsEinval, "msg.msgrcv-einval-msgsz") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "kept"), SyscallSucceeds());
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(q.id(), b.get(), static_cast<size_t>(-1), 0, IPC_NOWAIT), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(msgrcv(q.id(), b.get(), static_cast<size_t>(LONG_MIN), 0, IPC_NOWAIT | MSG_NOERROR),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_TRUE(Holds(q.id(), 1, 4));
}

// ---------------------------------------------------------------------------------------------
// EFAULT. In a child: an interposed library that touched the buffer itself would die of SIGSEGV,
// which must fail this test, not kill the test binary.

IPC_TEST(MsgFault, MsgsndFromInaccessibleBufferFailsEfault, "msg.msgsnd-efault") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  Child c = Child::Spawn(
      [&] {
        InaccessiblePage page;
        ASSERT_TRUE(page.ok());
        EXPECT_THAT(msgsnd(q.id(), page.get(), 8, IPC_NOWAIT), SyscallFailsWithErrno(EFAULT));
      },
      {.what = "msgsnd from a PROT_NONE page"});
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 0, 0));
}

IPC_TEST(MsgFault, MsgrcvIntoInaccessibleBufferFailsEfault, "msg.msgrcv-efault") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "data"), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        InaccessiblePage page;
        ASSERT_TRUE(page.ok());
        EXPECT_THAT(msgrcv(q.id(), page.get(), 16, 0, IPC_NOWAIT), SyscallFailsWithErrno(EFAULT));
      },
      {.what = "msgrcv into a PROT_NONE page"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
