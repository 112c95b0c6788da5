/* Breaks pipe(7)/write(2): "write to a pipe with no reader raises SIGPIPE".
 * write() and writev() swallow the SIGPIPE the kernel raises; EPIPE is still returned. */
// ipcsuite-teeth: filter=pipe/*,fifo/*,signal/* rules=pipe.epipe-no-reader,fifo.sigpipe,signal.sigpipe-default-term
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static void swallow_sigpipe(int was_pending) {
  if (was_pending) return;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  struct timespec zero = {0, 0};
  sigtimedwait(&set, NULL, &zero);
}

static int pending_sigpipe(void) {
  sigset_t p;
  sigpending(&p);
  return sigismember(&p, SIGPIPE) == 1;
}

ssize_t write(int fd, const void* buf, size_t n) {
  static ssize_t (*real)(int, const void*, size_t);
  if (!real) real = (ssize_t(*)(int, const void*, size_t))dlsym(RTLD_NEXT, "write");
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  sigprocmask(SIG_BLOCK, &block, &old);
  int was = pending_sigpipe();
  ssize_t r = real(fd, buf, n);
  int err = errno;
  if (r < 0 && err == EPIPE) swallow_sigpipe(was);
  sigprocmask(SIG_SETMASK, &old, NULL);
  errno = err;
  return r;
}

ssize_t writev(int fd, const struct iovec* iov, int cnt) {
  static ssize_t (*real)(int, const struct iovec*, int);
  if (!real) real = (ssize_t(*)(int, const struct iovec*, int))dlsym(RTLD_NEXT, "writev");
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  sigprocmask(SIG_BLOCK, &block, &old);
  int was = pending_sigpipe();
  ssize_t r = real(fd, iov, cnt);
  int err = errno;
  if (r < 0 && err == EPIPE) swallow_sigpipe(was);
  sigprocmask(SIG_SETMASK, &old, NULL);
  errno = err;
  return r;
}
