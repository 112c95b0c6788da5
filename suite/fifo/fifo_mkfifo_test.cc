// mkfifo(3), mkfifoat(3), mknod(2), path_resolution(7): creating FIFOs.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "fifo_util.h"
#include "ipcsuite/fixtures.h"

namespace ipc {
namespace {

// Exit codes of a child that could not set up a private tmpfs (the parent skips the test).
constexpr int kNoMountNamespace = 77;
constexpr int kNoTmpfsMount = 78;

class FifoMkfifo : public fifo_util::InTempDir {
 protected:
  std::string Path(const std::string& name) const { return dir_->Path(name); }

  // mkdir + chmod, so that the umask does not decide the mode.
  std::string MakeDir(const std::string& name, mode_t mode) {
    return fifo_util::MakeDirWithMode(*dir_, name, mode);
  }
};

// stat(2)'s st_mode of `path` (lstat: does not follow a final symlink); 0 when it fails.
mode_t ModeOf(const std::string& path, bool follow = true) {
  struct stat st;
  int r = follow ? stat(path.c_str(), &st) : lstat(path.c_str(), &st);
  return r == 0 ? st.st_mode : 0;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// In a child: enter a private mount namespace and mount a tmpfs at `where`. Returns 0, or the exit
// code that tells the parent to skip.
int MountPrivateTmpfs(const std::string& where, unsigned long flags, const char* options) {
  if (unshare(CLONE_NEWNS) != 0) return kNoMountNamespace;
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return kNoMountNamespace;
  if (mount("ipcsuite-fifo", where.c_str(), "tmpfs", flags, options) != 0) return kNoTmpfsMount;
  return 0;
}

// Waits for a child started with SpawnWithExitCode around MountPrivateTmpfs; skips the test when the
// child could not get its tmpfs.
#define IPC_WAIT_MOUNT_CHILD(c)                                                                \
  do {                                                                                         \
    ExitStatus st_ = (c).Wait();                                                               \
    if (st_.Exited(kNoMountNamespace)) GTEST_SKIP() << "no private mount namespace (unshare)"; \
    if (st_.Exited(kNoTmpfsMount)) GTEST_SKIP() << "cannot mount a tmpfs";                     \
    EXPECT_TRUE(st_.Exited(0)) << st_.Describe();                                              \
  } while (0)

// ---------------------------------------------------------------------------------------------------
// Creation, mode and the umask (mkfifo(3) DESCRIPTION).

// mkfifo(3): creates a FIFO special file at the name: stat and lstat report S_IFIFO, size 0, owned by
// the caller's effective user ID (mknod(2)).
IPC_TEST_F(FifoMkfifo, CreatesFifoSpecialFile, "fifo.mkfifo-creates") {
  std::string p = Path("f");
  ASSERT_THAT(mkfifo(p.c_str(), 0600), SyscallSucceedsWithValue(0));
  struct stat st;
  ASSERT_THAT(stat(p.c_str(), &st), SyscallSucceeds());
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(st.st_uid, geteuid());
  EXPECT_TRUE(S_ISFIFO(ModeOf(p, false)));
  // It behaves as a FIFO: a nonblocking writer with no reader gets ENXIO.
  EXPECT_THAT(open(p.c_str(), O_WRONLY | O_NONBLOCK), SyscallFailsWithErrno(ENXIO));
}

// mkfifo(3): the permissions of the new FIFO are (mode & ~umask), for several umasks. In a child: the
// umask is process-wide.
IPC_TEST_F(FifoMkfifo, ModeIsMaskedByUmask, "fifo.mkfifo-umask") {
  Child c = Child::Spawn(
      [&] {
        struct Case {
          mode_t umask, mode;
        } cases[] = {{0, 0666}, {0, 0640}, {022, 0666}, {027, 0777}, {077, 0666}, {0777, 0666}, {0, 0}};
        int i = 0;
        for (const Case& k : cases) {
          umask(k.umask);
          std::string p = Path("u" + std::to_string(i++));
          ASSERT_THAT(mkfifo(p.c_str(), k.mode), SyscallSucceeds());
          EXPECT_EQ(ModeOf(p) & 07777, k.mode & ~k.umask & 07777)
              << std::oct << "mode 0" << k.mode << ", umask 0" << k.umask;
          EXPECT_TRUE(S_ISFIFO(ModeOf(p)));
        }
      },
      {.what = "creating FIFOs under several umasks"});
  c.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------------
// EEXIST (mkfifo(3), mknod(2)).

// mkfifo(3) EEXIST: the name is an existing regular file, which is left as it was.
IPC_TEST_F(FifoMkfifo, ExistingRegularFileFailsEexist, "fifo.mkfifo-eexist") {
  std::string p = Path("file");
  {
    ASSERT_OK_AND_ASSIGN(FileDescriptor f, Open(p, O_CREAT | O_WRONLY, 0644));
    ASSERT_THAT(write(f.get(), "data", 4), SyscallSucceedsWithValue(4));
  }
  EXPECT_THAT(mkfifo(p.c_str(), 0600), SyscallFailsWithErrno(EEXIST));
  struct stat st;
  ASSERT_THAT(stat(p.c_str(), &st), SyscallSucceeds());
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 4);
}

// mkfifo(3) EEXIST: the name is an existing FIFO; its mode is not changed.
IPC_TEST_F(FifoMkfifo, ExistingFifoFailsEexist, "fifo.mkfifo-eexist") {
  std::string p = Path("f");
  ASSERT_THAT(mkfifo(p.c_str(), 0600), SyscallSucceeds());
  ASSERT_THAT(chmod(p.c_str(), 0640), SyscallSucceeds());
  EXPECT_THAT(mkfifo(p.c_str(), 0666), SyscallFailsWithErrno(EEXIST));
  EXPECT_EQ(ModeOf(p), static_cast<mode_t>(S_IFIFO | 0640));
}

// mkfifo(3) EEXIST: the name is an existing directory.
IPC_TEST_F(FifoMkfifo, ExistingDirectoryFailsEexist, "fifo.mkfifo-eexist") {
  std::string p = MakeDir("d", 0755);
  EXPECT_THAT(mkfifo(p.c_str(), 0600), SyscallFailsWithErrno(EEXIST));
  EXPECT_TRUE(S_ISDIR(ModeOf(p)));
}

// mkfifo(3) EEXIST: the name is a symbolic link (to a file, to a directory, to a FIFO): the link is
// not followed, and neither the link nor its target changes.
IPC_TEST_F(FifoMkfifo, ExistingSymlinkFailsEexist, "fifo.mkfifo-eexist-symlink") {
  ASSERT_OK_AND_ASSIGN(std::string file, dir_->MakeFile("file"));
  std::string d = MakeDir("dir", 0755);
  ASSERT_OK_AND_ASSIGN(std::string fifo, dir_->MakeFifo("fifo"));
  for (const std::string& target : {file, d, fifo}) {
    std::string link = target + "-link";
    mode_t target_mode = ModeOf(target);
    ASSERT_THAT(symlink(target.c_str(), link.c_str()), SyscallSucceeds());
    EXPECT_THAT(mkfifo(link.c_str(), 0600), SyscallFailsWithErrno(EEXIST)) << link;
    EXPECT_TRUE(S_ISLNK(ModeOf(link, false))) << link;
    EXPECT_EQ(ModeOf(target), target_mode) << target;
  }
}

// mkfifo(3) EEXIST: also for a dangling symbolic link; the missing target is not created.
IPC_TEST_F(FifoMkfifo, DanglingSymlinkFailsEexist, "fifo.mkfifo-eexist-symlink") {
  std::string link = Path("dangling");
  std::string target = Path("nowhere");
  ASSERT_THAT(symlink(target.c_str(), link.c_str()), SyscallSucceeds());
  EXPECT_THAT(mkfifo(link.c_str(), 0600), SyscallFailsWithErrno(EEXIST));
  EXPECT_FALSE(Exists(target));
  EXPECT_TRUE(S_ISLNK(ModeOf(link, false)));
}

// mkfifo(3) EEXIST: a symbolic link that points to itself is still an existing name (the final link
// is not followed, so this is EEXIST and not ELOOP).
IPC_TEST_F(FifoMkfifo, SelfReferencingSymlinkFailsEexist, "fifo.mkfifo-eexist-symlink") {
  std::string link = Path("self");
  ASSERT_THAT(symlink("self", link.c_str()), SyscallSucceeds());
  EXPECT_THAT(mkfifo(link.c_str(), 0600), SyscallFailsWithErrno(EEXIST));
}

// ---------------------------------------------------------------------------------------------------
// Path errors (mkfifo(3), mknod(2), path_resolution(7)).

// mkfifo(3) ENOENT: a directory component does not exist.
IPC_TEST_F(FifoMkfifo, MissingDirectoryComponentFailsEnoent, "fifo.mkfifo-enoent") {
  EXPECT_THAT(mkfifo(Path("missing/f").c_str(), 0600), SyscallFailsWithErrno(ENOENT));
  EXPECT_THAT(mkfifo(Path("missing/deeper/f").c_str(), 0600), SyscallFailsWithErrno(ENOENT));
  EXPECT_FALSE(Exists(Path("missing")));
}

// mkfifo(3) ENOENT: a directory component is a dangling symbolic link.
IPC_TEST_F(FifoMkfifo, DanglingSymlinkComponentFailsEnoent, "fifo.mkfifo-enoent") {
  std::string link = Path("dl");
  ASSERT_THAT(symlink("no-such-dir", link.c_str()), SyscallSucceeds());
  EXPECT_THAT(mkfifo((link + "/f").c_str(), 0600), SyscallFailsWithErrno(ENOENT));
  EXPECT_FALSE(Exists(Path("no-such-dir")));
}

// path_resolution(7): an empty pathname is not resolved; Linux fails with ENOENT.
IPC_TEST_F(FifoMkfifo, EmptyPathFailsEnoent, "fifo.mkfifo-enoent-empty") {
  EXPECT_THAT(mkfifo("", 0600), SyscallFailsWithErrno(ENOENT));
  EXPECT_THAT(mknod("", S_IFIFO | 0600, 0), SyscallFailsWithErrno(ENOENT));
}

// mkfifo(3) ENOTDIR: a component used as a directory is a regular file, or a FIFO.
IPC_TEST_F(FifoMkfifo, NonDirectoryComponentFailsEnotdir, "fifo.mkfifo-enotdir") {
  ASSERT_OK_AND_ASSIGN(std::string file, dir_->MakeFile("file"));
  ASSERT_OK_AND_ASSIGN(std::string fifo, dir_->MakeFifo("fifo"));
  EXPECT_THAT(mkfifo((file + "/f").c_str(), 0600), SyscallFailsWithErrno(ENOTDIR));
  EXPECT_THAT(mkfifo((fifo + "/f").c_str(), 0600), SyscallFailsWithErrno(ENOTDIR));
}

// mkfifo(3) ENAMETOOLONG: a component longer than NAME_MAX (pathconf(_PC_NAME_MAX) of the directory)
// fails; a component of exactly NAME_MAX bytes is accepted.
IPC_TEST_F(FifoMkfifo, ComponentLongerThanNameMaxFailsEnametoolong, "fifo.mkfifo-enametoolong") {
  long name_max = pathconf(dir_->path().c_str(), _PC_NAME_MAX);
  ASSERT_THAT(name_max, SyscallSucceeds());
  ASSERT_GT(name_max, 0);
  std::string longest(static_cast<size_t>(name_max), 'n');
  EXPECT_THAT(mkfifo(Path(longest).c_str(), 0600), SyscallSucceeds());
  EXPECT_TRUE(S_ISFIFO(ModeOf(Path(longest))));
  std::string too_long(static_cast<size_t>(name_max) + 1, 'n');
  EXPECT_THAT(mkfifo(Path(too_long).c_str(), 0600), SyscallFailsWithErrno(ENAMETOOLONG));
}

// mkfifo(3) ENAMETOOLONG: a pathname longer than PATH_MAX (pathconf(_PC_PATH_MAX)) fails, although
// every component is short; one below the limit is resolved (and fails only with ENOENT, since its
// directories do not exist).
IPC_TEST_F(FifoMkfifo, PathLongerThanPathMaxFailsEnametoolong, "fifo.mkfifo-enametoolong") {
  long path_max = pathconf(dir_->path().c_str(), _PC_PATH_MAX);
  ASSERT_THAT(path_max, SyscallSucceeds());
  auto path_of_length = [&](size_t len) {
    std::string p = dir_->path() + "/";
    while (p.size() + 2 <= len) p += "d/";
    while (p.size() < len) p += "f";
    return p;
  };
  std::string over = path_of_length(static_cast<size_t>(path_max) + 1);
  ASSERT_EQ(over.size(), static_cast<size_t>(path_max) + 1);
  EXPECT_THAT(mkfifo(over.c_str(), 0600), SyscallFailsWithErrno(ENAMETOOLONG));
  std::string under = path_of_length(static_cast<size_t>(path_max) - 1);
  ASSERT_EQ(under.size(), static_cast<size_t>(path_max) - 1);
  EXPECT_THAT(mkfifo(under.c_str(), 0600), SyscallFailsWithErrno(ENOENT));
}

// mknod(2) ELOOP: too many symbolic links while resolving the directory part (a loop).
IPC_TEST_F(FifoMkfifo, SymlinkLoopInPathFailsEloop, "fifo.mknod-eloop") {
  ASSERT_THAT(symlink("loop-b", Path("loop-a").c_str()), SyscallSucceeds());
  ASSERT_THAT(symlink("loop-a", Path("loop-b").c_str()), SyscallSucceeds());
  EXPECT_THAT(mknod(Path("loop-a/f").c_str(), S_IFIFO | 0600, 0), SyscallFailsWithErrno(ELOOP));
  EXPECT_THAT(mkfifo(Path("loop-a/f").c_str(), 0600), SyscallFailsWithErrno(ELOOP));
}

// ---------------------------------------------------------------------------------------------------
// Permissions (mkfifo(3) EACCES, mknod(2) EACCES). In unprivileged children.

// mkfifo(3) EACCES: a directory in the path prefix does not allow search permission, even though the
// directory that would hold the FIFO is mode 0777. Search permission alone (0711) is enough.
IPC_TEST_F(FifoMkfifo, NoSearchPermissionOnPrefixFailsEacces, "fifo.mkfifo-eacces-search") {
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  std::string nosearch = MakeDir("nosearch", 0777);
  std::string search = MakeDir("search", 0777);
  ASSERT_THAT(mkdir((nosearch + "/inner").c_str(), 0700), SyscallSucceeds());
  ASSERT_THAT(chmod((nosearch + "/inner").c_str(), 0777), SyscallSucceeds());
  ASSERT_THAT(mkdir((search + "/inner").c_str(), 0700), SyscallSucceeds());
  ASSERT_THAT(chmod((search + "/inner").c_str(), 0777), SyscallSucceeds());
  ASSERT_THAT(chmod(nosearch.c_str(), 0666), SyscallSucceeds());
  ASSERT_THAT(chmod(search.c_str(), 0711), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        ASSERT_NE(geteuid(), 0u);
        EXPECT_THAT(mkfifo((nosearch + "/inner/f").c_str(), 0600), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(mkfifo((search + "/inner/f").c_str(), 0600), SyscallSucceeds());
      },
      {.what = "creating FIFOs below directories without search permission"});
  c.ExpectExited(0);
  // Let TempDir's cleanup descend again when the suite runs unprivileged.
  ASSERT_THAT(chmod(nosearch.c_str(), 0777), SyscallSucceeds());
  EXPECT_FALSE(Exists(nosearch + "/inner/f"));
  EXPECT_TRUE(S_ISFIFO(ModeOf(search + "/inner/f")));
}

// mknod(2) EACCES: the parent directory does not allow write permission (0555); a 0777 directory does.
IPC_TEST_F(FifoMkfifo, NoWritePermissionOnParentFailsEacces, "fifo.mknod-eacces-write") {
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  std::string ro = MakeDir("ro", 0555);
  std::string rw = MakeDir("rw", 0777);
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        ASSERT_NE(geteuid(), 0u);
        EXPECT_THAT(mkfifo((ro + "/f").c_str(), 0600), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(mknod((ro + "/g").c_str(), S_IFIFO | 0600, 0), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(mkfifo((rw + "/f").c_str(), 0600), SyscallSucceeds());
      },
      {.what = "creating FIFOs in a directory without write permission"});
  c.ExpectExited(0);
  EXPECT_FALSE(Exists(ro + "/f"));
  EXPECT_FALSE(Exists(ro + "/g"));
  EXPECT_TRUE(S_ISFIFO(ModeOf(rw + "/f")));
}

// ---------------------------------------------------------------------------------------------------
// Filesystem errors (mkfifo(3) EROFS, ENOSPC), on a tmpfs in a private mount namespace.

// mkfifo(3) EROFS: the pathname is on a read-only filesystem; after remounting read-write the same
// call succeeds.
IPC_TEST_F(FifoMkfifo, ReadOnlyFilesystemFailsErofs, "fifo.mkfifo-erofs") {
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_SYS_ADMIN, "mount a tmpfs in a private mount namespace");
  std::string mnt = MakeDir("mnt", 0755);
  Child c = Child::SpawnWithExitCode(
      [&] {
        if (int r = MountPrivateTmpfs(mnt, MS_RDONLY, "size=64k"); r != 0) return r;
        EXPECT_THAT(mkfifo((mnt + "/f").c_str(), 0600), SyscallFailsWithErrno(EROFS));
        EXPECT_THAT(mknod((mnt + "/g").c_str(), S_IFIFO | 0600, 0), SyscallFailsWithErrno(EROFS));
        EXPECT_THAT(mount(nullptr, mnt.c_str(), nullptr, MS_REMOUNT, "size=64k"), SyscallSucceeds());
        EXPECT_THAT(mkfifo((mnt + "/f").c_str(), 0600), SyscallSucceeds());
        return 0;
      },
      {.what = "creating a FIFO on a read-only tmpfs"});
  IPC_WAIT_MOUNT_CHILD(c);
}

// mkfifo(3) ENOSPC: no room for the new file: a tmpfs limited to two inodes (its root directory and one
// more) takes one FIFO and refuses the next.
IPC_TEST_F(FifoMkfifo, FilesystemWithoutFreeInodesFailsEnospc, "fifo.mkfifo-enospc") {
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_SYS_ADMIN, "mount a tmpfs in a private mount namespace");
  std::string mnt = MakeDir("mnt", 0755);
  Child c = Child::SpawnWithExitCode(
      [&] {
        if (int r = MountPrivateTmpfs(mnt, 0, "size=64k,nr_inodes=2"); r != 0) return r;
        EXPECT_THAT(mkfifo((mnt + "/first").c_str(), 0600), SyscallSucceeds());
        EXPECT_THAT(mkfifo((mnt + "/second").c_str(), 0600), SyscallFailsWithErrno(ENOSPC));
        EXPECT_FALSE(Exists(mnt + "/second"));
        return 0;
      },
      {.what = "creating FIFOs on a tmpfs without free inodes"});
  IPC_WAIT_MOUNT_CHILD(c);
}

// ---------------------------------------------------------------------------------------------------
// mkfifoat(3) and mknodat(2).

// mkfifoat(3): a relative pathname is resolved against the directory referred to by dirfd.
IPC_TEST_F(FifoMkfifo, MkfifoatResolvesRelativePathAgainstDirfd, "fifo.mkfifoat-dirfd") {
  std::string sub = MakeDir("sub", 0755);
  ASSERT_OK_AND_ASSIGN(FileDescriptor dfd, Open(sub, O_RDONLY | O_DIRECTORY));
  ASSERT_THAT(mkfifoat(dfd.get(), "rel", 0600), SyscallSucceeds());
  EXPECT_TRUE(S_ISFIFO(ModeOf(sub + "/rel")));
  EXPECT_FALSE(Exists(Path("rel")));
  // An O_PATH descriptor of the directory works as dirfd too (open(2) O_PATH).
  ASSERT_OK_AND_ASSIGN(FileDescriptor pfd, Open(sub, O_PATH | O_DIRECTORY));
  ASSERT_THAT(mkfifoat(pfd.get(), "rel2", 0600), SyscallSucceeds());
  EXPECT_TRUE(S_ISFIFO(ModeOf(sub + "/rel2")));
}

// mkfifoat(3): an absolute pathname ignores dirfd, even an invalid one or one that is not a directory.
IPC_TEST_F(FifoMkfifo, MkfifoatAbsolutePathIgnoresDirfd, "fifo.mkfifoat-absolute") {
  ASSERT_OK_AND_ASSIGN(std::string file, dir_->MakeFile("file"));
  ASSERT_OK_AND_ASSIGN(FileDescriptor ffd, Open(file, O_RDONLY));
  EXPECT_THAT(mkfifoat(ffd.get(), Path("a").c_str(), 0600), SyscallSucceeds());
  EXPECT_THAT(mkfifoat(-1, Path("b").c_str(), 0600), SyscallSucceeds());
  EXPECT_TRUE(S_ISFIFO(ModeOf(Path("a"))));
  EXPECT_TRUE(S_ISFIFO(ModeOf(Path("b"))));
}

// mkfifoat(3): with AT_FDCWD a relative pathname is resolved against the current working directory, as
// mkfifo(3) does. In a child: chdir(2) is process-wide.
IPC_TEST_F(FifoMkfifo, MkfifoatAtFdcwdUsesCurrentDirectory, "fifo.mkfifoat-at-fdcwd") {
  std::string sub = MakeDir("cwd", 0755);
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(chdir(sub.c_str()), SyscallSucceeds());
        EXPECT_THAT(mkfifoat(AT_FDCWD, "at", 0600), SyscallSucceeds());
        EXPECT_THAT(mkfifo("plain", 0600), SyscallSucceeds());
      },
      {.what = "creating FIFOs relative to the working directory"});
  c.ExpectExited(0);
  EXPECT_TRUE(S_ISFIFO(ModeOf(sub + "/at")));
  EXPECT_TRUE(S_ISFIFO(ModeOf(sub + "/plain")));
}

