/* Breaks poll(2) on pipes: "POLLHUP ... when reading from a channel such as a pipe, this event merely
 * indicates that the peer closed its end": the hang-up is never reported (the bit is cleared from every
 * revents, and a descriptor left with no events no longer counts), as an implementation that forgot to
 * track the writers would behave. */
// ipcsuite-teeth: filter=pipe/PipePoll.* rules=pipe.poll-pollhup
#define _GNU_SOURCE
#include <dlfcn.h>
#include <poll.h>

int poll(struct pollfd* fds, nfds_t nfds, int timeout) {
  static int (*real)(struct pollfd*, nfds_t, int);
  if (!real) real = (int (*)(struct pollfd*, nfds_t, int))dlsym(RTLD_NEXT, "poll");
  int r = real(fds, nfds, timeout);
  if (r <= 0) return r;
  int ready = 0;
  for (nfds_t i = 0; i < nfds; ++i) {
    fds[i].revents &= (short)~POLLHUP;
    if (fds[i].revents) ++ready;
  }
  return ready;
}
