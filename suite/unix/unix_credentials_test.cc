// Credentials (unix(7)): SO_PASSCRED makes the kernel attach SCM_CREDENTIALS (pid, uid, gid of the sender)
// to every message; a sender may state its own credentials, and forged ones are refused with EPERM unless it
// has CAP_SYS_ADMIN (pid), CAP_SETUID (uid) or CAP_SETGID (gid); a pid of no process is ESRCH.
// SO_PEERCRED gives the peer's credentials from connect(2)/socketpair(2) time, as mapped into the caller's
// user namespace. Rules: suite/rules/unix.ini.
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "ipcsuite/fixtures.h"
#include "unix_util.h"

namespace ipc {
namespace {

using namespace unix_util;

void EnablePasscred(int fd) {
  int one = 1;
  ASSERT_THAT(setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one), SyscallSucceeds());
}

class UnixCredentialsTypes : public ::testing::TestWithParam<int> {};

IPC_TEST_P(UnixCredentialsTypes, PasscredAttachesTheSendersCredentials, "unix.so-passcred") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  EnablePasscred(p.b.get());
  pid_t parent = getpid();
  Child c = Child::Spawn([&] { ASSERT_THAT(send(p.a.get(), "c", 1, 0), SyscallSucceedsWithValue(1)); },
                         {.what = "sending without credentials"});
  pid_t child = c.pid();
  c.ExpectExited(0);
  ASSERT_THAT(send(p.a.get(), "p", 1, 0), SyscallSucceedsWithValue(1));
  ReceivedCreds fromchild = RecvCreds(p.b.get(), MSG_DONTWAIT);
  ASSERT_EQ(fromchild.n, 1) << DescribeErrno(fromchild.err);
  ASSERT_TRUE(fromchild.has_creds);
  EXPECT_EQ(fromchild.cred.pid, child);
  EXPECT_EQ(fromchild.cred.uid, getuid());
  EXPECT_EQ(fromchild.cred.gid, getgid());
  ReceivedCreds fromparent = RecvCreds(p.b.get(), MSG_DONTWAIT);
  ASSERT_TRUE(fromparent.has_creds) << DescribeErrno(fromparent.err);
  EXPECT_EQ(fromparent.cred.pid, parent);
}

IPC_TEST_P(UnixCredentialsTypes, WithoutPasscredNoCredentialsArrive, "unix.so-passcred") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  ASSERT_THAT(send(p.a.get(), "p", 1, 0), SyscallSucceedsWithValue(1));
  ReceivedCreds r = RecvCreds(p.b.get(), MSG_DONTWAIT);
  ASSERT_EQ(r.n, 1) << DescribeErrno(r.err);
  EXPECT_FALSE(r.has_creds);
}

IPC_TEST_P(UnixCredentialsTypes, OwnCredentialsAreAccepted, "unix.scm-credentials-own") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  EnablePasscred(p.b.get());
  ucred own = {getpid(), getuid(), getgid()};
  ASSERT_THAT(SendCreds(p.a.get(), own), SyscallSucceedsWithValue(1));
  ReceivedCreds r = RecvCreds(p.b.get(), MSG_DONTWAIT);
  ASSERT_TRUE(r.has_creds) << DescribeErrno(r.err);
  EXPECT_EQ(r.cred.pid, own.pid);
  EXPECT_EQ(r.cred.uid, own.uid);
  EXPECT_EQ(r.cred.gid, own.gid);
}

INSTANTIATE_TEST_SUITE_P(Types, UnixCredentialsTypes,
                         ::testing::Values(SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET), TypeParamName);

// One forged field, the capability that would allow it, and the errno without it.
struct ForgedRow {
  const char* name;
  rules::RuleList rules;
  int field;  // 0 pid, 1 uid, 2 gid
  int cap;
  const char* cap_name;
};

const ForgedRow kForged[] = {
    {"Pid", {"unix.eperm-creds"}, 0, CAP_SYS_ADMIN, "CAP_SYS_ADMIN"},
    {"Uid", {"unix.eperm-creds"}, 1, CAP_SETUID, "CAP_SETUID"},
    {"Gid", {"unix.eperm-creds"}, 2, CAP_SETGID, "CAP_SETGID"},
};

class UnixCredentialsForged : public ::testing::TestWithParam<ForgedRow> {};