// mkfifoat(3) EBADF: a relative pathname with a dirfd that is neither AT_FDCWD nor a valid descriptor.
IPC_TEST_F(FifoMkfifo, MkfifoatInvalidDirfdFailsEbadf, "fifo.mkfifoat-ebadf") {
  EXPECT_THAT(mkfifoat(-1, "rel", 0600), SyscallFailsWithErrno(EBADF));
  EXPECT_THAT(mknodat(-1, "rel", S_IFIFO | 0600, 0), SyscallFailsWithErrno(EBADF));
}

// mkfifoat(3) ENOTDIR: a relative pathname with a dirfd that refers to a regular file or a FIFO.
IPC_TEST_F(FifoMkfifo, MkfifoatNonDirectoryDirfdFailsEnotdir, "fifo.mkfifoat-enotdir") {
  ASSERT_OK_AND_ASSIGN(std::string file, dir_->MakeFile("file"));
  ASSERT_OK_AND_ASSIGN(std::string fifo, dir_->MakeFifo("fifo"));
  ASSERT_OK_AND_ASSIGN(FileDescriptor ffd, Open(file, O_RDONLY));
  ASSERT_OK_AND_ASSIGN(FileDescriptor pfd, Open(fifo, O_RDONLY | O_NONBLOCK));
  EXPECT_THAT(mkfifoat(ffd.get(), "rel", 0600), SyscallFailsWithErrno(ENOTDIR));
  EXPECT_THAT(mkfifoat(pfd.get(), "rel", 0600), SyscallFailsWithErrno(ENOTDIR));
}

