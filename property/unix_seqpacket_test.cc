// The SOCK_SEQPACKET message-queue property (unix_seqpacket.h) against the kernel: it must hold.
// Rules: suite/rules/unix_property.ini.
#include "unix_seqpacket.h"

#include "ipcsuite/fixtures.h"

namespace ipc {
namespace {

IPC_TEST(UnixPropertySeqpacket, MessagesAndDescriptorsMatchTheQueueModel, "unix.prop-seqpacket-queue",
         "unix.prop-seqpacket-fds") {
  EXPECT_TRUE(
      unix_prop::CheckSeqpacketQueue(unix_prop::Flaw::kNone, "seqpacket queue with descriptor passing"));
}

}  // namespace
}  // namespace ipc
