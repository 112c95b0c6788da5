// Connection life of AF_UNIX stream and seqpacket sockets: listen(2), accept(2)/accept4(2), connect(2):
// the backlog (EAGAIN for a non-blocking connect, blocking otherwise), ECONNREFUSED, a listener closed with
// pending connections, EPROTOTYPE, datagram association (connect to AF_UNSPEC), permission on the socket
// file, EINTR. Rules: suite/rules/unix.ini.
#include <fcntl.h>
#include <signal.h>
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

class UnixConnectTypes : public ::testing::TestWithParam<int> {};

IPC_TEST_P(UnixConnectTypes, AcceptedConnectionCarriesDataBothWays, "unix.listen-accept-connect") {
  ASSERT_OK_AND_ASSIGN(AbstractListener l, AbstractListener::Create(4, GetParam()));
  ASSERT_OK_AND_ASSIGN(FileDescriptor c, Connected(l.addr, GetParam()));
  FileDescriptor a(accept(l.fd.get(), nullptr, nullptr));
  ASSERT_TRUE(a.valid()) << DescribeErrno(errno);
  ASSERT_THAT(send(c.get(), "hi", 2, 0), SyscallSucceedsWithValue(2));
  ASSERT_THAT(send(a.get(), "yo", 2, 0), SyscallSucceedsWithValue(2));
  char buf[4];
  ASSERT_THAT(recv(a.get(), buf, sizeof buf, MSG_DONTWAIT), SyscallSucceedsWithValue(2));
  EXPECT_EQ(std::string(buf, 2), "hi");
  ASSERT_THAT(recv(c.get(), buf, sizeof buf, MSG_DONTWAIT), SyscallSucceedsWithValue(2));
  EXPECT_EQ(std::string(buf, 2), "yo");
  int type = 0;
  socklen_t len = sizeof type;
  ASSERT_THAT(getsockopt(a.get(), SOL_SOCKET, SO_TYPE, &type, &len), SyscallSucceeds());
  EXPECT_EQ(type, GetParam());
}

IPC_TEST_P(UnixConnectTypes, NonblockingConnectToAFullBacklogFailsWithEagain, "unix.connect-eagain") {
  // Backlog 0: the kernel queues one connection and refuses the next.
  ASSERT_OK_AND_ASSIGN(AbstractListener l, AbstractListener::Create(0, GetParam()));
  std::vector<FileDescriptor> queued;
  for (int i = 0; i < 64; ++i) {
    ASSERT_OK_AND_ASSIGN(FileDescriptor c, Socket(GetParam(), SOCK_NONBLOCK));
    if (connect(c.get(), l.addr.get(), l.addr.len) != 0) {
      EXPECT_EQ(errno, EAGAIN) << DescribeErrno(errno);
      EXPECT_GE(i, 1) << "not even one connection was queued";
      // Accepting one makes room.
      FileDescriptor a(accept(l.fd.get(), nullptr, nullptr));
      ASSERT_TRUE(a.valid()) << DescribeErrno(errno);
      ASSERT_OK_AND_ASSIGN(FileDescriptor d, Socket(GetParam(), SOCK_NONBLOCK));
      EXPECT_THAT(connect(d.get(), l.addr.get(), l.addr.len), SyscallSucceeds());
      return;
    }
    queued.push_back(std::move(c));
  }
  ADD_FAILURE() << "64 non-blocking connections were queued on a listener with backlog 0";
}

IPC_TEST_P(UnixConnectTypes, BlockingConnectWaitsForRoomInTheBacklog, "unix.connect-blocks-backlog-full") {
  ASSERT_OK_AND_ASSIGN(AbstractListener l, AbstractListener::Create(0, GetParam()));
  std::vector<FileDescriptor> queued;
  for (;;) {
    ASSERT_OK_AND_ASSIGN(FileDescriptor c, Socket(GetParam(), SOCK_NONBLOCK));
    if (connect(c.get(), l.addr.get(), l.addr.len) != 0) break;
    queued.push_back(std::move(c));
    ASSERT_LT(queued.size(), 64u);
  }
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(FileDescriptor s, Socket(GetParam()));
        EXPECT_THAT(connect(s.get(), l.addr.get(), l.addr.len), SyscallSucceeds());
      },
      {.what = "blocked in connect on a full backlog"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_connect));
  FileDescriptor a(accept(l.fd.get(), nullptr, nullptr));
  ASSERT_TRUE(a.valid()) << DescribeErrno(errno);
  c.ExpectExited(0);
}

