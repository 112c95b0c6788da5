// libFuzzer target for the fault plan parser (SPECs, plan files, replay logs): untrusted input.
// Beyond "no crash, no UB" (ASan/UBSan), it checks two properties:
//  - an error is one line (the command line prints it as is);
//  - a rule that parses round-trips: ParseRule(rule.Text()) gives the same text.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ipcsuite/fault.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    __builtin_fprintf(stderr, "property violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;

  ipc::fault::Plan plan;
  if (!ipc::fault::ParsePlanText(text, "fuzz", &plan, &error)) {
    Check(error.find('\n') == std::string::npos, "plan error is one line");
  } else {
    for (const auto& rule : plan.rules) {
      if (!rule.points.empty()) continue;  // replay points have no SPEC form
      ipc::fault::Rule again;
      std::string err2;
      Check(ipc::fault::ParseRule(rule.Text(), &again, &err2), "a parsed rule's text parses again");
      Check(again.Text() == rule.Text(), "a parsed rule's text round-trips");
    }
  }

  ipc::fault::Rule rule;
  error.clear();
  if (!ipc::fault::ParseRule(text, &rule, &error)) {
    Check(error.find('\n') == std::string::npos, "rule error is one line");
  }

  ipc::fault::Plan replay;
  error.clear();
  if (!ipc::fault::ParseReplayLog(text, "fuzz", &replay, &error)) {
    Check(error.find('\n') == std::string::npos, "replay error is one line");
  }
  return 0;
}