IPC_TEST_P(UnixCredentialsForged, WithoutTheCapabilityFailsWithEperm) {
  const ForgedRow& row = GetParam();
  // A stated id must be mapped in this user namespace (else the kernel refuses it with EINVAL before it
  // looks at privilege).
  if (row.field != 0) {
    unsigned forged = row.field == 1 ? (getuid() == 0 ? 1u : 0u) : (getgid() == 0 ? 1u : 0u);
    IPC_REQUIRE_MAPPED_IDS(forged, forged);
  }
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_DGRAM));
  EnablePasscred(p.b.get());
  // Another live process's pid: the parent's, seen from the child.
  pid_t other = getpid();
  Child c = Child::Spawn(
      [&] {
        // Drop the capability that would allow the forgery; then an unprivileged identity so that
        // neither the uid nor the gid rules pass by accident.
        if (isolation::HasEffectiveCapability(row.cap)) {
          ASSERT_TRUE(isolation::DropEffectiveCapability(row.cap)) << DescribeErrno(errno);
        }
        ucred cred = {getpid(), getuid(), getgid()};
        if (row.field == 0) cred.pid = other;
        if (row.field == 1) cred.uid = getuid() == 0 ? 1 : 0;
        if (row.field == 2) cred.gid = getgid() == 0 ? 1 : 0;
        EXPECT_THAT(SendCreds(p.a.get(), cred), SyscallFailsWithErrno(EPERM));
      },
      {.what = "sending forged credentials without the capability"});
  c.ExpectExited(0);
  char b;
  EXPECT_THAT(recv(p.b.get(), &b, 1, MSG_DONTWAIT), SyscallFailsWithErrno(EAGAIN))
      << "the forged message arrived";
}

IPC_TEST_P(UnixCredentialsForged, WithTheCapabilityIsAccepted, "unix.scm-credentials-privileged") {
  const ForgedRow& row = GetParam();
  if (!isolation::HasEffectiveCapability(row.cap))
    GTEST_SKIP() << "needs " << row.cap_name << " (effective) to state credentials other than one's own";
  // uid/gid must be mapped in this user namespace to be stated at all.
  IPC_REQUIRE_MAPPED_IDS(1, 1);
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_DGRAM));
  EnablePasscred(p.b.get());
  pid_t parent = getpid();
  Child c = Child::Spawn(
      [&] {
        ucred cred = {getpid(), getuid(), getgid()};
        if (row.field == 0) cred.pid = parent;
        if (row.field == 1) cred.uid = getuid() == 0 ? 1 : 0;
        if (row.field == 2) cred.gid = getgid() == 0 ? 1 : 0;
        EXPECT_THAT(SendCreds(p.a.get(), cred), SyscallSucceedsWithValue(1));
      },
      {.what = "sending stated credentials with the capability"});
  c.ExpectExited(0);
  ReceivedCreds r = RecvCreds(p.b.get(), MSG_DONTWAIT);
  ASSERT_TRUE(r.has_creds) << DescribeErrno(r.err);
  switch (row.field) {
    case 0:
      EXPECT_EQ(r.cred.pid, parent);
      break;
    case 1:
      EXPECT_EQ(r.cred.uid, getuid() == 0 ? 1u : 0u);
      break;
    default:
      EXPECT_EQ(r.cred.gid, getgid() == 0 ? 1u : 0u);
      break;
  }
}

IPC_INSTANTIATE_TABLE(Table, UnixCredentialsForged, kForged);

IPC_TEST(UnixCredentials, PidOfNoProcessFailsWithEsrch, "unix.esrch-creds") {
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_SYS_ADMIN, "state a pid other than one's own");
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_DGRAM));
  EnablePasscred(p.b.get());
  // A pid that existed and is reaped: the child's.
  Child gone = Child::Spawn([] {}, {.what = "exiting at once"});
  pid_t dead = gone.pid();
  gone.ExpectExited(0);
  ucred cred = {dead, getuid(), getgid()};
  if (kill(dead, 0) == 0) GTEST_SKIP() << "pid " << dead << " was reused at once";
  EXPECT_THAT(SendCreds(p.a.get(), cred), SyscallFailsWithErrno(ESRCH));
}

// --- SO_PEERCRED -----------------------------------------------------------------------------------------

IPC_TEST(UnixPeercred, SocketpairGivesTheCreatorsCredentials, "unix.so-peercred") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_STREAM));
  ASSERT_OK_AND_ASSIGN(ucred c, PeerCred(p.a.get()));
  EXPECT_EQ(c.pid, getpid());
  EXPECT_EQ(c.uid, getuid());
  EXPECT_EQ(c.gid, getgid());
}

