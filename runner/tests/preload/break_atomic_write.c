/* Breaks pipe(7) "writes of at most PIPE_BUF bytes are atomic": write() on a pipe or FIFO sends the
 * first half and then the rest in a second call, so concurrent writers can interleave. */
// ipcsuite-teeth: filter=pipe/PipeAtomic.*,fifo/* rules=pipe.atomic-blocking-small,fifo.atomic-pipe-buf
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

ssize_t write(int fd, const void* buf, size_t n) {
  static ssize_t (*real)(int, const void*, size_t);
  if (!real) real = (ssize_t(*)(int, const void*, size_t))dlsym(RTLD_NEXT, "write");
  struct stat st;
  if (n < 2 || fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) return real(fd, buf, n);
  size_t half = n / 2;
  ssize_t a = real(fd, buf, half);
  if (a != (ssize_t)half) return a;
  sched_yield();
  ssize_t b = real(fd, (const char*)buf + half, n - half);
  return b < 0 ? a : a + b;
}