IPC_TEST_P(UnixConnectTypes, ClosingTheListenerResetsPendingConnections, "unix.listener-close-pending") {
  ASSERT_OK_AND_ASSIGN(AbstractListener l, AbstractListener::Create(4, GetParam()));
  ASSERT_OK_AND_ASSIGN(FileDescriptor c, Connected(l.addr, GetParam()));
  ASSERT_OK_AND_ASSIGN(FileDescriptor d, Connected(l.addr, GetParam()));
  ASSERT_THAT(l.fd.Close(), SyscallSucceeds());
  char b;
  // Never accepted: the client sees the connection reset, then end of file, and cannot send.
  EXPECT_THAT(recv(c.get(), &b, 1, MSG_DONTWAIT), SyscallFailsWithErrno(ECONNRESET));
  EXPECT_THAT(recv(c.get(), &b, 1, MSG_DONTWAIT), SyscallSucceedsWithValue(0));
  // A stream send sees the closed peer (EPIPE); a seqpacket send first reports the reset.
  EXPECT_THAT(send(d.get(), "x", 1, MSG_NOSIGNAL),
              SyscallFailsWithErrno(GetParam() == SOCK_STREAM ? EPIPE : ECONNRESET));
  // And the name is free (abstract) and refuses new connections until bound again.
  ASSERT_OK_AND_ASSIGN(FileDescriptor e, Socket(GetParam()));
  EXPECT_THAT(connect(e.get(), l.addr.get(), l.addr.len), SyscallFailsWithErrno(ECONNREFUSED));
}

IPC_TEST_P(UnixConnectTypes, BlockedAcceptIsWokenByAConnection, "unix.listen-accept-connect") {
  ASSERT_OK_AND_ASSIGN(AbstractListener l, AbstractListener::Create(4, GetParam()));
  Child c = Child::Spawn(
      [&] {
        FileDescriptor a(accept(l.fd.get(), nullptr, nullptr));
        ASSERT_TRUE(a.valid()) << DescribeErrno(errno);
        char b = 0;
        EXPECT_THAT(recv(a.get(), &b, 1, 0), SyscallSucceedsWithValue(1));
        EXPECT_EQ(b, 'k');
      },
      {.what = "blocked in accept"});
  ASSERT_TRUE(WaitUntilBlockedInOneOf(c.pid(), {SYS_accept, SYS_accept4}));
  ASSERT_OK_AND_ASSIGN(FileDescriptor s, Connected(l.addr, GetParam()));
  ASSERT_THAT(send(s.get(), "k", 1, 0), SyscallSucceedsWithValue(1));
  c.ExpectExited(0);
}

IPC_TEST_P(UnixConnectTypes, ConnectToADatagramSocketFailsWithEprototype, "unix.connect-eprototype",
           "unix.eprototype") {
  // A pathname: the abstract namespace is looked up per type, so there the mismatch reads ECONNREFUSED.
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  UnixAddress addr = UnixAddress::Path(dir.Path(UniqueSocketName()));
  ASSERT_OK_AND_ASSIGN(FileDescriptor d, BoundSocket(SOCK_DGRAM, addr));
  ASSERT_OK_AND_ASSIGN(FileDescriptor s, Socket(GetParam()));
  EXPECT_THAT(connect(s.get(), addr.get(), addr.len), SyscallFailsWithErrno(EPROTOTYPE));
}

INSTANTIATE_TEST_SUITE_P(Types, UnixConnectTypes, ::testing::Values(SOCK_STREAM, SOCK_SEQPACKET),
                         TypeParamName);

IPC_TEST(UnixConnect, StreamToSeqpacketListenerFailsWithEprototype, "unix.connect-eprototype",
         "unix.eprototype") {
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  UnixAddress addr = UnixAddress::Path(dir.Path(UniqueSocketName()));
  ASSERT_OK_AND_ASSIGN(FileDescriptor l, Listener(addr, 4, SOCK_SEQPACKET));
  ASSERT_OK_AND_ASSIGN(FileDescriptor s, Socket(SOCK_STREAM));
  EXPECT_THAT(connect(s.get(), addr.get(), addr.len), SyscallFailsWithErrno(EPROTOTYPE));
  // And a datagram socket cannot send to a stream listener.
  ASSERT_OK_AND_ASSIGN(FileDescriptor d, Socket(SOCK_DGRAM));
  EXPECT_THAT(sendto(d.get(), "x", 1, 0, addr.get(), addr.len), SyscallFailsWithErrno(EPROTOTYPE));
}

