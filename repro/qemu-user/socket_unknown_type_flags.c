/* qemu-user: socket(2) and accept4(2) accept an unknown socket type and unknown flag bits that Linux refuses
 * with EINVAL (socket(2) ERRORS: "Unknown protocol, or protocol family not available" / "Invalid flags in
 * type"; accept4(2) ERRORS: "(accept4()) invalid value in flags").
 * Exit 1 when a call succeeds (the divergence), 0 when each fails with EINVAL (Linux).
 * Found by unix/Table/UnixErrno.FailsWithTheDocumentedErrno/{SocketUnknownType,SocketUnknownFlag,Accept4UnknownFlag}. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int check(const char* what, int r) {
  if (r >= 0) {
    printf("%s succeeded (descriptor %d), expected EINVAL\n", what, r);
    close(r);
    return 1;
  }
  if (errno != EINVAL) {
    printf("%s failed with %s, expected EINVAL\n", what, strerror(errno));
    return 1;
  }
  return 0;
}

int main(void) {
  int bad = 0;
  bad |= check("socket(AF_UNIX, 99, 0)", socket(AF_UNIX, 99, 0));
  bad |= check("socket(AF_UNIX, SOCK_STREAM | 1 << 25, 0)", socket(AF_UNIX, SOCK_STREAM | (1 << 25), 0));
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "repro-accept4-%d", (int)getpid()); /* abstract */
  socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(a.sun_path + 1));
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  if (l < 0 || c < 0 || bind(l, (struct sockaddr*)&a, len) != 0 || listen(l, 1) != 0 ||
      connect(c, (struct sockaddr*)&a, len) != 0) {
    perror("setting up a connection");
    return 77;
  }
  bad |= check("accept4(listener, NULL, NULL, 1 << 25)", accept4(l, NULL, NULL, 1 << 25));
  close(c);
  close(l);
  return bad;
}
