// unix(7) "Address format": pathname sockets (the socket file bind(2) creates, EADDRINUSE, removal is the
// user's job, the length of sun_path), abstract sockets (leading NUL, no file, gone with the socket, per
// network namespace), unnamed sockets, autobind, getsockname(2) and getpeername(2).
// Rules: suite/rules/unix.ini.
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cstddef>
#include <string>

#include "ipcsuite/fixtures.h"
#include "unix_util.h"

namespace ipc {
namespace {

using namespace unix_util;

// --- pathname --------------------------------------------------------------------------------------------

IPC_TEST(UnixAddressPathname, BindCreatesASocketFile, "unix.pathname-bind-creates-file") {
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  std::string path = dir.Path(UniqueSocketName());
  struct stat st;
  ASSERT_THAT(stat(path.c_str(), &st), SyscallFailsWithErrno(ENOENT));
  ASSERT_OK_AND_ASSIGN(FileDescriptor s, BoundSocket(SOCK_STREAM, UnixAddress::Path(path)));
  ASSERT_THAT(stat(path.c_str(), &st), SyscallSucceeds());
  EXPECT_TRUE(S_ISSOCK(st.st_mode)) << std::oct << st.st_mode;
}

IPC_TEST(UnixAddressPathname, SocketFileModeFollowsTheUmask, "unix.pathname-bind-creates-file") {
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  std::string path = dir.Path(UniqueSocketName());
  Child c = Child::Spawn(
      [&] {
        umask(027);
        ASSERT_OK_AND_ASSIGN(FileDescriptor s, BoundSocket(SOCK_DGRAM, UnixAddress::Path(path)));
        struct stat st;
        ASSERT_THAT(stat(path.c_str(), &st), SyscallSucceeds());
        EXPECT_EQ(st.st_mode & 0777, 0750u) << std::oct << st.st_mode;
      },
      {.what = "binding under umask 027"});
  c.ExpectExited(0);
}

IPC_TEST(UnixAddressPathname, BindingAnExistingPathFailsWithEaddrinuse, "unix.bind-eaddrinuse",
         "unix.eaddrinuse") {
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  UnixAddress addr = UnixAddress::Path(dir.Path(UniqueSocketName()));
  ASSERT_OK_AND_ASSIGN(FileDescriptor s, BoundSocket(SOCK_STREAM, addr));
  ASSERT_OK_AND_ASSIGN(FileDescriptor t, Socket(SOCK_STREAM));
  EXPECT_THAT(bind(t.get(), addr.get(), addr.len), SyscallFailsWithErrno(EADDRINUSE));
  // Any existing file, not only a socket.
  ASSERT_OK_AND_ASSIGN(std::string file, dir.MakeFile("regular"));
  UnixAddress faddr = UnixAddress::Path(file);
  EXPECT_THAT(bind(t.get(), faddr.get(), faddr.len), SyscallFailsWithErrno(EADDRINUSE));
}

IPC_TEST(UnixAddressPathname, SocketFileOutlivesTheSocketUntilUnlinked, "unix.pathname-not-removed") {
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  std::string path = dir.Path(UniqueSocketName());
  UnixAddress addr = UnixAddress::Path(path);
  { ASSERT_OK_AND_ASSIGN(FileDescriptor s, BoundSocket(SOCK_STREAM, addr)); }
  struct stat st;
  ASSERT_THAT(stat(path.c_str(), &st), SyscallSucceeds()) << "the socket file went away with the socket";
  ASSERT_OK_AND_ASSIGN(FileDescriptor t, Socket(SOCK_STREAM));
  EXPECT_THAT(bind(t.get(), addr.get(), addr.len), SyscallFailsWithErrno(EADDRINUSE));
  // Nobody listens there any more.
  ASSERT_OK_AND_ASSIGN(FileDescriptor u, Socket(SOCK_STREAM));
  EXPECT_THAT(connect(u.get(), addr.get(), addr.len), SyscallFailsWithErrno(ECONNREFUSED));
  ASSERT_THAT(unlink(path.c_str()), SyscallSucceeds());
  EXPECT_THAT(bind(t.get(), addr.get(), addr.len), SyscallSucceeds());
}

IPC_TEST(UnixAddressPathname, GetsocknameReturnsThePathAndItsLength, "unix.getsockname") {
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  std::string path = dir.Path(UniqueSocketName());
  ASSERT_OK_AND_ASSIGN(FileDescriptor s, BoundSocket(SOCK_STREAM, UnixAddress::Path(path)));
  ASSERT_OK_AND_ASSIGN(UnixAddress a, AddressOf(s.get()));
  EXPECT_EQ(a.addr.sun_family, AF_UNIX);
  EXPECT_EQ(a.len, offsetof(sockaddr_un, sun_path) + path.size() + 1);
  EXPECT_EQ(std::string(a.addr.sun_path), path);
}

IPC_TEST(UnixAddressPathname, GetsocknameTruncatesToTheGivenLengthAndReportsTheRealOne, "unix.getsockname") {
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  std::string path = dir.Path(UniqueSocketName());
  ASSERT_OK_AND_ASSIGN(FileDescriptor s, BoundSocket(SOCK_STREAM, UnixAddress::Path(path)));
  sockaddr_un a;
  std::memset(&a, 0x7f, sizeof a);
  socklen_t len = offsetof(sockaddr_un, sun_path) + 4;
  ASSERT_THAT(getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len), SyscallSucceeds());
  EXPECT_EQ(len, offsetof(sockaddr_un, sun_path) + path.size() + 1);
  EXPECT_EQ(std::string(a.sun_path, 4), path.substr(0, 4));
  EXPECT_EQ(a.sun_path[4], 0x7f) << "getsockname wrote past the length it was given";
}

IPC_TEST(UnixAddressPathname, PeerAddressesOfAnAcceptedConnection, "unix.getpeername", "unix.getsockname") {
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  std::string path = dir.Path(UniqueSocketName());
  UnixAddress addr = UnixAddress::Path(path);
  ASSERT_OK_AND_ASSIGN(FileDescriptor l, Listener(addr));
  ASSERT_OK_AND_ASSIGN(FileDescriptor c, Connected(addr));
  FileDescriptor a(accept(l.get(), nullptr, nullptr));
  ASSERT_TRUE(a.valid()) << DescribeErrno(errno);
  // The client's peer is the listener's address; the client itself is unnamed.
  ASSERT_OK_AND_ASSIGN(UnixAddress cpeer, AddressOf(c.get(), true));
  EXPECT_EQ(std::string(cpeer.addr.sun_path), path);
  ASSERT_OK_AND_ASSIGN(UnixAddress apeer, AddressOf(a.get(), true));
  EXPECT_EQ(apeer.len, sizeof(sa_family_t));
  // The accepted socket has the listener's address.
  ASSERT_OK_AND_ASSIGN(UnixAddress aself, AddressOf(a.get()));
  EXPECT_EQ(std::string(aself.addr.sun_path), path);
}

IPC_TEST(UnixAddressPathname, LongestPathThatFitsSunPathWorks, "unix.path-length") {
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  // A path of exactly sizeof(sun_path) - 1 bytes plus its terminator.
  size_t room = sizeof(sockaddr_un{}.sun_path) - 1;
  std::string prefix = dir.path() + "/";
  ASSERT_LT(prefix.size() + 8, room) << "$TMPDIR is too long for this test";
  std::string path = prefix + std::string(room - prefix.size(), 'p');
  ASSERT_EQ(path.size(), room);
  UnixAddress addr = UnixAddress::Path(path);
  ASSERT_EQ(addr.len, sizeof(sockaddr_un));
  ASSERT_OK_AND_ASSIGN(FileDescriptor l, Listener(addr));
  ASSERT_OK_AND_ASSIGN(FileDescriptor c, Connected(addr));
  ASSERT_OK_AND_ASSIGN(UnixAddress got, AddressOf(l.get()));
  EXPECT_EQ(std::string(got.addr.sun_path, strnlen(got.addr.sun_path, sizeof got.addr.sun_path)), path);
}

IPC_TEST(UnixAddressPathname, AddressLongerThanSockaddrUnFailsWithEinval, "unix.path-length",
         "unix.bind-einval-addr") {
  struct {
    sockaddr_un un;
    char more[16];
  } big{};
  big.un.sun_family = AF_UNIX;
  std::memset(big.un.sun_path, 'q', sizeof big.un.sun_path);
  ASSERT_OK_AND_ASSIGN(FileDescriptor s, Socket(SOCK_STREAM));
  EXPECT_THAT(bind(s.get(), reinterpret_cast<sockaddr*>(&big), sizeof big), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(connect(s.get(), reinterpret_cast<sockaddr*>(&big), sizeof big), SyscallFailsWithErrno(EINVAL));
}

// --- abstract ------------------------------------------------------------------------------------------

IPC_TEST(UnixAddressAbstract, BindsWithoutCreatingAFile, "unix.abstract-name") {
  std::string name = UniqueAbstractName();
  ASSERT_OK_AND_ASSIGN(FileDescriptor l, Listener(UnixAddress::Abstract(name)));
  ASSERT_OK_AND_ASSIGN(UnixAddress a, AddressOf(l.get()));
  EXPECT_EQ(a.len, offsetof(sockaddr_un, sun_path) + 1 + name.size());
  EXPECT_EQ(a.addr.sun_path[0], '\0');
  EXPECT_EQ(std::string(a.addr.sun_path + 1, name.size()), name);
  struct stat st;
  EXPECT_THAT(stat(name.c_str(), &st), SyscallFailsWithErrno(ENOENT));
  // Reachable by the name, and the name is exactly the bytes covered by the length.
  ASSERT_OK_AND_ASSIGN(FileDescriptor c, Connected(UnixAddress::Abstract(name)));
  ASSERT_OK_AND_ASSIGN(FileDescriptor d, Socket(SOCK_STREAM));
  UnixAddress shorter = UnixAddress::Abstract(name.substr(0, name.size() - 1));
  EXPECT_THAT(connect(d.get(), shorter.get(), shorter.len), SyscallFailsWithErrno(ECONNREFUSED));
}

IPC_TEST(UnixAddressAbstract, NameInUseFailsWithEaddrinuse, "unix.abstract-name", "unix.eaddrinuse",
         "unix.bind-eaddrinuse") {
  UnixAddress addr = UnixAddress::Abstract(UniqueAbstractName());
  ASSERT_OK_AND_ASSIGN(FileDescriptor s, BoundSocket(SOCK_DGRAM, addr));
  ASSERT_OK_AND_ASSIGN(FileDescriptor t, Socket(SOCK_DGRAM));
  EXPECT_THAT(bind(t.get(), addr.get(), addr.len), SyscallFailsWithErrno(EADDRINUSE));
}

IPC_TEST(UnixAddressAbstract, NameVanishesWhenTheSocketIsClosed, "unix.abstract-vanishes") {
  UnixAddress addr = UnixAddress::Abstract(UniqueAbstractName());
  { ASSERT_OK_AND_ASSIGN(FileDescriptor s, Listener(addr)); }
  ASSERT_OK_AND_ASSIGN(FileDescriptor c, Socket(SOCK_STREAM));
  EXPECT_THAT(connect(c.get(), addr.get(), addr.len), SyscallFailsWithErrno(ECONNREFUSED));
  ASSERT_OK_AND_ASSIGN(FileDescriptor t, BoundSocket(SOCK_STREAM, addr));
}

IPC_TEST(UnixAddressAbstract, NamesAreSeparateInANewNetworkNamespace, "unix.abstract-per-netns") {
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_SYS_ADMIN, "unshare(CLONE_NEWNET) a network namespace");
  UnixAddress addr = UnixAddress::Abstract(UniqueAbstractName());
  ASSERT_OK_AND_ASSIGN(FileDescriptor l, Listener(addr));
  Child c = Child::SpawnWithExitCode([&]() -> int {
    if (unshare(CLONE_NEWNET) != 0) return 77;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0) return 2;
    // The parent's name is not visible here, and is free to bind.
    if (connect(s, addr.get(), addr.len) == 0 || errno != ECONNREFUSED) return 3;
    int t = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(t, addr.get(), addr.len) != 0) return 4;
    return 0;
  });
  ExitStatus st = c.Wait();
  if (st.Exited(77)) GTEST_SKIP() << "needs a new network namespace: unshare(CLONE_NEWNET) failed here";
  EXPECT_TRUE(st.Exited(0))
      << st.Describe()
      << " (3: the parent's abstract name was reachable from the new network namespace; "
         "4: binding it there failed)";
  // The parent's listener still has its name.
  ASSERT_OK_AND_ASSIGN(FileDescriptor again, Connected(addr));
}

