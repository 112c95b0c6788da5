/* Breaks send(2) "MSG_NOSIGNAL": with MSG_NOSIGNAL a send to a closed stream peer fails with EPIPE and
 * raises no SIGPIPE. send(), sendto() and sendmsg() drop MSG_NOSIGNAL from the flags they pass on. */
// ipcsuite-teeth: filter=unix/* rules=unix.msg-nosignal
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/socket.h>

ssize_t send(int fd, const void* buf, size_t n, int flags) {
  static ssize_t (*real)(int, const void*, size_t, int);
  if (!real) real = (ssize_t(*)(int, const void*, size_t, int))dlsym(RTLD_NEXT, "send");
  return real(fd, buf, n, flags & ~MSG_NOSIGNAL);
}

ssize_t sendto(int fd, const void* buf, size_t n, int flags, const struct sockaddr* addr, socklen_t len) {
  static ssize_t (*real)(int, const void*, size_t, int, const struct sockaddr*, socklen_t);
  if (!real)
    real = (ssize_t(*)(int, const void*, size_t, int, const struct sockaddr*, socklen_t))dlsym(RTLD_NEXT,
                                                                                               "sendto");
  return real(fd, buf, n, flags & ~MSG_NOSIGNAL, addr, len);
}

ssize_t sendmsg(int fd, const struct msghdr* msg, int flags) {
  static ssize_t (*real)(int, const struct msghdr*, int);
  if (!real) real = (ssize_t(*)(int, const struct msghdr*, int))dlsym(RTLD_NEXT, "sendmsg");
  return real(fd, msg, flags & ~MSG_NOSIGNAL);
}
