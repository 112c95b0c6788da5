// pipe(7) "Pipe capacity" and "/proc files", fcntl(2) "Changing the capacity of a pipe":
// F_GETPIPE_SZ / F_SETPIPE_SZ, /proc/sys/fs/pipe-max-size and the per-user pipe-user-pages limits.
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "pipe_util.h"

namespace ipc {
namespace {

using pipe_util::Fionread;
using pipe_util::Pattern;
using pipe_util::ReadNow;

// Whether capability `cap` is in this process's effective set (CapEff in /proc/self/status).
constexpr int kCapSysResource = 24;  // CAP_SYS_RESOURCE in linux/capability.h
using isolation::HasCapabilityOverTheMachine;

// The documented default capacity: 16 pages (pipe(7) "Pipe capacity").
long DefaultCapacity() { return 16 * static_cast<long>(Page()); }

// Skips the test when `bytes` is above pipe-max-size and this process may not exceed it: the tests that
// set large capacities are about rounding and holding data, not about the limit.
#define IPC_REQUIRE_SETTABLE_CAPACITY(bytes)                                                              \
  do {                                                                                                    \
    auto ipc_max = limits::PipeMaxSize();                                                                 \
    ASSERT_TRUE(ipc_max.ok()) << ipc_max.error();                                                         \
    if ((bytes) > ipc_max.value() && !HasCapabilityOverTheMachine(kCapSysResource))                       \
      GTEST_SKIP() << "a capacity of " << (bytes) << " bytes is above pipe-max-size (" << ipc_max.value() \
                   << ") and this process lacks CAP_SYS_RESOURCE";                                        \
  } while (0)

// --- unprivileged callers ---------------------------------------------------------------------------
//
// The kernel counts the pipe pages of each user (pipe-user-pages-soft/hard). Tests whose outcome
// depends on that count switch the child to a user id of its own (derived from its pid, so that
// concurrent tests do not share it) instead of the usual nobody (65534), whose pages other tests may be
// using at the same time. The id stays below 65536 so that it exists in a container's usual uid map.
// When not root, the caller is already unprivileged and stays as it is.

bool BecomePrivateUser() {
  if (geteuid() != 0) return true;  // already unprivileged
  const uid_t id = 40000u + static_cast<uid_t>(getpid()) % 25000u;
  if (setgroups(0, nullptr) != 0) return false;
  if (setresgid(id, id, id) != 0) return false;
  if (setresuid(id, id, id) != 0) return false;
  return geteuid() == id;
}

// --- F_GETPIPE_SZ and the default capacity -----------------------------------------------------------

IPC_TEST(PipeCapacity, DefaultCapacityIsSixteenPages, "pipe.default-capacity", "pipe.getpipe-sz") {
  ASSERT_OK_AND_ASSIGN(long max_size, limits::PipeMaxSize());
  // pipe-max-size is also a ceiling on the default (pipe(7), since Linux 4.9).
  if (max_size < DefaultCapacity())
    GTEST_SKIP() << "pipe-max-size (" << max_size << ") is below 16 pages, which lowers the default";
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  EXPECT_THAT(fcntl(p.read.get(), F_GETPIPE_SZ), SyscallSucceedsWithValue(DefaultCapacity()));
}

IPC_TEST(PipeCapacity, BothEndsReportTheSameCapacity, "pipe.getpipe-sz") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  int r = fcntl(p.read.get(), F_GETPIPE_SZ);
  ASSERT_THAT(r, SyscallSucceeds());
  EXPECT_THAT(fcntl(p.write.get(), F_GETPIPE_SZ), SyscallSucceedsWithValue(r));
}

IPC_TEST(PipeCapacity, DefaultCapacityHoldsExactlyThatManyBytes, "pipe.default-capacity", "pipe.getpipe-sz") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  int cap = fcntl(p.write.get(), F_GETPIPE_SZ);
  ASSERT_THAT(cap, SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(p.write.get()));
  EXPECT_EQ(filled, static_cast<size_t>(cap));
}

