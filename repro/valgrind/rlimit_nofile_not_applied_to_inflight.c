/* valgrind: a lowered RLIMIT_NOFILE does not bound the descriptors in flight over UNIX sockets: valgrind keeps
 * the client's RLIMIT_NOFILE to itself (it checks new descriptors against it) and never gives it to the
 * kernel, so sendmsg(SCM_RIGHTS) never fails with ETOOMANYREFS (unix(7): more in flight than RLIMIT_NOFILE
 * without CAP_SYS_RESOURCE or CAP_SYS_ADMIN). Linux refuses well before 1600 in flight under a limit of 64. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Drops CAP_SYS_RESOURCE and CAP_SYS_ADMIN from the effective set (glibc has no capset wrapper). */
static int drop_caps(void) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d) != 0) return -1;
  d[CAP_SYS_RESOURCE / 32].effective &= ~(1u << (CAP_SYS_RESOURCE % 32));
  d[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
  return (int)syscall(SYS_capset, &h, d);
}

int main(void) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0) return perror("socketpair"), 2;
  if (drop_caps() != 0) return perror("capset"), 2;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 2;
  rl.rlim_cur = 64;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return perror("setrlimit"), 2;
  int fds[16];
  for (int i = 0; i < 16; ++i) fds[i] = sv[0];
  char byte = 'x';
  struct iovec iov = {&byte, 1};
  union {
    char buf[CMSG_SPACE(sizeof fds)];
    struct cmsghdr align;
  } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl.buf;
  msg.msg_controllen = sizeof ctl.buf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof fds);
  memcpy(CMSG_DATA(c), fds, sizeof fds);
  for (int i = 0; i < 100; ++i) {
    if (sendmsg(sv[0], &msg, MSG_DONTWAIT) < 0) {
      printf("after %d descriptors in flight under RLIMIT_NOFILE 64: %s\n", 16 * i, strerror(errno));
      return errno == ETOOMANYREFS ? 0 : 2;
    }
  }
  printf("1600 descriptors in flight under RLIMIT_NOFILE 64: no ETOOMANYREFS\n");
  return 1;
}
