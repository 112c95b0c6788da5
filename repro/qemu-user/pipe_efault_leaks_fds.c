/* qemu-user: pipe() and pipe2() with an unmapped array fail with EFAULT but leave the two new descriptors
 * open (qemu creates the host pipe first, then fails to copy the descriptors out). Linux closes them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

static int lowest_free(void) {
  int fd = dup(0);
  close(fd);
  return fd;
}

int main(void) {
  void* bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (bad == MAP_FAILED) return perror("mmap"), 2;
  int before = lowest_free(), bad_seen = 0;
  int r = pipe(bad);
  int e = errno, after = lowest_free();
  printf("pipe(unmapped): %d (%s), lowest free fd %d -> %d\n", r, r ? "EFAULT?" : "ok", before, after);
  bad_seen |= r != -1 || e != EFAULT || after != before;
  before = lowest_free();
  r = pipe2(bad, O_CLOEXEC);
  e = errno;
  after = lowest_free();
  printf("pipe2(unmapped): %d, lowest free fd %d -> %d\n", r, before, after);
  bad_seen |= r != -1 || e != EFAULT || after != before;
  return bad_seen;
}
