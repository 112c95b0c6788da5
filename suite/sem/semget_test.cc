// semget(2): creating and looking up semaphore sets, nsems, permissions on lookup, the new set's
// semid_ds and values, and the SEMMNI/SEMMNS limits (ENOSPC, in a new IPC namespace).
// Rules: suite/rules/sem.ini. Helpers: sem_util.h.
#include <sys/sem.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <ctime>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "sem_util.h"

namespace ipc {
namespace {

using namespace sem_util;

// ---------------------------------------------------------------------------------------------------------
// semget(2)

IPC_TEST(SemGet, PrivateKeyCreatesDistinctSets, "sem.semget-create", "sem.semget-private") {
  ASSERT_OK_AND_ASSIGN(SemSet a, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_OK_AND_ASSIGN(SemSet b, SemSet::Create(IPC_PRIVATE, 1));
  EXPECT_NE(a.id(), b.id());
  // They are different sets: a change to one is not seen in the other.
  ASSERT_THAT(SetVal(a.id(), 0, 5), SyscallSucceeds());
  EXPECT_THAT(GetVal(b.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemGet, PrivateKeyIgnoresCreatAndExcl, "sem.semget-private") {
  // IPC_PRIVATE is not a flag: with IPC_CREAT|IPC_EXCL every call still creates a new set (no EEXIST).
  ASSERT_OK_AND_ASSIGN(SemSet a, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | IPC_EXCL | 0600));
  ASSERT_OK_AND_ASSIGN(SemSet b, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | IPC_EXCL | 0600));
  EXPECT_NE(a.id(), b.id());
  // Without IPC_CREAT too.
  ASSERT_OK_AND_ASSIGN(SemSet c, SemSet::Create(IPC_PRIVATE, 1, 0600));
  EXPECT_NE(c.id(), a.id());
  EXPECT_NE(c.id(), b.id());
}

IPC_TEST(SemGet, CreatOnNewKeyCreatesSet, "sem.semget-create") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_THAT(semget(kKeyA, 0, 0), SyscallFailsWithErrno(ENOENT));
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(kKeyA, 3, IPC_CREAT | 0600));
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id()));
  EXPECT_EQ(ds.sem_nsems, 3u);
  EXPECT_EQ(ds.sem_perm.__key, kKeyA);
}

IPC_TEST(SemGet, KeyLookupReturnsExistingId, "sem.semget-existing") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(kKeyA, 3, IPC_CREAT | IPC_EXCL | 0600));
  EXPECT_THAT(semget(kKeyA, 3, 0), SyscallSucceedsWithValue(set.id()));
  // IPC_CREAT without IPC_EXCL on an existing key also returns the existing set.
  EXPECT_THAT(semget(kKeyA, 3, IPC_CREAT | 0600), SyscallSucceedsWithValue(set.id()));
}

IPC_TEST(SemGet, ZeroOrSmallerNsemsFindsExistingSet, "sem.semget-existing") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(kKeyA, 4, IPC_CREAT | IPC_EXCL | 0600));
  // nsems is a don't-care (0) or at most the set's size when the set is not being created.
  EXPECT_THAT(semget(kKeyA, 0, 0), SyscallSucceedsWithValue(set.id()));
  EXPECT_THAT(semget(kKeyA, 1, 0), SyscallSucceedsWithValue(set.id()));
  EXPECT_THAT(semget(kKeyA, 4, 0), SyscallSucceedsWithValue(set.id()));
  // The set keeps its size.
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id()));
  EXPECT_EQ(ds.sem_nsems, 4u);
}

IPC_TEST(SemGet, ExclOnExistingKeyFailsEexist, "sem.semget-eexist") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(kKeyA, 1, IPC_CREAT | IPC_EXCL | 0600));
  EXPECT_THAT(semget(kKeyA, 1, IPC_CREAT | IPC_EXCL | 0600), SyscallFailsWithErrno(EEXIST));
  // Also when the request would otherwise be a valid lookup (nsems 0).
  EXPECT_THAT(semget(kKeyA, 0, IPC_CREAT | IPC_EXCL | 0600), SyscallFailsWithErrno(EEXIST));
}

IPC_TEST(SemGet, MissingKeyWithoutCreatFailsEnoent, "sem.semget-enoent") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  EXPECT_THAT(semget(kKeyB, 1, 0600), SyscallFailsWithErrno(ENOENT));
  EXPECT_THAT(semget(kKeyB, 0, 0), SyscallFailsWithErrno(ENOENT));
  // IPC_EXCL alone is not IPC_CREAT.
  EXPECT_THAT(semget(kKeyB, 1, IPC_EXCL | 0600), SyscallFailsWithErrno(ENOENT));
}

