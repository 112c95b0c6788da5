/* qemu-user: shmat(SHM_EXEC) maps the segment without execute permission (/proc/self/maps shows rw-s, Linux
 * rwxs): qemu's do_shmat ignores SHM_EXEC for the guest's page protections. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/shm.h>

int main(void) {
  int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0700);
  if (id < 0) return perror("shmget"), 2;
  void* at = shmat(id, NULL, SHM_EXEC);
  shmctl(id, IPC_RMID, NULL);
  if (at == (void*)-1) return perror("shmat"), 2;
  char line[512], perms[8] = "?";
  FILE* f = fopen("/proc/self/maps", "r");
  while (f && fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    char p[8];
    if (sscanf(line, "%lx-%lx %7s", &lo, &hi, p) == 3 && lo == (unsigned long)at) strcpy(perms, p);
  }
  if (f) fclose(f);
  printf("SHM_EXEC mapping: %s (Linux: rwxs)\n", perms);
  return strcmp(perms, "rwxs") == 0 ? 0 : 1;
}
