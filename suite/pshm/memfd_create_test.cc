// memfd_create(2): the new file (size 0, read-write, a regular file), its name in /proc/self/fd, MFD_CLOEXEC,
// MFD_ALLOW_SEALING's initial seals, and the errors (EFAULT, EINVAL, EMFILE). Seals: memfd_seal_test.cc;
// passing a memfd to other processes: pshm_fork_test.cc. Rules: suite/rules/pshm.ini.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

std::string FdLink(int fd) {
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  char buf[PATH_MAX + 1];
  ssize_t n = readlink(path.c_str(), buf, PATH_MAX);
  return n < 0 ? "readlink failed with " + DescribeErrno(errno) : std::string(buf, static_cast<size_t>(n));
}

IPC_TEST(MemfdCreate, MakesAnEmptyReadWriteRegularFile, "pshm.memfd-create") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, MemfdCreate("empty", 0));
  struct stat st;
  ASSERT_THAT(fstat(fd.get(), &st), SyscallSucceeds());
  EXPECT_TRUE(S_ISREG(st.st_mode)) << std::oct << st.st_mode;
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(fcntl(fd.get(), F_GETFL) & O_ACCMODE, O_RDWR);
  EXPECT_THAT(write(fd.get(), "abc", 3), SyscallSucceedsWithValue(3));
  EXPECT_EQ(SizeOf(fd.get()), 3);
  char buf[3] = {};
  EXPECT_THAT(pread(fd.get(), buf, 3, 0), SyscallSucceedsWithValue(3));
  EXPECT_EQ(std::string(buf, 3), "abc");
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), Page()));
  EXPECT_EQ(std::string(m.data(), 3), "abc");
}

IPC_TEST(MemfdCreate, NameShowsAsTheProcFdLinkTarget, "pshm.memfd-name") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, MemfdCreate("ipcsuite name", 0));
  EXPECT_EQ(FdLink(fd.get()), "/memfd:ipcsuite name (deleted)");
}

IPC_TEST(MemfdCreate, TwoFilesWithTheSameNameAreIndependent, "pshm.memfd-name") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor a, MemfdCreate("same", 0));
  ASSERT_OK_AND_ASSIGN(FileDescriptor b, MemfdCreate("same", 0));
  struct stat sa, sb;
  ASSERT_THAT(fstat(a.get(), &sa), SyscallSucceeds());
  ASSERT_THAT(fstat(b.get(), &sb), SyscallSucceeds());
  EXPECT_NE(sa.st_ino, sb.st_ino);
  ASSERT_THAT(write(a.get(), "a", 1), SyscallSucceedsWithValue(1));
  EXPECT_EQ(SizeOf(b.get()), 0);
}

IPC_TEST(MemfdCreate, CloexecFlagSetsFdCloexec, "pshm.memfd-cloexec") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor with, MemfdCreate("cloexec", MFD_CLOEXEC));
  ASSERT_OK_AND_ASSIGN(FileDescriptor without, MemfdCreate("no-cloexec", 0));
  EXPECT_EQ(fcntl(with.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  EXPECT_EQ(fcntl(without.get(), F_GETFD) & FD_CLOEXEC, 0);
}

IPC_TEST(MemfdCreate, CloexecDescriptorIsClosedAcrossExecve, "pshm.memfd-cloexec") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor with, MemfdCreate("cloexec", MFD_CLOEXEC));
  ASSERT_OK_AND_ASSIGN(FileDescriptor without, MemfdCreate("no-cloexec", 0));
  const int w = with.get(), wo = without.get();
  Child closed = Child::SpawnWithExitCode(
      [w] {
        ExecHelper({"fd-open", std::to_string(w)});
        return 99;
      },
      {.what = "exec'ing a helper that checks the MFD_CLOEXEC descriptor"});
  ExitStatus st = closed.Wait();
  EXPECT_TRUE(st.Exited(kHelperNo)) << "MFD_CLOEXEC descriptor after execve: " << st.Describe();
  Child open = Child::SpawnWithExitCode(
      [wo] {
        ExecHelper({"fd-open", std::to_string(wo)});
        return 99;
      },
      {.what = "exec'ing a helper that checks the plain memfd descriptor"});
  st = open.Wait();
  EXPECT_TRUE(st.Exited(0)) << "memfd without MFD_CLOEXEC after execve: " << st.Describe();
}

