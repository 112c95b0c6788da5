// mq_getattr(3) and mq_setattr: only O_NONBLOCK can change, per open description; oldattr; EINVAL for other
// flag bits; EBADF. Also mq_close(3)'s EBADF.
// Rules: suite/rules/mq.ini. Helpers: mq_util.h.
#include <fcntl.h>
#include <mqueue.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "ipcsuite/fixtures.h"
#include "mq_util.h"

namespace ipc {
namespace {

using namespace mq_util;

IPC_TEST(MqSetAttr, ChangesOnlyNonblock, "mq.setattr-nonblock-only") {
  PosixName name(PosixIpcKind::kMessageQueue, "setattr");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 3, 24));
  ASSERT_THAT(Send(q.get(), "one"), SyscallSucceeds());
  mq_attr change = Attr(9, 99);
  change.mq_flags = O_NONBLOCK;
  change.mq_curmsgs = 5;
  ASSERT_THAT(mq_setattr(q.get(), &change, nullptr), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(q.get()));
  EXPECT_EQ(a.mq_flags, O_NONBLOCK);
  EXPECT_EQ(a.mq_maxmsg, 3);
  EXPECT_EQ(a.mq_msgsize, 24);
  EXPECT_EQ(a.mq_curmsgs, 1);
  EXPECT_EQ(Receive(q.get(), 24), "one");
  EXPECT_EQ(Receive(q.get(), 24), "<EAGAIN>") << "O_NONBLOCK set by mq_setattr";
  // And back.
  mq_attr clear{};
  ASSERT_THAT(mq_setattr(q.get(), &clear, nullptr), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(mq_attr b, GetAttr(q.get()));
  EXPECT_EQ(b.mq_flags, 0);
  EXPECT_EQ(b.mq_maxmsg, 3);
}

IPC_TEST(MqSetAttr, OldattrHoldsTheAttributesBeforeTheChange, "mq.setattr-oldattr") {
  PosixName name(PosixIpcKind::kMessageQueue, "oldattr");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 4, 20));
  ASSERT_THAT(Send(q.get(), "a"), SyscallSucceeds());
  ASSERT_THAT(Send(q.get(), "b"), SyscallSucceeds());
  mq_attr nb{};
  nb.mq_flags = O_NONBLOCK;
  mq_attr old{};
  old.mq_flags = -1;
  ASSERT_THAT(mq_setattr(q.get(), &nb, &old), SyscallSucceeds());
  EXPECT_EQ(old.mq_flags, 0);
  EXPECT_EQ(old.mq_maxmsg, 4);
  EXPECT_EQ(old.mq_msgsize, 20);
  EXPECT_EQ(old.mq_curmsgs, 2);
  mq_attr none{};
  ASSERT_THAT(mq_setattr(q.get(), &none, &old), SyscallSucceeds());
  EXPECT_EQ(old.mq_flags, O_NONBLOCK);
}

IPC_TEST(MqSetAttr, FlagsBelongToTheOpenDescription, "mq.setattr-nonblock-only", "mq.getattr-fields") {
  PosixName name(PosixIpcKind::kMessageQueue, "per-desc");
  ASSERT_OK_AND_ASSIGN(Mq first, CreateMq(name, 2, 16));
  ASSERT_OK_AND_ASSIGN(Mq second, OpenMq(name.str(), O_RDWR));
  mq_attr nb{};
  nb.mq_flags = O_NONBLOCK;
  ASSERT_THAT(mq_setattr(first.get(), &nb, nullptr), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(first.get()));
  ASSERT_OK_AND_ASSIGN(mq_attr b, GetAttr(second.get()));
  EXPECT_EQ(a.mq_flags, O_NONBLOCK);
  EXPECT_EQ(b.mq_flags, 0);
}

struct MqSetAttrEinvalRow {
  const char* name;
  rules::RuleList rules;
  long flags;
};

