// SPDX-License-Identifier: MIT
#include "guest_log.h"

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

TEST(GuestLogTest, CandidateLinesAreKeptInOrder) {
  GuestLogParser parser;
  EXPECT_EQ(
      parser.Feed(
          R"(# detect: backend=kvm signature="KVMKVMKVM" base=0x40000100 reason="kvm over hyperv")"),
      LineKind::kDetect);
  EXPECT_EQ(
      parser.Feed(
          R"(# candidate: backend=kvm priority=0x40000101 base=0x40000100 signature="KVMKVMKVM")"),
      LineKind::kCandidate);
  EXPECT_EQ(
      parser.Feed(
          R"(# candidate: backend=hyperv priority=0x1 base=0x40000000 signature="Linux KVM Hv")"),
      LineKind::kCandidate);
  EXPECT_EQ(parser.Feed("# candidates are comments too"), LineKind::kComment);
  const GuestLog& log = parser.log();
  ASSERT_EQ(log.candidates.size(), 2u);
  EXPECT_EQ(FindField(log.candidates[1], "signature"), "Linux KVM Hv");
  EXPECT_EQ(log.candidate_texts[0],
            R"(backend=kvm priority=0x40000101 base=0x40000100 signature="KVMKVMKVM")");
}

TEST(GuestLogTest, HopLinesOfTheMoverAndOfTheGuestAreKeptApart) {
  GuestLogParser parser;
  EXPECT_EQ(parser.Feed("# move: request 1: hop 1, kvm to vmware, vector 0xfd"),
            LineKind::kComment);
  EXPECT_EQ(parser.Feed("move: hop=1 from=kvm to=vmware downtime_ms=41.20 pause_ms=30.05 "
                        "vmm_stop_ms=2.10 vmm_save_ms=1.50 vmm_restore_ms=25.00"),
            LineKind::kMove);
  EXPECT_EQ(parser.Feed("# move: hop=1 backend=vmi previous=kvm clock_before=100 "
                        "clock_after=30000200 pause_ns=30050000"),
            LineKind::kMove);
  EXPECT_EQ(parser.Feed("# move: 1 hops, plan done"), LineKind::kComment);
  // A failed hop says so in words, without figures: not a hop line.
  EXPECT_EQ(parser.Feed("move: hop 2 (vmware to xen) failed: KVM_CREATE_VM"), LineKind::kOther);
  const GuestLog& log = parser.log();
  ASSERT_EQ(log.move_hops.size(), 1u);
  EXPECT_EQ(FindField(log.move_hops[0], "to"), "vmware");
  EXPECT_EQ(FindField(log.move_hops[0], "downtime_ms"), "41.20");
  ASSERT_EQ(log.guest_move_hops.size(), 1u);
  EXPECT_EQ(FindField(log.guest_move_hops[0], "clock_after"), "30000200");
}

TEST(GuestLogTest, GoodRunIsParsedCompletely) {
  GuestLog log = Parse({
      "# pvguest 0.1",
      R"(# detect: backend=kvm signature="KVMKVMKVM" base=0x40000000 max_leaf=0x40000001 version=0 features=0x01007efb reason="highest priority probe")",
      R"(# patch: sites=356 inlined=75 direct=281 table=0 refused=0 why="")",
      "ok 1 detect.report",
      "ok 2 hypercall.harmless",
      "ok 3 irq.ipi # SKIP needs 2 vCPUs, have 1",
      "stat: hypercalls=123 kvm_send_ipi=4",
      "stat: pv_eoi_fast=997 hypercalls=125",
      "bench: op=hypercall.harmless iterations=1000 exits=1000",
      "2 passed, 0 failed, 1 skipped",
  });
  ASSERT_TRUE(log.detect.has_value());
  EXPECT_EQ(FindField(*log.detect, "backend"), "kvm");
  EXPECT_EQ(FindField(*log.detect, "signature"), "KVMKVMKVM");
  EXPECT_EQ(FindField(*log.detect, "features"), "0x01007efb");
  EXPECT_EQ(FindField(*log.detect, "reason"), "highest priority probe");
  ASSERT_TRUE(log.patch.has_value());
  EXPECT_EQ(FindField(*log.patch, "inlined"), "75");
  EXPECT_EQ(FindField(*log.patch, "why"), "");

  ASSERT_EQ(log.cases.size(), 3u);
  EXPECT_EQ(log.cases[0].number, 1);
  EXPECT_EQ(log.cases[0].name, "detect.report");
  EXPECT_EQ(log.cases[0].result, CaseResult::kPass);
  EXPECT_EQ(log.cases[2].name, "irq.ipi");
  EXPECT_EQ(log.cases[2].result, CaseResult::kSkip);
  EXPECT_EQ(log.cases[2].reason, "needs 2 vCPUs, have 1");

  // Stat lines merge; a repeated key keeps its last value, in first-seen position.
  Fields expected_stats = {{"hypercalls", "125"}, {"kvm_send_ipi", "4"}, {"pv_eoi_fast", "997"}};
  EXPECT_EQ(log.stats, expected_stats);
  ASSERT_EQ(log.bench.size(), 1u);
  EXPECT_EQ(FindField(log.bench[0], "iterations"), "1000");

  ASSERT_TRUE(log.closing.has_value());
  EXPECT_EQ(*log.closing, (ClosingCounts{2, 0, 1}));
  EXPECT_EQ(log.CountCases(), (ClosingCounts{2, 0, 1}));
  EXPECT_FALSE(log.fault.has_value());
  EXPECT_EQ(log.lines, 10u);
}

