// mq_open(3) and mq_overview(7): creating and opening queues by name, owner and mode, attributes, O_EXCL,
// O_NONBLOCK, the descriptor (a file descriptor: close-on-exec, poll, shared across fork), and the name
// and attribute errors of mq_open (EINVAL, EACCES, ENOENT, EEXIST, ENAMETOOLONG, EMFILE).
// Rules: suite/rules/mq.ini. Helpers: mq_util.h.
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "ipcsuite/fixtures.h"
#include "mq_util.h"

namespace ipc {
namespace {

using namespace mq_util;

IPC_TEST(MqOpen, SecondOpenByNameReachesTheSameQueue, "mq.name-shared") {
  PosixName name(PosixIpcKind::kMessageQueue, "shared");
  ASSERT_OK_AND_ASSIGN(Mq creator, CreateMq(name, 4, 64));
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Mq opened, OpenMq(name.str(), O_WRONLY));
        EXPECT_THAT(Send(opened.get(), "from the child", 3), SyscallSucceeds());
      },
      {.what = "opening the queue by name and sending"});
  c.ExpectExited(0);
  unsigned prio = 0;
  EXPECT_EQ(Receive(creator.get(), 64, &prio), "from the child");
  EXPECT_EQ(prio, 3u);
}

IPC_TEST(MqOpen, CreatorOwnsTheQueueWithEffectiveIds, "mq.open-create-owner") {
  PosixName name(PosixIpcKind::kMessageQueue, "owner");
  ASSERT_THAT(mq_open(name.c_str(), O_RDONLY), SyscallFailsWithErrno(ENOENT));
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  struct stat st {};
  ASSERT_THAT(fstat(q.get(), &st), SyscallSucceeds());
  EXPECT_EQ(st.st_uid, geteuid());
  EXPECT_EQ(st.st_gid, getegid());
  ASSERT_OK_AND_ASSIGN(Mq again, OpenMq(name.str(), O_RDONLY));
}

IPC_TEST(MqOpen, ModeIsMaskedByTheUmask, "mq.open-mode-umask") {
  PosixName name(PosixIpcKind::kMessageQueue, "umask");
  Child c = Child::Spawn(
      [&] {
        umask(027);
        ASSERT_OK_AND_ASSIGN(Mq q, OpenMq(name.str(), O_CREAT | O_EXCL | O_RDWR, 0666));
        struct stat st {};
        ASSERT_THAT(fstat(q.get(), &st), SyscallSucceeds());
        EXPECT_EQ(st.st_mode & 07777, 0640u);
      },
      {.what = "creating a queue with mode 0666 under umask 027"});
  c.ExpectExited(0);
}

IPC_TEST(MqOpen, CreatWithoutExclOpensTheExistingQueueWithItsAttributes, "mq.open-existing") {
  PosixName name(PosixIpcKind::kMessageQueue, "existing");
  ASSERT_OK_AND_ASSIGN(Mq first, CreateMq(name, 3, 40));
  ASSERT_THAT(Send(first.get(), "kept"), SyscallSucceeds());
  mq_attr other = Attr(1, 8);
  ASSERT_OK_AND_ASSIGN(Mq second, OpenMq(name.str(), O_CREAT | O_RDWR, 0600, &other));
  ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(second.get()));
  EXPECT_EQ(a.mq_maxmsg, 3);
  EXPECT_EQ(a.mq_msgsize, 40);
  EXPECT_EQ(a.mq_curmsgs, 1);
  EXPECT_EQ(Receive(second.get(), 40), "kept");
}

