// mq_timedsend(3) and mq_timedreceive(3): ETIMEDOUT at (not before) the absolute CLOCK_REALTIME timeout, an
// expired timeout returns at once, EINVAL for malformed timeouts, O_NONBLOCK wins over the timeout, and a
// peer wakes a timed call before its timeout.
// Rules: suite/rules/mq.ini. Helpers: mq_util.h.
#include <fcntl.h>
#include <mqueue.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "ipcsuite/fixtures.h"
#include "mq_util.h"

namespace ipc {
namespace {

using namespace mq_util;

constexpr long kTimeoutMs = 60;

// Realtime now, in ms since the Epoch.
long long RealtimeMs() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<long long>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

long long Ms(const timespec& t) { return static_cast<long long>(t.tv_sec) * 1000 + t.tv_nsec / 1000000; }

IPC_TEST(MqTimedReceive, EmptyQueueTimesOutAtTheAbsoluteTimeout, "mq.timedreceive-etimedout") {
  PosixName name(PosixIpcKind::kMessageQueue, "tr-timeout");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  timespec deadline = RealtimeIn(kTimeoutMs);
  char buf[16];
  EXPECT_THAT(mq_timedreceive(q.get(), buf, sizeof buf, nullptr, &deadline),
              SyscallFailsWithErrno(ETIMEDOUT));
  // Not before the absolute time (CLOCK_REALTIME, whole milliseconds compared).
  EXPECT_GE(RealtimeMs(), Ms(deadline));
}

IPC_TEST(MqTimedSend, FullQueueTimesOutAtTheAbsoluteTimeout, "mq.timedsend-etimedout") {
  PosixName name(PosixIpcKind::kMessageQueue, "ts-timeout");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 1, 16));
  ASSERT_THAT(Send(q.get(), "full"), SyscallSucceeds());
  timespec deadline = RealtimeIn(kTimeoutMs);
  EXPECT_THAT(mq_timedsend(q.get(), "late", 4, 0, &deadline), SyscallFailsWithErrno(ETIMEDOUT));
  EXPECT_GE(RealtimeMs(), Ms(deadline));
  ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(q.get()));
  EXPECT_EQ(a.mq_curmsgs, 1);
  EXPECT_EQ(Receive(q.get(), 16), "full");
}

IPC_TEST(MqTimedReceive, ExpiredTimeoutReturnsAtOnce, "mq.timedreceive-expired",
         "mq.timedreceive-etimedout") {
  PosixName name(PosixIpcKind::kMessageQueue, "tr-expired");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  timespec past = RealtimeIn(-1000);
  timespec epoch{0, 0};
  char buf[16];
  timespec t0 = Monotonic();
  EXPECT_THAT(mq_timedreceive(q.get(), buf, sizeof buf, nullptr, &past), SyscallFailsWithErrno(ETIMEDOUT));
  EXPECT_THAT(mq_timedreceive(q.get(), buf, sizeof buf, nullptr, &epoch), SyscallFailsWithErrno(ETIMEDOUT));
  EXPECT_LT(ElapsedMs(t0, Monotonic()), 1000);
}

IPC_TEST(MqTimedSend, ExpiredTimeoutReturnsAtOnce, "mq.timedsend-expired", "mq.timedsend-etimedout") {
  PosixName name(PosixIpcKind::kMessageQueue, "ts-expired");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 1, 16));
  ASSERT_THAT(Send(q.get(), "full"), SyscallSucceeds());
  timespec past = RealtimeIn(-1000);
  timespec t0 = Monotonic();
  EXPECT_THAT(mq_timedsend(q.get(), "x", 1, 0, &past), SyscallFailsWithErrno(ETIMEDOUT));
  EXPECT_LT(ElapsedMs(t0, Monotonic()), 1000);
}

IPC_TEST(MqTimedReceive, AvailableMessageIsReturnedDespiteAnExpiredTimeout, "mq.receive-oldest-highest") {
  PosixName name(PosixIpcKind::kMessageQueue, "tr-avail");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  ASSERT_THAT(Send(q.get(), "here", 3), SyscallSucceeds());
  timespec past = RealtimeIn(-1000);
  char buf[16];
  unsigned prio = 0;
  EXPECT_THAT(mq_timedreceive(q.get(), buf, sizeof buf, &prio, &past), SyscallSucceedsWithValue(4));
  EXPECT_EQ(prio, 3u);
}