const MqSetAttrEinvalRow kMqSetAttrEinval[] = {
    {"Append", {"mq.setattr-einval"}, O_APPEND},
    {"RdwrBits", {"mq.setattr-einval"}, O_RDWR},
    {"NonblockAndCloexec", {"mq.setattr-einval"}, O_NONBLOCK | O_CLOEXEC},
    {"AllBits", {"mq.setattr-einval"}, -1},
    {"HighBit", {"mq.setattr-einval"}, 1L << 40},
};

class MqSetAttrEinval : public ::testing::TestWithParam<MqSetAttrEinvalRow> {};

IPC_TEST_P(MqSetAttrEinval, FailsAndLeavesTheFlags) {
  const MqSetAttrEinvalRow& row = GetParam();
  PosixName name(PosixIpcKind::kMessageQueue, row.name);
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  mq_attr bad{};
  bad.mq_flags = row.flags;
  EXPECT_THAT(mq_setattr(q.get(), &bad, nullptr), SyscallFailsWithErrno(EINVAL));
  ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(q.get()));
  EXPECT_EQ(a.mq_flags, 0);
}

IPC_INSTANTIATE_TABLE(Table, MqSetAttrEinval, kMqSetAttrEinval);

// ---------------------------------------------------------------------------------------------------------
// EBADF for mq_getattr, mq_setattr and mq_close.

enum class AttrCall { kGetAttr, kSetAttr, kClose };
enum class BadFd { kMinusOne, kClosed, kPipe, kIntMax };

struct MqAttrEbadfRow {
  const char* name;
  rules::RuleList rules;
  AttrCall call;
  BadFd fd;
};

const MqAttrEbadfRow kMqAttrEbadf[] = {
    {"GetAttrMinusOne", {"mq.getattr-ebadf"}, AttrCall::kGetAttr, BadFd::kMinusOne},
    {"GetAttrClosed", {"mq.getattr-ebadf"}, AttrCall::kGetAttr, BadFd::kClosed},
    {"GetAttrPipe", {"mq.getattr-ebadf"}, AttrCall::kGetAttr, BadFd::kPipe},
    {"SetAttrClosed", {"mq.getattr-ebadf"}, AttrCall::kSetAttr, BadFd::kClosed},
    {"SetAttrPipe", {"mq.getattr-ebadf"}, AttrCall::kSetAttr, BadFd::kPipe},
    {"CloseMinusOne", {"mq.close-ebadf"}, AttrCall::kClose, BadFd::kMinusOne},
    {"CloseClosed", {"mq.close-ebadf"}, AttrCall::kClose, BadFd::kClosed},
    {"CloseIntMax", {"mq.close-ebadf"}, AttrCall::kClose, BadFd::kIntMax},
};

class MqAttrEbadf : public ::testing::TestWithParam<MqAttrEbadfRow> {};

IPC_TEST_P(MqAttrEbadf, FailsEbadf) {
  const MqAttrEbadfRow& row = GetParam();
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  mqd_t d = static_cast<mqd_t>(-1);
  switch (row.fd) {
    case BadFd::kMinusOne:
      break;
    case BadFd::kClosed: {
      PosixName name(PosixIpcKind::kMessageQueue, row.name);
      ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
      d = q.release();
      ASSERT_THAT(mq_close(d), SyscallSucceeds());
      break;
    }
    case BadFd::kPipe:
      d = static_cast<mqd_t>(p.read.get());
      break;
    case BadFd::kIntMax:
      d = static_cast<mqd_t>(INT_MAX);
      break;
  }
  mq_attr a{};
  switch (row.call) {
    case AttrCall::kGetAttr:
      EXPECT_THAT(mq_getattr(d, &a), SyscallFailsWithErrno(EBADF));
      break;
    case AttrCall::kSetAttr:
      EXPECT_THAT(mq_setattr(d, &a, nullptr), SyscallFailsWithErrno(EBADF));
      break;
    case AttrCall::kClose:
      EXPECT_THAT(mq_close(d), SyscallFailsWithErrno(EBADF));
      break;
  }
}

IPC_INSTANTIATE_TABLE(Table, MqAttrEbadf, kMqAttrEbadf);

}  // namespace
}  // namespace ipc
