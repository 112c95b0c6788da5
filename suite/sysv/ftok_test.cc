// ftok(3): a System V IPC key from the identity of an existing file and the low 8 bits of proj_id. The
// same file (by any of its names) and proj_id give the same key; a different proj_id or a different
// (simultaneously existing) file should give a different one; on failure ftok returns -1 with errno as for
// stat(2). ftok(3) has no ERRORS section of its own, so its errors are stat(2)'s (ENOENT, ENOTDIR, ELOOP,
// ENAMETOOLONG, EACCES). Rules: suite/rules/sysv.ini.
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <set>
#include <string>

#include "ipcsuite/fixtures.h"

namespace ipc {
namespace {

// A TempDir with one regular file "file" in it.
class SysvFtok : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(TempDir d, TempDir::Create());
    dir_.emplace(std::move(d));
    ASSERT_OK_AND_ASSIGN(file_, dir_->MakeFile("file"));
  }
  ino_t Inode(const std::string& path) {
    struct stat st {};
    EXPECT_THAT(stat(path.c_str(), &st), SyscallSucceeds()) << path;
    return st.st_ino;
  }
  std::optional<TempDir> dir_;
  std::string file_;
};

IPC_TEST_F(SysvFtok, SamePathAndProjIdGiveTheSameKey, "sysv.ftok-same-file") {
  const key_t k = ftok(file_.c_str(), 'A');
  ASSERT_THAT(k, SyscallSucceeds());
  EXPECT_NE(k, IPC_PRIVATE);
  EXPECT_EQ(ftok(file_.c_str(), 'A'), k);
}

IPC_TEST_F(SysvFtok, EveryNameOfTheFileGivesTheSameKey, "sysv.ftok-same-file") {
  const key_t k = ftok(file_.c_str(), 7);
  ASSERT_THAT(k, SyscallSucceeds());
  const std::string link = dir_->Path("hardlink"), sym = dir_->Path("symlink"),
                    dotted = dir_->path() + "/./file";
  ASSERT_THAT(::link(file_.c_str(), link.c_str()), SyscallSucceeds());
  ASSERT_THAT(symlink(file_.c_str(), sym.c_str()), SyscallSucceeds());
  EXPECT_EQ(ftok(link.c_str(), 7), k) << "a hard link";
  EXPECT_EQ(ftok(sym.c_str(), 7), k) << "a symbolic link to it (stat(2) follows it)";
  EXPECT_EQ(ftok(dotted.c_str(), 7), k) << "another spelling of the path";
}

IPC_TEST_F(SysvFtok, EveryProjIdGivesADifferentKey, "sysv.ftok-proj-id") {
  std::set<key_t> keys;
  for (int proj = 1; proj <= 255; ++proj) {
    const key_t k = ftok(file_.c_str(), proj);
    ASSERT_THAT(k, SyscallSucceeds()) << "proj_id " << proj;
    keys.insert(k);
  }
  EXPECT_EQ(keys.size(), 255u) << "255 nonzero proj_id values (8 bits) gave only " << keys.size() << " keys";
}

IPC_TEST_F(SysvFtok, OnlyTheLeastSignificantEightBitsOfProjIdCount, "sysv.ftok-proj-id") {
  const key_t k = ftok(file_.c_str(), 0x41);
  ASSERT_THAT(k, SyscallSucceeds());
  EXPECT_EQ(ftok(file_.c_str(), 0x141), k);
  EXPECT_EQ(ftok(file_.c_str(), 0x7f41), k);
  EXPECT_NE(ftok(file_.c_str(), 0x42), k);
}

IPC_TEST_F(SysvFtok, TwoExistingFilesGiveDifferentKeys, "sysv.ftok-different-file") {
  ASSERT_OK_AND_ASSIGN(std::string other, dir_->MakeFile("other"));
  // ftok can use only part of the file's identity (glibc: the low 16 bits of the inode number and the low
  // 8 bits of the device); two files whose inode numbers agree there cannot be told apart.
  if ((Inode(file_) & 0xffff) == (Inode(other) & 0xffff))
    GTEST_SKIP() << "the two files' inode numbers agree in their low 16 bits";
  const key_t a = ftok(file_.c_str(), 1), b = ftok(other.c_str(), 1);
  ASSERT_THAT(a, SyscallSucceeds());
  ASSERT_THAT(b, SyscallSucceeds());
  EXPECT_NE(a, b);
}

IPC_TEST_F(SysvFtok, ReplacingTheFileChangesTheKey, "sysv.ftok-different-file") {
  ASSERT_OK_AND_ASSIGN(std::string fresh, dir_->MakeFile("fresh"));
  if ((Inode(file_) & 0xffff) == (Inode(fresh) & 0xffff))
    GTEST_SKIP() << "the two files' inode numbers agree in their low 16 bits";
  const key_t before = ftok(file_.c_str(), 'r');
  ASSERT_THAT(before, SyscallSucceeds());
  // rename(2) puts a new file (a new inode) under the same name.
  ASSERT_THAT(rename(fresh.c_str(), file_.c_str()), SyscallSucceeds());
  const key_t after = ftok(file_.c_str(), 'r');
  ASSERT_THAT(after, SyscallSucceeds());
  EXPECT_NE(after, before) << "the key follows the file, not its name";
}