// mknodat(2): like mkfifoat, a relative pathname is resolved against dirfd; S_IFIFO makes a FIFO.
IPC_TEST_F(FifoMkfifo, MknodatCreatesFifoRelativeToDirfd, "fifo.mknod-fifo") {
  std::string sub = MakeDir("sub", 0755);
  ASSERT_OK_AND_ASSIGN(FileDescriptor dfd, Open(sub, O_RDONLY | O_DIRECTORY));
  ASSERT_THAT(mknodat(dfd.get(), "n", S_IFIFO | 0600, 0), SyscallSucceeds());
  EXPECT_TRUE(S_ISFIFO(ModeOf(sub + "/n")));
}

// ---------------------------------------------------------------------------------------------------
// mknod(2) with S_IFIFO.

// mknod(2): mknod(path, S_IFIFO | mode, 0) creates a FIFO that works as one (nonblocking ends, data).
IPC_TEST_F(FifoMkfifo, MknodSifoCreatesWorkingFifo, "fifo.mknod-fifo") {
  std::string p = Path("n");
  ASSERT_THAT(mknod(p.c_str(), S_IFIFO | 0600, 0), SyscallSucceedsWithValue(0));
  EXPECT_TRUE(S_ISFIFO(ModeOf(p)));
  EXPECT_THAT(open(p.c_str(), O_WRONLY | O_NONBLOCK), SyscallFailsWithErrno(ENXIO));
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, Open(p, O_RDONLY | O_NONBLOCK));
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, Open(p, O_WRONLY | O_NONBLOCK));
  ASSERT_THAT(write(w.get(), "mk", 2), SyscallSucceedsWithValue(2));
  char buf[4];
  EXPECT_THAT(read(r.get(), buf, sizeof buf), SyscallSucceedsWithValue(2));
  EXPECT_EQ(std::string(buf, 2), "mk");
}

