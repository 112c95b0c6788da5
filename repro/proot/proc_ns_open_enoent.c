/* proot: open(2) of a namespace file, /proc/<pid>/ns/ipc, fails with ENOENT: proot resolves every path itself
 * and follows the magic link to its text ("ipc:[4026531839]"), which names no file. Linux opens the namespace
 * (namespaces(7): "/proc/[pid]/ns/ directory"), as setns(2) needs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/ipc", (int)getpid());
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  printf("open(%s): %s\n", path, fd >= 0 ? "opened" : strerror(errno));
  return fd >= 0 ? 0 : 1;
}
