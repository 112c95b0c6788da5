// The ERRORS of socketpair(2), socket(2), bind(2), connect(2), listen(2), accept(2), send(2) and recv(2)
// (and unix(7)) that one call on an AF_UNIX socket shows: a table, one row per case, each with its rules;
// and the cases that need a child (EMFILE, EINTR, EROFS). Rules: suite/rules/unix.ini.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "unix_util.h"

namespace ipc {
namespace {

using namespace unix_util;

struct ErrnoRow {
  const char* name;
  rules::RuleList rules;
  Outcome (*call)();  // sets up what it needs, makes the one call, and returns its outcome
  int err;
};

// An address whose sun_family is not AF_UNIX.
UnixAddress WrongFamily() {
  UnixAddress a = UnixAddress::Abstract(UniqueAbstractName());
  a.addr.sun_family = AF_INET;
  return a;
}

Outcome BindIn(const TempDir& dir, const std::string& rel) {
  FileDescriptor s(socket(AF_UNIX, SOCK_STREAM, 0));
  UnixAddress a = UnixAddress::Path(dir.path() + "/" + rel);
  return Capture(bind(s.get(), a.get(), a.len));
}

const ErrnoRow kErrnoRows[] = {
    // --- socketpair(2) ---
    {"SocketpairUnknownFamily",
     {"unix.socketpair-eafnosupport"},
     [] {
       int sv[2];
       return Capture(socketpair(4000, SOCK_STREAM, 0, sv));
     },
     EAFNOSUPPORT},
    {"SocketpairInet",
     {"unix.socketpair-eopnotsupp"},
     [] {
       int sv[2];
       return Capture(socketpair(AF_INET, SOCK_STREAM, 0, sv));
     },
     EOPNOTSUPP},
    {"SocketpairBadProtocol",
     {"unix.socketpair-eprotonosupport", "unix.eprotonosupport"},
     [] {
       int sv[2];
       return Capture(socketpair(AF_UNIX, SOCK_STREAM, 2, sv));
     },
     EPROTONOSUPPORT},
    {"SocketpairBadSv",
     {"unix.socketpair-efault"},
     [] {
       InaccessiblePage page;
       return Capture(socketpair(AF_UNIX, SOCK_STREAM, 0, page.as<int>()));
     },
     EFAULT},
    // --- socket(2) ---
    {"SocketUnknownFamily",
     {"unix.socket-eafnosupport"},
     [] { return Capture(socket(4000, SOCK_STREAM, 0)); },
     EAFNOSUPPORT},
    {"SocketUnknownType",
     {"unix.socket-einval-type"},
     [] { return Capture(socket(AF_UNIX, 99, 0)); },
     EINVAL},
    {"SocketUnknownFlag",
     {"unix.socket-einval-flags"},
     [] { return Capture(socket(AF_UNIX, SOCK_STREAM | (1 << 25), 0)); },
     EINVAL},
    {"SocketBadProtocol",
     {"unix.socket-eprotonosupport", "unix.eprotonosupport"},
     [] { return Capture(socket(AF_UNIX, SOCK_STREAM, 2)); },
     EPROTONOSUPPORT},
    {"SocketRdm",
     {"unix.esocktnosupport"},
     [] { return Capture(socket(AF_UNIX, SOCK_RDM, 0)); },
     ESOCKTNOSUPPORT},
    // --- bind(2) ---
    {"BindBadFd",
     {"unix.bind-ebadf"},
     [] {
       UnixAddress a = UnixAddress::Abstract(UniqueAbstractName());
       return Capture(bind(-1, a.get(), a.len));
     },
     EBADF},
    {"BindNotSocket",
     {"unix.bind-enotsock"},
     [] {
       Pipe p = Pipe::Create().value();
       UnixAddress a = UnixAddress::Abstract(UniqueAbstractName());
       return Capture(bind(p.read.get(), a.get(), a.len));
     },
     ENOTSOCK},
    {"BindAlreadyBound",
     {"unix.bind-einval-bound", "unix.einval"},
     [] {
       FileDescriptor s(socket(AF_UNIX, SOCK_STREAM, 0));
       UnixAddress a = UnixAddress::Abstract(UniqueAbstractName());
       UnixAddress b = UnixAddress::Abstract(UniqueAbstractName());
       if (bind(s.get(), a.get(), a.len) != 0) return Outcome{-2, errno};
       return Capture(bind(s.get(), b.get(), b.len));
     },
     EINVAL},
    {"BindWrongFamily",
     {"unix.bind-einval-addr", "unix.einval"},
     [] {
       FileDescriptor s(socket(AF_UNIX, SOCK_STREAM, 0));
       UnixAddress a = WrongFamily();
       return Capture(bind(s.get(), a.get(), a.len));
     },
     EINVAL},
    {"BindShortAddrlen",
     {"unix.bind-einval-addr"},
     [] {
       FileDescriptor s(socket(AF_UNIX, SOCK_STREAM, 0));
       UnixAddress a = UnixAddress::Abstract(UniqueAbstractName());
       return Capture(bind(s.get(), a.get(), 1));
     },
     EINVAL},
    {"BindBadAddr",
     {"unix.bind-efault", "unix.efault"},
     [] {
       FileDescriptor s(socket(AF_UNIX, SOCK_STREAM, 0));
       InaccessiblePage page;
       return Capture(bind(s.get(), page.as<sockaddr>(), sizeof(sockaddr_un)));
     },
     EFAULT},
    {"BindMissingDirectory",
     {"unix.bind-enoent"},
     [] {
       TempDir d = TempDir::Create().value();
       return BindIn(d, "missing/s");
     },
     ENOENT},
    {"BindComponentIsAFile",
     {"unix.bind-enotdir"},
     [] {
       TempDir d = TempDir::Create().value();
       if (!d.MakeFile("f").ok()) return Outcome{-2, errno};
       return BindIn(d, "f/s");
     },
     ENOTDIR},
    {"BindSymlinkLoop",
     {"unix.bind-eloop"},
     [] {
       TempDir d = TempDir::Create().value();
       if (symlink("loop", d.Path("loop").c_str()) != 0) return Outcome{-2, errno};
       return BindIn(d, "loop/s");
     },
     ELOOP},
    {"BindSymlinkToOverlongName",
     {"unix.bind-enametoolong"},
     [] {
       // sun_path cannot hold a component longer than NAME_MAX, but a symbolic link on the way can.
       TempDir d = TempDir::Create().value();
       if (symlink(std::string(300, 'n').c_str(), d.Path("l").c_str()) != 0) return Outcome{-2, errno};
       return BindIn(d, "l/s");
     },
     ENAMETOOLONG},
    // --- connect(2) ---
    {"ConnectBadFd",
     {"unix.connect-ebadf"},
     [] {
       UnixAddress a = UnixAddress::Abstract(UniqueAbstractName());
       return Capture(connect(-1, a.get(), a.len));
     },
     EBADF},
    {"ConnectNotSocket",
     {"unix.connect-enotsock"},
     [] {
       Pipe p = Pipe::Create().value();
       UnixAddress a = UnixAddress::Abstract(UniqueAbstractName());
       return Capture(connect(p.read.get(), a.get(), a.len));
     },
     ENOTSOCK},
    {"ConnectBadAddr",
     {"unix.connect-efault", "unix.efault"},
     [] {
       FileDescriptor s(socket(AF_UNIX, SOCK_STREAM, 0));
       InaccessiblePage page;
       return Capture(connect(s.get(), page.as<sockaddr>(), sizeof(sockaddr_un)));
     },
     EFAULT},
    {"ConnectWrongFamily",
     {"unix.einval"},
     [] {
       FileDescriptor s(socket(AF_UNIX, SOCK_STREAM, 0));
       UnixAddress a = WrongFamily();
       return Capture(connect(s.get(), a.get(), a.len));
     },
     EINVAL},
    // --- listen(2) ---
    {"ListenBadFd", {"unix.listen-ebadf"}, [] { return Capture(listen(-1, 1)); }, EBADF},
    {"ListenNotSocket",
     {"unix.listen-enotsock"},
     [] {
       Pipe p = Pipe::Create().value();
       return Capture(listen(p.read.get(), 1));
     },
     ENOTSOCK},
    {"ListenDgram",
     {"unix.listen-eopnotsupp", "unix.eopnotsupp"},
     [] {
       FileDescriptor s = BoundSocket(SOCK_DGRAM, UnixAddress::Abstract(UniqueAbstractName())).value();
       return Capture(listen(s.get(), 1));
     },
     EOPNOTSUPP},
    {"ListenUnbound",
     {"unix.einval"},
     [] {
       FileDescriptor s(socket(AF_UNIX, SOCK_STREAM, 0));
       return Capture(listen(s.get(), 1));
     },
     EINVAL},
    // --- accept(2) ---
    {"AcceptBadFd", {"unix.accept-ebadf"}, [] { return Capture(accept(-1, nullptr, nullptr)); }, EBADF},
    {"AcceptNotSocket",
     {"unix.accept-enotsock"},
     [] {
       Pipe p = Pipe::Create().value();
       return Capture(accept(p.read.get(), nullptr, nullptr));
     },
     ENOTSOCK},
    {"AcceptDgram",
     {"unix.accept-eopnotsupp", "unix.eopnotsupp"},
     [] {
       FileDescriptor s = BoundSocket(SOCK_DGRAM, UnixAddress::Abstract(UniqueAbstractName())).value();
       return Capture(accept(s.get(), nullptr, nullptr));
     },
     EOPNOTSUPP},
    {"AcceptNotListening",
     {"unix.accept-einval"},
     [] {
       FileDescriptor s = BoundSocket(SOCK_STREAM, UnixAddress::Abstract(UniqueAbstractName())).value();
       return Capture(accept(s.get(), nullptr, nullptr));
     },
     EINVAL},
    {"AcceptNegativeAddrlen",
     {"unix.accept-einval"},
     [] {
       AbstractListener l = AbstractListener::Create().value();
       FileDescriptor c = Connected(l.addr).value();
       sockaddr_un a;
       socklen_t len = static_cast<socklen_t>(-1);
       return Capture(accept(l.fd.get(), reinterpret_cast<sockaddr*>(&a), &len));
     },
     EINVAL},
    {"Accept4UnknownFlag",
     {"unix.accept4-einval-flags"},
     [] {
       AbstractListener l = AbstractListener::Create().value();
       FileDescriptor c = Connected(l.addr).value();
       return Capture(accept4(l.fd.get(), nullptr, nullptr, 1 << 25));
     },
     EINVAL},
    {"AcceptBadAddr",
     {"unix.accept-efault"},
     [] {
       AbstractListener l = AbstractListener::Create().value();
       FileDescriptor c = Connected(l.addr).value();
       InaccessiblePage page;
       socklen_t len = sizeof(sockaddr_un);
       return Capture(accept(l.fd.get(), page.as<sockaddr>(), &len));
     },
     EFAULT},
    // --- send(2) ---
    {"SendBadFd", {"unix.send-ebadf"}, [] { return Capture(send(-1, "x", 1, 0)); }, EBADF},
    {"SendNotSocket",
     {"unix.send-enotsock"},
     [] {
       Pipe p = Pipe::Create().value();
       return Capture(send(p.write.get(), "x", 1, 0));
     },
     ENOTSOCK},
    {"SendBadBuffer",
     {"unix.send-efault", "unix.efault"},
     [] {
       SocketPair p = SocketPair::Create(SOCK_STREAM).value();
       InaccessiblePage page;
       return Capture(send(p.a.get(), page.get(), 16, MSG_DONTWAIT));
     },
     EFAULT},
    {"SendtoOnConnectedStream",
     {"unix.send-eisconn", "unix.eisconn"},
     [] {
       SocketPair p = SocketPair::Create(SOCK_STREAM).value();
       UnixAddress a = UnixAddress::Abstract(UniqueAbstractName());
       return Capture(sendto(p.a.get(), "x", 1, 0, a.get(), a.len));
     },
     EISCONN},
    {"SendUnconnectedStream",
     {"unix.send-enotconn", "unix.enotconn"},
     [] {
       FileDescriptor s(socket(AF_UNIX, SOCK_STREAM, 0));
       return Capture(send(s.get(), "x", 1, MSG_NOSIGNAL));
     },
     ENOTCONN},
    {"SendUnconnectedDgram",
     {"unix.send-enotconn", "unix.enotconn"},
     [] {
       FileDescriptor s(socket(AF_UNIX, SOCK_DGRAM, 0));
       return Capture(send(s.get(), "x", 1, 0));
     },
     ENOTCONN},
    {"SendOobOnDgram",
     {"unix.send-eopnotsupp", "unix.eopnotsupp"},
     [] {
       SocketPair p = SocketPair::Create(SOCK_DGRAM).value();
       return Capture(send(p.a.get(), "x", 1, MSG_OOB));
     },
     EOPNOTSUPP},
    {"SendmsgUnknownControlMessage",
     {"unix.send-einval"},
     [] {
       SocketPair p = SocketPair::Create(SOCK_DGRAM).value();
       char data = 'x';
       iovec iov = {&data, 1};
       alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
       msghdr msg{};
       msg.msg_iov = &iov;
       msg.msg_iovlen = 1;
       msg.msg_control = control;
       msg.msg_controllen = sizeof control;
       cmsghdr* c = CMSG_FIRSTHDR(&msg);
       c->cmsg_level = SOL_SOCKET;
       c->cmsg_type = 0x7fff;  // no such SOL_SOCKET control message
       c->cmsg_len = CMSG_LEN(sizeof(int));
       return Capture(sendmsg(p.a.get(), &msg, MSG_DONTWAIT));
     },
     EINVAL},
    // --- recv(2) ---
    {"RecvBadFd",
     {"unix.recv-ebadf"},
     [] {
       char b;
       return Capture(recv(-1, &b, 1, 0));
     },
     EBADF},
    {"RecvNotSocket",
     {"unix.recv-enotsock"},
     [] {
       Pipe p = Pipe::Create().value();
       char b;
       return Capture(recv(p.read.get(), &b, 1, MSG_DONTWAIT));
     },
     ENOTSOCK},
    {"RecvBadBuffer",
     {"unix.recv-efault"},
     [] {
       SocketPair p = SocketPair::Create(SOCK_DGRAM).value();
       if (send(p.a.get(), "datagram", 8, 0) != 8) return Outcome{-2, errno};
       InaccessiblePage page;
       return Capture(recv(p.b.get(), page.get(), 8, MSG_DONTWAIT));
     },
     EFAULT},
    {"RecvOnListener",
     {"unix.recv-einval"},
     [] {
       AbstractListener l = AbstractListener::Create().value();
       char b;
       return Capture(recv(l.fd.get(), &b, 1, MSG_DONTWAIT));
     },
     EINVAL},
    {"RecvUnconnectedStream",
     {"unix.recv-einval"},
     [] {
       FileDescriptor s(socket(AF_UNIX, SOCK_STREAM, 0));
       char b;
       return Capture(recv(s.get(), &b, 1, MSG_DONTWAIT));
     },
     EINVAL},
};

class UnixErrno : public ::testing::TestWithParam<ErrnoRow> {};

IPC_TEST_P(UnixErrno, FailsWithTheDocumentedErrno) {
  const ErrnoRow& row = GetParam();
  Outcome o = row.call();
  ASSERT_NE(o.result, -2) << "setup failed with " << DescribeErrno(o.err);
  EXPECT_EQ(o.result, -1) << "the call succeeded";
  EXPECT_EQ(o.err, row.err) << "expected " << DescribeErrno(row.err) << ", got " << DescribeErrno(o.err);
}

IPC_INSTANTIATE_TABLE(Table, UnixErrno, kErrnoRows);

// --- per-process descriptor limit
// ---------------------------------------------------------------------------------

// In a child: lowers RLIMIT_NOFILE a little above what is open, then opens /dev/null until EMFILE.
void FillDescriptorTable(int* last = nullptr) {
  int open_now = CountOpenFds();
  ASSERT_GT(open_now, 0);
  ASSERT_TRUE(SetNofile(static_cast<rlim_t>(open_now) + 32)) << DescribeErrno(errno);
  for (int i = 0; i < 4096; ++i) {
    int fd = open("/dev/null", O_RDONLY);
    if (fd >= 0 && last != nullptr) *last = fd;
    if (fd < 0) {
      ASSERT_EQ(errno, EMFILE) << DescribeErrno(errno);
      return;
    }
  }
  FAIL() << "4096 descriptors opened under a limit of " << open_now + 32;
}

IPC_TEST(UnixEmfile, SocketFailsWithEmfileWhenTheTableIsFull, "unix.socket-emfile") {
  Child c = Child::Spawn(
      [&] {
        FillDescriptorTable();
        EXPECT_THAT(socket(AF_UNIX, SOCK_STREAM, 0), SyscallFailsWithErrno(EMFILE));
      },
      {.what = "socket() with a full descriptor table"});
  c.ExpectExited(0);
}

IPC_TEST(UnixEmfile, SocketpairFailsWithEmfileEvenWithOneSlotFree, "unix.socketpair-emfile") {
  Child c = Child::Spawn(
      [&] {
        int last = -1;
        FillDescriptorTable(&last);
        int sv[2] = {-1, -1};
        EXPECT_THAT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), SyscallFailsWithErrno(EMFILE));
        // One free slot is not enough for two descriptors.
        ASSERT_GE(last, 0);
        ASSERT_THAT(close(last), SyscallSucceeds());
        EXPECT_THAT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), SyscallFailsWithErrno(EMFILE));
      },
      {.what = "socketpair() with a full descriptor table"});
  c.ExpectExited(0);
}