IPC_TEST(UnixPeercred, ConnectedPeerIsTheConnectingProcessAtConnectTime, "unix.so-peercred") {
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  ASSERT_OK_AND_ASSIGN(AbstractListener l, AbstractListener::Create());
  ASSERT_OK_AND_ASSIGN(Pipe done, Pipe::Create());
  uid_t my_uid = getuid();
  Child c = Child::Spawn(
      [&] {
        done.write.Close();
        ASSERT_OK_AND_ASSIGN(FileDescriptor s, Connected(l.addr));
        // Changing identity after connect changes nothing the peer sees.
        ASSERT_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(ucred listener, PeerCred(s.get()));
        EXPECT_EQ(listener.pid, getppid());
        EXPECT_EQ(listener.uid, my_uid);
        char b;
        EXPECT_THAT(read(done.read.get(), &b, 1), SyscallSucceedsWithValue(0));
      },
      {.what = "connecting, then dropping privileges"});
  done.read.Close();
  FileDescriptor a(accept(l.fd.get(), nullptr, nullptr));
  ASSERT_TRUE(a.valid()) << DescribeErrno(errno);
  // Wait until the child has dropped its privileges: it blocks in read on `done` afterwards.
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_OK_AND_ASSIGN(ucred peer, PeerCred(a.get()));
  EXPECT_EQ(peer.pid, c.pid());
  EXPECT_EQ(peer.uid, my_uid) << "SO_PEERCRED followed the peer's later setuid";
  ASSERT_THAT(done.write.Close(), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(UnixPeercred, UnconnectedStreamSocketHasNoPeer, "unix.so-peercred") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor s, Socket(SOCK_STREAM));
  ASSERT_OK_AND_ASSIGN(ucred c, PeerCred(s.get()));
  // The documented "no peer" value: pid 0, uid and gid -1.
  EXPECT_EQ(c.pid, 0);
  EXPECT_EQ(c.uid, static_cast<uid_t>(-1));
  EXPECT_EQ(c.gid, static_cast<gid_t>(-1));
}

unsigned ReadOverflowId(const char* path) {
  std::ifstream in(path);
  unsigned v = 65534;
  in >> v;
  return v;
}

IPC_TEST(UnixPeercred, CredentialsAreMappedIntoTheReadersUserNamespace, "unix.so-peercred-userns") {
  ASSERT_OK_AND_ASSIGN(AbstractListener l, AbstractListener::Create());
  unsigned overflow_uid = ReadOverflowId("/proc/sys/kernel/overflowuid");
  uid_t my_uid = getuid();
  ASSERT_OK_AND_ASSIGN(Pipe done, Pipe::Create());
  // The child's end of `gone` closes when it exits: a child that cannot make a user namespace ends the
  // wait for its connection at once (its errno is its exit status - 100).
  ASSERT_OK_AND_ASSIGN(Pipe gone, Pipe::Create());
  Child c = Child::SpawnWithExitCode([&]() -> int {
    done.write.Close();
    gone.read.Close();
    // A new user namespace with no mapping: the parent's ids are unmapped here.
    if (unshare(CLONE_NEWUSER) != 0) return 100 + errno;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0 || connect(s, l.addr.get(), l.addr.len) != 0) return 2;
    ucred peer{};
    socklen_t len = sizeof peer;
    if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0) return 3;
    if (peer.uid != overflow_uid) return 4;
    char b;
    if (read(done.read.get(), &b, 1) != 0) return 5;
    return 0;
  });
  done.read.Close();
  gone.write.Close();
  pid_t child = c.pid();
  // The child either connects or exits (100 + errno) when it cannot make a user namespace.
  FileDescriptor a;
  pollfd pfds[2] = {{l.fd.get(), POLLIN, 0}, {gone.read.get(), POLLIN, 0}};
  int ready;
  do ready = poll(pfds, 2, static_cast<int>(ScaledDeadline(milliseconds(5000)).count()));
  while (ready < 0 && errno == EINTR);
  if (pfds[0].revents & POLLIN) a.reset(accept(l.fd.get(), nullptr, nullptr));
  ASSERT_THAT(done.write.Close(), SyscallSucceeds());
  ExitStatus st = c.Wait();
  if (st.kind == ExitStatus::Kind::kExited && st.code > 100)
    GTEST_SKIP() << "needs a new user namespace: unshare(CLONE_NEWUSER) failed in a child with "
                 << ErrnoName(st.code - 100);
  ASSERT_TRUE(a.valid()) << "no connection from the child: " << st.Describe();
  EXPECT_TRUE(st.Exited(0)) << st.Describe()
                            << " (4: the child saw the parent's uid unmapped as other than overflowuid "
                            << overflow_uid << ")";
  // From here, the child's credentials are its real ids (the same as ours), not its namespace's view.
  ASSERT_OK_AND_ASSIGN(ucred peer, PeerCred(a.get()));
  EXPECT_EQ(peer.uid, my_uid);
  EXPECT_EQ(peer.pid, child);
}

}  // namespace
}  // namespace ipc