IPC_TEST(MqTimedReceive, NonblockFailsEagainNotEtimedout, "mq.receive-eagain") {
  PosixName name(PosixIpcKind::kMessageQueue, "tr-nonblock");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16, O_NONBLOCK));
  timespec later = RealtimeIn(3600 * 1000L);
  char buf[16];
  timespec t0 = Monotonic();
  EXPECT_THAT(mq_timedreceive(q.get(), buf, sizeof buf, nullptr, &later), SyscallFailsWithErrno(EAGAIN));
  EXPECT_LT(ElapsedMs(t0, Monotonic()), 1000);
}

IPC_TEST(MqTimedSend, NonblockFailsEagainNotEtimedout, "mq.send-eagain") {
  PosixName name(PosixIpcKind::kMessageQueue, "ts-nonblock");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 1, 16, O_NONBLOCK));
  ASSERT_THAT(Send(q.get(), "full"), SyscallSucceeds());
  timespec later = RealtimeIn(3600 * 1000L);
  EXPECT_THAT(mq_timedsend(q.get(), "x", 1, 0, &later), SyscallFailsWithErrno(EAGAIN));
}

IPC_TEST(MqTimedReceive, SenderWakesItBeforeTheTimeout, "mq.receive-blocks-when-empty") {
  PosixName name(PosixIpcKind::kMessageQueue, "tr-woken");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  Child c = Child::Spawn(
      [&] {
        timespec later = RealtimeIn(3600 * 1000L);
        char buf[16];
        EXPECT_THAT(mq_timedreceive(q.get(), buf, sizeof buf, nullptr, &later), SyscallSucceedsWithValue(2));
      },
      {.what = "in mq_timedreceive with a one-hour timeout"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_mq_timedreceive));
  ASSERT_THAT(Send(q.get(), "ok"), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(MqTimedSend, ReceiverWakesItBeforeTheTimeout, "mq.send-blocks-when-full") {
  PosixName name(PosixIpcKind::kMessageQueue, "ts-woken");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 1, 16));
  ASSERT_THAT(Send(q.get(), "one"), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        timespec later = RealtimeIn(3600 * 1000L);
        EXPECT_THAT(mq_timedsend(q.get(), "two", 3, 0, &later), SyscallSucceeds());
      },
      {.what = "in mq_timedsend with a one-hour timeout"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_mq_timedsend));
  EXPECT_EQ(Receive(q.get(), 16), "one");
  c.ExpectExited(0);
  EXPECT_EQ(Receive(q.get(), 16), "two");
}

// ---------------------------------------------------------------------------------------------------------
// EINVAL for a malformed timeout, when the call would block.

struct MqBadTimeoutRow {
  const char* name;
  rules::RuleList rules;
  bool send;
  time_t sec;
  long nsec;
};

const MqBadTimeoutRow kMqBadTimeout[] = {
    {"SendNegativeNsec", {"mq.timedsend-einval"}, true, 1, -1},
    {"SendNsecOneBillion", {"mq.timedsend-einval"}, true, 1, 1000000000},
    {"SendNegativeSec", {"mq.timedsend-einval"}, true, -1, 0},
    {"ReceiveNegativeNsec", {"mq.timedreceive-einval"}, false, 1, -1},
    {"ReceiveNsecOneBillion", {"mq.timedreceive-einval"}, false, 1, 1000000000},
    {"ReceiveNegativeSec", {"mq.timedreceive-einval"}, false, -1, 0},
};

class MqBadTimeout : public ::testing::TestWithParam<MqBadTimeoutRow> {};

IPC_TEST_P(MqBadTimeout, FailsEinvalAtOnceWhenTheCallWouldBlock) {
  const MqBadTimeoutRow& row = GetParam();
  PosixName name(PosixIpcKind::kMessageQueue, row.name);
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 1, 16));
  if (row.send) {
    ASSERT_THAT(Send(q.get(), "full"), SyscallSucceeds());
  }
  timespec bad{row.sec, row.nsec};
  timespec t0 = Monotonic();
  if (row.send) {
    EXPECT_THAT(mq_timedsend(q.get(), "x", 1, 0, &bad), SyscallFailsWithErrno(EINVAL));
  } else {
    char buf[16];
    EXPECT_THAT(mq_timedreceive(q.get(), buf, sizeof buf, nullptr, &bad), SyscallFailsWithErrno(EINVAL));
  }
  EXPECT_LT(ElapsedMs(t0, Monotonic()), 1000);
  ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(q.get()));
  EXPECT_EQ(a.mq_curmsgs, row.send ? 1 : 0);
}

IPC_INSTANTIATE_TABLE(Table, MqBadTimeout, kMqBadTimeout);

}  // namespace
}  // namespace ipc