IPC_TEST(SemGet, RemovedKeyFailsEnoentAndCanBeReused, "sem.semget-enoent", "sem.semctl-ipc-rmid") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(kKeyA, 1, IPC_CREAT | IPC_EXCL | 0600));
  ASSERT_THAT(set.Remove(), SyscallSucceeds());
  EXPECT_THAT(semget(kKeyA, 0, 0), SyscallFailsWithErrno(ENOENT));
  ASSERT_OK_AND_ASSIGN(SemSet again, SemSet::Create(kKeyA, 1, IPC_CREAT | IPC_EXCL | 0600));
}

IPC_TEST(SemGet, NegativeNsemsFailsEinval, "sem.semget-einval-nsems") {
  EXPECT_THAT(semget(IPC_PRIVATE, -1, IPC_CREAT | 0600), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(semget(IPC_PRIVATE, INT32_MIN, IPC_CREAT | 0600), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(SemGet, NsemsAboveSemmslFailsEinval, "sem.semget-einval-nsems") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(limits::SemLimits l, limits::Sem());
  ASSERT_LT(l.semmsl, INT32_MAX);
  EXPECT_THAT(semget(IPC_PRIVATE, static_cast<int>(l.semmsl) + 1, IPC_CREAT | 0600),
              SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(SemGet, NsemsEqualToSemmslSucceeds, "sem.semget-nsems-semmsl") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(limits::SemLimits l, limits::Sem());
  ASSERT_LE(l.semmsl, l.semmns) << "a set of SEMMSL semaphores does not fit in SEMMNS";
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, static_cast<int>(l.semmsl)));
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id()));
  EXPECT_EQ(ds.sem_nsems, static_cast<unsigned long>(l.semmsl));
  // The last semaphore is addressable.
  EXPECT_THAT(Semop(set.id(), {Op(static_cast<unsigned short>(l.semmsl - 1), 1)}), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), static_cast<int>(l.semmsl - 1)), SyscallSucceedsWithValue(1));
}

IPC_TEST(SemGet, ZeroNsemsOnCreateFailsEinval, "sem.semget-einval-create-zero") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  EXPECT_THAT(semget(IPC_PRIVATE, 0, IPC_CREAT | 0600), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(semget(kKeyB, 0, IPC_CREAT | 0600), SyscallFailsWithErrno(EINVAL));
  // Nothing was created for the key.
  EXPECT_THAT(semget(kKeyB, 0, 0), SyscallFailsWithErrno(ENOENT));
}

IPC_TEST(SemGet, NsemsLargerThanExistingSetFailsEinval, "sem.semget-einval-existing-smaller") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(kKeyA, 2, IPC_CREAT | IPC_EXCL | 0600));
  EXPECT_THAT(semget(kKeyA, 3, 0600), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(semget(kKeyA, 3, IPC_CREAT | 0600), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(semget(kKeyA, 2, 0600), SyscallSucceedsWithValue(set.id()));
}

IPC_TEST(SemGet, NoPermissionOnExistingSetFailsEacces, "sem.semget-eacces") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_OTHER_USERS("switching to an unprivileged user needs root");
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(kKeyA, 1, IPC_CREAT | IPC_EXCL | 0600));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(semget(kKeyA, 0, 0600), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(semget(kKeyA, 1, 0400), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(semget(kKeyA, 1, IPC_CREAT | 0600), SyscallFailsWithErrno(EACCES));
      },
      {.what = "looking up a 0600 set owned by root as an unprivileged user"});
  c.ExpectExited(0);
}

IPC_TEST(SemGet, PermissionCheckUsesRequestedBits, "sem.semget-eacces") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_OTHER_USERS("switching to an unprivileged user needs root");
  // Others may read but not alter: asking for read works, asking for alter is refused.
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(kKeyA, 1, IPC_CREAT | IPC_EXCL | 0604));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(semget(kKeyA, 0, 0400), SyscallSucceedsWithValue(set.id()));
        EXPECT_THAT(semget(kKeyA, 0, 0200), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(semget(kKeyA, 0, 0600), SyscallFailsWithErrno(EACCES));
      },
      {.what = "looking up a 0604 set as an unprivileged user"});
  c.ExpectExited(0);
}

