/* valgrind: with RLIMIT_NOFILE at the lowest free descriptor plus one, socketpair(2) succeeds (Linux: EMFILE, it
 * needs two), and with no free descriptor a received SCM_RIGHTS descriptor is installed without MSG_CTRUNC
 * (unix(7): the descriptors that do not fit are closed and MSG_CTRUNC is set). valgrind keeps the client's
 * RLIMIT_NOFILE to itself and does not check these calls' new descriptors against it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static int set_soft_nofile(rlim_t n) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  rl.rlim_cur = n;
  return setrlimit(RLIMIT_NOFILE, &rl);
}

static int lowest_free(void) {
  int fd = dup(0);
  if (fd >= 0) close(fd);
  return fd;
}

int main(void) {
  int sv[2], pipefd[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0 || pipe(pipefd) != 0) return perror("setup"), 2;
  char byte = 'x';
  struct iovec iov = {&byte, 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
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
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &pipefd[1], sizeof(int));
  if (sendmsg(sv[0], &msg, 0) != 1) return perror("sendmsg"), 2;

  int low = lowest_free();
  if (low < 0 || set_soft_nofile((rlim_t)low + 1) != 0) return perror("setrlimit"), 2;
  int pair[2];
  int r = socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
  int pair_err = errno;
  printf("socketpair with one descriptor free: %s\n", r == 0 ? "succeeded" : strerror(pair_err));
  if (r == 0) close(pair[0]), close(pair[1]);

  if (set_soft_nofile((rlim_t)low) != 0) return perror("setrlimit"), 2;
  memset(&ctl, 0, sizeof ctl);
  msg.msg_controllen = sizeof ctl.buf;
  msg.msg_flags = 0;
  ssize_t n = recvmsg(sv[1], &msg, MSG_DONTWAIT);
  int got_fd = n == 1 && CMSG_FIRSTHDR(&msg) != NULL && CMSG_FIRSTHDR(&msg)->cmsg_type == SCM_RIGHTS;
  printf("receiving a descriptor with none free: %s, %s\n", got_fd ? "installed" : "not installed",
         (msg.msg_flags & MSG_CTRUNC) ? "MSG_CTRUNC" : "no MSG_CTRUNC");
  return r != 0 && pair_err == EMFILE && !got_fd && (msg.msg_flags & MSG_CTRUNC) ? 0 : 1;
}
