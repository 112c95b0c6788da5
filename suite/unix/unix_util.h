// Helpers shared by the UNIX domain socket tests (suite/unix/*.cc): socket pairs, addresses (pathname in a
// private TempDir, abstract names unique per process and test, unnamed), connected clients, descriptor and
// credential passing with owned received descriptors, and small waits.
#pragma once

#include <dirent.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "ipcsuite/poll.h"
#include "ipcsuite/seed.h"

namespace ipc::unix_util {

// unix(7): "the maximum number of file descriptors that can be passed in one SCM_RIGHTS message" is the
// kernel constant SCM_MAX_FD (253 since Linux 2.6.38); it is not exposed in /proc/sys, so the documented
// value stands here.
inline constexpr int kScmMaxFd = 253;

// The outcome of one call: its result and the errno right after it.
struct Outcome {
  long result = 0;
  int err = 0;
};
inline Outcome Capture(long r) { return {r, r < 0 ? errno : 0}; }

// A signal handler that does nothing: the signal only interrupts a blocked call (EINTR).
inline void IgnoreSignal(int) {}

// GoogleTest's name of a test parameterised by the socket type: Stream, Dgram, Seqpacket.
inline std::string TypeParamName(const ::testing::TestParamInfo<int>& info) {
  switch (info.param) {
    case SOCK_STREAM:
      return "Stream";
    case SOCK_DGRAM:
      return "Dgram";
    case SOCK_SEQPACKET:
      return "Seqpacket";
  }
  return "Type" + std::to_string(info.param);
}

inline std::string TypeName(int type) {
  switch (type) {
    case SOCK_STREAM:
      return "SOCK_STREAM";
    case SOCK_DGRAM:
      return "SOCK_DGRAM";
    case SOCK_SEQPACKET:
      return "SOCK_SEQPACKET";
  }
  return "type " + std::to_string(type);
}

struct SocketPair {
  FileDescriptor a;
  FileDescriptor b;
  static PosixResult<SocketPair> Create(int type, int flags = 0) {
    int sv[2];
    if (::socketpair(AF_UNIX, type | flags, 0, sv) != 0) {
      int err = errno;
      return PosixResult<SocketPair>::Error(
          err, InfrastructureTag(err) + std::string("socketpair(AF_UNIX, ") + TypeName(type) + ")");
    }
    SocketPair p;
    p.a.reset(sv[0]);
    p.b.reset(sv[1]);
    return p;
  }
};

inline PosixResult<FileDescriptor> Socket(int type, int flags = 0) {
  int fd = ::socket(AF_UNIX, type | flags, 0);
  if (fd < 0) {
    int err = errno;
    return PosixResult<FileDescriptor>::Error(
        err, InfrastructureTag(err) + std::string("socket(AF_UNIX, ") + TypeName(type) + ")");
  }
  return FileDescriptor(fd);
}

// An AF_UNIX address and its length, as bind(2)/connect(2)/sendto(2) take it.
struct UnixAddress {
  sockaddr_un addr{};
  socklen_t len = 0;

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&addr); }
  // A pathname address: len = offsetof(sun_path) + strlen(path) + 1, as unix(7) recommends.
  static UnixAddress Path(const std::string& path) {
    UnixAddress a;
    a.addr.sun_family = AF_UNIX;
    std::memcpy(a.addr.sun_path, path.data(), std::min(path.size(), sizeof a.addr.sun_path));
    a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) +
                                   std::min(path.size() + 1, sizeof a.addr.sun_path));
    return a;
  }
  // An abstract address: sun_path[0] = '\0' followed by `name` (no terminator counted).
  static UnixAddress Abstract(const std::string& name) {
    UnixAddress a;
    a.addr.sun_family = AF_UNIX;
    std::memcpy(a.addr.sun_path + 1, name.data(), std::min(name.size(), sizeof a.addr.sun_path - 1));
    a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    return a;
  }
  // Only the family: bind(2) with this length autobinds.
  static UnixAddress FamilyOnly() {
    UnixAddress a;
    a.addr.sun_family = AF_UNIX;
    a.len = sizeof(sa_family_t);
    return a;
  }
  // The part of sun_path the length covers.
  std::string PathBytes() const {
    size_t off = offsetof(sockaddr_un, sun_path);
    return len > off ? std::string(addr.sun_path, len - off) : std::string();
  }
};

// A name for the abstract namespace no other process or test uses: pid, a counter and the test's random.
inline std::string UniqueAbstractName() {
  static std::atomic<unsigned> counter{0};
  return "ipcsuite-unix-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(TestRandom()() % 1000000);
}

// A socket file name inside a TempDir (short: sun_path holds 108 bytes with the directory).
inline std::string UniqueSocketName() {
  static std::atomic<unsigned> counter{0};
  return "s" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

// The address the kernel reports for `fd` (getsockname, or getpeername with peer).
inline PosixResult<UnixAddress> AddressOf(int fd, bool peer = false) {
  UnixAddress a;
  a.len = sizeof a.addr;
  int r = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&a.addr), &a.len)
               : ::getsockname(fd, reinterpret_cast<sockaddr*>(&a.addr), &a.len);
  if (r != 0) return PosixResult<UnixAddress>::Error(errno, peer ? "getpeername" : "getsockname");
  return a;
}

inline PosixResult<FileDescriptor> BoundSocket(int type, const UnixAddress& addr, int flags = 0) {
  PosixResult<FileDescriptor> s = Socket(type, flags);
  if (!s.ok()) return s;
  if (::bind(s.value().get(), addr.get(), addr.len) != 0)
    return PosixResult<FileDescriptor>::Error(errno, "bind(" + addr.PathBytes() + ")");
  return s;
}

