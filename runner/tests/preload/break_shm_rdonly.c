/* Breaks shmop(2): "SHM_RDONLY attaches the segment for reading only": the flag is dropped, so writes
 * through the attachment succeed instead of raising SIGSEGV. */
// ipcsuite-teeth: filter=shm/ShmAt.* rules=shm.at-rdonly
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/shm.h>

void* shmat(int id, const void* addr, int flags) {
  static void* (*real)(int, const void*, int);
  if (!real) real = (void* (*)(int, const void*, int))dlsym(RTLD_NEXT, "shmat");
  return real(id, addr, flags & ~SHM_RDONLY);
}
