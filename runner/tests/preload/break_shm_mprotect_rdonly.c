/* Breaks mprotect(2) on a read-only attach: "EACCES The memory cannot be given the specified access":
 * the refusal is swallowed and mprotect reports success, as if a SHM_RDONLY attach had become writable. */
// ipcsuite-teeth: filter=shm/ShmMprotect.* rules=shm.mprotect-rdonly-eacces
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/mman.h>

int mprotect(void* addr, size_t len, int prot) {
  static int (*real)(void*, size_t, int);
  if (!real) real = (int (*)(void*, size_t, int))dlsym(RTLD_NEXT, "mprotect");
  int r = real(addr, len, prot);
  if (r != 0 && errno == EACCES) return 0;
  return r;
}
