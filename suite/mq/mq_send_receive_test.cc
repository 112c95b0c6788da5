// mq_send(3) and mq_receive(3): priority order (highest first, FIFO within a priority), the priority
// range, message lengths (zero-length messages, EMSGSIZE both ways), EAGAIN with O_NONBLOCK, a blocked
// sender or receiver woken by its peer, and EBADF for invalid or wrong-mode descriptors.
// Rules: suite/rules/mq.ini. Helpers: mq_util.h.
#include <fcntl.h>
#include <mqueue.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "mq_util.h"

namespace ipc {
namespace {

using namespace mq_util;

IPC_TEST(MqReceive, HighestPriorityFirst, "mq.priority-order", "mq.receive-oldest-highest") {
  PosixName name(PosixIpcKind::kMessageQueue, "prio");
  ASSERT_OK_AND_ASSIGN(long msg_max, MsgMax());
  const long n = std::min(msg_max, 8L);
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, n, 16));
  // Distinct random priorities, sent in random order.
  auto& rng = TestRandom();
  std::vector<unsigned> prios;
  while (static_cast<long>(prios.size()) < n) {
    unsigned p = static_cast<unsigned>(rng() % 32768);
    if (std::find(prios.begin(), prios.end(), p) == prios.end()) prios.push_back(p);
  }
  for (unsigned p : prios) ASSERT_THAT(Send(q.get(), "p" + std::to_string(p), p), SyscallSucceeds());
  std::sort(prios.rbegin(), prios.rend());
  for (unsigned want : prios) {
    unsigned got = 0;
    EXPECT_EQ(Receive(q.get(), 16, &got), "p" + std::to_string(want));
    EXPECT_EQ(got, want);
  }
}

IPC_TEST(MqSend, SamePriorityIsFifoBehindHigherPriorities, "mq.send-fifo-within-priority",
         "mq.priority-order") {
  PosixName name(PosixIpcKind::kMessageQueue, "fifo");
  ASSERT_OK_AND_ASSIGN(long msg_max, MsgMax());
  ASSERT_GE(msg_max, 5) << "msg_max is below the 5 messages this test queues";
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 5, 16));
  ASSERT_THAT(Send(q.get(), "low-1", 1), SyscallSucceeds());
  ASSERT_THAT(Send(q.get(), "high-1", 9), SyscallSucceeds());
  ASSERT_THAT(Send(q.get(), "low-2", 1), SyscallSucceeds());
  ASSERT_THAT(Send(q.get(), "high-2", 9), SyscallSucceeds());
  ASSERT_THAT(Send(q.get(), "low-3", 1), SyscallSucceeds());
  std::vector<std::string> got;
  for (int i = 0; i < 5; ++i) got.push_back(Receive(q.get(), 16));
  EXPECT_EQ(got, (std::vector<std::string>{"high-1", "high-2", "low-1", "low-2", "low-3"}));
}

IPC_TEST(MqReceive, ReturnsTheLengthAndThePriority, "mq.receive-oldest-highest") {
  PosixName name(PosixIpcKind::kMessageQueue, "len");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 64));
  std::string msg(37, '\0');
  for (size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<char>(TestRandom()());
  ASSERT_THAT(mq_send(q.get(), msg.data(), msg.size(), 12), SyscallSucceeds());
  char buf[64];
  unsigned prio = 0;
  ASSERT_THAT(mq_receive(q.get(), buf, sizeof buf, &prio), SyscallSucceedsWithValue(37));
  EXPECT_EQ(std::string(buf, 37), msg);
  EXPECT_EQ(prio, 12u);
  // msg_prio may be NULL.
  ASSERT_THAT(Send(q.get(), "x", 4), SyscallSucceeds());
  EXPECT_THAT(mq_receive(q.get(), buf, sizeof buf, nullptr), SyscallSucceedsWithValue(1));
}

