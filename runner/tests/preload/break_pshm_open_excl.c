/* Breaks shm_open(3) O_EXCL: "if O_CREAT and O_EXCL are specified and the name exists, fail with EEXIST":
 * this shm_open drops O_EXCL, so an existing object is opened instead. */
// ipcsuite-teeth: filter=pshm/* rules=pshm.open-eexist
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/types.h>

int shm_open(const char* name, int oflag, mode_t mode) {
  static int (*real)(const char*, int, mode_t);
  if (!real) real = (int (*)(const char*, int, mode_t))dlsym(RTLD_NEXT, "shm_open");
  return real(name, oflag & ~O_EXCL, mode);
}
