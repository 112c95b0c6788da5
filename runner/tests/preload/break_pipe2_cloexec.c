/* Breaks pipe2(2): "O_CLOEXEC sets the close-on-exec flag on both new descriptors": it is dropped. */
// ipcsuite-teeth: filter=pipe/* rules=pipe.pipe2-cloexec
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

int pipe2(int fds[2], int flags) {
  static int (*real)(int*, int);
  if (!real) real = (int (*)(int*, int))dlsym(RTLD_NEXT, "pipe2");
  return real(fds, flags & ~O_CLOEXEC);
}