IPC_TEST(UnixEmfile, AcceptFailsWithEmfileAndKeepsTheConnectionQueued, "unix.accept-emfile") {
  ASSERT_OK_AND_ASSIGN(AbstractListener l, AbstractListener::Create());
  ASSERT_OK_AND_ASSIGN(FileDescriptor client, Connected(l.addr));
  Child c = Child::Spawn(
      [&] {
        FillDescriptorTable();
        EXPECT_THAT(accept(l.fd.get(), nullptr, nullptr), SyscallFailsWithErrno(EMFILE));
      },
      {.what = "accept() with a full descriptor table"});
  c.ExpectExited(0);
  // A lost connection must fail the test, not block it: the listener itself becomes non-blocking.
  ASSERT_THAT(fcntl(l.fd.get(), F_SETFL, fcntl(l.fd.get(), F_GETFL) | O_NONBLOCK), SyscallSucceeds());
  FileDescriptor a(accept4(l.fd.get(), nullptr, nullptr, SOCK_NONBLOCK));
  EXPECT_TRUE(a.valid()) << "the pending connection was lost: " << DescribeErrno(errno);
}

IPC_TEST(UnixEmfile, ReceivedDescriptorsBeyondTheLimitAreDroppedWithCtrunc, "unix.scm-rights-ctrunc") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_DGRAM));
  ASSERT_OK_AND_ASSIGN(Pipe q, Pipe::Create());
  ASSERT_THAT(SendFds(p.a.get(), {q.write.get()}), SyscallSucceedsWithValue(1));
  Child c = Child::Spawn(
      [&] {
        FillDescriptorTable();
        Received r = RecvFds(p.b.get(), 1, 8, MSG_DONTWAIT);
        EXPECT_EQ(r.n, 1) << DescribeErrno(r.err);
        EXPECT_TRUE(r.msg_flags & MSG_CTRUNC) << "msg_flags " << r.msg_flags;
        EXPECT_TRUE(r.fds.empty());
      },
      {.what = "receiving a descriptor with a full descriptor table"});
  c.ExpectExited(0);
}

