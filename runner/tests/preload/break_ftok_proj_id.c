/* Breaks ftok(3): "uses ... the least significant 8 bits of proj_id": this ftok ignores proj_id (always
 * uses 1), so every project of a file gets the same key. */
// ipcsuite-teeth: filter=sysv/SysvFtok.* rules=sysv.ftok-proj-id
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/ipc.h>

key_t ftok(const char* pathname, int proj_id) {
  static key_t (*real)(const char*, int);
  if (!real) real = (key_t(*)(const char*, int))dlsym(RTLD_NEXT, "ftok");
  (void)proj_id;
  return real(pathname, 1);
}
