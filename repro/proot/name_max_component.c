/* proot: a file name of exactly NAME_MAX (255) bytes fails with ENAMETOOLONG; Linux accepts it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
  char dir[] = "/tmp/repro-proot-XXXXXX", path[512];
  if (!mkdtemp(dir)) return perror("mkdtemp"), 2;
  long name_max = pathconf(dir, _PC_NAME_MAX);
  int n = snprintf(path, sizeof path, "%s/", dir);
  memset(path + n, 'n', (size_t)name_max);
  path[n + name_max] = '\0';
  int r = mkfifo(path, 0600), e = errno;
  printf("mkfifo of a %ld-byte name (NAME_MAX %ld): %s\n", name_max, name_max,
         r == 0 ? "created" : strerror(e));
  unlink(path);
  rmdir(dir);
  return r == 0 ? 0 : 1;
}
