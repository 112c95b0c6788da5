// Teeth of the SOCK_SEQPACKET message-queue property (unix_seqpacket.h): each deliberately broken user of
// the socket must make the property fail (area selftest). Rules: suite/rules/unix_property.ini.
#include "ipcsuite/fixtures.h"
#include "unix_seqpacket.h"

namespace ipc {
namespace {

IPC_TEST(UnixPropertyTeeth, SenderThatKeepsItsCopyLeaksADescriptor, "unix.prop-seqpacket-fds") {
  EXPECT_FALSE(
      unix_prop::CheckSeqpacketQueue(unix_prop::Flaw::kSenderKeepsItsCopy, "flaw: sender keeps its copy"));
}

IPC_TEST(UnixPropertyTeeth, ReceiverWithoutControlBufferLosesDescriptors, "unix.prop-seqpacket-fds") {
  EXPECT_FALSE(unix_prop::CheckSeqpacketQueue(unix_prop::Flaw::kNoControlBuffer, "flaw: no control buffer"));
}

IPC_TEST(UnixPropertyTeeth, ReceiverWithShortBufferTearsMessages, "unix.prop-seqpacket-queue") {
  EXPECT_FALSE(unix_prop::CheckSeqpacketQueue(unix_prop::Flaw::kShortDataBuffer, "flaw: short data buffer"));
}

}  // namespace
}  // namespace ipc
