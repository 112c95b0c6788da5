/* repro-systems: qemu-user valgrind
 * shmat(id, NULL, SHM_REMAP) succeeds; Linux fails it with EINVAL (SHM_REMAP needs an address).
 * qemu-user: qemu chooses the guest address itself and passes it to the host with SHM_REMAP. valgrind:
 * valgrind chooses the address itself (its address space manager) and passes it with SHM_REMAP. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/shm.h>

int main(void) {
  int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  if (id < 0) return perror("shmget"), 2;
  void* at = shmat(id, NULL, SHM_REMAP);
  int e = errno;
  shmctl(id, IPC_RMID, NULL);
  printf("shmat(NULL, SHM_REMAP): %s\n", at == (void*)-1 ? strerror(e) : "succeeded (divergence)");
  return at == (void*)-1 && e == EINVAL ? 0 : 1;
}
