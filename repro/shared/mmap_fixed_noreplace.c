/* repro-systems: qemu-user valgrind
 * mmap(addr, MAP_FIXED_NOREPLACE) over an existing mapping does not fail with EEXIST (mmap(2), ERRORS): the
 * system maps elsewhere and returns another address.
 * qemu-user: qemu 7.2 maps elsewhere. valgrind: valgrind 3.19 takes the flag for a hint. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
  long page = sysconf(_SC_PAGESIZE);
  void* a = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (a == MAP_FAILED) return perror("mmap"), 2;
  void* b = mmap(a, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  int err = errno;
  if (b == MAP_FAILED)
    printf("MAP_FIXED_NOREPLACE over a mapping: %s\n", strerror(err));
  else
    printf("MAP_FIXED_NOREPLACE over a mapping at %p: succeeded at %p\n", a, b);
  return b == MAP_FAILED && err == EEXIST ? 0 : 1;
}