IPC_TEST(UnixAddressAbstract, NulBytesInsideTheNameAreSignificant, "unix.abstract-name") {
  std::string base = UniqueAbstractName();
  std::string with_nul = base + std::string(1, '\0') + "tail";
  ASSERT_OK_AND_ASSIGN(FileDescriptor l, Listener(UnixAddress::Abstract(with_nul)));
  ASSERT_OK_AND_ASSIGN(FileDescriptor c, Connected(UnixAddress::Abstract(with_nul)));
  ASSERT_OK_AND_ASSIGN(FileDescriptor d, Socket(SOCK_STREAM));
  UnixAddress plain = UnixAddress::Abstract(base);
  EXPECT_THAT(connect(d.get(), plain.get(), plain.len), SyscallFailsWithErrno(ECONNREFUSED));
}

// --- autobind and unnamed
// -------------------------------------------------------------------------------------

bool IsAutobindName(const UnixAddress& a) {
  if (a.len != offsetof(sockaddr_un, sun_path) + 6 || a.addr.sun_path[0] != '\0') return false;
  for (int i = 1; i <= 5; ++i)
    if (!std::isxdigit(static_cast<unsigned char>(a.addr.sun_path[i]))) return false;
  return true;
}

IPC_TEST(UnixAddressAutobind, BindWithOnlyTheFamilyPicksAnAbstractName, "unix.autobind") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor s, BoundSocket(SOCK_DGRAM, UnixAddress::FamilyOnly()));
  ASSERT_OK_AND_ASSIGN(UnixAddress a, AddressOf(s.get()));
  EXPECT_TRUE(IsAutobindName(a)) << "length " << a.len << ", name "
                                 << ::testing::PrintToString(a.PathBytes());
  // Another autobound socket gets another name.
  ASSERT_OK_AND_ASSIGN(FileDescriptor t, BoundSocket(SOCK_DGRAM, UnixAddress::FamilyOnly()));
  ASSERT_OK_AND_ASSIGN(UnixAddress b, AddressOf(t.get()));
  EXPECT_NE(a.PathBytes(), b.PathBytes());
  // The name is an address others can send to.
  ASSERT_OK_AND_ASSIGN(FileDescriptor u, Socket(SOCK_DGRAM));
  ASSERT_THAT(sendto(u.get(), "a", 1, 0, a.get(), a.len), SyscallSucceedsWithValue(1));
  char c;
  EXPECT_THAT(recv(s.get(), &c, 1, MSG_DONTWAIT), SyscallSucceedsWithValue(1));
}