TEST(GuestLogTest, FailureKeepsItsReason) {
  GuestLog log = Parse({"not ok 2 mmu.set_pte # PTE change not visible after flush_tlb_one"});
  ASSERT_EQ(log.cases.size(), 1u);
  EXPECT_EQ(log.cases[0].result, CaseResult::kFail);
  EXPECT_EQ(log.cases[0].name, "mmu.set_pte");
  EXPECT_EQ(log.cases[0].reason, "PTE change not visible after flush_tlb_one");
}

TEST(GuestLogTest, NotOkWithSkipDirectiveStaysAFailure) {
  GuestLog log = Parse({"not ok 4 time.rate # SKIP no invariant TSC"});
  ASSERT_EQ(log.cases.size(), 1u);
  EXPECT_EQ(log.cases[0].result, CaseResult::kFail);
  EXPECT_EQ(log.cases[0].reason, "SKIP no invariant TSC");
}

TEST(GuestLogTest, SkipDirectiveIsCaseInsensitiveAndMayHaveNoReason) {
  GuestLog log = Parse({"ok 1 a # skip", "ok 2 b # Skip no x2apic", "ok 3 c # skipped is a note"});
  ASSERT_EQ(log.cases.size(), 3u);
  EXPECT_EQ(log.cases[0].result, CaseResult::kSkip);
  EXPECT_EQ(log.cases[0].reason, "");
  EXPECT_EQ(log.cases[1].result, CaseResult::kSkip);
  EXPECT_EQ(log.cases[1].reason, "no x2apic");
  EXPECT_EQ(log.cases[2].result, CaseResult::kPass);  // "skipped" is not the SKIP directive
  EXPECT_EQ(log.cases[2].reason, "skipped is a note");
}

TEST(GuestLogTest, FaultLineIsParsed) {
  GuestLog log = Parse({
      "ok 1 detect.report",
      "FAULT: vector=14 (#PF) rip=0xffffffff80012345 error=0x2 cr2=0x0000000000400000 cpu=0",
      "FAULT: vector=8 (#DF) rip=0xffffffff80000000 error=0x0 cpu=0",
  });
  ASSERT_TRUE(log.fault.has_value());
  EXPECT_EQ(log.fault->text,
            "vector=14 (#PF) rip=0xffffffff80012345 error=0x2 cr2=0x0000000000400000 cpu=0");
  EXPECT_EQ(FindField(log.fault->fields, "vector"), "14");
  EXPECT_EQ(FindField(log.fault->fields, "mnemonic"), "#PF");
  EXPECT_EQ(FindField(log.fault->fields, "rip"), "0xffffffff80012345");
  EXPECT_EQ(FindField(log.fault->fields, "cr2"), "0x0000000000400000");
  EXPECT_EQ(FindField(log.fault->fields, "cpu"), "0");
  EXPECT_FALSE(log.closing.has_value());
}

TEST(GuestLogTest, XenNoiseIsSkippedAndDomainTagsAreStripped) {
  GuestLogParser parser;
  EXPECT_EQ(parser.Feed("(XEN) Xen version 4.17.3-pre (Debian 4.17.2+76-ge1f9cb16e2-1~deb12u1)"),
            LineKind::kHypervisorNoise);
  EXPECT_EQ(parser.Feed("(XEN) ok 9 not.a.guest.case"), LineKind::kHypervisorNoise);
  EXPECT_EQ(parser.Feed("(d0) ok 1 detect.report"), LineKind::kCase);
  EXPECT_EQ(
      parser.Feed("(XEN) *** Serial input to DOM0 (type 'CTRL-a' three times to switch input)"),
      LineKind::kHypervisorNoise);
  EXPECT_EQ(parser.Feed("(d0v1) not ok 2 irq.ipi # no IPI within 10 ms"), LineKind::kCase);
  EXPECT_EQ(parser.Feed("(d0) 1 passed, 1 failed, 0 skipped"), LineKind::kClosing);
  EXPECT_EQ(parser.Feed("(d12) stat: hypercalls=7"), LineKind::kStat);

  const GuestLog& log = parser.log();
  ASSERT_EQ(log.cases.size(), 2u);
  EXPECT_EQ(log.cases[0].name, "detect.report");
  EXPECT_EQ(log.cases[1].name, "irq.ipi");
  EXPECT_EQ(log.cases[1].reason, "no IPI within 10 ms");
  EXPECT_EQ(*log.closing, (ClosingCounts{1, 1, 0}));
  EXPECT_EQ(FindField(log.stats, "hypercalls"), "7");
}