// mknod(2): dev is used only for S_IFCHR and S_IFBLK; for a FIFO it is ignored (no device number).
IPC_TEST_F(FifoMkfifo, MknodFifoIgnoresDev, "fifo.mknod-dev-ignored") {
  std::string p = Path("n");
  ASSERT_THAT(mknod(p.c_str(), S_IFIFO | 0600, makedev(1, 3)), SyscallSucceeds());
  struct stat st;
  ASSERT_THAT(stat(p.c_str(), &st), SyscallSucceeds());
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_rdev, 0u);
}

// mknod(2): the mode of the node is (mode & ~umask). In a child (umask is process-wide).
IPC_TEST_F(FifoMkfifo, MknodModeIsMaskedByUmask, "fifo.mknod-umask") {
  Child c = Child::Spawn(
      [&] {
        umask(027);
        std::string p = Path("n");
        ASSERT_THAT(mknod(p.c_str(), S_IFIFO | 0777, 0), SyscallSucceeds());
        EXPECT_EQ(ModeOf(p), static_cast<mode_t>(S_IFIFO | 0750));
        umask(0);
        std::string q = Path("m");
        ASSERT_THAT(mknod(q.c_str(), S_IFIFO | 0606, 0), SyscallSucceeds());
        EXPECT_EQ(ModeOf(q), static_cast<mode_t>(S_IFIFO | 0606));
      },
      {.what = "mknod of FIFOs under a umask"});
  c.ExpectExited(0);
}

