// shm_open(3): creating and opening objects (O_CREAT, O_EXCL, O_TRUNC, O_RDONLY, mode and umask, FD_CLOEXEC),
// the object as a file in /dev/shm (shm_overview(7)), kernel persistence, and the name and descriptor errors
// (EEXIST, ENOENT, EINVAL, ENAMETOOLONG, EMFILE). Permissions: pshm_perm_test.cc. Rules:
// suite/rules/pshm.ini.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

#include "ipcsuite/fixtures.h"
#include "pshm_util.h"

namespace ipc {
namespace {

using namespace pshm_util;

IPC_TEST(PshmOpen, CreatMakesAnEmptyObjectThatFtruncateSizes, "pshm.open-create-empty",
         "pshm.ftruncate-size") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "empty");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, ShmOpen(name, O_RDWR | O_CREAT | O_EXCL));
  struct stat st;
  ASSERT_THAT(fstat(fd.get(), &st), SyscallSucceeds());
  EXPECT_TRUE(S_ISREG(st.st_mode)) << std::oct << st.st_mode;
  EXPECT_EQ(st.st_size, 0);
  char c;
  EXPECT_THAT(read(fd.get(), &c, 1), SyscallSucceedsWithValue(0));
  ASSERT_THAT(ftruncate(fd.get(), 3 * Page() + 5), SyscallSucceeds());
  EXPECT_EQ(SizeOf(fd.get()), static_cast<off_t>(3 * Page() + 5));
}

IPC_TEST(PshmOpen, NewObjectTakesModeMinusUmaskAndTheCallersIds, "pshm.open-create-mode") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "mode");
  Child c = Child::Spawn(
      [&] {
        umask(027);
        ASSERT_OK_AND_ASSIGN(FileDescriptor fd, ShmOpen(name, O_RDWR | O_CREAT | O_EXCL, 0666));
        struct stat st;
        ASSERT_THAT(fstat(fd.get(), &st), SyscallSucceeds());
        EXPECT_EQ(st.st_mode & 07777, 0640u) << std::oct << st.st_mode;
        EXPECT_EQ(st.st_uid, geteuid());
        EXPECT_EQ(st.st_gid, getegid());
      },
      {.what = "creating an object with umask 027"});
  c.ExpectExited(0);
}

IPC_TEST(PshmOpen, ZeroUmaskKeepsTheWholeMode, "pshm.open-create-mode") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "mode0");
  Child c = Child::Spawn(
      [&] {
        umask(0);
        ASSERT_OK_AND_ASSIGN(FileDescriptor fd, ShmOpen(name, O_RDWR | O_CREAT | O_EXCL, 0604));
        struct stat st;
        ASSERT_THAT(fstat(fd.get(), &st), SyscallSucceeds());
        EXPECT_EQ(st.st_mode & 07777, 0604u) << std::oct << st.st_mode;
      },
      {.what = "creating an object with umask 0"});
  c.ExpectExited(0);
}

IPC_TEST(PshmOpen, OpeningAnExistingNameSharesSizeAndContents, "pshm.open-existing") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "existing");
  ASSERT_OK_AND_ASSIGN(FileDescriptor a, CreateObject(name, Page()));
  ASSERT_THAT(pwrite(a.get(), "hello", 5, 100), SyscallSucceedsWithValue(5));
  ASSERT_OK_AND_ASSIGN(FileDescriptor b, ShmOpen(name, O_RDWR));
  EXPECT_EQ(SizeOf(b.get()), static_cast<off_t>(Page()));
  char buf[6] = {};
  EXPECT_THAT(pread(b.get(), buf, 5, 100), SyscallSucceedsWithValue(5));
  EXPECT_STREQ(buf, "hello");
  // And back: a write through the second descriptor shows through the first.
  ASSERT_THAT(pwrite(b.get(), "W", 1, 0), SyscallSucceedsWithValue(1));
  EXPECT_THAT(pread(a.get(), buf, 1, 0), SyscallSucceedsWithValue(1));
  EXPECT_EQ(buf[0], 'W');
}