IPC_TEST(PipeCapacity, UnprivilegedUsersGetTheDefaultCapacityToo, "pipe.default-capacity") {
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  ASSERT_OK_AND_ASSIGN(long max_size, limits::PipeMaxSize());
  if (max_size < DefaultCapacity())
    GTEST_SKIP() << "pipe-max-size (" << max_size << ") is below 16 pages, which lowers the default";
  Child c = Child::Spawn(
      [] {
        ASSERT_TRUE(BecomePrivateUser()) << DescribeErrno(errno);
        ASSERT_NE(geteuid(), 0u);
        ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
        EXPECT_THAT(fcntl(p.read.get(), F_GETPIPE_SZ), SyscallSucceedsWithValue(DefaultCapacity()));
      },
      {.what = "creating a pipe as an unprivileged user"});
  c.ExpectExited(0);
}

// --- F_SETPIPE_SZ rounding --------------------------------------------------------------------------

struct RoundCase {
  const char* name;
  long request_bytes_over_pages;  // request = pages * page + this
  long pages;
  long expect_pages;
};

class PipeSetSizeRounding : public ::testing::TestWithParam<RoundCase> {};

IPC_TEST_P(PipeSetSizeRounding, RoundsUpToAPowerOfTwoNumberOfPages, "pipe.setpipe-sz-roundup") {
  const RoundCase& rc = GetParam();
  IPC_REQUIRE_SETTABLE_CAPACITY(rc.expect_pages * static_cast<long>(Page()));
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  long request = rc.pages * static_cast<long>(Page()) + rc.request_bytes_over_pages;
  long expect = rc.expect_pages * static_cast<long>(Page());
  // The capacity actually set is the function result, and F_GETPIPE_SZ agrees.
  EXPECT_THAT(fcntl(p.write.get(), F_SETPIPE_SZ, request), SyscallSucceedsWithValue(expect));
  EXPECT_THAT(fcntl(p.read.get(), F_GETPIPE_SZ), SyscallSucceedsWithValue(expect));
}

INSTANTIATE_TEST_SUITE_P(Requests, PipeSetSizeRounding,
                         ::testing::Values(RoundCase{"OneByteOverTwoPages", 1, 2, 4},
                                           RoundCase{"ThreePages", 0, 3, 4}, RoundCase{"FivePages", 0, 5, 8},
                                           RoundCase{"ExactlyEightPages", 0, 8, 8},
                                           RoundCase{"OneByteUnderThirtyThreePages", -1, 33, 64}),
                         [](const ::testing::TestParamInfo<RoundCase>& pi) { return pi.param.name; });

IPC_TEST(PipeSetSize, RequestBelowAPageIsRoundedUpToOnePage, "pipe.setpipe-sz-min") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  EXPECT_THAT(fcntl(p.write.get(), F_SETPIPE_SZ, 1), SyscallSucceedsWithValue(static_cast<long>(Page())));
  EXPECT_THAT(fcntl(p.write.get(), F_GETPIPE_SZ), SyscallSucceedsWithValue(static_cast<long>(Page())));
  // Back up, then down again with one byte less than a page.
  ASSERT_THAT(fcntl(p.write.get(), F_SETPIPE_SZ, 4 * static_cast<long>(Page())),
              SyscallSucceedsWithValue(4 * static_cast<long>(Page())));
  EXPECT_THAT(fcntl(p.write.get(), F_SETPIPE_SZ, static_cast<long>(Page()) - 1),
              SyscallSucceedsWithValue(static_cast<long>(Page())));
}

IPC_TEST(PipeSetSize, SettingThroughTheReadEndChangesThePipe, "pipe.setpipe-sz-roundup", "pipe.getpipe-sz") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  EXPECT_THAT(fcntl(p.read.get(), F_SETPIPE_SZ, 2 * static_cast<long>(Page())),
              SyscallSucceedsWithValue(2 * static_cast<long>(Page())));
  EXPECT_THAT(fcntl(p.write.get(), F_GETPIPE_SZ), SyscallSucceedsWithValue(2 * static_cast<long>(Page())));
}

IPC_TEST(PipeSetSize, SmallerCapacityHoldsExactlyThatManyBytes, "pipe.setpipe-sz-roundup") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_THAT(fcntl(p.write.get(), F_SETPIPE_SZ, 2 * static_cast<long>(Page())),
              SyscallSucceedsWithValue(2 * static_cast<long>(Page())));
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(p.write.get()));
  EXPECT_EQ(filled, static_cast<size_t>(2 * static_cast<long>(Page())));
}

