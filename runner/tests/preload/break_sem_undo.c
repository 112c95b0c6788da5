/* Breaks semop(2): "SEM_UNDO operations are undone when the process terminates": the flag is dropped. */
// ipcsuite-teeth: filter=sem/SemUndo.* rules=sem.semop-undo-exit,sem.semop-undo-exec
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sem.h>

int semop(int id, struct sembuf* sops, size_t nsops) {
  static int (*real)(int, struct sembuf*, size_t);
  if (!real) real = (int (*)(int, struct sembuf*, size_t))dlsym(RTLD_NEXT, "semop");
  struct sembuf copy[nsops ? nsops : 1];
  if (sops != NULL && nsops > 0 && nsops <= 64) {
    memcpy(copy, sops, nsops * sizeof *sops);
    for (size_t i = 0; i < nsops; ++i) copy[i].sem_flg &= ~SEM_UNDO;
    return real(id, copy, nsops);
  }
  return real(id, sops, nsops);
}
