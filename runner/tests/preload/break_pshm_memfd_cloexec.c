/* Breaks memfd_create(2) MFD_CLOEXEC: "set the close-on-exec flag on the new file descriptor": this
 * memfd_create drops MFD_CLOEXEC, so the descriptor survives execve. */
// ipcsuite-teeth: filter=pshm/* rules=pshm.memfd-cloexec
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/mman.h>

int memfd_create(const char* name, unsigned int flags) {
  static int (*real)(const char*, unsigned int);
  if (!real) real = (int (*)(const char*, unsigned int))dlsym(RTLD_NEXT, "memfd_create");
  return real(name, flags & ~(unsigned int)MFD_CLOEXEC);
}