IPC_TEST(PshmOpen, CreatWithoutExclOpensTheExistingObjectAndIgnoresMode, "pshm.open-existing") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "creat-existing");
  ASSERT_OK_AND_ASSIGN(FileDescriptor a, CreateObject(name, 2 * Page(), 0600));
  ASSERT_THAT(pwrite(a.get(), "x", 1, 7), SyscallSucceedsWithValue(1));
  ASSERT_OK_AND_ASSIGN(FileDescriptor b, ShmOpen(name, O_RDWR | O_CREAT, 0644));
  struct stat sa, sb;
  ASSERT_THAT(fstat(a.get(), &sa), SyscallSucceeds());
  ASSERT_THAT(fstat(b.get(), &sb), SyscallSucceeds());
  EXPECT_EQ(sa.st_ino, sb.st_ino);
  EXPECT_EQ(sb.st_size, static_cast<off_t>(2 * Page()));
  EXPECT_EQ(sb.st_mode & 0777, 0600u) << std::oct << sb.st_mode;
  char c = 0;
  EXPECT_THAT(pread(b.get(), &c, 1, 7), SyscallSucceedsWithValue(1));
  EXPECT_EQ(c, 'x');
}

IPC_TEST(PshmOpen, ExclFailsWithEexistAndLeavesTheObject, "pshm.open-eexist") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "excl");
  ASSERT_OK_AND_ASSIGN(FileDescriptor a, CreateObject(name, Page()));
  ASSERT_THAT(pwrite(a.get(), "keep", 4, 0), SyscallSucceedsWithValue(4));
  EXPECT_FD_CALL_FAILS(shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
  EXPECT_FD_CALL_FAILS(shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_TRUNC, 0600), EEXIST);
  EXPECT_EQ(SizeOf(a.get()), static_cast<off_t>(Page()));
  char buf[5] = {};
  EXPECT_THAT(pread(a.get(), buf, 4, 0), SyscallSucceedsWithValue(4));
  EXPECT_STREQ(buf, "keep");
}

IPC_TEST(PshmOpen, ExclCreatesWhenTheNameIsFree, "pshm.open-eexist") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "excl-free");
  ASSERT_OK_AND_ASSIGN(FileDescriptor a, ShmOpen(name, O_RDWR | O_CREAT | O_EXCL));
  EXPECT_EQ(SizeOf(a.get()), 0);
  // Exactly one of two exclusive creations of the same name wins.
  EXPECT_FD_CALL_FAILS(shm_open(name.c_str(), O_RDONLY | O_CREAT | O_EXCL, 0600), EEXIST);
}

IPC_TEST(PshmOpen, TruncEmptiesAnExistingObject, "pshm.open-trunc", "pshm.ftruncate-grow-zeros") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "trunc");
  ASSERT_OK_AND_ASSIGN(FileDescriptor a, CreateObject(name, 2 * Page()));
  ASSERT_THAT(pwrite(a.get(), "data", 4, 0), SyscallSucceedsWithValue(4));
  ASSERT_OK_AND_ASSIGN(FileDescriptor b, ShmOpen(name, O_RDWR | O_TRUNC));
  EXPECT_EQ(SizeOf(a.get()), 0);
  EXPECT_EQ(SizeOf(b.get()), 0);
  // The old contents are gone: growing again gives zeros.
  ASSERT_THAT(ftruncate(b.get(), 4), SyscallSucceeds());
  char buf[4] = {'?', '?', '?', '?'};
  EXPECT_THAT(pread(a.get(), buf, 4, 0), SyscallSucceedsWithValue(4));
  EXPECT_EQ(std::string(buf, 4), std::string(4, '\0'));
}

