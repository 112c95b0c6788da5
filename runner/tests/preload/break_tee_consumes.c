/* Breaks tee(2): "It does not consume the data that is duplicated from fd_in": this tee moves the data
 * with splice(2) instead, so the input pipe loses what was duplicated. */
// ipcsuite-teeth: filter=pipe/PipeTee.* rules=pipe.tee-duplicates
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>

ssize_t tee(int fd_in, int fd_out, size_t len, unsigned int flags) {
  return splice(fd_in, NULL, fd_out, NULL, len, flags);
}
