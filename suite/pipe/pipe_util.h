// Helpers shared by the pipe tests (suite/pipe/*.cc).
#pragma once

#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <string>

#include "ipcsuite/fixtures.h"

namespace ipc::pipe_util {

// The number of bytes buffered in the pipe behind `fd` (FIONREAD), or -1 on error.
inline int Fionread(int fd) {
  int n = -1;
  if (ioctl(fd, FIONREAD, &n) != 0) return -1;
  return n;
}

// Writes `data` (at most PIPE_BUF bytes) to the pipe, then checks that a read(2) of 0 bytes returns 0 and
// consumes nothing: FIONREAD still counts all of it, and the next read returns it whole.
inline void ExpectZeroCountReadConsumesNothing(const Pipe& p, const std::string& data) {
  ASSERT_THAT(write(p.write.get(), data.data(), data.size()),
              SyscallSucceedsWithValue(static_cast<ssize_t>(data.size())));
  std::string buf(data.size() + 8, '\0');
  EXPECT_THAT(read(p.read.get(), buf.data(), 0), SyscallSucceedsWithValue(0));
  EXPECT_EQ(Fionread(p.read.get()), static_cast<int>(data.size()));
  ASSERT_THAT(read(p.read.get(), buf.data(), buf.size()),
              SyscallSucceedsWithValue(static_cast<ssize_t>(data.size())));
  EXPECT_EQ(buf.substr(0, data.size()), data);
}

// Waits (bounded) until `fd` is readable or hung up, then reads once. A broken implementation makes
// the test fail with ETIMEDOUT instead of hanging it.
inline ssize_t ReadReady(int fd, void* buf, size_t n) {
  struct pollfd pfd = {fd, POLLIN, 0};
  int r;
  do {
    r = poll(&pfd, 1, static_cast<int>(ScaledDeadline(milliseconds(5000)).count()));
  } while (r < 0 && errno == EINTR);
  if (r == 0) errno = ETIMEDOUT;
  if (r <= 0) return -1;
  return read(fd, buf, n);
}

// Reads exactly n bytes from a non-blocking descriptor that holds at least n bytes.
inline std::string ReadNow(int fd, size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, out.data() + got, n - got);
    if (r <= 0) {
      ADD_FAILURE() << "read returned " << r << (r < 0 ? " with " + DescribeErrno(errno) : "") << " after "
                    << got << " of " << n << " bytes";
      out.resize(got);
      return out;
    }
    got += static_cast<size_t>(r);
  }
  return out;
}

// A byte pattern that differs for every offset and seed, so misplaced bytes are noticed.
inline std::string Pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7 + (i >> 8)) & 0xff);
  return s;
}

}  // namespace ipc::pipe_util