IPC_TEST_F(SysvFtok, AnotherProcessDerivesTheKeyOfTheSameQueue, "sysv.ftok-same-file") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t k = ftok(file_.c_str(), 'q');
  ASSERT_THAT(k, SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(k, IPC_CREAT | IPC_EXCL | 0600));
  const std::string path = file_;
  Child c = Child::Spawn(
      [&] {
        const key_t mine = ftok(path.c_str(), 'q');
        ASSERT_THAT(mine, SyscallSucceeds());
        EXPECT_THAT(msgget(mine, 0), SyscallSucceedsWithValue(q.id()));
      },
      {.what = "deriving the key in another process"});
  c.ExpectExited(0);
}

// --- errors: those of stat(2) --------------------------------------------------------------------------

struct FtokErrorRow {
  const char* name;
  rules::RuleList rules;
  std::string (*path)(const TempDir& dir, const std::string& file);
  int err;
};

const FtokErrorRow kFtokErrors[] = {
    {"MissingFile",
     {"sysv.ftok-enoent"},
     [](const TempDir& d, const std::string&) { return d.Path("nothing"); },
     ENOENT},
    {"MissingDirectory",
     {"sysv.ftok-enoent"},
     [](const TempDir& d, const std::string&) { return d.Path("no-dir/file"); },
     ENOENT},
    {"EmptyPath",
     {"sysv.ftok-enoent"},
     [](const TempDir&, const std::string&) { return std::string(); },
     ENOENT},
    {"DanglingSymlink",
     {"sysv.ftok-enoent"},
     [](const TempDir& d, const std::string&) {
       std::string p = d.Path("dangling");
       EXPECT_THAT(symlink(d.Path("nowhere").c_str(), p.c_str()), SyscallSucceeds());
       return p;
     },
     ENOENT},
    {"FileAsDirectory",
     {"sysv.ftok-enotdir"},
     [](const TempDir&, const std::string& f) { return f + "/x"; },
     ENOTDIR},
    {"SymlinkLoop",
     {"sysv.ftok-eloop"},
     [](const TempDir& d, const std::string&) {
       std::string a = d.Path("loop-a"), b = d.Path("loop-b");
       EXPECT_THAT(symlink(b.c_str(), a.c_str()), SyscallSucceeds());
       EXPECT_THAT(symlink(a.c_str(), b.c_str()), SyscallSucceeds());
       return a;
     },
     ELOOP},
    {"NameTooLong",
     {"sysv.ftok-enametoolong"},
     [](const TempDir& d, const std::string&) { return d.Path(std::string(NAME_MAX + 1, 'n')); },
     ENAMETOOLONG},
};

class SysvFtokError : public SysvFtok, public ::testing::WithParamInterface<FtokErrorRow> {};

IPC_TEST_P(SysvFtokError, FailsWithMinusOneAndStatsErrno) {
  const FtokErrorRow& row = GetParam();
  const std::string path = row.path(*dir_, file_);
  errno = 0;
  const key_t k = ftok(path.c_str(), 'e');
  EXPECT_EQ(k, static_cast<key_t>(-1)) << path;
  EXPECT_EQ(errno, row.err) << DescribeErrno(errno);
  struct stat st {};
  EXPECT_THAT(stat(path.c_str(), &st), SyscallFailsWithErrno(row.err)) << "stat(2) agrees";
}

IPC_INSTANTIATE_TABLE(Table, SysvFtokError, kFtokErrors);

IPC_TEST_F(SysvFtok, UnsearchableDirectoryFailsWithEacces, "sysv.ftok-eacces") {
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  const std::string locked = dir_->Path("locked");
  ASSERT_THAT(mkdir(locked.c_str(), 0700), SyscallSucceeds());
  const std::string inside = locked + "/file";
  ASSERT_OK_AND_ASSIGN(FileDescriptor f, Open(inside, O_WRONLY | O_CREAT | O_EXCL, 0644));
  ASSERT_THAT(chmod(locked.c_str(), 0600), SyscallSucceeds());  // no search (x) permission for anyone
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        errno = 0;
        EXPECT_EQ(ftok(inside.c_str(), 'e'), static_cast<key_t>(-1));
        EXPECT_EQ(errno, EACCES) << DescribeErrno(errno);
      },
      {.what = "ftok through a directory without search permission"});
  c.ExpectExited(0);
  ASSERT_THAT(chmod(locked.c_str(), 0700), SyscallSucceeds());  // so that TempDir can remove it
}

}  // namespace
}  // namespace ipc