IPC_TEST(PshmOpen, RdonlyDescriptorCannotWriteOrResize, "pshm.open-rdonly", "pshm.ftruncate-einval-rdonly") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "rdonly");
  ASSERT_OK_AND_ASSIGN(FileDescriptor a, CreateObject(name, Page()));
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, ShmOpen(name, O_RDONLY));
  EXPECT_EQ(fcntl(r.get(), F_GETFL) & O_ACCMODE, O_RDONLY);
  EXPECT_THAT(write(r.get(), "x", 1), SyscallFailsWithErrno(EBADF));
  EXPECT_THAT(ftruncate(r.get(), 2 * Page()), SyscallFailsWithErrno(EINVAL));
  EXPECT_EQ(SizeOf(a.get()), static_cast<off_t>(Page()));
  char c = '?';
  EXPECT_THAT(read(r.get(), &c, 1), SyscallSucceedsWithValue(1));
  EXPECT_EQ(c, '\0');
}

IPC_TEST(PshmOpen, DescriptorHasFdCloexec, "pshm.open-cloexec") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "cloexec");
  ASSERT_OK_AND_ASSIGN(FileDescriptor a, ShmOpen(name, O_RDWR | O_CREAT | O_EXCL));
  EXPECT_EQ(fcntl(a.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  ASSERT_OK_AND_ASSIGN(FileDescriptor b, ShmOpen(name, O_RDONLY));
  EXPECT_EQ(fcntl(b.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

IPC_TEST(PshmOpen, DescriptorIsClosedAcrossExecve, "pshm.open-cloexec") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "cloexec-exec");
  ASSERT_OK_AND_ASSIGN(FileDescriptor a, ShmOpen(name, O_RDWR | O_CREAT | O_EXCL));
  const int fd = a.get();
  Child c = Child::SpawnWithExitCode(
      [fd] {
        ExecHelper({"fd-open", std::to_string(fd)});
        return 99;
      },
      {.what = "exec'ing a helper that checks the shm_open descriptor"});
  ExitStatus st = c.Wait();
  EXPECT_TRUE(st.Exited(kHelperNo)) << "the helper saw the descriptor open after execve: " << st.Describe();
}

IPC_TEST(PshmOpen, ObjectIsAFileInDevShm, "pshm.devshm") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "devshm");
  ASSERT_OK_AND_ASSIGN(FileDescriptor a, CreateObject(name, 3 * Page(), 0640));
  struct stat by_fd, by_path;
  ASSERT_THAT(fstat(a.get(), &by_fd), SyscallSucceeds());
  ASSERT_THAT(stat(DevShmPath(name).c_str(), &by_path), SyscallSucceeds()) << DevShmPath(name);
  EXPECT_EQ(by_fd.st_dev, by_path.st_dev);
  EXPECT_EQ(by_fd.st_ino, by_path.st_ino);
  EXPECT_EQ(by_path.st_size, static_cast<off_t>(3 * Page()));
  EXPECT_EQ(by_path.st_uid, by_fd.st_uid);
  EXPECT_EQ(by_path.st_mode & 0777, 0640u);
  // The file is the object: data written through the path is in the object.
  ASSERT_OK_AND_ASSIGN(FileDescriptor via_path, Open(DevShmPath(name), O_RDWR));
  ASSERT_THAT(pwrite(via_path.get(), "p", 1, 9), SyscallSucceedsWithValue(1));
  char c = 0;
  EXPECT_THAT(pread(a.get(), &c, 1, 9), SyscallSucceedsWithValue(1));
  EXPECT_EQ(c, 'p');
}

IPC_TEST(PshmOpen, ObjectAndContentsOutliveEveryDescriptorAndMapping, "pshm.persist") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "persist");
  // A child creates, maps, writes and exits: nothing of it stays open.
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
        ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), Page()));
        std::memcpy(m.data() + 10, "persist", 7);
      },
      {.what = "creating and filling an object, then exiting"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, ShmOpen(name, O_RDONLY));
  EXPECT_EQ(SizeOf(fd.get()), static_cast<off_t>(Page()));
  char buf[8] = {};
  EXPECT_THAT(pread(fd.get(), buf, 7, 10), SyscallSucceedsWithValue(7));
  EXPECT_STREQ(buf, "persist");
}