IPC_TEST(PipeSetSize, LargerCapacityHoldsExactlyThatManyBytes, "pipe.setpipe-sz-roundup") {
  IPC_REQUIRE_SETTABLE_CAPACITY(64 * static_cast<long>(Page()));
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_THAT(fcntl(p.write.get(), F_SETPIPE_SZ, 64 * static_cast<long>(Page())),
              SyscallSucceedsWithValue(64 * static_cast<long>(Page())));
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(p.write.get()));
  EXPECT_EQ(filled, static_cast<size_t>(64 * static_cast<long>(Page())));
}

IPC_TEST(PipeSetSize, GrowingKeepsBufferedDataInOrder, "pipe.setpipe-sz-roundup", "pipe.data-order") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(p.write.get()));
  IPC_REQUIRE_SETTABLE_CAPACITY(4 * static_cast<long>(filled));
  ASSERT_THAT(fcntl(p.write.get(), F_SETPIPE_SZ, 4 * static_cast<long>(filled)),
              SyscallSucceedsWithValue(4 * static_cast<long>(filled)));
  std::string more = Pattern(filled, 1);
  ASSERT_THAT(write(p.write.get(), more.data(), more.size()), SyscallSucceedsWithValue(more.size()));
  EXPECT_TRUE(ReadNow(p.read.get(), filled) == std::string(filled, 'f'));  // FillPipe's bytes
  EXPECT_TRUE(ReadNow(p.read.get(), more.size()) == more);
}

// --- EBUSY ------------------------------------------------------------------------------------------

IPC_TEST(PipeSetSize, ShrinkingBelowTheBufferedDataFailsWithEbusy, "pipe.setpipe-sz-ebusy") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  const int before = fcntl(p.write.get(), F_GETPIPE_SZ);
  ASSERT_GE(before, 4 * static_cast<long>(Page()));
  const std::string data = Pattern(3 * Page(), 2);
  ASSERT_THAT(write(p.write.get(), data.data(), data.size()), SyscallSucceedsWithValue(data.size()));
  EXPECT_THAT(fcntl(p.write.get(), F_SETPIPE_SZ, static_cast<long>(Page())), SyscallFailsWithErrno(EBUSY));
  EXPECT_THAT(fcntl(p.write.get(), F_SETPIPE_SZ, 2 * static_cast<long>(Page())),
              SyscallFailsWithErrno(EBUSY));
  // Nothing changed.
  EXPECT_THAT(fcntl(p.write.get(), F_GETPIPE_SZ), SyscallSucceedsWithValue(before));
  EXPECT_EQ(Fionread(p.read.get()), static_cast<int>(data.size()));
  EXPECT_TRUE(ReadNow(p.read.get(), data.size()) == data);
}

IPC_TEST(PipeSetSize, ShrinkingToExactlyTheBufferedDataSucceeds, "pipe.setpipe-sz-ebusy") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  const std::string data = Pattern(2 * Page(), 3);
  ASSERT_THAT(write(p.write.get(), data.data(), data.size()), SyscallSucceedsWithValue(data.size()));
  EXPECT_THAT(fcntl(p.write.get(), F_SETPIPE_SZ, 2 * static_cast<long>(Page())),
              SyscallSucceedsWithValue(2 * static_cast<long>(Page())));
  EXPECT_TRUE(ReadNow(p.read.get(), data.size()) == data);
}

IPC_TEST(PipeSetSize, ShrinkingWithLittleBufferedDataSucceedsAndKeepsIt, "pipe.setpipe-sz-ebusy",
         "pipe.setpipe-sz-min") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  ASSERT_THAT(write(p.write.get(), "keep me", 7), SyscallSucceedsWithValue(7));
  EXPECT_THAT(fcntl(p.write.get(), F_SETPIPE_SZ, 1), SyscallSucceedsWithValue(static_cast<long>(Page())));
  EXPECT_EQ(ReadNow(p.read.get(), 7), "keep me");
}

// --- pipe-max-size and privilege --------------------------------------------------------------------

IPC_TEST(PipeMaxSize, UnprivilegedCallerCanSetUpToPipeMaxSize, "pipe.setpipe-sz-unprivileged-range") {
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  ASSERT_OK_AND_ASSIGN(long max_size, limits::PipeMaxSize());
  Child c = Child::Spawn(
      [&] {
        ASSERT_TRUE(BecomePrivateUser()) << DescribeErrno(errno);
        ASSERT_NE(geteuid(), 0u);
        ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
        // pipe-max-size is stored rounded (pipe(7)), so it is a valid capacity itself.
        EXPECT_THAT(fcntl(p.write.get(), F_SETPIPE_SZ, max_size), SyscallSucceedsWithValue(max_size));
        EXPECT_THAT(fcntl(p.write.get(), F_SETPIPE_SZ, static_cast<long>(Page())),
                    SyscallSucceedsWithValue(static_cast<long>(Page())));
      },
      {.what = "setting the pipe size to pipe-max-size as an unprivileged user"});
  c.ExpectExited(0);
}