TEST(GuestLogTest, MalformedDomainTagIsNotStripped) {
  GuestLogParser parser;
  EXPECT_EQ(parser.Feed("(dx) ok 1 a"), LineKind::kOther);
  EXPECT_EQ(parser.Feed("(d0)ok 1 a"), LineKind::kOther);
  EXPECT_TRUE(parser.log().cases.empty());
}

TEST(GuestLogTest, CarriageReturnsAndTerminalEscapesAreDropped) {
  GuestLogParser parser;
  EXPECT_EQ(parser.Feed("ok 1 console.write\r"), LineKind::kCase);
  EXPECT_EQ(parser.Feed("\x1b"
                        "c\x1b[?7l\x1b[2J\x1b[0mok 2 detect.report\r"),
            LineKind::kCase);
  EXPECT_EQ(parser.Feed("2 passed, 0 failed, 0 skipped\r"), LineKind::kClosing);
  const GuestLog& log = parser.log();
  ASSERT_EQ(log.cases.size(), 2u);
  EXPECT_EQ(log.cases[0].name, "console.write");
  EXPECT_EQ(log.cases[1].name, "detect.report");
  EXPECT_EQ(*log.closing, (ClosingCounts{2, 0, 0}));
}

TEST(GuestLogTest, FirstLineGluedToTheFirmwareBannerIsFound) {
  GuestLogParser parser;
  EXPECT_EQ(parser.Feed("Booting from ROM..# detect: backend=native reason=\"no signature\""),
            LineKind::kDetect);
  EXPECT_EQ(parser.Feed("Booting from ROM..ok 1 a"), LineKind::kCase);
  EXPECT_EQ(FindField(*parser.log().detect, "backend"), "native");
}

TEST(GuestLogTest, GarbageIsNotMistakenForGuestLines) {
  GuestLogParser parser;
  for (std::string_view line :
       {"SeaBIOS (version 1.16.2-debian-1.16.2-1)", "ok one two", "ok 1", "ok 1 ", "ok 12x name",
        "okay 1 name", "42 passed", "2 passed, 0 failed", "2 passed, 0 failed, 1 skipped, 3 todo",
        " 2 passed, 0 failed, 1 skipped", "1 passed, 0 failed, x skipped", "\xff\xfe binary",
        "stat", "FAULT", ""}) {
    EXPECT_EQ(parser.Feed(line), LineKind::kOther) << line;
  }
  EXPECT_TRUE(parser.log().cases.empty());
  EXPECT_FALSE(parser.log().closing.has_value());
  EXPECT_FALSE(parser.log().fault.has_value());
}

TEST(GuestLogTest, CommentsAreNotCases) {
  GuestLogParser parser;
  EXPECT_EQ(parser.Feed("# ignored option foo=bar"), LineKind::kComment);
  EXPECT_EQ(parser.Feed("# ok 1 fake"), LineKind::kComment);
  EXPECT_TRUE(parser.log().cases.empty());
}

TEST(GuestLogTest, ClosingLinesAreCountedAndCasesAfterThemNoted) {
  GuestLog log =
      Parse({"ok 1 a", "1 passed, 0 failed, 0 skipped", "ok 2 b", "2 passed, 0 failed, 0 skipped"});
  EXPECT_EQ(log.closing_lines, 2);
  EXPECT_EQ(*log.closing, (ClosingCounts{1, 0, 0}));  // the first one stands
  EXPECT_EQ(log.cases_after_closing, 1);
}

TEST(GuestLogTest, FieldsHandleQuotesEscapesAndBareWords) {
  Fields fields = ParseFields(R"(a=1 bare b="two words" c="say \"hi\"" d= e="" f=x=y)");
  Fields expected = {{"a", "1"}, {"b", "two words"}, {"c", R"(say "hi")"},
                     {"d", ""},  {"e", ""},          {"f", "x=y"}};
  EXPECT_EQ(fields, expected);
}

TEST(GuestLogTest, NormalizeLineStripsTagsOnlyAtTheStart) {
  EXPECT_EQ(NormalizeLine("(d0) ok 1 a (d0) b\r\n"), "ok 1 a (d0) b");
  EXPECT_EQ(NormalizeLine("\tok 1 a"), "ok 1 a");
  EXPECT_EQ(NormalizeLine("(XEN) x"), "(XEN) x");
}

}  // namespace
}  // namespace pvops_run
