// semop(2) errors other than EACCES, EIDRM and EINTR: E2BIG, EAGAIN (IPC_NOWAIT), EFAULT, EFBIG, EINVAL,
// ERANGE (SEMVMX).
// Rules: suite/rules/sem.ini. Helpers: sem_util.h.
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "sem_util.h"

namespace ipc {
namespace {

using namespace sem_util;

// ---------------------------------------------------------------------------------------------------------
// semop(2) errors.

IPC_TEST(SemOpErrors, NsopsAboveSemopmFailsE2big, "sem.semop-e2big") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(limits::SemLimits l, limits::Sem());
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  std::vector<sembuf> ops(static_cast<size_t>(l.semopm) + 1, Op(0, 1));
  EXPECT_THAT(semop(set.id(), ops.data(), ops.size()), SyscallFailsWithErrno(E2BIG));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemOpErrors, NsopsEqualToSemopmSucceeds, "sem.semop-semopm-limit") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(limits::SemLimits l, limits::Sem());
  ASSERT_OK_AND_ASSIGN(int vmx, SemVmx());
  if (l.semopm > vmx) GTEST_SKIP() << "SEMOPM " << l.semopm << " increments would exceed SEMVMX " << vmx;
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  std::vector<sembuf> ops(static_cast<size_t>(l.semopm), Op(0, 1));
  EXPECT_THAT(semop(set.id(), ops.data(), ops.size()), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(l.semopm));
}

IPC_TEST(SemOpErrors, DecrementWithNowaitFailsEagain, "sem.semop-eagain-nowait") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 2), SyscallSucceeds());
  EXPECT_THAT(Semop(set.id(), {Op(0, -3, IPC_NOWAIT)}), SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(2));
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemOpErrors, WaitForZeroWithNowaitFailsEagain, "sem.semop-eagain-nowait") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 1), SyscallSucceeds());
  EXPECT_THAT(Semop(set.id(), {Op(0, 0, IPC_NOWAIT)}), SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(1));
  EXPECT_THAT(GetZcnt(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemOpErrors, NowaitOnlyMattersWhenTheOpWouldWait, "sem.semop-eagain-nowait") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 3), SyscallSucceeds());
  EXPECT_THAT(Semop(set.id(), {Op(0, -3, IPC_NOWAIT)}), SyscallSucceeds());
  EXPECT_THAT(Semop(set.id(), {Op(0, 0, IPC_NOWAIT)}), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemOpErrors, InaccessibleSopsFailsEfault, "sem.semop-efault-sops") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  InaccessiblePage bad;
  ASSERT_TRUE(bad.ok());
  // In a child: a library that touches the bad address itself is then reported as killed by SIGSEGV.
  Child c = Child::Spawn(
      [&] {
        EXPECT_THAT(semop(set.id(), bad.as<sembuf>(), 1), SyscallFailsWithErrno(EFAULT));
        EXPECT_THAT(semop(set.id(), bad.as<sembuf>(), 3), SyscallFailsWithErrno(EFAULT));
      },
      {.what = "semop with an inaccessible sops"});
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemOpErrors, SemNumEqualToNsemsFailsEfbig, "sem.semop-efbig") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3));
  EXPECT_THAT(Semop(set.id(), {Op(3, 1)}), SyscallFailsWithErrno(EFBIG));
  EXPECT_THAT(Semop(set.id(), {Op(3, 0)}), SyscallFailsWithErrno(EFBIG));
  EXPECT_THAT(Semop(set.id(), {Op(2, 1)}), SyscallSucceeds());
}

IPC_TEST(SemOpErrors, LargestSemNumFailsEfbig, "sem.semop-efbig") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  EXPECT_THAT(Semop(set.id(), {Op(USHRT_MAX, 1)}), SyscallFailsWithErrno(EFBIG));
  EXPECT_THAT(Semop(set.id(), {Op(USHRT_MAX, -1, IPC_NOWAIT)}), SyscallFailsWithErrno(EFBIG));
}

IPC_TEST(SemOpErrors, NegativeIdFailsEinval, "sem.semop-einval-id") {
  EXPECT_THAT(Semop(-1, {Op(0, 1)}), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(Semop(INT32_MIN, {Op(0, 1)}), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(SemOpErrors, RemovedSetFailsEinval, "sem.semop-einval-id") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  const int id = set.id();
  ASSERT_THAT(set.Remove(), SyscallSucceeds());
  EXPECT_THAT(Semop(id, {Op(0, 1)}), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(Semop(id, {Op(0, -1, IPC_NOWAIT)}), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(SemOpErrors, ZeroNsopsFailsEinval, "sem.semop-einval-nsops") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  sembuf op = Op(0, 1);
  EXPECT_THAT(semop(set.id(), &op, 0), SyscallFailsWithErrno(EINVAL));
  timespec ts{1, 0};
  EXPECT_THAT(semtimedop(set.id(), &op, 0, &ts), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemOpErrors, IncrementAboveSemvmxFailsErange, "sem.semop-erange") {
  ASSERT_OK_AND_ASSIGN(int vmx, SemVmx());
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, vmx), SyscallSucceeds());
  EXPECT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallFailsWithErrno(ERANGE));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(vmx));
  ASSERT_THAT(SetVal(set.id(), 0, vmx - 5), SyscallSucceeds());
  EXPECT_THAT(Semop(set.id(), {Op(0, 6)}), SyscallFailsWithErrno(ERANGE));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(vmx - 5));
}

IPC_TEST(SemOpErrors, IncrementUpToSemvmxSucceeds, "sem.semop-erange") {
  ASSERT_OK_AND_ASSIGN(int vmx, SemVmx());
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, vmx - 5), SyscallSucceeds());
  EXPECT_THAT(Semop(set.id(), {Op(0, 5)}), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(vmx));
}

IPC_TEST(SemOpErrors, SumOfIncrementsAboveSemvmxFailsErange, "sem.semop-erange", "sem.semop-atomic") {
  ASSERT_OK_AND_ASSIGN(int vmx, SemVmx());
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  const short half = static_cast<short>(vmx / 2 + 1);
  EXPECT_THAT(Semop(set.id(), {Op(0, half), Op(0, half)}), SyscallFailsWithErrno(ERANGE));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

}  // namespace
}  // namespace ipc
