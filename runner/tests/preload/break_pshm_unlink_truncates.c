/* Breaks shm_unlink(3): "the object's contents stay available to the processes that still have it open or
 * mapped; only the name goes": this shm_unlink first truncates the object to zero bytes (destroying the data
 * of every descriptor and mapping), then removes the name. */
// ipcsuite-teeth: filter=pshm/* rules=pshm.unlink-mapped-lives,pshm.unlink-recreate
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int shm_unlink(const char* name) {
  static int (*real)(const char*);
  if (!real) real = (int (*)(const char*))dlsym(RTLD_NEXT, "shm_unlink");
  int fd = shm_open(name, O_RDWR, 0);
  if (fd >= 0) {
    (void)ftruncate(fd, 0);
    close(fd);
  }
  return real(name);
}