IPC_TEST(UnixAddressAutobind, PasscredOnAnUnboundSocketAutobindsOnConnect, "unix.autobind") {
  ASSERT_OK_AND_ASSIGN(AbstractListener l, AbstractListener::Create());
  ASSERT_OK_AND_ASSIGN(FileDescriptor c, Socket(SOCK_STREAM));
  int one = 1;
  ASSERT_THAT(setsockopt(c.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one), SyscallSucceeds());
  ASSERT_THAT(connect(c.get(), l.addr.get(), l.addr.len), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(UnixAddress a, AddressOf(c.get()));
  EXPECT_TRUE(IsAutobindName(a)) << "length " << a.len;
  // Without SO_PASSCRED the client stays unnamed.
  ASSERT_OK_AND_ASSIGN(FileDescriptor d, Connected(l.addr));
  ASSERT_OK_AND_ASSIGN(UnixAddress b, AddressOf(d.get()));
  EXPECT_EQ(b.len, sizeof(sa_family_t));
}

IPC_TEST(UnixAddressUnnamed, UnboundSocketIsUnnamed, "unix.unnamed", "unix.getsockname") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor s, Socket(SOCK_STREAM));
  ASSERT_OK_AND_ASSIGN(UnixAddress a, AddressOf(s.get()));
  EXPECT_EQ(a.len, sizeof(sa_family_t));
  EXPECT_EQ(a.addr.sun_family, AF_UNIX);
}

IPC_TEST(UnixAddressGetpeername, UnconnectedSocketFailsWithEnotconn, "unix.getpeername") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor s, Socket(SOCK_STREAM));
  sockaddr_un a;
  socklen_t len = sizeof a;
  EXPECT_THAT(getpeername(s.get(), reinterpret_cast<sockaddr*>(&a), &len), SyscallFailsWithErrno(ENOTCONN));
}

IPC_TEST(UnixAddressGetpeername, DatagramPeerIsTheConnectedAddress, "unix.getpeername") {
  UnixAddress addr = UnixAddress::Abstract(UniqueAbstractName());
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, BoundSocket(SOCK_DGRAM, addr));
  ASSERT_OK_AND_ASSIGN(FileDescriptor s, Connected(addr, SOCK_DGRAM));
  ASSERT_OK_AND_ASSIGN(UnixAddress p, AddressOf(s.get(), true));
  EXPECT_EQ(p.PathBytes(), addr.PathBytes());
}

}  // namespace
}  // namespace ipc