// --- interrupted by a signal -------------------------------------------------------------------------------

IPC_TEST(UnixEintr, BlockedRecvIsInterruptedWithEintr, "unix.recv-eintr") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_STREAM));
  Child c = Child::Spawn(
      [&] {
        ScopedSigaction h(SIGUSR1, IgnoreSignal, 0);
        char b;
        EXPECT_THAT(recv(p.b.get(), &b, 1, 0), SyscallFailsWithErrno(EINTR));
      },
      {.what = "blocked in recv until a signal"});
  ASSERT_TRUE(WaitUntilBlockedInOneOf(c.pid(), {SYS_recvfrom, SYS_recvmsg}));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(UnixEintr, BlockedSendIsInterruptedWithEintr, "unix.send-eintr") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_DGRAM));
  ASSERT_GT(FillWithDontwait(p.a.get(), 512), 0);
  Child c = Child::Spawn(
      [&] {
        ScopedSigaction h(SIGUSR1, IgnoreSignal, 0);
        std::string m(512, 'i');
        EXPECT_THAT(send(p.a.get(), m.data(), m.size(), 0), SyscallFailsWithErrno(EINTR));
      },
      {.what = "blocked in send on a full receiver until a signal"});
  ASSERT_TRUE(WaitUntilBlockedInOneOf(c.pid(), {SYS_sendto, SYS_sendmsg}));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