IPC_TEST(MqOpen, AttrSetsMaxmsgAndMsgsizeAndTheRestIsIgnored, "mq.open-attr", "mq.getattr-fields") {
  PosixName name(PosixIpcKind::kMessageQueue, "attr");
  mq_attr in = Attr(2, 33);
  in.mq_flags = O_NONBLOCK;  // ignored by mq_open
  in.mq_curmsgs = 7;         // ignored by mq_open
  ASSERT_OK_AND_ASSIGN(Mq q, OpenMq(name.str(), O_CREAT | O_EXCL | O_RDWR, 0600, &in));
  ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(q.get()));
  EXPECT_EQ(a.mq_maxmsg, 2);
  EXPECT_EQ(a.mq_msgsize, 33);
  EXPECT_EQ(a.mq_flags, 0);
  EXPECT_EQ(a.mq_curmsgs, 0);
}

IPC_TEST(MqOpen, NonblockFlagShowsInMqFlagsAndMakesReceiveFailEagain, "mq.open-nonblock",
         "mq.receive-eagain") {
  PosixName name(PosixIpcKind::kMessageQueue, "nonblock");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16, O_NONBLOCK));
  ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(q.get()));
  EXPECT_EQ(a.mq_flags, O_NONBLOCK);
  char buf[16];
  EXPECT_THAT(mq_receive(q.get(), buf, sizeof buf, nullptr), SyscallFailsWithErrno(EAGAIN));
  // A second open without O_NONBLOCK has its own description, which blocks.
  ASSERT_OK_AND_ASSIGN(Mq blocking, OpenMq(name.str(), O_RDONLY));
  ASSERT_OK_AND_ASSIGN(mq_attr b, GetAttr(blocking.get()));
  EXPECT_EQ(b.mq_flags, 0);
}

IPC_TEST(MqOpen, DescriptorIsCloseOnExecWithoutOCloexec, "mq.descriptor-cloexec") {
  PosixName name(PosixIpcKind::kMessageQueue, "cloexec");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  EXPECT_THAT(fcntl(q.get(), F_GETFD), SyscallSucceedsWithValue(FD_CLOEXEC));
  ASSERT_OK_AND_ASSIGN(Mq r, OpenMq(name.str(), O_RDONLY));
  EXPECT_THAT(fcntl(r.get(), F_GETFD), SyscallSucceedsWithValue(FD_CLOEXEC));
}

IPC_TEST(MqOpen, DescriptorIsPollableForMessagesAndSpace, "mq.descriptor-pollable") {
  PosixName name(PosixIpcKind::kMessageQueue, "poll");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 1, 16));
  pollfd p{.fd = q.get(), .events = POLLIN | POLLOUT, .revents = 0};
  ASSERT_THAT(poll(&p, 1, 0), SyscallSucceedsWithValue(1));
  EXPECT_EQ(p.revents, POLLOUT) << "empty queue: writable, not readable";
  ASSERT_THAT(Send(q.get(), "m"), SyscallSucceeds());
  p.revents = 0;
  ASSERT_THAT(poll(&p, 1, 0), SyscallSucceedsWithValue(1));
  EXPECT_EQ(p.revents, POLLIN) << "full queue (mq_maxmsg 1): readable, not writable";
}

