// mq_unlink(3) and permissions: the name goes at once while the queue lives on for open descriptors;
// ENOENT, ENAMETOOLONG; EACCES for another user's queue (mq_open in a mode the queue's permissions refuse,
// mq_unlink of another user's queue).
// Rules: suite/rules/mq.ini. Helpers: mq_util.h.
#include <fcntl.h>
#include <mqueue.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>

#include "ipcsuite/fixtures.h"
#include "mq_util.h"

namespace ipc {
namespace {

using namespace mq_util;

IPC_TEST(MqUnlink, NameGoesAtOnceAndTheQueueLivesWhileOpen, "mq.unlink-while-open") {
  PosixName name(PosixIpcKind::kMessageQueue, "unlink-open");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  ASSERT_THAT(Send(q.get(), "before"), SyscallSucceeds());
  ASSERT_THAT(mq_unlink(name.c_str()), SyscallSucceeds());
  EXPECT_THAT(mq_open(name.c_str(), O_RDONLY), SyscallFailsWithErrno(ENOENT));
  // The open queue still works.
  ASSERT_THAT(Send(q.get(), "after"), SyscallSucceeds());
  EXPECT_EQ(Receive(q.get(), 16), "before");
  EXPECT_EQ(Receive(q.get(), 16), "after");
  // The name is free for a new, different queue.
  ASSERT_OK_AND_ASSIGN(Mq fresh, CreateMq(name, 1, 8));
  ASSERT_OK_AND_ASSIGN(mq_attr a, GetAttr(fresh.get()));
  EXPECT_EQ(a.mq_maxmsg, 1);
  ASSERT_THAT(Send(q.get(), "old-queue"), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(mq_attr b, GetAttr(fresh.get()));
  EXPECT_EQ(b.mq_curmsgs, 0);
}

IPC_TEST(MqUnlink, ChildKeepsUsingTheUnlinkedQueue, "mq.unlink-while-open") {
  PosixName name(PosixIpcKind::kMessageQueue, "unlink-child");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  Child c = Child::Spawn([&] { EXPECT_EQ(Receive(q.get(), 16), "still-here"); },
                         {.what = "receiving from a queue whose name is unlinked"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_mq_timedreceive));
  ASSERT_THAT(mq_unlink(name.c_str()), SyscallSucceeds());
  ASSERT_THAT(Send(q.get(), "still-here"), SyscallSucceeds());
  c.ExpectExited(0);
}

struct MqUnlinkErrorRow {
  const char* name;
  rules::RuleList rules;
  int kind;  // 0 never created, 1 already unlinked, 2 too long (NAME_MAX + 1), 3 longer than PATH_MAX
  int err;
};

const MqUnlinkErrorRow kMqUnlinkErrors[] = {
    {"NeverCreated", {"mq.unlink-enoent"}, 0, ENOENT},
    {"AlreadyUnlinked", {"mq.unlink-enoent"}, 1, ENOENT},
    {"NameMaxPlusOne", {"mq.unlink-enametoolong"}, 2, ENAMETOOLONG},
    {"LongerThanPathMax", {"mq.unlink-enametoolong"}, 3, ENAMETOOLONG},
};

class MqUnlinkErrors : public ::testing::TestWithParam<MqUnlinkErrorRow> {};

IPC_TEST_P(MqUnlinkErrors, Fails) {
  const MqUnlinkErrorRow& row = GetParam();
  PosixName name(PosixIpcKind::kMessageQueue, row.name);
  std::string target = name.str();
  if (row.kind == 1) {
    ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 1, 8));
    ASSERT_THAT(mq_unlink(name.c_str()), SyscallSucceeds());
  } else if (row.kind == 2) {
    target = "/" + std::string(NAME_MAX + 1, 'u');
  } else if (row.kind == 3) {
    target = "/" + std::string(PATH_MAX + 1, 'u');
  }
  EXPECT_THAT(mq_unlink(target.c_str()), SyscallFailsWithErrno(row.err));
}

IPC_INSTANTIATE_TABLE(Table, MqUnlinkErrors, kMqUnlinkErrors);

IPC_TEST(MqOpen, NameMaxCharactersAreAccepted, "mq.open-enametoolong") {
  // The boundary of the ENAMETOOLONG rule: NAME_MAX characters after the slash are fine.
  std::string unique = UniquePosixName("namemax");
  std::string longest = unique + std::string(NAME_MAX + 1 - unique.size(), 'n');
  ASSERT_EQ(longest.size(), static_cast<size_t>(NAME_MAX + 1));
  mqd_t d = mq_open(longest.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600, nullptr);
  ASSERT_THAT(d == static_cast<mqd_t>(-1) ? -1 : 0, SyscallSucceeds());
  mq_close(d);
  EXPECT_THAT(mq_unlink(longest.c_str()), SyscallSucceeds());
}

// ---------------------------------------------------------------------------------------------------------
// Permissions: another user.

struct MqPermissionRow {
  const char* name;
  rules::RuleList rules;
  mode_t mode;
  int oflag;
  int err;  // 0: allowed
};

const MqPermissionRow kMqPermission[] = {
    {"ReadOnOwnerOnly", {"mq.open-eacces-perm"}, 0600, O_RDONLY, EACCES},
    {"WriteOnOwnerOnly", {"mq.open-eacces-perm"}, 0600, O_WRONLY, EACCES},
    {"WriteOnWorldReadable", {"mq.open-eacces-perm"}, 0644, O_WRONLY, EACCES},
    {"ReadWriteOnWorldReadable", {"mq.open-eacces-perm"}, 0644, O_RDWR, EACCES},
    {"ReadOnWorldReadable", {"mq.open-eacces-perm"}, 0644, O_RDONLY, 0},
    {"ReadOnWorldWritable", {"mq.open-eacces-perm"}, 0622, O_RDONLY, EACCES},
    {"WriteOnWorldWritable", {"mq.open-eacces-perm"}, 0622, O_WRONLY, 0},
    {"CreatOnExistingOwnerOnly", {"mq.open-eacces-perm"}, 0600, O_CREAT | O_RDONLY, EACCES},
};

class MqPermission : public ::testing::TestWithParam<MqPermissionRow> {};

IPC_TEST_P(MqPermission, AnotherUserOpensOnlyWhatTheModeAllows) {
  const MqPermissionRow& row = GetParam();
  IPC_REQUIRE_OTHER_USERS("to open a queue as another user");
  PosixName name(PosixIpcKind::kMessageQueue, row.name);
  mq_attr attr = Attr(2, 16);
  // fchmod sets the exact mode, whatever the umask.
  ASSERT_OK_AND_ASSIGN(Mq q, OpenMq(name.str(), O_CREAT | O_EXCL | O_RDWR, row.mode, &attr));
  ASSERT_THAT(fchmod(q.get(), row.mode), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        mqd_t d = mq_open(name.c_str(), row.oflag, 0600, nullptr);
        int err = d == static_cast<mqd_t>(-1) ? errno : 0;
        if (d != static_cast<mqd_t>(-1)) mq_close(d);
        EXPECT_EQ(ErrnoName(err), ErrnoName(row.err));
      },
      {.what = "opening another user's queue as nobody"});
  c.ExpectExited(0);
}

IPC_INSTANTIATE_TABLE(Table, MqPermission, kMqPermission);

IPC_TEST(MqUnlink, AnotherUserCannotUnlinkTheQueue, "mq.unlink-eacces") {
  IPC_REQUIRE_OTHER_USERS("to unlink a queue as another user");
  PosixName name(PosixIpcKind::kMessageQueue, "unlink-eacces");
  mq_attr attr = Attr(2, 16);
  ASSERT_OK_AND_ASSIGN(Mq q, OpenMq(name.str(), O_CREAT | O_EXCL | O_RDWR, 0666, &attr));
  ASSERT_THAT(fchmod(q.get(), 0666), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(mq_unlink(name.c_str()), SyscallFailsWithErrno(EACCES));
      },
      {.what = "unlinking another user's queue as nobody"});
  c.ExpectExited(0);
  // The name is still there.
  ASSERT_OK_AND_ASSIGN(Mq again, OpenMq(name.str(), O_RDONLY));
}

}  // namespace
}  // namespace ipc