inline PosixResult<FileDescriptor> Listener(const UnixAddress& addr, int backlog = 16, int type = SOCK_STREAM,
                                            int flags = 0) {
  PosixResult<FileDescriptor> s = BoundSocket(type, addr, flags);
  if (!s.ok()) return s;
  if (::listen(s.value().get(), backlog) != 0) return PosixResult<FileDescriptor>::Error(errno, "listen");
  return s;
}

inline PosixResult<FileDescriptor> Connected(const UnixAddress& addr, int type = SOCK_STREAM, int flags = 0) {
  PosixResult<FileDescriptor> s = Socket(type, flags);
  if (!s.ok()) return s;
  if (::connect(s.value().get(), addr.get(), addr.len) != 0)
    return PosixResult<FileDescriptor>::Error(errno, "connect(" + addr.PathBytes() + ")");
  return s;
}

// A listener on a fresh abstract address, with its address.
struct AbstractListener {
  UnixAddress addr;
  FileDescriptor fd;
  static PosixResult<AbstractListener> Create(int backlog = 16, int type = SOCK_STREAM, int flags = 0) {
    AbstractListener l;
    l.addr = UnixAddress::Abstract(UniqueAbstractName());
    PosixResult<FileDescriptor> s = Listener(l.addr, backlog, type, flags);
    if (!s.ok()) return PosixResult<AbstractListener>::Error(s.error_number(), s.error());
    l.fd = std::move(s).value();
    return l;
  }
};

// --- ancillary data ----------------------------------------------------------------------------------------

// Sends `data` with one SCM_RIGHTS message carrying `fds` (none: no control message).
inline ssize_t SendFds(int sock, const std::vector<int>& fds, const std::string& data = "x", int flags = 0) {
  iovec iov = {const_cast<char*>(data.data()), data.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()), 0);
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  return ::sendmsg(sock, &msg, flags);
}

struct Received {
  ssize_t n = -1;
  int err = 0;
  std::string data;
  std::vector<FileDescriptor> fds;  // owned: closed with the struct
  int msg_flags = 0;
  bool other_cmsg = false;  // a control message other than SCM_RIGHTS arrived
};

// recvmsg(2) with room for `max_fds` descriptors (control buffer CMSG_SPACE(max_fds * sizeof(int)), or
// `control_len` when given) and `data_len` bytes.
inline Received RecvFds(int sock, size_t max_fds, size_t data_len = 64, int flags = 0,
                        long control_len = -1) {
  Received r;
  std::string buf(data_len, '\0');
  iovec iov = {buf.data(), buf.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  size_t clen = control_len >= 0 ? static_cast<size_t>(control_len) : CMSG_SPACE(sizeof(int) * max_fds);
  std::vector<char> control(clen + 1, 0);
  if (clen > 0) {
    msg.msg_control = control.data();
    msg.msg_controllen = clen;
  }
  r.n = ::recvmsg(sock, &msg, flags);
  if (r.n < 0) {
    r.err = errno;
    return r;
  }
  r.data = buf.substr(0, static_cast<size_t>(r.n) < buf.size() ? static_cast<size_t>(r.n) : buf.size());
  r.msg_flags = msg.msg_flags;
  if (clen > 0) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; ++i) {
          int fd;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
          r.fds.emplace_back(fd);
        }
      } else {
        r.other_cmsg = true;
      }
    }
  }
  return r;
}

// Sends one byte with an SCM_CREDENTIALS message carrying `cred`.
inline ssize_t SendCreds(int sock, const ucred& cred, const std::string& data = "c") {
  iovec iov = {const_cast<char*>(data.data()), data.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_CREDENTIALS;
  c->cmsg_len = CMSG_LEN(sizeof(ucred));
  std::memcpy(CMSG_DATA(c), &cred, sizeof cred);
  return ::sendmsg(sock, &msg, 0);
}

struct ReceivedCreds {
  ssize_t n = -1;
  int err = 0;
  bool has_creds = false;
  ucred cred{};
};

inline ReceivedCreds RecvCreds(int sock, int flags = 0) {
  ReceivedCreds r;
  char buf[16];
  iovec iov = {buf, sizeof buf};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + 64] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  r.n = ::recvmsg(sock, &msg, flags);
  if (r.n < 0) {
    r.err = errno;
    return r;
  }
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
      r.has_creds = true;
      std::memcpy(&r.cred, CMSG_DATA(c), sizeof r.cred);
    }
  }
  return r;
}

inline PosixResult<ucred> PeerCred(int fd) {
  ucred c{};
  socklen_t len = sizeof c;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &len) != 0)
    return PosixResult<ucred>::Error(errno, "SO_PEERCRED");
  return c;
}

// The number of descriptors open in this process (/proc/self/fd), or -1.
inline int CountOpenFds() {
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n - 1;  // the directory's own descriptor
}

// Lowers this process's RLIMIT_NOFILE (soft and hard) to `n`; for children only.
inline bool SetNofile(rlim_t n) {
  // The soft limit alone decides EMFILE and the in-flight limit; the hard one stays (a tool may refuse to
  // lower it: valgrind, EPERM).
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return false;
  rl.rlim_cur = n;
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < n) rl.rlim_max = n;
  return ::setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

// Fills the send path of `fd` (made non-blocking for the purpose by MSG_DONTWAIT) with `chunk`-byte sends
// until EAGAIN; returns the number of sends that succeeded, or -1 when another error came first or the
// bound was hit.
inline long FillWithDontwait(int fd, size_t chunk, long bound = 1 << 20) {
  std::string data(chunk, 'f');
  for (long i = 0; i < bound; ++i) {
    ssize_t r = ::send(fd, data.data(), data.size(), MSG_DONTWAIT);
    if (r < 0) return errno == EAGAIN ? i : -1;
  }
  return -1;
}

}  // namespace ipc::unix_util
