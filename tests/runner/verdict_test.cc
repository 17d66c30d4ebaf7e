// SPDX-License-Identifier: MIT
#include "verdict.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string_view>

namespace pvops_run {
namespace {

GuestLog Parse(std::initializer_list<std::string_view> lines) {
  GuestLogParser parser;
  for (std::string_view line : lines) parser.Feed(line);
  return parser.TakeLog();
}

LaunchOutcome Exited(int status) {
  LaunchOutcome outcome;
  outcome.exit_status = status;
  return outcome;
}

TEST(VerdictTest, PassNeedsStatus33ZeroFailedAndMatchingCounts) {
  GuestLog log = Parse({"ok 1 a", "ok 2 b # SKIP no x2apic", "1 passed, 0 failed, 1 skipped"});
  VerdictWithReason verdict = DecideVerdict(Exited(33), log);
  EXPECT_EQ(verdict.verdict, Verdict::kPass);
  EXPECT_EQ(verdict.reason, "");
}

TEST(VerdictTest, FailedCaseNamesTheFirstFailure) {
  GuestLog log = Parse({"ok 1 a", "not ok 2 mmu.flush_one # stale TLB entry", "not ok 3 c",
                        "1 passed, 2 failed, 0 skipped"});
  VerdictWithReason verdict = DecideVerdict(Exited(35), log);
  EXPECT_EQ(verdict.verdict, Verdict::kFail);
  EXPECT_EQ(verdict.reason, "2 failed; first failure: mmu.flush_one (stale TLB entry)");
}

TEST(VerdictTest, Status33WithoutClosingLineFails) {
  GuestLog log = Parse({"ok 1 a"});
  VerdictWithReason verdict = DecideVerdict(Exited(33), log);
  EXPECT_EQ(verdict.verdict, Verdict::kFail);
  EXPECT_EQ(verdict.reason, "exit status 33 without closing line (last case seen: 1 a)");
}

TEST(VerdictTest, LauncherErrorWithoutClosingLineQuotesItsStderr) {
  LaunchOutcome outcome = Exited(1);
  outcome.last_stderr_line = "qemu-system-x86_64: -kernel x.elf: error loading";
  VerdictWithReason verdict = DecideVerdict(outcome, GuestLog{});
  EXPECT_EQ(verdict.verdict, Verdict::kFail);
  EXPECT_EQ(verdict.reason, "exit status 1 without closing line (no case line seen); last stderr: "
                            "qemu-system-x86_64: -kernel x.elf: error loading");
}

TEST(VerdictTest, MismatchedCountsFail) {
  GuestLog log = Parse({"ok 1 a", "ok 2 b", "3 passed, 0 failed, 0 skipped"});
  VerdictWithReason verdict = DecideVerdict(Exited(33), log);
  EXPECT_EQ(verdict.verdict, Verdict::kFail);
  EXPECT_EQ(verdict.reason,
            "closing line says 3 passed, 0 failed, 0 skipped but the case lines say "
            "2 passed, 0 failed, 0 skipped");
}

TEST(VerdictTest, SkipCountedAsPassIsAMismatch) {
  GuestLog log = Parse({"ok 1 a", "ok 2 b # SKIP no feature", "2 passed, 0 failed, 0 skipped"});
  EXPECT_EQ(DecideVerdict(Exited(33), log).verdict, Verdict::kFail);
}

TEST(VerdictTest, ZeroFailedButWrongStatusFails) {
  GuestLog log = Parse({"ok 1 a", "1 passed, 0 failed, 0 skipped"});
  VerdictWithReason verdict = DecideVerdict(Exited(35), log);
  EXPECT_EQ(verdict.verdict, Verdict::kFail);
  EXPECT_EQ(verdict.reason, "exit status 35 (expected 33) although the closing line says 0 failed");
}

TEST(VerdictTest, KilledBySignalIsNamed) {
  LaunchOutcome outcome;
  outcome.term_signal = 9;
  VerdictWithReason verdict = DecideVerdict(outcome, Parse({"1 passed, 0 failed, 0 skipped"}));
  EXPECT_EQ(verdict.verdict, Verdict::kFail);
  EXPECT_EQ(verdict.reason, "closing line says 1 passed, 0 failed, 0 skipped but the case lines "
                            "say 0 passed, 0 failed, 0 skipped");
  verdict = DecideVerdict(outcome, GuestLog{});
  EXPECT_EQ(verdict.reason, "killed by signal 9 without closing line (no case line seen)");
}

TEST(VerdictTest, FaultLineGivesVectorAndRip) {
  GuestLog log = Parse({"ok 1 a", "FAULT: vector=14 (#PF) rip=0xffffffff80012345 error=0x2 "
                                  "cr2=0x0000000000400000 cpu=1"});
  VerdictWithReason verdict = DecideVerdict(Exited(37), log);
  EXPECT_EQ(verdict.verdict, Verdict::kFault);
  EXPECT_EQ(verdict.reason,
            "FAULT vector=14 (#PF) rip=0xffffffff80012345 error=0x2 cr2=0x0000000000400000 cpu=1");
}

TEST(VerdictTest, FaultLineWithUnexpectedStatusSaysSo) {
  GuestLog log = Parse({"FAULT: vector=13 (#GP) rip=0xffffffff80001000 error=0x0 cpu=0"});
  VerdictWithReason verdict = DecideVerdict(Exited(33), log);
  EXPECT_EQ(verdict.verdict, Verdict::kFault);
  EXPECT_EQ(verdict.reason,
            "FAULT vector=13 (#GP) rip=0xffffffff80001000 error=0x0 cpu=0 (exit status 33, "
            "expected 37)");
}

TEST(VerdictTest, FaultStatusWithoutFaultLine) {
  VerdictWithReason verdict = DecideVerdict(Exited(37), Parse({"ok 1 a"}));
  EXPECT_EQ(verdict.verdict, Verdict::kFault);
  EXPECT_EQ(verdict.reason,
            "exit status 37 (guest fault) without a FAULT line (last case seen: 1 a)");
}

TEST(VerdictTest, TimeoutWinsOverEverythingTheGuestSaid) {
  LaunchOutcome outcome;
  outcome.timed_out = true;
  outcome.timeout_seconds = 10;
  outcome.term_signal = 15;
  VerdictWithReason verdict =
      DecideVerdict(outcome, Parse({"ok 1 a", "1 passed, 0 failed, 0 skipped"}));
  EXPECT_EQ(verdict.verdict, Verdict::kTimeout);
  EXPECT_EQ(verdict.reason, "timeout after 10 s (last case seen: 1 a)");

  outcome.timeout_seconds = 2.5;
  verdict = DecideVerdict(outcome, Parse({"FAULT: vector=6 (#UD) rip=0x1 cpu=0"}));
  EXPECT_EQ(verdict.verdict, Verdict::kTimeout);
  EXPECT_EQ(verdict.reason, "timeout after 2.5 s after FAULT vector=6 (#UD) rip=0x1 cpu=0");
}

TEST(VerdictTest, StartErrorIsAFailureNeverASkip) {
  LaunchOutcome outcome;
  outcome.start_error = "setup failed: apt-get: package xen-hypervisor-4.17-amd64 not found";
  VerdictWithReason verdict = DecideVerdict(outcome, GuestLog{});
  EXPECT_EQ(verdict.verdict, Verdict::kFail);
  EXPECT_EQ(verdict.reason, "setup failed: apt-get: package xen-hypervisor-4.17-amd64 not found");
}

TEST(VerdictTest, ProtocolErrorsAfterTheClosingLineFail) {
  GuestLog twice =
      Parse({"ok 1 a", "1 passed, 0 failed, 0 skipped", "1 passed, 0 failed, 0 skipped"});
  EXPECT_EQ(DecideVerdict(Exited(33), twice).reason, "2 closing lines");
  GuestLog late = Parse({"1 passed, 0 failed, 0 skipped", "ok 1 a"});
  EXPECT_EQ(DecideVerdict(Exited(33), late).reason, "1 case lines after the closing line");
}

TEST(VerdictTest, NamesRoundTrip) {
  for (Verdict verdict : {Verdict::kPass, Verdict::kFail, Verdict::kFault, Verdict::kTimeout}) {
    EXPECT_EQ(ParseVerdictName(VerdictName(verdict)), verdict);
  }
  EXPECT_EQ(ParseVerdictName("skip"), std::nullopt);
}

}  // namespace
}  // namespace pvops_run
