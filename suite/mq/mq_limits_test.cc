// mq_overview(7) /proc/sys/fs/mqueue limits and ipc_namespaces(7): defaults for attr NULL, the msg_max and
// msgsize_max ceilings (accepted up to them), queues_max (ENOSPC), CAP_SYS_RESOURCE, and queues and limits
// per IPC namespace. Limits are lowered only in a new IPC namespace of a child.
// Rules: suite/rules/mq.ini. Helpers: mq_util.h.
#include <fcntl.h>
#include <mqueue.h>
#include <sys/resource.h>
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

// In a child: the limits bind a process without CAP_SYS_RESOURCE (checked with capable()).
#define DROP_CAP_SYS_RESOURCE()                                                                  \
  do {                                                                                           \
    if (isolation::HasEffectiveCapability(CAP_SYS_RESOURCE)) {                                   \
      ASSERT_TRUE(isolation::DropEffectiveCapability(CAP_SYS_RESOURCE)) << DescribeErrno(errno); \
    }                                                                                            \
  } while (0)

IPC_TEST(MqLimits, NullAttrTakesTheDefaultsCappedByTheMaxima, "mq.msg-default") {
  PosixName name(PosixIpcKind::kMessageQueue, "defaults");
  ASSERT_OK_AND_ASSIGN(long msg_default, MsgDefault());
  ASSERT_OK_AND_ASSIGN(long msg_max, MsgMax());
  ASSERT_OK_AND_ASSIGN(long msgsize_default, MsgsizeDefault());
  ASSERT_OK_AND_ASSIGN(long msgsize_max, MsgsizeMax());
  ASSERT_OK_AND_ASSIGN(Mq q, OpenMq(name.str(), O_CREAT | O_EXCL | O_RDWR, 0600, nullptr));
  ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(q.get()));
  EXPECT_EQ(a.mq_maxmsg, std::min(msg_default, msg_max));
  EXPECT_EQ(a.mq_msgsize, std::min(msgsize_default, msgsize_max));
}

IPC_TEST(MqLimits, ChangedDefaultsApplyInANewNamespace, "mq.msg-default", "mq.ns-limits") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  SpawnInNewIpcNamespace(
      [&] {
        ASSERT_TRUE(WriteMqueueLimit("msg_max", 20));
        ASSERT_TRUE(WriteMqueueLimit("msg_default", 7));
        ASSERT_TRUE(WriteMqueueLimit("msgsize_max", 4096));
        ASSERT_TRUE(WriteMqueueLimit("msgsize_default", 300));
        PosixName a_name(PosixIpcKind::kMessageQueue, "ns-defaults");
        ASSERT_OK_AND_ASSIGN(Mq a, OpenMq(a_name.str(), O_CREAT | O_EXCL | O_RDWR, 0600, nullptr));
        ASSERT_OK_AND_ASSIGN(mq_attr got, GetAttr(a.get()));
        EXPECT_EQ(got.mq_maxmsg, 7);
        EXPECT_EQ(got.mq_msgsize, 300);
        // A default above the maximum is capped to the maximum.
        ASSERT_TRUE(WriteMqueueLimit("msg_max", 5));
        ASSERT_TRUE(WriteMqueueLimit("msgsize_max", 200));
        PosixName b_name(PosixIpcKind::kMessageQueue, "ns-capped");
        ASSERT_OK_AND_ASSIGN(Mq b, OpenMq(b_name.str(), O_CREAT | O_EXCL | O_RDWR, 0600, nullptr));
        ASSERT_OK_AND_ASSIGN(mq_attr capped, GetAttr(b.get()));
        EXPECT_EQ(capped.mq_maxmsg, 5);
        EXPECT_EQ(capped.mq_msgsize, 200);
      },
      {.what = "changing the mqueue defaults in a new IPC namespace"})
      .ExpectExited(0);
}

IPC_TEST(MqLimits, AttributesUpToTheMaximaAreAccepted, "mq.msg-max") {
  PosixName name(PosixIpcKind::kMessageQueue, "at-max");
  ASSERT_OK_AND_ASSIGN(long msg_max, MsgMax());
  ASSERT_OK_AND_ASSIGN(long msgsize_max, MsgsizeMax());
  Child c = Child::Spawn(
      [&] {
        DROP_CAP_SYS_RESOURCE();
        // mq_maxmsg * mq_msgsize counts against RLIMIT_MSGQUEUE: one at its maximum at a time.
        ASSERT_OK_AND_ASSIGN(Mq many, CreateMq(name, msg_max, 16));
        ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(many.get()));
        EXPECT_EQ(a.mq_maxmsg, msg_max);
        many.Close();
        ASSERT_THAT(mq_unlink(name.c_str()), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(Mq big, CreateMq(name, 1, msgsize_max));
        ASSERT_OK_AND_ASSIGN(mq_attr b, GetAttr(big.get()));
        EXPECT_EQ(b.mq_msgsize, msgsize_max);
        std::string full(static_cast<size_t>(msgsize_max), 'b');
        EXPECT_THAT(Send(big.get(), full), SyscallSucceeds());
        EXPECT_EQ(Receive(big.get(), msgsize_max), full);
      },
      {.what = "creating queues at msg_max and msgsize_max without CAP_SYS_RESOURCE"});
  c.ExpectExited(0);
}

