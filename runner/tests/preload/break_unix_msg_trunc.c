/* Breaks recv(2) "MSG_TRUNC": with MSG_TRUNC in flags, a datagram or seqpacket receive returns the real
 * length of the message, and recvmsg() reports a truncated message with MSG_TRUNC in msg_flags.
 * recv(), recvfrom() and recvmsg() drop MSG_TRUNC from the flags they pass on, and recvmsg() clears it
 * from msg_flags. */
// ipcsuite-teeth: filter=unix/* rules=unix.msg-trunc-real-length,unix.message-truncated
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <sys/socket.h>

ssize_t recv(int fd, void* buf, size_t n, int flags) {
  static ssize_t (*real)(int, void*, size_t, int);
  if (!real) real = (ssize_t(*)(int, void*, size_t, int))dlsym(RTLD_NEXT, "recv");
  return real(fd, buf, n, flags & ~MSG_TRUNC);
}

ssize_t recvfrom(int fd, void* buf, size_t n, int flags, struct sockaddr* addr, socklen_t* len) {
  static ssize_t (*real)(int, void*, size_t, int, struct sockaddr*, socklen_t*);
  if (!real)
    real = (ssize_t(*)(int, void*, size_t, int, struct sockaddr*, socklen_t*))dlsym(RTLD_NEXT, "recvfrom");
  return real(fd, buf, n, flags & ~MSG_TRUNC, addr, len);
}

ssize_t recvmsg(int fd, struct msghdr* msg, int flags) {
  static ssize_t (*real)(int, struct msghdr*, int);
  if (!real) real = (ssize_t(*)(int, struct msghdr*, int))dlsym(RTLD_NEXT, "recvmsg");
  ssize_t r = real(fd, msg, flags & ~MSG_TRUNC);
  if (r >= 0 && msg != NULL) msg->msg_flags &= ~MSG_TRUNC;
  return r;
}
