// Teeth of the SOCK_SEQPACKET property under faults and kills (seqpacket_faults.h): each deliberately
// broken user of the socket must make the property fail (area selftest). Rules:
// suite/rules/unix_property.ini.
#include <iostream>

#include "ipcsuite/fixtures.h"
#include "property_util.h"
#include "seqpacket_faults.h"

namespace ipc {
namespace {

constexpr const char* kTsanShadow =
    "the fault layer maps its trampoline at a fixed address inside ThreadSanitizer's shadow memory";

// The property fails for `flaw`; the counterexample, with its seed and reproduce string, is printed.
void ExpectCaught(unix_faults::UserFlaw flaw, const char* id) {
  // No shrinking: a broken user's shrunk cases may each wait out the case deadline (a peer waiting for a
  // lost message); the first failing case is printed as it was generated.
  ring::prop::Budget budget = ring::prop::DefaultBudget(300);
  budget.shrink = false;
  const ring::prop::Outcome out = unix_faults::SeqpacketUnderFaultsAndKills(flaw, budget, id);
  EXPECT_FALSE(out.passed) << id << ": the broken user passed " << out.cases << " cases (seed " << out.seed
                           << ")";
  EXPECT_FALSE(out.infrastructure) << out.text;
  std::cout << id << ": caught after " << out.cases << " cases:\n" << out.text << std::endl;
}

IPC_TEST(UnixPropertyFaultsTeeth, FailedSendTakenAsSentLosesAMessage,
         "unix.prop-seqpacket-no-partial-effect") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(kTsanShadow);
  IPC_REQUIRE_FAULT_LAYER();  // else every case fails and the flaw looks caught
  ExpectCaught(unix_faults::UserFlaw::kFailedSendCountsAsSent,
               "UnixPropertyFaultsTeeth/FailedSendTakenAsSent");
}

IPC_TEST(UnixPropertyFaultsTeeth, FailedRecvTakenAsReceivedIsCaught,
         "unix.prop-seqpacket-no-partial-effect") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(kTsanShadow);
  IPC_REQUIRE_FAULT_LAYER();  // else every case fails and the flaw looks caught
  ExpectCaught(unix_faults::UserFlaw::kFailedRecvCountsAsRecv,
               "UnixPropertyFaultsTeeth/FailedRecvTakenAsReceived");
}

IPC_TEST(UnixPropertyFaultsTeeth, CloseErrorThatForgetsTheDescriptorLeaksIt,
         "unix.prop-seqpacket-close-errors") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(kTsanShadow);
  IPC_REQUIRE_FAULT_LAYER();  // else every case fails and the flaw looks caught
  ExpectCaught(unix_faults::UserFlaw::kCloseErrorForgetsTheFd,
               "UnixPropertyFaultsTeeth/CloseErrorForgetsTheFd");
}

}  // namespace
}  // namespace ipc