IPC_TEST(MqOpen, ForkedChildSharesTheDescriptionFlags, "mq.fork-shares-description",
         "mq.setattr-nonblock-only") {
  PosixName name(PosixIpcKind::kMessageQueue, "fork");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  Child c = Child::Spawn(
      [&] {
        mq_attr nb{};
        nb.mq_flags = O_NONBLOCK;
        ASSERT_THAT(mq_setattr(q.get(), &nb, nullptr), SyscallSucceeds());
      },
      {.what = "setting O_NONBLOCK on the inherited descriptor"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(q.get()));
  EXPECT_EQ(a.mq_flags, O_NONBLOCK);
  char buf[16];
  EXPECT_THAT(mq_receive(q.get(), buf, sizeof buf, nullptr), SyscallFailsWithErrno(EAGAIN));
}

IPC_TEST(MqOpen, EmfileAtTheDescriptorLimit, "mq.open-emfile") {
  PosixName name(PosixIpcKind::kMessageQueue, "emfile");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  Child c = Child::Spawn(
      [&] {
        // The lowest free descriptor number is the count of descriptors in use below it: make it the limit.
        int probe = dup(0);
        ASSERT_THAT(probe, SyscallSucceeds());
        close(probe);
        // The soft limit alone decides EMFILE; the hard one stays (valgrind refuses to lower it: EPERM).
        rlimit rl{};
        ASSERT_THAT(getrlimit(RLIMIT_NOFILE, &rl), SyscallSucceeds());
        rl.rlim_cur = static_cast<rlim_t>(probe);
        ASSERT_THAT(setrlimit(RLIMIT_NOFILE, &rl), SyscallSucceeds());
        EXPECT_THAT(mq_open(name.c_str(), O_RDONLY), SyscallFailsWithErrno(EMFILE));
      },
      {.what = "opening a queue with RLIMIT_NOFILE reached"});
  c.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------------------
// The errors of mq_open, one row each.

enum class NameKind {
  kFresh,     // a unique name nobody created
  kExisting,  // a unique name the test created first
  kLiteral,   // the row's literal
  kTooLong,   // "/" + NAME_MAX + 1 characters
};
enum class AttrKind { kNone, kGiven, kAboveMsgMax, kAboveMsgsizeMax };

struct MqOpenErrorRow {
  const char* name;
  rules::RuleList rules;
  NameKind name_kind;
  const char* literal;
  int oflag;
  AttrKind attr_kind;
  long maxmsg;
  long msgsize;
  int err;
};

const MqOpenErrorRow kMqOpenErrors[] = {
    {"NoLeadingSlash",
     {"mq.open-einval-name"},
     NameKind::kLiteral,
     "ipcsuite-no-slash",
     O_CREAT | O_RDWR,
     AttrKind::kNone,
     0,
     0,
     EINVAL},
    {"EmptyName",
     {"mq.open-einval-name"},
     NameKind::kLiteral,
     "",
     O_CREAT | O_RDWR,
     AttrKind::kNone,
     0,
     0,
     EINVAL},
    {"TwoSlashes",
     {"mq.open-eacces-slash"},
     NameKind::kLiteral,
     "/ipcsuite/two",
     O_CREAT | O_RDWR,
     AttrKind::kNone,
     0,
     0,
     EACCES},
    {"LeadingDoubleSlash",
     {"mq.open-eacces-slash"},
     NameKind::kLiteral,
     "//ipcsuite",
     O_CREAT | O_RDWR,
     AttrKind::kNone,
     0,
     0,
     EACCES},
    {"SlashOnly",
     {"mq.open-enoent-slash-only"},
     NameKind::kLiteral,
     "/",
     O_CREAT | O_RDWR,
     AttrKind::kNone,
     0,
     0,
     ENOENT},
    {"TooLong",
     {"mq.open-enametoolong"},
     NameKind::kTooLong,
     nullptr,
     O_CREAT | O_RDWR,
     AttrKind::kNone,
     0,
     0,
     ENAMETOOLONG},
    {"MissingWithoutCreat",
     {"mq.open-enoent"},
     NameKind::kFresh,
     nullptr,
     O_RDWR,
     AttrKind::kNone,
     0,
     0,
     ENOENT},
    {"ExclOnExisting",
     {"mq.open-eexist"},
     NameKind::kExisting,
     nullptr,
     O_CREAT | O_EXCL | O_RDWR,
     AttrKind::kNone,
     0,
     0,
     EEXIST},
    {"ZeroMaxmsg",
     {"mq.open-einval-attr"},
     NameKind::kFresh,
     nullptr,
     O_CREAT | O_RDWR,
     AttrKind::kGiven,
     0,
     16,
     EINVAL},
    {"NegativeMaxmsg",
     {"mq.open-einval-attr"},
     NameKind::kFresh,
     nullptr,
     O_CREAT | O_RDWR,
     AttrKind::kGiven,
     -1,
     16,
     EINVAL},
    {"ZeroMsgsize",
     {"mq.open-einval-attr"},
     NameKind::kFresh,
     nullptr,
     O_CREAT | O_RDWR,
     AttrKind::kGiven,
     1,
     0,
     EINVAL},
    {"NegativeMsgsize",
     {"mq.open-einval-attr"},
     NameKind::kFresh,
     nullptr,
     O_CREAT | O_RDWR,
     AttrKind::kGiven,
     1,
     -5,
     EINVAL},
    {"MaxmsgAboveMsgMax",
     {"mq.open-einval-limits"},
     NameKind::kFresh,
     nullptr,
     O_CREAT | O_RDWR,
     AttrKind::kAboveMsgMax,
     0,
     0,
     EINVAL},
    {"MsgsizeAboveMsgsizeMax",
     {"mq.open-einval-limits"},
     NameKind::kFresh,
     nullptr,
     O_CREAT | O_RDWR,
     AttrKind::kAboveMsgsizeMax,
     0,
     0,
     EINVAL},
};

class MqOpenErrors : public ::testing::TestWithParam<MqOpenErrorRow> {};

IPC_TEST_P(MqOpenErrors, FailsWithTheDocumentedErrnoAndCreatesNothing) {
  const MqOpenErrorRow& row = GetParam();
  PosixName unique(PosixIpcKind::kMessageQueue, row.name);
  Mq existing;
  std::string name;
  switch (row.name_kind) {
    case NameKind::kFresh:
      name = unique.str();
      break;
    case NameKind::kExisting: {
      ASSERT_OK_AND_ASSIGN(existing, CreateMq(unique, 2, 16));
      name = unique.str();
      break;
    }
    case NameKind::kLiteral:
      name = row.literal;
      break;
    case NameKind::kTooLong:
      name = "/" + std::string(NAME_MAX + 1, 'q');
      break;
  }
  mq_attr attr = Attr(row.maxmsg, row.msgsize);
  const mq_attr* attr_ptr = nullptr;
  if (row.attr_kind != AttrKind::kNone) attr_ptr = &attr;
  if (row.attr_kind == AttrKind::kAboveMsgMax) {
    ASSERT_OK_AND_ASSIGN(long msg_max, MsgMax());
    attr = Attr(msg_max + 1, 16);
  } else if (row.attr_kind == AttrKind::kAboveMsgsizeMax) {
    ASSERT_OK_AND_ASSIGN(long msgsize_max, MsgsizeMax());
    attr = Attr(1, msgsize_max + 1);
  }
  // The limits bind a process without CAP_SYS_RESOURCE (capable()): drop it from the effective set, in a
  // child, so that the row means the same wherever it runs.
  Child c = Child::Spawn(
      [&] {
        if (isolation::HasEffectiveCapability(CAP_SYS_RESOURCE)) {
          ASSERT_TRUE(isolation::DropEffectiveCapability(CAP_SYS_RESOURCE)) << DescribeErrno(errno);
        }
        mqd_t d = mq_open(name.c_str(), row.oflag, 0600, attr_ptr);
        int err = errno;
        if (d != static_cast<mqd_t>(-1)) mq_close(d);
        EXPECT_THAT(d == static_cast<mqd_t>(-1) ? -1 : 0, SyscallFails());
        EXPECT_EQ(ErrnoName(err), ErrnoName(row.err));
      },
      {.what = "calling mq_open with a bad argument"});
  c.ExpectExited(0);
  if (row.name_kind == NameKind::kFresh) {
    mqd_t leaked = mq_open(name.c_str(), O_RDONLY);
    EXPECT_EQ(leaked, static_cast<mqd_t>(-1)) << "a queue was created";
    if (leaked != static_cast<mqd_t>(-1)) mq_close(leaked);
  }
}

IPC_INSTANTIATE_TABLE(Table, MqOpenErrors, kMqOpenErrors);

}  // namespace
}  // namespace ipc
