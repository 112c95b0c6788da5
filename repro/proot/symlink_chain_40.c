/* proot: a chain of 40 symbolic links fails with ELOOP; Linux follows up to 40 (path_resolution(7)). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  char dir[] = "/tmp/repro-proot-XXXXXX", name[64], prev[16] = "file";
  if (!mkdtemp(dir)) return perror("mkdtemp"), 2;
  snprintf(name, sizeof name, "%s/file", dir);
  close(open(name, O_CREAT | O_WRONLY, 0600));
  int longest = 0;
  for (int i = 1; i <= 40; i++) {
    snprintf(name, sizeof name, "%s/l%d", dir, i);
    if (symlink(prev, name) != 0) return perror("symlink"), 2;
    snprintf(prev, sizeof prev, "l%d", i);
    int fd = open(name, O_RDONLY);
    if (fd >= 0 && longest == i - 1) longest = i;
    if (fd >= 0) close(fd);
  }
  printf("longest chain of symbolic links that opens: %d (Linux: 40)\n", longest);
  for (int i = 1; i <= 40; i++) {
    snprintf(name, sizeof name, "%s/l%d", dir, i);
    unlink(name);
  }
  snprintf(name, sizeof name, "%s/file", dir);
  unlink(name);
  rmdir(dir);
  return longest == 40 ? 0 : 1;
}
