/* Breaks unix(7) "SCM_RIGHTS": descriptors sent in ancillary data arrive in the receiver.
 * recvmsg() closes every descriptor an SCM_RIGHTS message brought and removes the control data, as a
 * broken sandbox that does not forward descriptors would. */
// ipcsuite-teeth: filter=unix/* rules=unix.scm-rights-same-ofd,unix.scm-rights-cloexec,unix.scm-max-fd
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

ssize_t recvmsg(int fd, struct msghdr* msg, int flags) {
  static ssize_t (*real)(int, struct msghdr*, int);
  if (!real) real = (ssize_t(*)(int, struct msghdr*, int))dlsym(RTLD_NEXT, "recvmsg");
  ssize_t r = real(fd, msg, flags);
  if (r < 0 || msg == NULL || msg->msg_control == NULL || msg->msg_controllen == 0) return r;
  int err = errno;
  int dropped = 0;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < n; ++i) {
        int got;
        memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
        close(got);
      }
      dropped = 1;
    }
  }
  if (dropped) msg->msg_controllen = 0;
  errno = err;
  return r;
}
