// signal(7), mq_send(3) and mq_receive(3): a blocked mq_send, mq_timedsend, mq_receive or mq_timedreceive
// interrupted by a handler fails with EINTR without SA_RESTART, and is restarted with SA_RESTART (signal(7)
// lists the POSIX message queue calls among those SA_RESTART restarts).
// Rules: suite/rules/mq.ini. Helpers: mq_util.h.
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "ipcsuite/fixtures.h"
#include "ipcsuite/procfs.h"
#include "mq_util.h"

namespace ipc {
namespace {

using namespace mq_util;

enum class Call { kSend, kTimedSend, kReceive, kTimedReceive };

bool IsSend(Call c) { return c == Call::kSend || c == Call::kTimedSend; }

// The call blocks: on a full queue for the sends, an empty one for the receives. Returns its result; the
// text received goes to `*got`.
int Blocking(Call call, mqd_t d, std::string* got) {
  timespec later = RealtimeIn(3600 * 1000L);
  char buf[16];
  ssize_t n = -1;
  switch (call) {
    case Call::kSend:
      return mq_send(d, "late", 4, 0);
    case Call::kTimedSend:
      return mq_timedsend(d, "late", 4, 0, &later);
    case Call::kReceive:
      n = mq_receive(d, buf, sizeof buf, nullptr);
      break;
    case Call::kTimedReceive:
      n = mq_timedreceive(d, buf, sizeof buf, nullptr, &later);
      break;
  }
  if (n >= 0) *got = std::string(buf, static_cast<size_t>(n));
  return n < 0 ? -1 : 0;
}

struct MqSignalRow {
  const char* name;
  rules::RuleList rules;
  Call call;
};

const MqSignalRow kMqEintr[] = {
    {"Send", {"mq.send-eintr"}, Call::kSend},
    {"TimedSend", {"mq.send-eintr"}, Call::kTimedSend},
    {"Receive", {"mq.receive-eintr"}, Call::kReceive},
    {"TimedReceive", {"mq.receive-eintr"}, Call::kTimedReceive},
};

class MqSignalEintr : public ::testing::TestWithParam<MqSignalRow> {};

IPC_TEST_P(MqSignalEintr, HandlerWithoutSaRestartFailsTheBlockedCallWithEintr) {
  const MqSignalRow& row = GetParam();
  PosixName name(PosixIpcKind::kMessageQueue, row.name);
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 1, 16));
  if (IsSend(row.call)) {
    ASSERT_THAT(Send(q.get(), "full"), SyscallSucceeds());
  }
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, 0);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        std::string got;
        EXPECT_THAT(Blocking(row.call, q.get(), &got), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "blocked in an mq call, interrupted by SIGUSR1 without SA_RESTART"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), IsSend(row.call) ? SYS_mq_timedsend : SYS_mq_timedreceive));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(q.get()));
  EXPECT_EQ(a.mq_curmsgs, IsSend(row.call) ? 1 : 0) << "the interrupted send queued nothing";
}

IPC_INSTANTIATE_TABLE(Table, MqSignalEintr, kMqEintr);

const MqSignalRow kMqRestart[] = {
    {"Send", {"mq.send-sa-restart"}, Call::kSend},
    {"TimedSend", {"mq.send-sa-restart"}, Call::kTimedSend},
    {"Receive", {"mq.receive-sa-restart"}, Call::kReceive},
    {"TimedReceive", {"mq.receive-sa-restart"}, Call::kTimedReceive},
};

class MqSignalRestart : public ::testing::TestWithParam<MqSignalRow> {};

IPC_TEST_P(MqSignalRestart, HandlerWithSaRestartRestartsTheBlockedCall) {
  const MqSignalRow& row = GetParam();
  PosixName name(PosixIpcKind::kMessageQueue, row.name);
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 1, 16));
  if (IsSend(row.call)) {
    ASSERT_THAT(Send(q.get(), "full"), SyscallSucceeds());
  }
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, SA_RESTART);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        std::string got;
        EXPECT_THAT(Blocking(row.call, q.get(), &got), SyscallSucceeds());
        EXPECT_EQ(usr1.count(), 1);
        if (!IsSend(row.call)) {
          EXPECT_EQ(got, "peer");
        }
      },
      {.what = "blocked in an mq call, interrupted by SIGUSR1 with SA_RESTART"});
  const long nr = IsSend(row.call) ? SYS_mq_timedsend : SYS_mq_timedreceive;
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), nr));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  // The signal was taken (its handler ran) and the call sleeps again: it was restarted.
  ASSERT_TRUE(WaitUntilSignalNotPending(c.pid(), SIGUSR1));
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), nr)) << "the interrupted call was not restarted";
  if (IsSend(row.call)) {
    EXPECT_EQ(Receive(q.get(), 16), "full");
  } else {
    ASSERT_THAT(Send(q.get(), "peer"), SyscallSucceeds());
  }
  c.ExpectExited(0);
  if (IsSend(row.call)) {
    EXPECT_EQ(Receive(q.get(), 16), "late");
  }
}

IPC_INSTANTIATE_TABLE(Table, MqSignalRestart, kMqRestart);

// signal(7) lists the interfaces that fail with EINTR after SIGSTOP and SIGCONT without a handler; the mq
// calls are not among them.
const MqSignalRow kMqStop[] = {
    {"Send", {"mq.stop-continue-no-eintr"}, Call::kSend},
    {"TimedSend", {"mq.stop-continue-no-eintr"}, Call::kTimedSend},
    {"Receive", {"mq.stop-continue-no-eintr"}, Call::kReceive},
    {"TimedReceive", {"mq.stop-continue-no-eintr"}, Call::kTimedReceive},
};

class MqSignalStop : public ::testing::TestWithParam<MqSignalRow> {};

IPC_TEST_P(MqSignalStop, StopAndContinueLeaveTheCallBlocked) {
  const MqSignalRow& row = GetParam();
  PosixName name(PosixIpcKind::kMessageQueue, row.name);
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 1, 16));
  if (IsSend(row.call)) {
    ASSERT_THAT(Send(q.get(), "full"), SyscallSucceeds());
  }
  Child c = Child::Spawn(
      [&] {
        std::string got;
        EXPECT_THAT(Blocking(row.call, q.get(), &got), SyscallSucceeds());
        if (!IsSend(row.call)) {
          EXPECT_EQ(got, "peer");
        }
      },
      {.what = "blocked in an mq call, stopped and continued"});
  const long nr = IsSend(row.call) ? SYS_mq_timedsend : SYS_mq_timedreceive;
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), nr));
  ASSERT_THAT(c.Kill(SIGSTOP), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilStopped(c.pid()));
  ASSERT_THAT(c.Kill(SIGCONT), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), nr)) << "the call did not go back to sleep after SIGCONT";
  if (IsSend(row.call)) {
    EXPECT_EQ(Receive(q.get(), 16), "full");
  } else {
    ASSERT_THAT(Send(q.get(), "peer"), SyscallSucceeds());
  }
  c.ExpectExited(0);
  if (IsSend(row.call)) {
    EXPECT_EQ(Receive(q.get(), 16), "late");
  }
}

IPC_INSTANTIATE_TABLE(Table, MqSignalStop, kMqStop);

}  // namespace
}  // namespace ipc
