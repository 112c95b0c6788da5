/* Breaks msgop(2): "MSG_NOERROR truncates a message longer than msgsz": the flag is dropped, so the
 * call fails with E2BIG and leaves the message queued. */
// ipcsuite-teeth: filter=msg/* rules=msg.msg-noerror
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/msg.h>

ssize_t msgrcv(int id, void* msgp, size_t msgsz, long msgtyp, int flags) {
  static ssize_t (*real)(int, void*, size_t, long, int);
  if (!real) real = (ssize_t(*)(int, void*, size_t, long, int))dlsym(RTLD_NEXT, "msgrcv");
  return real(id, msgp, msgsz, msgtyp, flags & ~MSG_NOERROR);
}
