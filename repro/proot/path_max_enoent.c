/* proot: a path of PATH_MAX - 1 bytes (short components, missing directories) fails with ENAMETOOLONG;
 * Linux resolves it and fails with ENOENT. proot's own translation of the path needs more room. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
  char dir[] = "/tmp/repro-proot-XXXXXX", path[PATH_MAX + 8];
  if (!mkdtemp(dir)) return perror("mkdtemp"), 2;
  long path_max = pathconf(dir, _PC_PATH_MAX);
  size_t len = (size_t)path_max - 1, n = (size_t)snprintf(path, sizeof path, "%s/", dir);
  while (n + 2 <= len) n += (size_t)snprintf(path + n, sizeof path - n, "d/");
  while (n < len) path[n++] = 'f';
  path[n] = '\0';
  int r = mkfifo(path, 0600), e = errno;
  rmdir(dir);
  printf("mkfifo of a %zu-byte path under missing directories: %s (Linux: ENOENT)\n", strlen(path),
         r == 0 ? "created" : strerror(e));
  return r == -1 && e == ENOENT ? 0 : 1;
}
