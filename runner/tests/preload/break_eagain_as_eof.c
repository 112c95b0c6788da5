/* Breaks pipe(7)/read(2): "O_NONBLOCK read on an empty pipe with a writer fails with EAGAIN".
 * read() reports EAGAIN as end of file (returns 0), a classic wrapper-library bug. */
// ipcsuite-teeth: filter=pipe/*,fifo/* rules=pipe.read-nonblock-eagain,fifo.read-eagain
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <unistd.h>

ssize_t read(int fd, void* buf, size_t n) {
  static ssize_t (*real)(int, void*, size_t);
  if (!real) real = (ssize_t(*)(int, void*, size_t))dlsym(RTLD_NEXT, "read");
  ssize_t r = real(fd, buf, n);
  if (r < 0 && errno == EAGAIN) return 0;
  return r;
}
