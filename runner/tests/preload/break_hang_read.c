/* Breaks "every call returns": read() on a pipe or FIFO never returns (the caller sleeps in pause()).
 * Used to check that a hang becomes a failure naming the test and the call, and to have a run in
 * flight when the runner is killed. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

ssize_t read(int fd, void* buf, size_t n) {
  static ssize_t (*real)(int, void*, size_t);
  if (!real) real = (ssize_t(*)(int, void*, size_t))dlsym(RTLD_NEXT, "read");
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) {
    for (;;) pause();
  }
  return real(fd, buf, n);
}
