/* proot: mkfifo on a dangling symbolic link creates the link's target (Linux: EEXIST, the final link is not
 * followed), and on a self-referencing link fails with ELOOP (Linux: EEXIST). proot resolves the final
 * component itself before the call. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
  char dir[] = "/tmp/repro-proot-XXXXXX", link[64], target[64], self[64];
  if (!mkdtemp(dir)) return perror("mkdtemp"), 2;
  snprintf(link, sizeof link, "%s/dangling", dir);
  snprintf(target, sizeof target, "%s/nowhere", dir);
  snprintf(self, sizeof self, "%s/self", dir);
  if (symlink(target, link) != 0 || symlink("self", self) != 0) return perror("symlink"), 2;
  int r1 = mkfifo(link, 0600), e1 = errno;
  int r2 = mkfifo(self, 0600), e2 = errno;
  printf("mkfifo(dangling link): %s; mkfifo(self link): %s (Linux: EEXIST, EEXIST)\n",
         r1 == 0 ? "created the target" : strerror(e1), r2 == 0 ? "succeeded" : strerror(e2));
  unlink(target);
  unlink(link);
  unlink(self);
  rmdir(dir);
  return r1 == -1 && e1 == EEXIST && r2 == -1 && e2 == EEXIST ? 0 : 1;
}