IPC_TEST(PipeMaxSize, UnprivilegedCallerAbovePipeMaxSizeFailsWithEperm, "pipe.setpipe-sz-eperm") {
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  ASSERT_OK_AND_ASSIGN(long max_size, limits::PipeMaxSize());
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        ASSERT_NE(geteuid(), 0u);
        ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
        int before = fcntl(p.write.get(), F_GETPIPE_SZ);
        EXPECT_THAT(fcntl(p.write.get(), F_SETPIPE_SZ, max_size + 1), SyscallFailsWithErrno(EPERM));
        EXPECT_THAT(fcntl(p.write.get(), F_SETPIPE_SZ, 2 * max_size), SyscallFailsWithErrno(EPERM));
        EXPECT_THAT(fcntl(p.write.get(), F_GETPIPE_SZ), SyscallSucceedsWithValue(before));
      },
      {.what = "setting the pipe size above pipe-max-size as an unprivileged user"});
  c.ExpectExited(0);
}

IPC_TEST(PipeMaxSize, PrivilegedCallerMayExceedPipeMaxSize, "pipe.setpipe-sz-privileged") {
  // The kernel checks capable(CAP_SYS_RESOURCE): the capability in the initial user namespace.
  if (!HasCapabilityOverTheMachine(kCapSysResource))
    GTEST_SKIP() << "needs CAP_SYS_RESOURCE in the initial user namespace to exceed pipe-max-size; this "
                    "process (even as root) does not have it there";
  ASSERT_OK_AND_ASSIGN(long max_size, limits::PipeMaxSize());
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  EXPECT_THAT(fcntl(p.write.get(), F_SETPIPE_SZ, 2 * max_size), SyscallSucceedsWithValue(2 * max_size));
  // And the pipe really holds that much.
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(p.write.get()));
  EXPECT_EQ(filled, static_cast<size_t>(2 * max_size));
}

// As the private user, grows pipes to pipe-max-size until the user's pages reach the soft limit
// exactly, topping up with default-size pipes. Afterwards the user is at the soft limit.
struct SoftLimitState {
  std::vector<Pipe> pipes;
  long user_pages = 0;
};

void SaturateSoftLimit(long soft_pages, long max_size, SoftLimitState* st) {
  const long per_max = max_size / static_cast<long>(Page());
  const long per_default = std::min(16L, per_max);
  while (st->user_pages + per_max <= soft_pages) {
    ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
    ASSERT_THAT(fcntl(p.write.get(), F_SETPIPE_SZ, max_size), SyscallSucceedsWithValue(max_size))
        << "below the soft limit (" << st->user_pages << " of " << soft_pages << " pages)";
    st->user_pages += per_max;
    st->pipes.push_back(std::move(p));
  }
  while (st->user_pages + per_default <= soft_pages) {
    ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
    ASSERT_THAT(fcntl(p.write.get(), F_GETPIPE_SZ),
                SyscallSucceedsWithValue(per_default * static_cast<long>(Page())));
    st->user_pages += per_default;
    st->pipes.push_back(std::move(p));
  }
}

// The soft limit and pipe-max-size, or why the soft-limit tests cannot run here.
struct SoftLimitSetup {
  long soft = 0;
  long max_size = 0;
  std::string error;  // reading the limits failed
  std::string skip;   // no soft limit, or not reachable with the descriptors available
};