// mknod(2) EPERM: only types other than regular file, FIFO and socket need privilege (CAP_MKNOD): an
// unprivileged caller creates a FIFO, and gets EPERM for character and block devices.
IPC_TEST_F(FifoMkfifo, UnprivilegedMknodOfFifoSucceedsButDevicesFailEperm, "fifo.mknod-unprivileged") {
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  std::string d = MakeDir("open", 0777);
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        ASSERT_NE(geteuid(), 0u);
        EXPECT_THAT(mknod((d + "/fifo").c_str(), S_IFIFO | 0600, 0), SyscallSucceeds());
        EXPECT_THAT(mknod((d + "/chr").c_str(), S_IFCHR | 0600, makedev(1, 3)), SyscallFailsWithErrno(EPERM));
        EXPECT_THAT(mknod((d + "/blk").c_str(), S_IFBLK | 0600, makedev(7, 0)), SyscallFailsWithErrno(EPERM));
      },
      {.what = "mknod as an unprivileged user"});
  c.ExpectExited(0);
  EXPECT_TRUE(S_ISFIFO(ModeOf(d + "/fifo")));
  EXPECT_FALSE(Exists(d + "/chr"));
  EXPECT_FALSE(Exists(d + "/blk"));
}

// mknod(2): the new node is owned by the effective user ID, and (without a set-group-ID directory) by
// the effective group ID of the process.
IPC_TEST_F(FifoMkfifo, FifoIsOwnedByEffectiveIds, "fifo.mknod-owner") {
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  std::string d = MakeDir("open", 0777);
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        ASSERT_THAT(mkfifo((d + "/f").c_str(), 0600), SyscallSucceeds());
        struct stat st;
        ASSERT_THAT(stat((d + "/f").c_str(), &st), SyscallSucceeds());
        EXPECT_EQ(st.st_uid, geteuid());
        EXPECT_EQ(st.st_gid, getegid());
      },
      {.what = "creating a FIFO as an unprivileged user"});
  c.ExpectExited(0);
}