IPC_TEST(MemfdCreate, WithoutAllowSealingTheSealSetIsLocked, "pshm.memfd-allow-sealing",
         "pshm.seal-not-allowed") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, MemfdCreate("unsealable", MFD_CLOEXEC));
  EXPECT_THAT(fcntl(fd.get(), F_GET_SEALS), SyscallSucceedsWithValue(F_SEAL_SEAL));
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK), SyscallFailsWithErrno(EPERM));
  EXPECT_THAT(fcntl(fd.get(), F_GET_SEALS), SyscallSucceedsWithValue(F_SEAL_SEAL));
  // Nothing is sealed: the file still grows, shrinks and takes writes.
  EXPECT_THAT(ftruncate(fd.get(), 10), SyscallSucceeds());
  EXPECT_THAT(ftruncate(fd.get(), 1), SyscallSucceeds());
  EXPECT_THAT(write(fd.get(), "w", 1), SyscallSucceedsWithValue(1));
}

IPC_TEST(MemfdCreate, AllowSealingStartsWithNoSeals, "pshm.memfd-allow-sealing") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, MemfdCreate("sealable", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  EXPECT_THAT(fcntl(fd.get(), F_GET_SEALS), SyscallSucceedsWithValue(0));
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK), SyscallSucceeds());
}

IPC_TEST(MemfdCreate, NameOf249BytesIsAccepted, "pshm.memfd-einval-name") {
  std::string name(249, 'n');
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, MemfdCreate(name.c_str(), MFD_CLOEXEC));
  EXPECT_EQ(FdLink(fd.get()), "/memfd:" + name + " (deleted)");
}

IPC_TEST(MemfdCreate, FailsWithEfaultForAnInaccessibleName, "pshm.memfd-efault") {
  InaccessiblePage page;
  ASSERT_TRUE(page.ok()) << DescribeErrno(errno);
  EXPECT_FD_CALL_FAILS(memfd_create(page.as<const char>(), 0), EFAULT);
}

IPC_TEST(MemfdCreate, FailsWithEmfileWhenNoDescriptorIsFree, "pshm.memfd-emfile") {
  Child c = Child::Spawn(
      [] {
        ASSERT_TRUE(LeaveNoFreeDescriptor()) << DescribeErrno(errno);
        EXPECT_FD_CALL_FAILS(memfd_create("emfile", 0), EMFILE);
        EXPECT_FD_CALL_FAILS(memfd_create("emfile", MFD_CLOEXEC | MFD_ALLOW_SEALING), EMFILE);
      },
      {.what = "memfd_create with no free descriptor"});
  c.ExpectExited(0);
}

// --- EINVAL: one row per cause ---------------------------------------------------------------------------

struct MemfdEinvalRow {
  const char* name;
  rules::RuleList rules;
  size_t name_len;
  unsigned flags;
};

const MemfdEinvalRow kMemfdEinval[] = {
    {"UnknownHighBit", {"pshm.memfd-einval-flags"}, 4, 0x80000000u},
    {"UnknownLowBit", {"pshm.memfd-einval-flags"}, 4, 0x40u},
    {"UnknownBitWithCloexec", {"pshm.memfd-einval-flags"}, 4, MFD_CLOEXEC | 0x1000u},
    {"NameOf250Bytes", {"pshm.memfd-einval-name"}, 250, 0},
    {"NameOfNameMaxBytes", {"pshm.memfd-einval-name"}, NAME_MAX, MFD_CLOEXEC},
};

class MemfdCreateEinval : public ::testing::TestWithParam<MemfdEinvalRow> {};

IPC_TEST_P(MemfdCreateEinval, FailsWithEinval) {
  const MemfdEinvalRow& row = GetParam();
  std::string name(row.name_len, 'e');
  EXPECT_FD_CALL_FAILS(memfd_create(name.c_str(), row.flags), EINVAL);
}

IPC_INSTANTIATE_TABLE(Table, MemfdCreateEinval, kMemfdEinval);

}  // namespace
}  // namespace ipc
