// The lifetime of an IPC namespace and of the objects in it (ipc_namespaces(7), namespaces(7)).
//
// - Held open: a descriptor for /proc/<pid>/ns/ipc keeps the namespace in existence after its last process
//   exits (namespaces(7)); a process that setns(2)es into it finds its queue, set and segment intact.
// - Destroyed: "when an IPC namespace is destroyed (i.e., when the last process that is a member of the
//   namespace terminates), all IPC objects in the namespace are automatically destroyed" (ipc_namespaces(7)).
//   A destroyed namespace cannot be looked into, so the test watches something outside it that an object in
//   it holds: a segment locked with SHM_LOCK charges its pages to its user's RLIMIT_MEMLOCK, and that charge
//   is per user, across namespaces. A user with RLIMIT_MEMLOCK of two pages locks a two-page segment in a
//   namespace; while the namespace lives (held open) the same user cannot lock another two pages in a second
//   namespace (ENOMEM); once the namespace is released, the kernel destroys it and the segment (this happens
//   asynchronously, in a work item, so the test retries with a deadline) and the same lock succeeds.
// Rules: suite/rules/sysv.ini.
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "ipcsuite/fixtures.h"
#include "ipcsuite/seed.h"

namespace ipc {
namespace {

constexpr key_t kQueueKey = 0x53594e01, kSetKey = 0x53594e02, kSegKey = 0x53594e03;

// The child side of a one-way gate: tell the test we are ready, then wait until it says go (or goes away).
void ReadyThenAwaitGo(Pipe& ready, Pipe& go) {
  char b = 'r';
  ASSERT_THAT(write(ready.write.get(), &b, 1), SyscallSucceedsWithValue(1));
  ASSERT_THAT(go.write.Close(), SyscallSucceeds());
  const ssize_t n = read(go.read.get(), &b, 1);  // 1 (go) or 0 (the test went away)
  (void)n;
}

// The test side: waits for the child's "ready" (a child that died first gives end of file).
::testing::AssertionResult AwaitReady(Pipe& ready) {
  if (ready.write.Close() != 0) return ::testing::AssertionFailure() << "close: " << DescribeErrno(errno);
  char b;
  ssize_t n = read(ready.read.get(), &b, 1);
  if (n != 1) return ::testing::AssertionFailure() << "the child never got ready (read returned " << n << ")";
  return ::testing::AssertionSuccess();
}

PosixResult<FileDescriptor> OpenIpcNamespaceOf(pid_t pid) {
  return Open("/proc/" + std::to_string(pid) + "/ns/ipc", O_RDONLY | O_CLOEXEC);
}

IPC_TEST(SysvNamespace, ObjectsLiveOnWhileTheNamespaceIsHeldOpen, "sysv.ns-held-open") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_SYS_ADMIN, "setns(2) into an IPC namespace");
  ASSERT_OK_AND_ASSIGN(Pipe ready, Pipe::Create(O_CLOEXEC));
  ASSERT_OK_AND_ASSIGN(Pipe go, Pipe::Create(O_CLOEXEC));
  Child creator = SpawnInNewIpcNamespace(
      [&] {
        const int q = msgget(kQueueKey, IPC_CREAT | 0600);
        ASSERT_THAT(q, SyscallSucceeds());
        struct {
          long mtype;
          char text[8];
        } msg = {3, "kept"};
        ASSERT_THAT(msgsnd(q, &msg, 5, IPC_NOWAIT), SyscallSucceeds());
        const int s = semget(kSetKey, 2, IPC_CREAT | 0600);
        ASSERT_THAT(s, SyscallSucceeds());
        ASSERT_THAT(semctl(s, 1, SETVAL, 5), SyscallSucceeds());
        const int m = shmget(kSegKey, Page(), IPC_CREAT | 0600);
        ASSERT_THAT(m, SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(m));
        std::strcpy(static_cast<char*>(at.get()), "shared");
        ASSERT_THAT(at.Detach(), SyscallSucceeds());
        ReadyThenAwaitGo(ready, go);
      },
      {.what = "filling a new IPC namespace and waiting"});
  ASSERT_TRUE(AwaitReady(ready));
  ASSERT_OK_AND_ASSIGN(FileDescriptor ns, OpenIpcNamespaceOf(creator.pid()));
  ASSERT_THAT(go.write.Close(), SyscallSucceeds());
  creator.ExpectExited(0);
  // Every process of the namespace has exited; the descriptor alone keeps it.
  Child visitor = Child::Spawn(
      [&] {
        ASSERT_THAT(setns(ns.get(), CLONE_NEWIPC), SyscallSucceeds());
        const int q = msgget(kQueueKey, 0);
        ASSERT_THAT(q, SyscallSucceeds()) << "the queue is gone";
        struct {
          long mtype;
          char text[8];
        } msg{};
        EXPECT_THAT(msgrcv(q, &msg, sizeof msg.text, 0, IPC_NOWAIT), SyscallSucceedsWithValue(5));
        EXPECT_EQ(msg.mtype, 3);
        EXPECT_STREQ(msg.text, "kept");
        const int s = semget(kSetKey, 0, 0);
        ASSERT_THAT(s, SyscallSucceeds()) << "the set is gone";
        EXPECT_THAT(semctl(s, 1, GETVAL), SyscallSucceedsWithValue(5));
        const int m = shmget(kSegKey, 0, 0);
        ASSERT_THAT(m, SyscallSucceeds()) << "the segment is gone";
        {
          ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(m, nullptr, SHM_RDONLY));
          EXPECT_STREQ(static_cast<const char*>(at.get()), "shared");
        }
        EXPECT_THAT(msgctl(q, IPC_RMID, nullptr), SyscallSucceeds());
        EXPECT_THAT(semctl(s, 0, IPC_RMID), SyscallSucceeds());
        EXPECT_THAT(shmctl(m, IPC_RMID, nullptr), SyscallSucceeds());
      },
      {.what = "entering the held namespace with setns"});
  visitor.ExpectExited(0);
}