SoftLimitSetup CheckSoftLimit() {
  SoftLimitSetup s;
  auto soft = limits::PipeUserPagesSoft();
  auto max_size = limits::PipeMaxSize();
  if (!soft.ok() || !max_size.ok()) {
    s.error = soft.ok() ? max_size.error() : soft.error();
    return s;
  }
  s.soft = soft.value();
  s.max_size = max_size.value();
  if (s.soft == 0) {
    s.skip = "pipe-user-pages-soft is 0: no soft limit is applied";
  } else if (s.max_size < 16 * static_cast<long>(Page()) ||
             2 * (s.soft / (s.max_size / static_cast<long>(Page())) + 32) > 4096) {
    s.skip = "reaching pipe-user-pages-soft (" + std::to_string(s.soft) +
             " pages) with pipes of pipe-max-size (" + std::to_string(s.max_size) +
             " bytes) needs too many descriptors";
  } else if (auto hard = limits::PipeUserPagesHard();
             hard.ok() && hard.value() != 0 && hard.value() < s.soft + 16) {
    s.skip = "pipe-user-pages-hard (" + std::to_string(hard.value()) +
             " pages) is reached before pipe-user-pages-soft (" + std::to_string(s.soft) + " pages)";
  } else if (std::string no_users = isolation::OtherUsersUnavailableReason(); !no_users.empty()) {
    s.skip = "needs root and other user ids (switching to a private user id): " + no_users;
  }
  return s;
}

#define IPC_REQUIRE_REACHABLE_SOFT_LIMIT(setup)    \
  const SoftLimitSetup setup = CheckSoftLimit();   \
  ASSERT_TRUE(setup.error.empty()) << setup.error; \
  if (!setup.skip.empty()) GTEST_SKIP() << setup.skip

IPC_TEST(PipeUserPages, AtTheSoftLimitNewPipesGetAMinimalCapacity, "pipe.user-pages-soft-new-pipes") {
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  IPC_REQUIRE_REACHABLE_SOFT_LIMIT(lim);
  Child c = Child::Spawn(
      [&] {
        ASSERT_TRUE(BecomePrivateUser()) << DescribeErrno(errno);
        SoftLimitState st;
        SaturateSoftLimit(lim.soft, lim.max_size, &st);
        if (::testing::Test::HasFatalFailure()) return;
        ASSERT_OK_AND_ASSIGN(Pipe small, Pipe::Create());
        int cap = fcntl(small.write.get(), F_GETPIPE_SZ);
        // pipe(7) says one page; newer kernels keep two pages (PIPE_MIN_DEF_BUFFERS) so that a write of
        // PIPE_BUF bytes still fits.
        EXPECT_LE(cap, 2 * static_cast<long>(Page())) << "a new pipe at the soft limit was not limited";
        EXPECT_GE(cap, static_cast<long>(Page()));
        EXPECT_LT(cap, 16 * static_cast<long>(Page()));
        // Still a working pipe.
        std::string rec = Pattern(PIPE_BUF, 9);
        ASSERT_THAT(write(small.write.get(), rec.data(), rec.size()), SyscallSucceedsWithValue(PIPE_BUF));
        std::string got(PIPE_BUF, '\0');
        ASSERT_TRUE(ReadAll(small.read.get(), got.data(), got.size()));
        EXPECT_TRUE(got == rec);
      },
      {.what = "creating pipes up to pipe-user-pages-soft"});
  c.ExpectExited(0);
}

IPC_TEST(PipeUserPages, AtTheSoftLimitGrowingAPipeFailsWithEperm, "pipe.user-pages-soft-eperm") {
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  IPC_REQUIRE_REACHABLE_SOFT_LIMIT(lim);
  Child c = Child::Spawn(
      [&] {
        ASSERT_TRUE(BecomePrivateUser()) << DescribeErrno(errno);
        SoftLimitState st;
        SaturateSoftLimit(lim.soft, lim.max_size, &st);
        if (::testing::Test::HasFatalFailure()) return;
        ASSERT_FALSE(st.pipes.empty());
        // A pipe made at the limit cannot grow, although pipe-max-size would allow it.
        ASSERT_OK_AND_ASSIGN(Pipe fresh, Pipe::Create());
        int before = fcntl(fresh.write.get(), F_GETPIPE_SZ);
        ASSERT_LT(before, lim.max_size);
        EXPECT_THAT(fcntl(fresh.write.get(), F_SETPIPE_SZ, lim.max_size), SyscallFailsWithErrno(EPERM));
        EXPECT_THAT(fcntl(fresh.write.get(), F_GETPIPE_SZ), SyscallSucceedsWithValue(before));
      },
      {.what = "growing a pipe at pipe-user-pages-soft"});
  c.ExpectExited(0);
}

