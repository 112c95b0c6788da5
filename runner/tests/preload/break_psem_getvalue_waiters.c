/* Breaks sem_getvalue(3): "Linux returns 0 in *sval while processes or threads are blocked in sem_wait".
 * sem_getvalue reports minus the number of waiters instead (the other behaviour POSIX permits), read from
 * glibc 2.36's 64-bit semaphore word: the value in the low 32 bits, the number of waiters in the high 32. */
// ipcsuite-teeth: filter=psem/* rules=psem.getvalue-waiters-zero
#define _GNU_SOURCE
#include <semaphore.h>
#include <stdint.h>

int sem_getvalue(sem_t* sem, int* sval) {
  uint64_t data = __atomic_load_n((uint64_t*)sem, __ATOMIC_RELAXED);
  int value = (int)(data & 0x7fffffffu);
  unsigned waiters = (unsigned)(data >> 32);
  *sval = (value == 0 && waiters > 0) ? -(int)waiters : value;
  return 0;
}