IPC_TEST(UnixConnect, BoundButNotListeningFailsWithEconnrefused, "unix.connect-econnrefused",
         "unix.econnrefused") {
  UnixAddress addr = UnixAddress::Abstract(UniqueAbstractName());
  ASSERT_OK_AND_ASSIGN(FileDescriptor b, BoundSocket(SOCK_STREAM, addr));
  ASSERT_OK_AND_ASSIGN(FileDescriptor s, Socket(SOCK_STREAM));
  EXPECT_THAT(connect(s.get(), addr.get(), addr.len), SyscallFailsWithErrno(ECONNREFUSED));
}

IPC_TEST(UnixConnect, PathThatIsNotASocketFailsWithEconnrefused, "unix.econnrefused",
         "unix.connect-econnrefused") {
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  ASSERT_OK_AND_ASSIGN(std::string file, dir.MakeFile("plain", 0666));
  UnixAddress addr = UnixAddress::Path(file);
  ASSERT_OK_AND_ASSIGN(FileDescriptor s, Socket(SOCK_STREAM));
  EXPECT_THAT(connect(s.get(), addr.get(), addr.len), SyscallFailsWithErrno(ECONNREFUSED));
}

IPC_TEST(UnixConnect, MissingPathFailsWithEnoent, "unix.enoent") {
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  UnixAddress addr = UnixAddress::Path(dir.Path("absent"));
  ASSERT_OK_AND_ASSIGN(FileDescriptor s, Socket(SOCK_STREAM));
  EXPECT_THAT(connect(s.get(), addr.get(), addr.len), SyscallFailsWithErrno(ENOENT));
  ASSERT_OK_AND_ASSIGN(FileDescriptor d, Socket(SOCK_DGRAM));
  EXPECT_THAT(sendto(d.get(), "x", 1, 0, addr.get(), addr.len), SyscallFailsWithErrno(ENOENT));
}

IPC_TEST(UnixConnect, ConnectOnAConnectedStreamSocketFailsWithEisconn, "unix.connect-eisconn",
         "unix.eisconn") {
  ASSERT_OK_AND_ASSIGN(AbstractListener l, AbstractListener::Create());
  ASSERT_OK_AND_ASSIGN(FileDescriptor c, Connected(l.addr));
  EXPECT_THAT(connect(c.get(), l.addr.get(), l.addr.len), SyscallFailsWithErrno(EISCONN));
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_STREAM));
  EXPECT_THAT(connect(p.a.get(), l.addr.get(), l.addr.len), SyscallFailsWithErrno(EISCONN));
}

