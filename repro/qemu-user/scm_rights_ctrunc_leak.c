/* qemu-user: a recvmsg whose control buffer has room for one SCM_RIGHTS descriptor, receiving a message
 * that carries three, does not set MSG_CTRUNC and leaves the two descriptors that did not fit open in the
 * receiver (unix(7): "If the buffer ... is too small ... the file descriptors which will not fit are
 * closed" and MSG_CTRUNC is set; recvmsg(2)).
 * Exit 1 when MSG_CTRUNC is missing or a truncated descriptor is open (the divergence), 0 on Linux.
 * Found by unix/Types/UnixScmRightsTypes.TooSmallControlBufferSetsCtruncAndClosesTheRest/{Stream,Dgram,Seqpacket}. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int open_fds(void) {
  DIR* d = opendir("/proc/self/fd");
  int n = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n - 1;
}

int main(void) {
  int sv[2], p[3][2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0) return perror("socketpair"), 77;
  for (int i = 0; i < 3; ++i)
    if (pipe(p[i]) != 0) return perror("pipe"), 77;
  char data = 'x';
  struct iovec iov = {&data, 1};
  union { char buf[CMSG_SPACE(3 * sizeof(int))]; struct cmsghdr align; } out;
  memset(&out, 0, sizeof out);
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = out.buf, .msg_controllen = sizeof out.buf};
  struct cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(3 * sizeof(int));
  int fds[3] = {p[0][1], p[1][1], p[2][1]};
  memcpy(CMSG_DATA(c), fds, sizeof fds);
  if (sendmsg(sv[0], &m, 0) != 1) return perror("sendmsg"), 77;
  for (int i = 0; i < 3; ++i) close(p[i][1]);
  int before = open_fds();
  union { char buf[CMSG_SPACE(3 * sizeof(int))]; struct cmsghdr align; } in;
  memset(&in, 0, sizeof in);
  char got;
  struct iovec iov2 = {&got, 1};
  struct msghdr r = {.msg_iov = &iov2, .msg_iovlen = 1, .msg_control = in.buf,
                     .msg_controllen = CMSG_LEN(sizeof(int))}; /* room for exactly one descriptor */
  if (recvmsg(sv[1], &r, MSG_DONTWAIT) != 1) return perror("recvmsg"), 77;
  int after = open_fds();
  int bad = 0;
  if (!(r.msg_flags & MSG_CTRUNC)) {
    printf("msg_flags 0x%x: MSG_CTRUNC is not set\n", r.msg_flags);
    bad = 1;
  }
  if (after != before + 1) {
    printf("%d descriptors arrived open, expected 1 (the ones that did not fit must be closed)\n", after - before);
    bad = 1;
  }
  return bad;
}
