/* Breaks unix(7) "SOCK_DGRAM and SOCK_SEQPACKET preserve message boundaries": each receive returns one
 * message. On an AF_UNIX datagram or seqpacket socket, recv() and read() go on to append the messages that
 * are already queued behind the first (while they fit), as a byte-stream emulation of datagrams would. */
// ipcsuite-teeth: filter=unix/* rules=unix.message-boundaries
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

static int is_unix_message_socket(int fd) {
  int domain = 0, type = 0;
  socklen_t len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_UNIX) return 0;
  len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return 0;
  return type == SOCK_DGRAM || type == SOCK_SEQPACKET;
}

static ssize_t (*real_recvfrom)(int, void*, size_t, int, struct sockaddr*, socklen_t*);

static ssize_t merge(int fd, char* buf, size_t n, int flags, ssize_t got) {
  if (got <= 0 || (flags & MSG_PEEK) || !is_unix_message_socket(fd)) return got;
  int err = errno;
  while ((size_t)got < n) {
    ssize_t more = real_recvfrom(fd, buf + got, n - (size_t)got, MSG_DONTWAIT, NULL, NULL);
    if (more <= 0) break;
    got += more;
  }
  errno = err;
  return got;
}

ssize_t recv(int fd, void* buf, size_t n, int flags) {
  if (!real_recvfrom)
    real_recvfrom =
        (ssize_t(*)(int, void*, size_t, int, struct sockaddr*, socklen_t*))dlsym(RTLD_NEXT, "recvfrom");
  ssize_t r = real_recvfrom(fd, buf, n, flags, NULL, NULL);
  return merge(fd, (char*)buf, n, flags, r);
}

ssize_t read(int fd, void* buf, size_t n) {
  static ssize_t (*real)(int, void*, size_t);
  if (!real) real = (ssize_t(*)(int, void*, size_t))dlsym(RTLD_NEXT, "read");
  if (!real_recvfrom)
    real_recvfrom =
        (ssize_t(*)(int, void*, size_t, int, struct sockaddr*, socklen_t*))dlsym(RTLD_NEXT, "recvfrom");
  ssize_t r = real(fd, buf, n);
  return merge(fd, (char*)buf, n, 0, r);
}