// pipe(7) BUGS (b): since Linux 4.9 an unprivileged user can always decrease a pipe's capacity.
IPC_TEST(PipeUserPages, AtTheSoftLimitShrinkingAPipeStillSucceeds, "pipe.user-pages-decrease") {
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  IPC_REQUIRE_REACHABLE_SOFT_LIMIT(lim);
  Child c = Child::Spawn(
      [&] {
        ASSERT_TRUE(BecomePrivateUser()) << DescribeErrno(errno);
        SoftLimitState st;
        SaturateSoftLimit(lim.soft, lim.max_size, &st);
        if (::testing::Test::HasFatalFailure()) return;
        // Go over the limit first: the next pipe is accounted on top of it.
        ASSERT_OK_AND_ASSIGN(Pipe over, Pipe::Create());
        ASSERT_FALSE(st.pipes.empty());
        int fd = st.pipes.front().write.get();
        EXPECT_THAT(fcntl(fd, F_SETPIPE_SZ, lim.max_size / 2), SyscallSucceedsWithValue(lim.max_size / 2));
        EXPECT_THAT(fcntl(fd, F_SETPIPE_SZ, static_cast<long>(Page())),
                    SyscallSucceedsWithValue(static_cast<long>(Page())));
      },
      {.what = "shrinking a pipe at pipe-user-pages-soft"});
  c.ExpectExited(0);
}

// pipe(2) ENFILE: the user hard limit on pipe memory. Provokable only when a hard limit is set.
IPC_TEST(PipeUserPages, AtTheHardLimitPipeFailsWithEnfile, "pipe.enfile-user-hard") {
  ASSERT_OK_AND_ASSIGN(long hard, limits::PipeUserPagesHard());
  ASSERT_OK_AND_ASSIGN(long soft, limits::PipeUserPagesSoft());
  ASSERT_OK_AND_ASSIGN(long max_size, limits::PipeMaxSize());
  if (hard == 0) GTEST_SKIP() << "pipe-user-pages-hard is 0: no hard limit is applied";
  IPC_REQUIRE_OTHER_USERS("switching to a private user id");
  // Pages are reached with pipes grown to pipe-max-size below the soft limit, and with minimal pipes
  // (at most two pages, at least one) above it.
  const long per_max = max_size / static_cast<long>(Page());
  const long below_soft = soft == 0 ? hard : std::min(soft, hard);
  const long pipes_needed = below_soft / per_max + 1 + (hard > below_soft ? hard - below_soft : 0) + 16;
  const long fds_needed = 2 * pipes_needed + 64;
  struct rlimit rl;
  ASSERT_THAT(getrlimit(RLIMIT_NOFILE, &rl), SyscallSucceeds());
  if (static_cast<rlim_t>(fds_needed) > rl.rlim_max)
    GTEST_SKIP() << "reaching pipe-user-pages-hard (" << hard << " pages) needs " << fds_needed
                 << " descriptors; RLIMIT_NOFILE allows " << rl.rlim_max;
  Child c = Child::Spawn(
      [&] {
        struct rlimit raised = {static_cast<rlim_t>(fds_needed), rl.rlim_max};
        ASSERT_THAT(setrlimit(RLIMIT_NOFILE, &raised), SyscallSucceeds());
        ASSERT_TRUE(BecomePrivateUser()) << DescribeErrno(errno);
        std::vector<Pipe> pipes;
        long pages = 0;
        for (long i = 0; i < pipes_needed; ++i) {
          int fds[2] = {-7, -9};
          if (pipe(fds) != 0) {
            int err = errno;
            EXPECT_EQ(err, ENFILE) << "pipe() failed with " << DescribeErrno(err) << " at " << pages
                                   << " pages";
            EXPECT_EQ(fds[0], -7);
            EXPECT_EQ(fds[1], -9);
            // Not before the user is close to the limit.
            EXPECT_GT(pages + 16, hard) << "refused at " << pages << " of " << hard << " pages";
            return;
          }
          Pipe p;
          p.read.reset(fds[0]);
          p.write.reset(fds[1]);
          // Grow while the limits allow; a refusal here is the soft or hard limit (EPERM).
          int r = fcntl(p.write.get(), F_SETPIPE_SZ, max_size);
          if (r < 0) {
            EXPECT_EQ(errno, EPERM) << "F_SETPIPE_SZ failed with " << DescribeErrno(errno);
          }
          pages += fcntl(p.write.get(), F_GETPIPE_SZ) / static_cast<long>(Page());
          pipes.push_back(std::move(p));
        }
        ADD_FAILURE() << "pipe() never failed; the user holds " << pages << " pages, hard limit " << hard;
      },
      {.what = "creating pipes up to pipe-user-pages-hard"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
