// msgsnd(2)/msgrcv(2) ERRORS (man 2 msgop) that one call shows: EINVAL for mtype, msgsz and msqid,
// EFAULT for a buffer that cannot be accessed. Rules: suite/rules/msg.ini.
#include <sys/msg.h>

#include <climits>
#include <string>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "msg_util.h"

namespace ipc {
namespace {

using namespace msg_util;

// ---------------------------------------------------------------------------------------------
// EINVAL from one call with one bad argument: a table per system call. Each row names the argument it
// varies and the values tried, one call each; every call fails with EINVAL and leaves the queue as it was.

enum class BadArg { kMtype, kMsgsz, kMsqid };

struct MsgOpEinvalRow {
  const char* name;
  rules::RuleList rules;
  BadArg arg;
  std::vector<long> values;
};

const MsgOpEinvalRow kMsgSndEinval[] = {
    {"MtypeZero", {"msg.msgsnd-einval-mtype"}, BadArg::kMtype, {0}},
    {"NegativeMtype", {"msg.msgsnd-einval-mtype"}, BadArg::kMtype, {-1, LONG_MIN}},
    // msgsz is a size_t in the prototype; the kernel treats a value with the sign bit set as negative.
    {"NegativeMsgsz", {"msg.msgsnd-einval-msgsz"}, BadArg::kMsgsz, {-1, LONG_MIN}},
    {"NegativeMsqid", {"msg.msgsnd-einval-msqid"}, BadArg::kMsqid, {-1, INT_MIN}},
};

const MsgOpEinvalRow kMsgRcvEinval[] = {
    {"NegativeMsqid", {"msg.msgrcv-einval-msqid"}, BadArg::kMsqid, {-1, INT_MIN}},
    {"NegativeMsgsz", {"msg.msgrcv-einval-msgsz"}, BadArg::kMsgsz, {-1, LONG_MIN}},
};

class MsgSndEinval : public ::testing::TestWithParam<MsgOpEinvalRow> {};
class MsgRcvEinval : public ::testing::TestWithParam<MsgOpEinvalRow> {};

IPC_TEST_P(MsgSndEinval, FailsAndQueuesNothing) {
  const MsgOpEinvalRow& row = GetParam();
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  if (row.arg == BadArg::kMsgsz)
    GTEST_SKIP() << "the sanitizer's msgsnd interceptor reads msgsz bytes of the buffer before the call";
#endif
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  for (long v : row.values) {
    // A valid one-byte message of type 1 to a live queue, but for the argument under test.
    int id = row.arg == BadArg::kMsqid ? static_cast<int>(v) : q.id();
    MsgBuf b(row.arg == BadArg::kMtype ? v : 1, "x");
    size_t msgsz = row.arg == BadArg::kMsgsz ? static_cast<size_t>(v) : 1;
    EXPECT_THAT(msgsnd(id, b.get(), msgsz, IPC_NOWAIT), SyscallFailsWithErrno(EINVAL)) << "value " << v;
  }
  EXPECT_TRUE(Holds(q.id(), 0, 0));
}

IPC_TEST_P(MsgRcvEinval, FailsAndTakesNothing) {
  const MsgOpEinvalRow& row = GetParam();
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "kept"), SyscallSucceeds());
  MsgBuf b(16);
  for (long v : row.values) {
    int id = row.arg == BadArg::kMsqid ? static_cast<int>(v) : q.id();
    size_t msgsz = row.arg == BadArg::kMsgsz ? static_cast<size_t>(v) : 16;
    // MSG_NOERROR does not make a bad msgsz acceptable.
    for (int flags : {IPC_NOWAIT, IPC_NOWAIT | MSG_NOERROR})
      EXPECT_THAT(msgrcv(id, b.get(), msgsz, 0, flags), SyscallFailsWithErrno(EINVAL))
          << "value " << v << ", flags " << flags;
  }
  EXPECT_TRUE(b.UntouchedFrom(0));
  EXPECT_TRUE(Holds(q.id(), 1, 4));
}

IPC_INSTANTIATE_TABLE(Table, MsgSndEinval, kMsgSndEinval);
IPC_INSTANTIATE_TABLE(Table, MsgRcvEinval, kMsgRcvEinval);

// ---------------------------------------------------------------------------------------------
// EINVAL that needs more than one call.

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

IPC_TEST(MsgInvalid, MsgsndToRemovedQueueIdFailsEinval, "msg.msgsnd-einval-msqid") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  int stale = q.id();
  ASSERT_THAT(q.Remove(), SyscallSucceeds());
  EXPECT_THAT(Send(stale, 1, "x"), SyscallFailsWithErrno(EINVAL));
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
