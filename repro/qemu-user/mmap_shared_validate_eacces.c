/* qemu-user: mmap(PROT_WRITE, MAP_SHARED_VALIDATE) of a descriptor open read-only fails with EINVAL, not
 * EACCES (mmap(2), ERRORS): qemu 7.2 does not know MAP_SHARED_VALIDATE's map type. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
  long page = sysconf(_SC_PAGESIZE);
  char name[64];
  snprintf(name, sizeof name, "/ipcsuite-repro-validate-%d", (int)getpid());
  int rw = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
  if (rw < 0) return perror("shm_open"), 2;
  int ro = shm_open(name, O_RDONLY, 0);
  shm_unlink(name);
  if (ro < 0 || ftruncate(rw, page) != 0) return perror("shm_open O_RDONLY"), 2;
  void* p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE, ro, 0);
  int err = errno;
  printf("PROT_WRITE, MAP_SHARED_VALIDATE of an O_RDONLY descriptor: %s\n",
         p == MAP_FAILED ? strerror(err) : "mapped");
  return p == MAP_FAILED && err == EACCES ? 0 : 1;
}
