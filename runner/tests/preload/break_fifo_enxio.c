/* Breaks fifo(7)/open(2): "O_WRONLY|O_NONBLOCK open of a FIFO with no reader fails with ENXIO".
 * open() reports EAGAIN instead. */
// ipcsuite-teeth: filter=fifo/* rules=fifo.open-enxio
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>

static int fix(int r) {
  if (r < 0 && errno == ENXIO) errno = EAGAIN;
  return r;
}

#define OPEN_MODE(flags, mode)           \
  mode_t mode = 0;                       \
  if ((flags) & (O_CREAT | O_TMPFILE)) { \
    va_list ap;                          \
    va_start(ap, flags);                 \
    mode = (mode_t)va_arg(ap, int);      \
    va_end(ap);                          \
  }

int open(const char* path, int flags, ...) {
  static int (*real)(const char*, int, ...);
  if (!real) real = (int (*)(const char*, int, ...))dlsym(RTLD_NEXT, "open");
  OPEN_MODE(flags, mode);
  return fix(real(path, flags, mode));
}

int open64(const char* path, int flags, ...) {
  static int (*real)(const char*, int, ...);
  if (!real) real = (int (*)(const char*, int, ...))dlsym(RTLD_NEXT, "open64");
  OPEN_MODE(flags, mode);
  return fix(real(path, flags, mode));
}

int openat(int dirfd, const char* path, int flags, ...) {
  static int (*real)(int, const char*, int, ...);
  if (!real) real = (int (*)(int, const char*, int, ...))dlsym(RTLD_NEXT, "openat");
  OPEN_MODE(flags, mode);
  return fix(real(dirfd, path, flags, mode));
}