IPC_TEST(SemGet, NewSetDataStructure, "sem.semget-init-ds", "sem.semctl-ipc-stat") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  time_t before = time(nullptr);
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(kKeyA, 5, IPC_CREAT | IPC_EXCL | 0640));
  time_t after = time(nullptr);
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id()));
  EXPECT_TRUE(CreatedByCaller(ds.sem_perm, kKeyA));
  EXPECT_EQ(ds.sem_perm.mode & 0777, 0640u);
  EXPECT_EQ(ds.sem_nsems, 5u);
  EXPECT_EQ(ds.sem_otime, 0);
  EXPECT_GE(ds.sem_ctime, before);
  EXPECT_LE(ds.sem_ctime, after);
}

IPC_TEST(SemGet, NewSetOwnedByUnprivilegedCreator, "sem.semget-init-ds") {
  IPC_REQUIRE_OTHER_USERS("switching to an unprivileged user needs root");
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2, IPC_CREAT | 0460));
        ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id()));
        EXPECT_EQ(ds.sem_perm.uid, kNobodyUid);
        EXPECT_EQ(ds.sem_perm.cuid, kNobodyUid);
        EXPECT_EQ(ds.sem_perm.gid, kNobodyGid);
        EXPECT_EQ(ds.sem_perm.cgid, kNobodyGid);
        EXPECT_EQ(ds.sem_perm.mode & 0777, 0460u);
        EXPECT_EQ(ds.sem_nsems, 2u);
      },
      {.what = "creating a set as an unprivileged user"});
  c.ExpectExited(0);
}

IPC_TEST(SemGet, NewSetValuesAreZero, "sem.semget-init-values") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 7));
  EXPECT_THAT(GetAll(set.id(), 7), ElementsAre(0, 0, 0, 0, 0, 0, 0));
  for (int i = 0; i < 7; ++i)
    EXPECT_THAT(GetVal(set.id(), i), SyscallSucceedsWithValue(0)) << "semaphore " << i;
}

IPC_TEST(SemGet, SemmniExhaustedFailsEnospc, "sem.semget-enospc-semmni") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  SpawnInNewIpcNamespace(
      [&] {
        ASSERT_OK_AND_ASSIGN(limits::SemLimits l, limits::Sem());
        l.semmni = 2;
        ASSERT_TRUE(WriteSemLimits(l));
        ASSERT_OK_AND_ASSIGN(SemSet a, SemSet::Create(IPC_PRIVATE, 1));
        ASSERT_OK_AND_ASSIGN(SemSet b, SemSet::Create(kKeyA, 1, IPC_CREAT | IPC_EXCL | 0600));
        EXPECT_THAT(semget(IPC_PRIVATE, 1, IPC_CREAT | 0600), SyscallFailsWithErrno(ENOSPC));
        EXPECT_THAT(semget(kKeyB, 1, IPC_CREAT | 0600), SyscallFailsWithErrno(ENOSPC));
        // An existing set can still be looked up: only creation needs a free identifier.
        EXPECT_THAT(semget(kKeyA, 0, 0), SyscallSucceedsWithValue(b.id()));
        // Removing a set makes room again.
        ASSERT_THAT(a.Remove(), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(SemSet c, SemSet::Create(kKeyB, 1, IPC_CREAT | IPC_EXCL | 0600));
      },
      {.what = "filling SEMMNI = 2 in a new IPC namespace"})
      .ExpectExited(0);
}

IPC_TEST(SemGet, SemmnsExhaustedFailsEnospc, "sem.semget-enospc-semmns") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  SpawnInNewIpcNamespace(
      [&] {
        ASSERT_OK_AND_ASSIGN(limits::SemLimits l, limits::Sem());
        l.semmns = 10;
        ASSERT_TRUE(WriteSemLimits(l));
        ASSERT_OK_AND_ASSIGN(SemSet a, SemSet::Create(IPC_PRIVATE, 6));
        EXPECT_THAT(semget(IPC_PRIVATE, 5, IPC_CREAT | 0600), SyscallFailsWithErrno(ENOSPC));
        // Exactly up to the limit is allowed.
        ASSERT_OK_AND_ASSIGN(SemSet b, SemSet::Create(IPC_PRIVATE, 4));
        EXPECT_THAT(semget(IPC_PRIVATE, 1, IPC_CREAT | 0600), SyscallFailsWithErrno(ENOSPC));
        ASSERT_THAT(a.Remove(), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(SemSet c, SemSet::Create(IPC_PRIVATE, 6));
      },
      {.what = "filling SEMMNS = 10 in a new IPC namespace"})
      .ExpectExited(0);
}

}  // namespace
}  // namespace ipc