// mknod(2): in a directory with the set-group-ID bit, the new FIFO takes the directory's group instead
// of the process's effective group ID. Needs root to give the directory a group the caller is not in.
IPC_TEST_F(FifoMkfifo, FifoInSetgidDirectoryInheritsGroup, "fifo.mknod-setgid-group") {
  IPC_REQUIRE_OTHER_USERS("chown(2) of a directory to another group");
  constexpr gid_t kGroup = 4242;
  ASSERT_NE(getegid(), kGroup);
  std::string sgid = MakeDir("sgid", 0777);
  std::string plain = MakeDir("plain", 0777);
  ASSERT_THAT(chown(sgid.c_str(), static_cast<uid_t>(-1), kGroup), SyscallSucceeds());
  ASSERT_THAT(chown(plain.c_str(), static_cast<uid_t>(-1), kGroup), SyscallSucceeds());
  ASSERT_THAT(chmod(sgid.c_str(), 02777), SyscallSucceeds());
  ASSERT_THAT(mkfifo((sgid + "/f").c_str(), 0600), SyscallSucceeds());
  ASSERT_THAT(mknod((plain + "/f").c_str(), S_IFIFO | 0600, 0), SyscallSucceeds());
  struct stat st;
  ASSERT_THAT(stat((sgid + "/f").c_str(), &st), SyscallSucceeds());
  EXPECT_EQ(st.st_gid, kGroup);
  ASSERT_THAT(stat((plain + "/f").c_str(), &st), SyscallSucceeds());
  EXPECT_EQ(st.st_gid, getegid());
}

}  // namespace
}  // namespace ipc