IPC_TEST(UnixConnect, BlockedConnectIsInterruptedWithEintr, "unix.connect-eintr") {
  ASSERT_OK_AND_ASSIGN(AbstractListener l, AbstractListener::Create(0));
  std::vector<FileDescriptor> queued;
  for (;;) {
    ASSERT_OK_AND_ASSIGN(FileDescriptor c, Socket(SOCK_STREAM, SOCK_NONBLOCK));
    if (connect(c.get(), l.addr.get(), l.addr.len) != 0) break;
    queued.push_back(std::move(c));
    ASSERT_LT(queued.size(), 64u);
  }
  Child c = Child::Spawn(
      [&] {
        ScopedSigaction h(SIGUSR1, IgnoreSignal, 0);
        ASSERT_OK_AND_ASSIGN(FileDescriptor s, Socket(SOCK_STREAM));
        EXPECT_THAT(connect(s.get(), l.addr.get(), l.addr.len), SyscallFailsWithErrno(EINTR));
      },
      {.what = "blocked in connect until a signal"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_connect));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(UnixConnect, BlockedAcceptIsInterruptedWithEintr, "unix.accept-eintr") {
  ASSERT_OK_AND_ASSIGN(AbstractListener l, AbstractListener::Create());
  Child c = Child::Spawn(
      [&] {
        ScopedSigaction h(SIGUSR1, IgnoreSignal, 0);
        EXPECT_THAT(accept(l.fd.get(), nullptr, nullptr), SyscallFailsWithErrno(EINTR));
      },
      {.what = "blocked in accept until a signal"});
  ASSERT_TRUE(WaitUntilBlockedInOneOf(c.pid(), {SYS_accept, SYS_accept4}));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(UnixConnect, NonblockingAcceptWithoutConnectionsFailsWithEagain, "unix.accept-eagain") {
  ASSERT_OK_AND_ASSIGN(AbstractListener l, AbstractListener::Create(4, SOCK_STREAM, SOCK_NONBLOCK));
  EXPECT_THAT(accept(l.fd.get(), nullptr, nullptr), SyscallFailsWithErrno(EAGAIN));
}

IPC_TEST(UnixConnect, Accept4SetsNonblockAndCloexecOnTheNewSocket, "unix.accept4-flags") {
  ASSERT_OK_AND_ASSIGN(AbstractListener l, AbstractListener::Create());
  ASSERT_OK_AND_ASSIGN(FileDescriptor c1, Connected(l.addr));
  ASSERT_OK_AND_ASSIGN(FileDescriptor c2, Connected(l.addr));
  FileDescriptor a(accept4(l.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  ASSERT_TRUE(a.valid()) << DescribeErrno(errno);
  EXPECT_TRUE(fcntl(a.get(), F_GETFL) & O_NONBLOCK);
  EXPECT_EQ(fcntl(a.get(), F_GETFD), FD_CLOEXEC);
  FileDescriptor b(accept4(l.fd.get(), nullptr, nullptr, 0));
  ASSERT_TRUE(b.valid()) << DescribeErrno(errno);
  EXPECT_FALSE(fcntl(b.get(), F_GETFL) & O_NONBLOCK);
  EXPECT_EQ(fcntl(b.get(), F_GETFD), 0);
}

IPC_TEST(UnixConnect, ConnectionsAreAcceptedInArrivalOrder, "unix.listen-accept-connect") {
  ASSERT_OK_AND_ASSIGN(AbstractListener l, AbstractListener::Create(8));
  std::vector<FileDescriptor> clients;
  for (char tag = 'a'; tag < 'e'; ++tag) {
    ASSERT_OK_AND_ASSIGN(FileDescriptor c, Connected(l.addr));
    ASSERT_THAT(send(c.get(), &tag, 1, 0), SyscallSucceedsWithValue(1));
    clients.push_back(std::move(c));
  }
  for (char tag = 'a'; tag < 'e'; ++tag) {
    FileDescriptor a(accept(l.fd.get(), nullptr, nullptr));
    ASSERT_TRUE(a.valid()) << DescribeErrno(errno);
    char got = 0;
    ASSERT_THAT(recv(a.get(), &got, 1, MSG_DONTWAIT), SyscallSucceedsWithValue(1));
    EXPECT_EQ(got, tag);
  }
}

// --- datagram association --------------------------------------------------------------------------------

IPC_TEST(UnixConnectDgram, ConnectSetsTheDefaultDestination, "unix.dgram-connect") {
  UnixAddress addr = UnixAddress::Abstract(UniqueAbstractName());
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, BoundSocket(SOCK_DGRAM, addr));
  ASSERT_OK_AND_ASSIGN(FileDescriptor s, Connected(addr, SOCK_DGRAM));
  ASSERT_THAT(send(s.get(), "d", 1, 0), SyscallSucceedsWithValue(1));
  char b;
  EXPECT_THAT(recv(r.get(), &b, 1, MSG_DONTWAIT), SyscallSucceedsWithValue(1));
}

IPC_TEST(UnixConnectDgram, ConnectCanBeChangedAndDissolvedWithAfUnspec, "unix.dgram-connect") {
  UnixAddress a1 = UnixAddress::Abstract(UniqueAbstractName());
  UnixAddress a2 = UnixAddress::Abstract(UniqueAbstractName());
  ASSERT_OK_AND_ASSIGN(FileDescriptor r1, BoundSocket(SOCK_DGRAM, a1));
  ASSERT_OK_AND_ASSIGN(FileDescriptor r2, BoundSocket(SOCK_DGRAM, a2));
  ASSERT_OK_AND_ASSIGN(FileDescriptor s, Connected(a1, SOCK_DGRAM));
  ASSERT_THAT(connect(s.get(), a2.get(), a2.len), SyscallSucceeds());
  ASSERT_THAT(send(s.get(), "2", 1, 0), SyscallSucceedsWithValue(1));
  char b;
  EXPECT_THAT(recv(r2.get(), &b, 1, MSG_DONTWAIT), SyscallSucceedsWithValue(1));
  EXPECT_THAT(recv(r1.get(), &b, 1, MSG_DONTWAIT), SyscallFailsWithErrno(EAGAIN));
  sockaddr unspec{};
  unspec.sa_family = AF_UNSPEC;
  ASSERT_THAT(connect(s.get(), &unspec, sizeof unspec), SyscallSucceeds());
  EXPECT_THAT(send(s.get(), "x", 1, 0), SyscallFailsWithErrno(ENOTCONN));
}

// --- permission on the socket file ---------------------------------------------------------------------

IPC_TEST(UnixConnectPermission, ConnectNeedsWritePermissionOnTheSocketFile, "unix.connect-eacces") {
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  std::string path = dir.Path(UniqueSocketName());
  UnixAddress addr = UnixAddress::Path(path);
  ASSERT_OK_AND_ASSIGN(FileDescriptor l, Listener(addr));
  ASSERT_THAT(chmod(path.c_str(), 0555), SyscallSucceeds());  // no write for anyone, the owner included
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(FileDescriptor s, Socket(SOCK_STREAM));
        EXPECT_THAT(connect(s.get(), addr.get(), addr.len), SyscallFailsWithErrno(EACCES));
      },
      {.what = "connecting without write permission"});
  c.ExpectExited(0);
  // With write permission for others the same child connects.
  ASSERT_THAT(chmod(path.c_str(), 0777), SyscallSucceeds());
  Child d = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(FileDescriptor s, Socket(SOCK_STREAM));
        EXPECT_THAT(connect(s.get(), addr.get(), addr.len), SyscallSucceeds());
      },
      {.what = "connecting with write permission"});
  d.ExpectExited(0);
}

