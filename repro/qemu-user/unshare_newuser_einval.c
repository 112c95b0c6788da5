/* qemu-user: unshare(CLONE_NEWUSER) fails with EINVAL in a single-threaded program: qemu runs the program
 * beside threads of its own, and unshare(2) refuses CLONE_NEWUSER to a multithreaded caller ("EINVAL
 * CLONE_NEWUSER was specified in flags and the caller is multithreaded").
 * Exit 1 when it fails with EINVAL (the divergence), 0 when it succeeds, 77 when the host itself refuses
 * a user namespace (EPERM, ENOSPC: not this divergence).
 * Found by unix/UnixPeercred.CredentialsAreMappedIntoTheReadersUserNamespace (which then skips). */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  pid_t pid = fork();
  if (pid < 0) return perror("fork"), 77;
  if (pid == 0) {
    if (unshare(CLONE_NEWUSER) == 0) _exit(0);
    printf("unshare(CLONE_NEWUSER) in a single-threaded child failed: %s\n", strerror(errno));
    _exit(errno == EINVAL ? 1 : 77);
  }
  int st;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return 77;
  return WEXITSTATUS(st);
}
