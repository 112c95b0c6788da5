// The SOCK_SEQPACKET message-queue property under injected faults and kills (seqpacket_faults.h) against
// the kernel: it must hold, and its cases must reach every rule the test claims (rapidcheck's distribution
// and the coverage lines are printed with the seed). Rules: suite/rules/unix_property.ini.
#include "seqpacket_faults.h"

#include "expect.h"
#include "ipcsuite/fixtures.h"
#include "property_util.h"

namespace ipc {
namespace {

IPC_TEST(UnixPropertyFaults, SeqpacketQueueHoldsUnderFaultsAndKills, "unix.prop-seqpacket-no-partial-effect",
         "unix.prop-seqpacket-close-errors", "unix.prop-socketpair-creates-nothing", "unix.socketpair-emfile",
         "unix.recv-eagain", "unix.prop-seqpacket-fds", "unix.prop-seqpacket-killed-peer",
         "unix.eof-after-peer-close", "unix.econnreset", "unix.epipe") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(
      "the fault layer maps its trampoline at a fixed address inside ThreadSanitizer's shadow memory");
  IPC_REQUIRE_FAULT_LAYER();
  ring::prop::ExpectPasses(
      unix_faults::SeqpacketUnderFaultsAndKills(unix_faults::UserFlaw::kNone, ring::prop::DefaultBudget(200),
                                                "UnixPropertyFaults/Seqpacket"),
      "seqpacket queue under faults and kills");
}

}  // namespace
}  // namespace ipc