IPC_TEST(MqSend, ZeroLengthMessageIsAllowed, "mq.send-zero-length") {
  PosixName name(PosixIpcKind::kMessageQueue, "zero");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  ASSERT_THAT(mq_send(q.get(), "", 0, 5), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(q.get()));
  EXPECT_EQ(a.mq_curmsgs, 1);
  char buf[16];
  unsigned prio = 0;
  EXPECT_THAT(mq_receive(q.get(), buf, sizeof buf, &prio), SyscallSucceedsWithValue(0));
  EXPECT_EQ(prio, 5u);
}

IPC_TEST(MqSend, PriorityRangeEndsBelowMqPrioMax, "mq.prio-range") {
  PosixName name(PosixIpcKind::kMessageQueue, "prio-range");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  long prio_max = sysconf(_SC_MQ_PRIO_MAX);
  ASSERT_GE(prio_max, 32) << "POSIX requires at least 32 priorities";
  EXPECT_THAT(Send(q.get(), "top", static_cast<unsigned>(prio_max - 1)), SyscallSucceeds());
  EXPECT_THAT(Send(q.get(), "over", static_cast<unsigned>(prio_max)), SyscallFailsWithErrno(EINVAL));
  ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(q.get()));
  EXPECT_EQ(a.mq_curmsgs, 1);
  unsigned got = 0;
  EXPECT_EQ(Receive(q.get(), 16, &got), "top");
  EXPECT_EQ(got, static_cast<unsigned>(prio_max - 1));
}

IPC_TEST(MqSend, LongerThanMsgsizeFailsEmsgsize, "mq.send-emsgsize") {
  PosixName name(PosixIpcKind::kMessageQueue, "emsgsize-send");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 32));
  std::string exact(32, 'e'), over(33, 'o');
  EXPECT_THAT(Send(q.get(), over), SyscallFailsWithErrno(EMSGSIZE));
  ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(q.get()));
  EXPECT_EQ(a.mq_curmsgs, 0);
  EXPECT_THAT(Send(q.get(), exact), SyscallSucceeds());
  EXPECT_EQ(Receive(q.get(), 32), exact);
}

IPC_TEST(MqReceive, BufferSmallerThanMsgsizeFailsEmsgsizeAndKeepsTheMessage, "mq.receive-emsgsize") {
  PosixName name(PosixIpcKind::kMessageQueue, "emsgsize-recv");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 32));
  ASSERT_THAT(Send(q.get(), "short"), SyscallSucceeds());
  // The buffer would hold the 5-byte message, but is smaller than mq_msgsize.
  EXPECT_EQ(Receive(q.get(), 31), "<EMSGSIZE>");
  ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(q.get()));
  EXPECT_EQ(a.mq_curmsgs, 1);
  EXPECT_EQ(Receive(q.get(), 32), "short");
}

IPC_TEST(MqSend, FullQueueWithNonblockFailsEagain, "mq.send-eagain", "mq.getattr-fields") {
  PosixName name(PosixIpcKind::kMessageQueue, "eagain-send");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16, O_NONBLOCK));
  ASSERT_THAT(Send(q.get(), "1"), SyscallSucceeds());
  ASSERT_THAT(Send(q.get(), "2"), SyscallSucceeds());
  timespec t0 = Monotonic();
  EXPECT_THAT(Send(q.get(), "3", 7), SyscallFailsWithErrno(EAGAIN));
  EXPECT_LT(ElapsedMs(t0, Monotonic()), 1000) << "EAGAIN must come at once";
  ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(q.get()));
  EXPECT_EQ(a.mq_curmsgs, 2);
  EXPECT_EQ(Receive(q.get(), 16), "1");
  EXPECT_EQ(Receive(q.get(), 16), "2");
}

IPC_TEST(MqReceive, EmptyQueueWithNonblockFailsEagain, "mq.receive-eagain") {
  PosixName name(PosixIpcKind::kMessageQueue, "eagain-recv");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16, O_NONBLOCK));
  EXPECT_EQ(Receive(q.get(), 16), "<EAGAIN>");
  ASSERT_THAT(Send(q.get(), "now"), SyscallSucceeds());
  EXPECT_EQ(Receive(q.get(), 16), "now");
  EXPECT_EQ(Receive(q.get(), 16), "<EAGAIN>");
}