// --- destruction, watched through the SHM_LOCK charge -----------------------------------------------

// In a child: RLIMIT_MEMLOCK of two pages, then user `uid` without capabilities.
void BecomeUserWithTwoLockablePages(uid_t uid) {
  const rlim_t two = 2 * Page();
  struct rlimit rl = {two, two};
  ASSERT_THAT(setrlimit(RLIMIT_MEMLOCK, &rl), SyscallSucceeds());
  ASSERT_THAT(setgroups(0, nullptr), SyscallSucceeds());
  ASSERT_THAT(setresgid(uid, uid, uid), SyscallSucceeds());
  ASSERT_THAT(setresuid(uid, uid, uid), SyscallSucceeds());
  ASSERT_FALSE(isolation::HasEffectiveCapability(CAP_IPC_LOCK)) << "CAP_IPC_LOCK would lift the limit";
}

// Creates a two-page segment and SHM_LOCKs it: 0, or -1 with errno (the segment is then removed again).
int LockTwoPages() {
  const int id = shmget(IPC_PRIVATE, 2 * Page(), IPC_CREAT | 0600);
  if (id < 0) return -1;
  if (shmctl(id, SHM_LOCK, nullptr) == 0) return 0;
  const int err = errno;
  shmctl(id, IPC_RMID, nullptr);
  errno = err;
  return -1;
}

IPC_TEST(SysvNamespace, DestroyingTheNamespaceDestroysItsObjects, "sysv.ns-destroy-objects",
         "sysv.ns-held-open") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  IPC_REQUIRE_OTHER_USERS("to charge locked segments to a user of the test's own");
  // A user no other test uses, so that nobody else's locked pages count against its limit.
  const uid_t uid = static_cast<uid_t>(20000 + TestRandom()() % 40000);
  ASSERT_OK_AND_ASSIGN(Pipe ready, Pipe::Create(O_CLOEXEC));
  ASSERT_OK_AND_ASSIGN(Pipe go, Pipe::Create(O_CLOEXEC));
  Child owner = SpawnInNewIpcNamespace(
      [&] {
        BecomeUserWithTwoLockablePages(uid);
        ASSERT_THAT(LockTwoPages(), SyscallSucceeds()) << "uid " << uid << " locking its first two pages";
        // The control: the charge is in effect, and the limit is used up.
        ASSERT_THAT(LockTwoPages(), SyscallFailsWithErrno(ENOMEM));
        ReadyThenAwaitGo(ready, go);
      },
      {.what = "locking a segment in a new IPC namespace and waiting"});
  ASSERT_TRUE(AwaitReady(ready));
  ASSERT_OK_AND_ASSIGN(FileDescriptor ns, OpenIpcNamespaceOf(owner.pid()));
  ASSERT_THAT(go.write.Close(), SyscallSucceeds());
  owner.ExpectExited(0);

  // Held open: the locked segment still exists and its pages are still charged to the user.
  SpawnInNewIpcNamespace(
      [&] {
        BecomeUserWithTwoLockablePages(uid);
        EXPECT_THAT(LockTwoPages(), SyscallFailsWithErrno(ENOMEM))
            << "the first namespace's segment is still locked while the namespace is held open";
      },
      {.what = "locking two pages while the first namespace is held open"})
      .ExpectExited(0);

  // Released: the namespace, and with it the segment, is destroyed; the charge goes away.
  ASSERT_THAT(ns.Close(), SyscallSucceeds());
  SpawnInNewIpcNamespace(
      [&] {
        BecomeUserWithTwoLockablePages(uid);
        const auto until = std::chrono::steady_clock::now() + ScaledDeadline(milliseconds(5000));
        int r, err = 0;
        // The kernel frees a namespace in a work item after its last reference goes: retry until then.
        while ((r = LockTwoPages()) != 0 && (err = errno) == ENOMEM &&
               std::chrono::steady_clock::now() < until)
          poll(nullptr, 0, 10);
        EXPECT_THAT(r, SyscallSucceeds()) << "the segment of the released namespace still holds the user's "
                                             "locked pages (last error "
                                          << DescribeErrno(err) << ")";
      },
      {.deadline = milliseconds(15000), .what = "locking two pages after the first namespace was released"})
      .ExpectExited(0);
}

}  // namespace
}  // namespace ipc
