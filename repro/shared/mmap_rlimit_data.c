/* repro-systems: qemu-user valgrind
 * A private writable mapping of 64 pages succeeds with RLIMIT_DATA 16 pages above VmData, where Linux fails it
 * with ENOMEM (mmap(2), ERRORS).
 * qemu-user: qemu keeps RLIMIT_DATA to itself (see repro/qemu-user/shmat_rlimit_as.c). valgrind: valgrind
 * makes the client's mappings itself and does not apply RLIMIT_DATA to them. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

static unsigned long vm_data_bytes(void) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[256];
  unsigned long kb = 0;
  while (f != NULL && fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, "VmData:", 7) == 0) kb = strtoul(line + 7, NULL, 10);
  if (f != NULL) fclose(f);
  return kb * 1024;
}

int main(void) {
  long page = sysconf(_SC_PAGESIZE);
  int fd = memfd_create("ipcsuite-repro", 0);
  if (fd < 0 || ftruncate(fd, 64 * page) != 0) return perror("memfd"), 2;
  struct rlimit rl;
  if (getrlimit(RLIMIT_DATA, &rl) != 0) return 2;
  rl.rlim_cur = vm_data_bytes() + 16 * page;
  if (setrlimit(RLIMIT_DATA, &rl) != 0) return perror("setrlimit"), 2;
  void* p = mmap(NULL, 64 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  int err = errno;
  printf("64 private writable pages with RLIMIT_DATA 16 pages above VmData: %s\n",
         p == MAP_FAILED ? strerror(err) : "mapped");
  return p == MAP_FAILED && err == ENOMEM ? 0 : 1;
}
