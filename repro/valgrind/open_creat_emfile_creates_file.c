/* valgrind: an open(O_CREAT | O_EXCL) that fails with EMFILE (no descriptor free under RLIMIT_NOFILE) has
 * created the file; on Linux a failed open creates nothing (the descriptor is reserved before the file is
 * made; POSIX open(): "No files shall be created or modified if the function returns -1"). valgrind keeps the
 * client's RLIMIT_NOFILE to itself: the kernel's open succeeds, valgrind closes the descriptor it finds above
 * the client's limit and returns EMFILE. So a failed sem_open(O_CREAT) leaves glibc's temporary
 * /dev/shm/sem.XXXXXX behind. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int main(void) {
  char dir[] = "/tmp/repro-open-emfile-XXXXXX";
  if (mkdtemp(dir) == NULL) return perror("mkdtemp"), 2;
  char path[sizeof dir + 8];
  snprintf(path, sizeof path, "%s/file", dir);
  struct rlimit rl, saved;
  if (getrlimit(RLIMIT_NOFILE, &saved) != 0) return perror("getrlimit"), 2;
  int low = dup(0);  /* the lowest free descriptor: a limit of it leaves none free */
  if (low < 0) return perror("dup"), 2;
  close(low);
  rl = saved;
  rl.rlim_cur = (rlim_t)low;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return perror("setrlimit"), 2;
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
  int err = errno;
  if (setrlimit(RLIMIT_NOFILE, &saved) != 0) return perror("setrlimit"), 2;
  int created = access(path, F_OK) == 0;
  if (fd >= 0) close(fd);
  unlink(path);
  rmdir(dir);
  if (fd >= 0) return printf("open with no descriptor free succeeded (fd %d)\n", fd), 2;
  printf("open(O_CREAT) with no descriptor free: %s; the file was %s\n", strerror(err),
         created ? "created" : "not created");
  return created ? 1 : 0;
}
