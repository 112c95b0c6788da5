/* Breaks fcntl(2) F_SEAL_SEAL: "once F_SEAL_SEAL is set, F_ADD_SEALS fails with EPERM": this fcntl silently
 * drops F_SEAL_SEAL from the seals F_ADD_SEALS adds (the call still succeeds), so the seal set never gets
 * locked. */
// ipcsuite-teeth: filter=pshm/* rules=pshm.seal-seal
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>

static int forward(const char* sym, int fd, int cmd, unsigned long arg) {
  int (*real)(int, int, ...) = (int (*)(int, int, ...))dlsym(RTLD_NEXT, sym);
  if (cmd == F_ADD_SEALS) arg &= ~(unsigned long)F_SEAL_SEAL;
  return real(fd, cmd, arg);
}

int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  unsigned long arg = va_arg(ap, unsigned long);
  va_end(ap);
  return forward("fcntl", fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  unsigned long arg = va_arg(ap, unsigned long);
  va_end(ap);
  return forward("fcntl64", fd, cmd, arg);
}