IPC_TEST(PshmOpen, FailsWithEmfileWhenNoDescriptorIsFree, "pshm.open-emfile") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "emfile");
  ASSERT_OK_AND_ASSIGN(FileDescriptor a, ShmOpen(name, O_RDWR | O_CREAT | O_EXCL));
  Child c = Child::Spawn(
      [&] {
        ASSERT_TRUE(LeaveNoFreeDescriptor()) << DescribeErrno(errno);
        EXPECT_FD_CALL_FAILS(shm_open(name.c_str(), O_RDWR, 0), EMFILE);
      },
      {.what = "shm_open with no free descriptor"});
  c.ExpectExited(0);
}

// --- name errors: one row per name rule -------------------------------------------------------------------

enum class NameKind { kEmpty, kSlashOnly, kInnerSlash, kUnknown, kNameMaxPlusOne };

struct ShmOpenNameRow {
  const char* name;
  rules::RuleList rules;
  NameKind kind;
  int oflag;
  int err;
};

const ShmOpenNameRow kShmOpenNameErrors[] = {
    {"EmptyName", {"pshm.open-einval-name"}, NameKind::kEmpty, O_RDWR | O_CREAT, EINVAL},
    {"SlashOnly", {"pshm.open-einval-name"}, NameKind::kSlashOnly, O_RDWR | O_CREAT, EINVAL},
    {"SlashInside", {"pshm.open-einval-name"}, NameKind::kInnerSlash, O_RDWR | O_CREAT, EINVAL},
    {"SlashInsideNoCreat", {"pshm.open-einval-name"}, NameKind::kInnerSlash, O_RDONLY, EINVAL},
    {"UnknownNameNoCreat", {"pshm.open-enoent"}, NameKind::kUnknown, O_RDWR, ENOENT},
    {"UnknownNameTrunc", {"pshm.open-enoent"}, NameKind::kUnknown, O_RDWR | O_TRUNC, ENOENT},
    {"NameMaxPlusOneCreat",
     {"pshm.open-enametoolong"},
     NameKind::kNameMaxPlusOne,
     O_RDWR | O_CREAT,
     ENAMETOOLONG},
    {"NameMaxPlusOneNoCreat", {"pshm.open-enametoolong"}, NameKind::kNameMaxPlusOne, O_RDONLY, ENAMETOOLONG},
};

class PshmOpenName : public ::testing::TestWithParam<ShmOpenNameRow> {};

IPC_TEST_P(PshmOpenName, FailsAndCreatesNothing) {
  IPC_REQUIRE_DEV_SHM();
  const ShmOpenNameRow& row = GetParam();
  PosixName unique(PosixIpcKind::kSharedMemory, "name");
  std::string name;
  switch (row.kind) {
    case NameKind::kEmpty:
      name = "";
      break;
    case NameKind::kSlashOnly:
      name = "/";
      break;
    case NameKind::kInnerSlash:
      name = unique.str() + "/inner";
      break;
    case NameKind::kUnknown:
      name = unique.str();
      break;
    case NameKind::kNameMaxPlusOne:
      name = unique.str();
      name.resize(NAME_MAX + 2, 'x');  // "/" + NAME_MAX + 1 bytes
      break;
  }
  EXPECT_FD_CALL_FAILS(shm_open(name.c_str(), row.oflag, 0600), row.err);
  struct stat st;
  EXPECT_THAT(stat(DevShmPath(unique).c_str(), &st), SyscallFailsWithErrno(ENOENT))
      << "an object was created";
  if (row.kind == NameKind::kNameMaxPlusOne) shm_unlink(name.c_str());
}

IPC_INSTANTIATE_TABLE(Table, PshmOpenName, kShmOpenNameErrors);

IPC_TEST(PshmOpen, NameOfNameMaxBytesIsAccepted, "pshm.open-enametoolong") {
  IPC_REQUIRE_DEV_SHM();
  PosixName unique(PosixIpcKind::kSharedMemory, "namemax");
  std::string name = unique.str();
  name.resize(NAME_MAX + 1, 'x');  // "/" + NAME_MAX bytes: the longest file name
  int fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  EXPECT_THAT(fd, SyscallSucceeds());
  if (fd >= 0) {
    close(fd);
    EXPECT_THAT(shm_unlink(name.c_str()), SyscallSucceeds());
  }
}

}  // namespace
}  // namespace ipc