// --- read-only file system
// -----------------------------------------------------------------------------------

IPC_TEST(UnixBindErofs, BindOnAReadOnlyFileSystemFailsWithErofs, "unix.bind-erofs") {
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_SYS_ADMIN, "mount a read-only file system in a new mount namespace");
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  std::string mnt = dir.Path("ro");
  ASSERT_THAT(mkdir(mnt.c_str(), 0755), SyscallSucceeds());
  Child c = Child::SpawnWithExitCode([&]() -> int {
    if (unshare(CLONE_NEWNS) != 0) return 77;
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 78;
    if (mount("ipcsuite-ro", mnt.c_str(), "tmpfs", MS_RDONLY, "size=16k") != 0) return 79;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    UnixAddress a = UnixAddress::Path(mnt + "/s");
    int r = bind(s, a.get(), a.len);
    int err = errno;
    umount(mnt.c_str());
    if (r == 0) return 2;
    return err == EROFS ? 0 : 3;
  });
  ExitStatus st = c.Wait();
  if (st.Exited(77) || st.Exited(78) || st.Exited(79))
    GTEST_SKIP() << "needs a new mount namespace with a read-only tmpfs (unshare/mount refused here: exit "
                 << st.code << ")";
  EXPECT_TRUE(st.Exited(0)) << st.Describe() << " (2: bind succeeded; 3: another errno than EROFS)";
}

}  // namespace
}  // namespace ipc