IPC_TEST(MqLimits, LoweredMsgMaxBindsNewQueues, "mq.msg-max", "mq.open-einval-limits") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  SpawnInNewIpcNamespace(
      [&] {
        DROP_CAP_SYS_RESOURCE();
        ASSERT_TRUE(WriteMqueueLimit("msg_max", 3));
        ASSERT_TRUE(WriteMqueueLimit("msgsize_max", 256));
        PosixName name(PosixIpcKind::kMessageQueue, "lowered");
        mq_attr over = Attr(4, 16);
        EXPECT_THAT(mq_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600, &over),
                    SyscallFailsWithErrno(EINVAL));
        mq_attr big = Attr(1, 257);
        EXPECT_THAT(mq_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600, &big),
                    SyscallFailsWithErrno(EINVAL));
        ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 3, 256));
      },
      {.what = "lowering msg_max and msgsize_max in a new IPC namespace"})
      .ExpectExited(0);
}

IPC_TEST(MqLimits, QueuesMaxFailsEnospc, "mq.open-enospc") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  SpawnInNewIpcNamespace(
      [&] {
        DROP_CAP_SYS_RESOURCE();
        ASSERT_TRUE(WriteMqueueLimit("queues_max", 2));
        PosixName a(PosixIpcKind::kMessageQueue, "qmax-a");
        PosixName b(PosixIpcKind::kMessageQueue, "qmax-b");
        PosixName c(PosixIpcKind::kMessageQueue, "qmax-c");
        ASSERT_OK_AND_ASSIGN(Mq qa, CreateMq(a, 1, 8));
        ASSERT_OK_AND_ASSIGN(Mq qb, CreateMq(b, 1, 8));
        mq_attr attr = Attr(1, 8);
        EXPECT_THAT(mq_open(c.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600, &attr),
                    SyscallFailsWithErrno(ENOSPC));
        // Opening an existing queue is no new queue.
        ASSERT_OK_AND_ASSIGN(Mq again, OpenMq(a.str(), O_RDONLY));
        // Unlinking and closing one makes room.
        qa.Close();
        again.Close();
        ASSERT_THAT(mq_unlink(a.c_str()), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(Mq qc, CreateMq(c, 1, 8));
      },
      {.what = "filling queues_max = 2 in a new IPC namespace"})
      .ExpectExited(0);
}