IPC_TEST(MqSend, BlockedSenderIsWokenByAReceiver, "mq.send-blocks-when-full") {
  PosixName name(PosixIpcKind::kMessageQueue, "block-send");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 1, 16));
  ASSERT_THAT(Send(q.get(), "first"), SyscallSucceeds());
  Child c = Child::Spawn([&] { EXPECT_THAT(Send(q.get(), "second", 2), SyscallSucceeds()); },
                         {.what = "sending to a full queue"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_mq_timedsend));
  ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(q.get()));
  EXPECT_EQ(a.mq_curmsgs, 1);
  EXPECT_EQ(Receive(q.get(), 16), "first");
  c.ExpectExited(0);
  unsigned prio = 0;
  EXPECT_EQ(Receive(q.get(), 16, &prio), "second");
  EXPECT_EQ(prio, 2u);
}

IPC_TEST(MqReceive, BlockedReceiverIsWokenByASender, "mq.receive-blocks-when-empty") {
  PosixName name(PosixIpcKind::kMessageQueue, "block-recv");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  Child c = Child::Spawn(
      [&] {
        unsigned prio = 0;
        EXPECT_EQ(Receive(q.get(), 16, &prio), "wake");
        EXPECT_EQ(prio, 6u);
      },
      {.what = "receiving from an empty queue"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_mq_timedreceive));
  ASSERT_THAT(Send(q.get(), "wake", 6), SyscallSucceeds());
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(q.get()));
  EXPECT_EQ(a.mq_curmsgs, 0);
}

IPC_TEST(MqReceive, BlockedReceiverGetsTheHighestPriorityOfTheQueue, "mq.receive-blocks-when-empty",
         "mq.priority-order") {
  PosixName name(PosixIpcKind::kMessageQueue, "block-prio");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 3, 16));
  Child c = Child::Spawn([&] { EXPECT_EQ(Receive(q.get(), 16), "a"); }, {.what = "receiving, first message"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_mq_timedreceive));
  ASSERT_THAT(Send(q.get(), "a", 1), SyscallSucceeds());
  c.ExpectExited(0);
  ASSERT_THAT(Send(q.get(), "b", 1), SyscallSucceeds());
  ASSERT_THAT(Send(q.get(), "c", 3), SyscallSucceeds());
  EXPECT_EQ(Receive(q.get(), 16), "c");
  EXPECT_EQ(Receive(q.get(), 16), "b");
}

IPC_TEST(MqGetAttr, CurmsgsCountsQueuedMessages, "mq.getattr-fields") {
  PosixName name(PosixIpcKind::kMessageQueue, "curmsgs");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 3, 16));
  for (long i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(q.get()));
    EXPECT_EQ(a.mq_curmsgs, i);
    ASSERT_THAT(Send(q.get(), "m"), SyscallSucceeds());
  }
  ASSERT_OK_AND_ASSIGN(mq_attr full, GetAttr(q.get()));
  EXPECT_EQ(full.mq_curmsgs, 3);
  EXPECT_EQ(full.mq_maxmsg, 3);
  EXPECT_EQ(full.mq_msgsize, 16);
  EXPECT_EQ(Receive(q.get(), 16), "m");
  ASSERT_OK_AND_ASSIGN(mq_attr after, GetAttr(q.get()));
  EXPECT_EQ(after.mq_curmsgs, 2);
}

// EMSGSIZE through the timed calls too: the size check comes before any wait.
IPC_TEST(MqTimedSend, LongerThanMsgsizeFailsEmsgsizeOnAFullQueue, "mq.send-emsgsize") {
  PosixName name(PosixIpcKind::kMessageQueue, "emsgsize-tsend");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 1, 8));
  ASSERT_THAT(Send(q.get(), "full"), SyscallSucceeds());
  timespec later = RealtimeIn(3600 * 1000L);
  std::string over(9, 'o');
  EXPECT_THAT(mq_timedsend(q.get(), over.data(), over.size(), 0, &later), SyscallFailsWithErrno(EMSGSIZE));
}