IPC_TEST(UnixConnectPermission, OwnerWithoutCapDacOverrideIsRefusedByMode, "unix.connect-eacces",
         "unix.send-eacces") {
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_DAC_OVERRIDE, "drop it in a child and see the mode apply");
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  std::string path = dir.Path(UniqueSocketName());
  UnixAddress addr = UnixAddress::Path(path);
  std::string dpath = dir.Path(UniqueSocketName());
  UnixAddress daddr = UnixAddress::Path(dpath);
  ASSERT_OK_AND_ASSIGN(FileDescriptor l, Listener(addr));
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, BoundSocket(SOCK_DGRAM, daddr));
  ASSERT_THAT(chmod(path.c_str(), 0500), SyscallSucceeds());
  ASSERT_THAT(chmod(dpath.c_str(), 0500), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_TRUE(isolation::DropEffectiveCapability(CAP_DAC_OVERRIDE)) << DescribeErrno(errno);
        ASSERT_OK_AND_ASSIGN(FileDescriptor s, Socket(SOCK_STREAM));
        EXPECT_THAT(connect(s.get(), addr.get(), addr.len), SyscallFailsWithErrno(EACCES));
        ASSERT_OK_AND_ASSIGN(FileDescriptor d, Socket(SOCK_DGRAM));
        EXPECT_THAT(sendto(d.get(), "x", 1, 0, daddr.get(), daddr.len), SyscallFailsWithErrno(EACCES));
      },
      {.what = "connecting to a mode 0500 socket file without CAP_DAC_OVERRIDE"});
  c.ExpectExited(0);
}

IPC_TEST(UnixConnectPermission, CapDacOverrideBypassesTheMode, "unix.connect-permission-override") {
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_DAC_OVERRIDE, "connect to a socket file whose mode denies writing");
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  std::string path = dir.Path(UniqueSocketName());
  UnixAddress addr = UnixAddress::Path(path);
  ASSERT_OK_AND_ASSIGN(FileDescriptor l, Listener(addr));
  ASSERT_THAT(chmod(path.c_str(), 0), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(FileDescriptor s, Socket(SOCK_STREAM));
  EXPECT_THAT(connect(s.get(), addr.get(), addr.len), SyscallSucceeds());
}

IPC_TEST(UnixConnectPermission, SearchPermissionOnTheDirectoryIsNeeded, "unix.bind-eacces",
         "unix.connect-eacces") {
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  std::string sub = dir.Path("closed");
  ASSERT_THAT(mkdir(sub.c_str(), 0700), SyscallSucceeds());
  std::string path = sub + "/" + UniqueSocketName();
  UnixAddress addr = UnixAddress::Path(path);
  ASSERT_OK_AND_ASSIGN(FileDescriptor l, Listener(addr));
  ASSERT_THAT(chmod(path.c_str(), 0777), SyscallSucceeds());
  // No search permission for anyone (the owner included, should the child be the same user), restored on
  // the way out so that the TempDir can be removed.
  ASSERT_THAT(chmod(sub.c_str(), 0), SyscallSucceeds());
  struct RestoreMode {
    std::string path;
    ~RestoreMode() { chmod(path.c_str(), 0700); }
  } restore{sub};
  std::string ro = dir.Path("readonly");
  ASSERT_THAT(mkdir(ro.c_str(), 0555), SyscallSucceeds());  // no write permission for anyone
  UnixAddress fresh = UnixAddress::Path(sub + "/new");
  UnixAddress unwritable = UnixAddress::Path(ro + "/new");
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(FileDescriptor s, Socket(SOCK_STREAM));
        EXPECT_THAT(connect(s.get(), addr.get(), addr.len), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(bind(s.get(), fresh.get(), fresh.len), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(bind(s.get(), unwritable.get(), unwritable.len), SyscallFailsWithErrno(EACCES));
      },
      {.what = "binding and connecting below a directory without search or write permission"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