IPC_TEST(MqLimits, CapSysResourceExceedsMsgMaxButNotHardMsgmax, "mq.limits-privileged") {
  if (!isolation::HasCapabilityOverTheMachine(CAP_SYS_RESOURCE))
    GTEST_SKIP() << "needs CAP_SYS_RESOURCE (effective, over the machine: mq_open checks capable()) to "
                    "exceed msg_max";
  PosixName name(PosixIpcKind::kMessageQueue, "privileged");
  ASSERT_OK_AND_ASSIGN(long msg_max, MsgMax());
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, msg_max + 1, 8));
  ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(q.get()));
  EXPECT_EQ(a.mq_maxmsg, msg_max + 1);
  PosixName hard(PosixIpcKind::kMessageQueue, "hard");
  mq_attr over = Attr(65536 + 1, 8);  // HARD_MSGMAX, documented in mq_overview(7), is no /proc value
  EXPECT_THAT(mq_open(hard.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600, &over), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(MqLimits, RlimitMsgqueueBoundsTheBytesOfTheUsersQueues, "mq.rlimit-msgqueue") {
  // As another user, whose queues are only this test's (root's budget is shared with everything else).
  IPC_REQUIRE_OTHER_USERS("to count queues against a real user ID of their own");
  ASSERT_OK_AND_ASSIGN(long msgsize_max, MsgsizeMax());
  const long msgsize = std::min(msgsize_max, 8192L);
  // One queue of one message of msgsize bytes fits (the overhead is below 128 bytes, the smallest
  // msgsize_max); two do not.
  const rlim_t limit = static_cast<rlim_t>(2 * msgsize);
  PosixName first(PosixIpcKind::kMessageQueue, "rlimit-a");
  PosixName second(PosixIpcKind::kMessageQueue, "rlimit-b");
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        rlimit rl{limit, limit};
        ASSERT_THAT(setrlimit(RLIMIT_MSGQUEUE, &rl), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(Mq a, CreateMq(first, 1, msgsize));
        mq_attr attr = Attr(1, msgsize);
        EXPECT_THAT(mq_open(second.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600, &attr),
                    SyscallFailsWithErrno(EMFILE));
        // Removed, the first queue no longer counts.
        a.Close();
        ASSERT_THAT(mq_unlink(first.c_str()), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(Mq b, CreateMq(second, 1, msgsize));
        // A queue far above the limit is refused outright.
        mq_attr huge = Attr(1, msgsize);
        huge.mq_maxmsg = 4;
        PosixName third(PosixIpcKind::kMessageQueue, "rlimit-c");
        EXPECT_THAT(mq_open(third.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600, &huge),
                    SyscallFailsWithErrno(EMFILE));
      },
      {.what = "creating queues under a small RLIMIT_MSGQUEUE as another user"});
  c.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------------------
// IPC namespaces.

IPC_TEST(MqNamespace, QueueIsInvisibleInAnotherNamespace, "mq.ns-isolation") {
  PosixName name(PosixIpcKind::kMessageQueue, "ns");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  ASSERT_THAT(Send(q.get(), "outer"), SyscallSucceeds());
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  SpawnInNewIpcNamespace(
      [&] {
        EXPECT_THAT(mq_open(name.c_str(), O_RDWR), SyscallFailsWithErrno(ENOENT));
        // The same name is free here, and what is done to it stays here.
        mq_attr attr = Attr(1, 8);
        mqd_t d = mq_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
        ASSERT_THAT(d == static_cast<mqd_t>(-1) ? -1 : 0, SyscallSucceeds());
        Mq inner(d);
        EXPECT_THAT(Send(inner.get(), "inner"), SyscallSucceeds());
        // The descriptor inherited from the outer namespace still reaches the outer queue.
        EXPECT_EQ(Receive(q.get(), 16), "outer");
      },
      {.what = "looking for the outer queue from a new IPC namespace"})
      .ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(q.get()));
  EXPECT_EQ(a.mq_curmsgs, 0);
  EXPECT_EQ(a.mq_maxmsg, 2);
  ASSERT_OK_AND_ASSIGN(Mq same, OpenMq(name.str(), O_RDONLY));
  ASSERT_OK_AND_ASSIGN(mq_attr b, GetAttr(same.get()));
  EXPECT_EQ(b.mq_maxmsg, 2) << "the inner queue of the same name leaked out";
}

IPC_TEST(MqNamespace, QueueOfANewNamespaceIsInvisibleOutside, "mq.ns-isolation") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  // The name is chosen here so that the outer process can look for it; the inner child creates the queue,
  // which dies with its namespace.
  std::string name = UniquePosixName("ns-inner");
  ASSERT_OK_AND_ASSIGN(Pipe ready, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(Pipe done, Pipe::Create());
  Child c = SpawnInNewIpcNamespace(
      [&] {
        mq_attr attr = Attr(1, 8);
        mqd_t d = mq_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
        ASSERT_THAT(d == static_cast<mqd_t>(-1) ? -1 : 0, SyscallSucceeds());
        ASSERT_THAT(write(ready.write.get(), "r", 1), SyscallSucceedsWithValue(1));
        char x;
        ASSERT_TRUE(ReadAll(done.read.get(), &x, 1)) << DescribeErrno(errno);
        mq_close(d);
        EXPECT_THAT(mq_unlink(name.c_str()), SyscallSucceeds());
      },
      {.what = "holding a queue in a new IPC namespace"});
  ready.write.Close();  // a child that failed closes the last writer: EOF here, not a hang
  char r;
  if (!ReadAll(ready.read.get(), &r, 1)) {
    c.ExpectExited(0);  // shows why it could not make the queue
    FAIL() << "the child ended without making its queue";
  }
  EXPECT_THAT(mq_open(name.c_str(), O_RDONLY), SyscallFailsWithErrno(ENOENT));
  ASSERT_THAT(write(done.write.get(), "d", 1), SyscallSucceedsWithValue(1));
  c.ExpectExited(0);
}

IPC_TEST(MqNamespace, LimitsArePerNamespace, "mq.ns-limits") {
  ASSERT_OK_AND_ASSIGN(long outer_msg_max, MsgMax());
  ASSERT_OK_AND_ASSIGN(long outer_queues_max, QueuesMax());
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  const long new_msg_max = outer_msg_max == 7 ? 8 : 7;
  SpawnInNewIpcNamespace(
      [&] {
        ASSERT_TRUE(WriteMqueueLimit("msg_max", new_msg_max));
        ASSERT_TRUE(WriteMqueueLimit("queues_max", 3));
        ASSERT_OK_AND_ASSIGN(long now, MsgMax());
        EXPECT_EQ(now, new_msg_max);
      },
      {.what = "changing /proc/sys/fs/mqueue in a new IPC namespace"})
      .ExpectExited(0);
  EXPECT_THAT(MsgMax().value(), outer_msg_max);
  EXPECT_THAT(QueuesMax().value(), outer_queues_max);
}

}  // namespace
}  // namespace ipc