IPC_TEST(MqTimedReceive, BufferSmallerThanMsgsizeFailsEmsgsizeOnAnEmptyQueue, "mq.receive-emsgsize") {
  PosixName name(PosixIpcKind::kMessageQueue, "emsgsize-trecv");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 1, 8));
  timespec later = RealtimeIn(3600 * 1000L);
  char buf[8];
  EXPECT_THAT(mq_timedreceive(q.get(), buf, 7, nullptr, &later), SyscallFailsWithErrno(EMSGSIZE));
}

// ---------------------------------------------------------------------------------------------------------
// EBADF: invalid descriptors, and descriptors not opened for the direction.

enum class BadDescriptor { kReadOnlyForSend, kWriteOnlyForReceive, kMinusOne, kClosed, kPipe };

struct MqEbadfRow {
  const char* name;
  rules::RuleList rules;
  bool send;  // mq_send, else mq_receive
  BadDescriptor kind;
};

const MqEbadfRow kMqEbadf[] = {
    {"SendOnReadOnly", {"mq.send-ebadf"}, true, BadDescriptor::kReadOnlyForSend},
    {"SendOnMinusOne", {"mq.send-ebadf"}, true, BadDescriptor::kMinusOne},
    {"SendOnClosed", {"mq.send-ebadf"}, true, BadDescriptor::kClosed},
    {"SendOnPipe", {"mq.send-ebadf"}, true, BadDescriptor::kPipe},
    {"ReceiveOnWriteOnly", {"mq.receive-ebadf"}, false, BadDescriptor::kWriteOnlyForReceive},
    {"ReceiveOnMinusOne", {"mq.receive-ebadf"}, false, BadDescriptor::kMinusOne},
    {"ReceiveOnClosed", {"mq.receive-ebadf"}, false, BadDescriptor::kClosed},
    {"ReceiveOnPipe", {"mq.receive-ebadf"}, false, BadDescriptor::kPipe},
};

class MqEbadf : public ::testing::TestWithParam<MqEbadfRow> {};

IPC_TEST_P(MqEbadf, FailsEbadfAndTransfersNothing) {
  const MqEbadfRow& row = GetParam();
  PosixName name(PosixIpcKind::kMessageQueue, row.name);
  ASSERT_OK_AND_ASSIGN(Mq rw, CreateMq(name, 2, 16));
  ASSERT_THAT(Send(rw.get(), "queued"), SyscallSucceeds());
  Mq other;
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  mqd_t d = static_cast<mqd_t>(-1);
  switch (row.kind) {
    case BadDescriptor::kReadOnlyForSend: {
      ASSERT_OK_AND_ASSIGN(other, OpenMq(name.str(), O_RDONLY));
      d = other.get();
      break;
    }
    case BadDescriptor::kWriteOnlyForReceive: {
      ASSERT_OK_AND_ASSIGN(other, OpenMq(name.str(), O_WRONLY));
      d = other.get();
      break;
    }
    case BadDescriptor::kMinusOne:
      d = static_cast<mqd_t>(-1);
      break;
    case BadDescriptor::kClosed: {
      ASSERT_OK_AND_ASSIGN(Mq closed, OpenMq(name.str(), O_RDWR));
      d = closed.get();
      closed.Close();
      break;
    }
    case BadDescriptor::kPipe:
      d = static_cast<mqd_t>(row.send ? p.write.get() : p.read.get());
      break;
  }
  if (row.send) {
    EXPECT_THAT(Send(d, "x"), SyscallFailsWithErrno(EBADF));
  } else {
    char buf[16];
    EXPECT_THAT(mq_receive(d, buf, sizeof buf, nullptr), SyscallFailsWithErrno(EBADF));
  }
  ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(rw.get()));
  EXPECT_EQ(a.mq_curmsgs, 1);
}

IPC_INSTANTIATE_TABLE(Table, MqEbadf, kMqEbadf);

}  // namespace
}  // namespace ipc
