// Helpers shared by the fifo area's test files (fifo_test.cc, fifo_io_test.cc, fifo_mkfifo_test.cc).
#pragma once

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "ipcsuite/fixtures.h"

namespace ipc::fifo_util {

inline constexpr milliseconds kIoDeadline{5000};

// Reads exactly `n` bytes from `fd` within a deadline, waiting with poll(2) before each read so that a
// peer that never writes turns into a failure instead of a hang. Works for blocking and nonblocking
// descriptors.
inline ::testing::AssertionResult ReadExactly(int fd, size_t n, std::string* out,
                                              milliseconds deadline = kIoDeadline) {
  out->clear();
  auto until = std::chrono::steady_clock::now() + ScaledDeadline(deadline);
  std::string buf(std::min<size_t>(n, 1 << 16), '\0');
  while (out->size() < n) {
    auto left = std::chrono::duration_cast<milliseconds>(until - std::chrono::steady_clock::now()).count();
    if (left <= 0)
      return ::testing::AssertionFailure()
             << "timed out after reading " << out->size() << " of " << n << " bytes";
    struct pollfd pfd = {fd, POLLIN, 0};
    int pr = poll(&pfd, 1, static_cast<int>(left));
    if (pr < 0 && errno == EINTR) continue;
    if (pr < 0) return ::testing::AssertionFailure() << "poll failed with " << DescribeErrno(errno);
    if (pr == 0) continue;
    ssize_t r = read(fd, buf.data(), std::min(buf.size(), n - out->size()));
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r < 0) return ::testing::AssertionFailure() << "read failed with " << DescribeErrno(errno);
    if (r == 0)
      return ::testing::AssertionFailure() << "end of file after " << out->size() << " of " << n << " bytes";
    out->append(buf.data(), static_cast<size_t>(r));
  }
  return ::testing::AssertionSuccess();
}

// Creates directory `name` in `dir` with exactly `mode`: mkdir + chmod, so that the umask does not
// decide the mode. Returns the path.
inline std::string MakeDirWithMode(const TempDir& dir, const std::string& name, mode_t mode) {
  std::string p = dir.Path(name);
  EXPECT_THAT(mkdir(p.c_str(), 0700), SyscallSucceeds()) << p;
  EXPECT_THAT(chmod(p.c_str(), mode), SyscallSucceeds()) << p;
  return p;
}

// Fixture base: a fresh, empty TempDir per test (in dir_).
class InTempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(TempDir d, TempDir::Create());  // a full or read-only $TMPDIR is the machine's
    dir_.emplace(std::move(d));
  }

  std::optional<TempDir> dir_;
};

// Fixture base: a fresh TempDir per test holding one FIFO named "fifo", mode 0666 (path in fifo_).
class FifoInTempDir : public InTempDir {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(InTempDir::SetUp());
    auto f = dir_->MakeFifo("fifo", 0666);
    ASSERT_TRUE(f.ok()) << f.error();
    fifo_ = f.value();
  }

  std::string fifo_;
};

}  // namespace ipc::fifo_util
