// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "json_report.h"
#include "matrix_report.h"
#include "terminal_text.h"

namespace pvops_run {
namespace {

EnvironmentResult MakeResult(const std::string& name, std::vector<std::string> lines,
                             LaunchOutcome outcome) {
  EnvironmentResult result;
  result.name = name;
  GuestLogParser parser;
  for (const std::string& line : lines) parser.Feed(line);
  result.log = parser.TakeLog();
  result.outcome = outcome;
  result.verdict = DecideVerdict(outcome, result.log);
  result.wall_seconds = 1.25;
  return result;
}

LaunchOutcome Exited(int status) {
  LaunchOutcome outcome;
  outcome.exit_status = status;
  return outcome;
}

std::vector<EnvironmentResult> TwoEnvironments() {
  std::vector<EnvironmentResult> results;
  results.push_back(MakeResult(
      "native",
      {R"(# detect: backend=native reason="no signature")", "ok 1 detect.report",
       "ok 2 irq.ipi # SKIP needs 2 vCPUs", "stat: hypercalls=0", "1 passed, 0 failed, 1 skipped"},
      Exited(33)));
  results.push_back(MakeResult("kvm",
                               {"ok 1 detect.report", "not ok 2 mmu.flush_one # stale entry",
                                "ok 3 irq.ipi", "2 passed, 1 failed, 0 skipped"},
                               Exited(35)));
  return results;
}

TEST(MatrixReportTest, MatrixRowsFollowFirstSeenOrderAndEndsWithTotals) {
  std::ostringstream out;
  PrintMatrix(TwoEnvironments(), out);
  EXPECT_EQ(out.str(),
            "\n"
            "case           native  kvm\n"
            "detect.report  pass    pass\n"
            "irq.ipi        skip    pass\n"
            "mmu.flush_one  -       FAIL\n"
            "\n"
            "[native] detect: backend=native reason=\"no signature\"\n"
            "[native] stats: hypercalls=0\n"
            "[native] skip irq.ipi: needs 2 vCPUs\n"
            "[native] verdict: pass (exit status 33, 1.2 s)\n"
            "[kvm] detect: (no detect line)\n"
            "[kvm] FAIL mmu.flush_one: stale entry\n"
            "[kvm] verdict: fail (1 failed; first failure: mmu.flush_one (stale entry), 1.2 s)\n"
            "3 passed, 1 failed, 1 skipped\n");
}

TEST(MatrixReportTest, APassThatNotesExpectedFailuresShowsTheNote) {
  std::vector<EnvironmentResult> results;
  results.push_back(MakeResult("vmware",
                               {"# XFAIL: time.steal: cpu 1: steal time advances", "ok 1 a",
                                "ok 2 time.steal # 1 expected failure: cpu 1: steal time advances",
                                "2 passed, 0 failed, 0 skipped"},
                               Exited(33)));
  std::ostringstream out;
  PrintMatrix(results, out);
  EXPECT_NE(out.str().find("time.steal  pass\n"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("[vmware] note time.steal: 1 expected failure: cpu 1: steal time "
                           "advances\n"),
            std::string::npos)
      << out.str();
  EXPECT_EQ(out.str().find("note a"), std::string::npos) << out.str();
  EXPECT_EQ(SumCounts(results), (ClosingCounts{2, 0, 0}));
}

TEST(MatrixReportTest, CandidatesFollowTheDetectLine) {
  std::vector<EnvironmentResult> results;
  results.push_back(MakeResult("hyperv-kvm",
                               {R"(# detect: backend=kvm reason="kvm over hyperv")",
                                R"(# candidate: backend=kvm signature="KVMKVMKVM")",
                                R"(# candidate: backend=hyperv signature="Linux KVM Hv")", "ok 1 a",
                                "1 passed, 0 failed, 0 skipped"},
                               Exited(33)));
  std::ostringstream out;
  PrintMatrix(results, out);
  EXPECT_NE(out.str().find("[hyperv-kvm] detect: backend=kvm reason=\"kvm over hyperv\"\n"
                           "[hyperv-kvm] candidate: backend=kvm signature=\"KVMKVMKVM\"\n"
                           "[hyperv-kvm] candidate: backend=hyperv signature=\"Linux KVM Hv\"\n"),
            std::string::npos)
      << out.str();
  const std::string json = RenderJson(RunSettings{}, results);
  EXPECT_NE(json.find("\"signature\": \"Linux KVM Hv\""), std::string::npos) << json;
}

TEST(MatrixReportTest, RunThatFailedWithoutAFailingCaseCountsAsOneFailure) {
  std::vector<EnvironmentResult> results;
  LaunchOutcome timed_out;
  timed_out.timed_out = true;
  timed_out.timeout_seconds = 5;
  results.push_back(MakeResult("native", {"ok 1 a"}, timed_out));
  LaunchOutcome not_started;
  not_started.start_error = "launcher missing: envs/xen/launch";
  results.push_back(MakeResult("xen", {}, not_started));
  results.push_back(MakeResult("kvm", {"not ok 1 a", "0 passed, 1 failed, 0 skipped"}, Exited(35)));
  EXPECT_EQ(SumCounts(results), (ClosingCounts{1, 3, 0}));
}

TEST(MatrixReportTest, GarbageInNamesCannotReachTheTerminalRaw) {
  std::ostringstream out;
  PrintMatrix(
      {MakeResult("native", {"ok 1 evil\x1b[2Jname", "1 passed, 0 failed, 0 skipped"}, Exited(33))},
      out);
  EXPECT_EQ(out.str().find('\x1b'), std::string::npos);
  EXPECT_NE(out.str().find("evil\\x1b[2Jname"), std::string::npos);
}

TEST(JsonReportTest, RecordsVerdictsCasesStatsAndFaults) {
  std::vector<EnvironmentResult> results = TwoEnvironments();
  results.push_back(MakeResult("xen",
                               {"bench: op=\"xen_version\" ns=1234 exits=1",
                                "FAULT: vector=14 (#PF) rip=0xffffffff80012345 error=0x2 cpu=0"},
                               Exited(37)));
  RunSettings settings{.image = "build/guest/pvguest.elf",
                       .cmdline = "test=\"x\"",
                       .expect = Verdict::kPass,
                       .timeout_seconds = 60};
  std::string json = RenderJson(settings, results);

  EXPECT_TRUE(json.starts_with("{\n  \"image\": \"build/guest/pvguest.elf\",\n"
                               "  \"cmdline\": \"test=\\\"x\\\"\",\n  \"expect\": \"pass\",\n"))
      << json;
  EXPECT_NE(
      json.find("\"name\": \"native\",\n      \"verdict\": \"pass\",\n      \"reason\": \"\",\n"
                "      \"as_expected\": true,\n      \"exit_status\": 33,"),
      std::string::npos)
      << json;
  EXPECT_NE(json.find("\"stats\": {\n        \"hypercalls\": 0\n      }"), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"number\": 2,\n          \"name\": \"mmu.flush_one\",\n"
                      "          \"result\": \"fail\",\n          \"reason\": \"stale entry\""),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"verdict\": \"fault\",\n      \"reason\": \"FAULT vector=14 (#PF) "
                      "rip=0xffffffff80012345 error=0x2 cpu=0\",\n      \"as_expected\": false,"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"bench\": [\n        {\n          \"op\": \"xen_version\",\n"
                      "          \"ns\": 1234,\n          \"exits\": 1\n        }\n      ]"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"rip\": \"0xffffffff80012345\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"detect\": null"), std::string::npos) << json;
  EXPECT_NE(json.find("\"patch\": null"), std::string::npos) << json;
  EXPECT_NE(json.find("\"closing\": null"), std::string::npos) << json;
  EXPECT_TRUE(json.ends_with("  \"totals\": {\n    \"passed\": 3,\n    \"failed\": 2,\n"
                             "    \"skipped\": 1\n  }\n}\n"))
      << json;
}

// A passing run whose clock lines the runner stamped 4 s apart while the guest counted 4.002 s.
EnvironmentResult RunWithClockLines() {
  EnvironmentResult result;
  result.name = "native";
  GuestLogParser parser;
  const std::int64_t start_ns = 100'000'000'000;
  parser.Feed("clock: ns=7000000", start_ns);
  parser.Feed("ok 1 time.reference", start_ns + 1);
  parser.Feed("clock: ns=4009000000", start_ns + 4'000'000'000);
  parser.Feed("1 passed, 0 failed, 0 skipped", start_ns + 4'000'000'000);
  result.log = parser.TakeLog();
  result.outcome = Exited(33);
  result.verdict = DecideVerdict(result.outcome, result.log);
  result.wall_seconds = 5.5;
  return result;
}

TEST(MatrixReportTest, VerdictLineCarriesTheClockRateAgainstTheHost) {
  std::ostringstream out;
  PrintMatrix({RunWithClockLines()}, out);
  EXPECT_NE(out.str().find("[native] verdict: pass (exit status 33, 5.5 s; "
                           "clock vs host: +500 ppm over 4.0 s)\n"),
            std::string::npos)
      << out.str();
}

TEST(JsonReportTest, RecordsTheClockLinesAndTheRateAgainstTheHost) {
  const std::string json = RenderJson(RunSettings{}, {RunWithClockLines()});
  EXPECT_NE(json.find("\"clock_lines\": [\n        {\n          \"guest_ns\": 7000000,\n"
                      "          \"host_ns\": 100000000000\n        },\n        {\n"
                      "          \"guest_ns\": 4009000000,\n          \"host_ns\": 104000000000\n"
                      "        }\n      ],\n"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"clock_vs_host\": {\n        \"error_ppm\": 500.000,\n"
                      "        \"guest_seconds\": 4.002,\n        \"host_seconds\": 4.000,\n"
                      "        \"judged\": true,\n        \"limit_ppm\": 10000.000\n      },\n"),
            std::string::npos)
      << json;
  // Runs without clock lines say so rather than leave the key out.
  const std::string without = RenderJson(RunSettings{}, TwoEnvironments());
  EXPECT_NE(without.find("\"clock_lines\": [],\n      \"clock_vs_host\": null,"), std::string::npos)
      << without;
}

TEST(JsonReportTest, RecordsEachHopOfAMovedGuest) {
  EnvironmentResult result;
  result.name = "kvm-move";
  GuestLogParser parser;
  parser.Feed("move: hop=1 from=kvm to=vmware downtime_ms=41.20 pause_ms=30.05");
  parser.Feed("# move: hop=1 backend=vmi clock_before=100 clock_after=30000200");
  parser.Feed("1 passed, 0 failed, 0 skipped");
  result.log = parser.TakeLog();
  result.outcome = Exited(33);
  result.verdict = DecideVerdict(result.outcome, result.log);
  const std::string json = RenderJson(RunSettings{}, {result});
  EXPECT_NE(json.find("\"move_hops\": [\n        {\n          \"hop\": 1,\n"
                      "          \"from\": \"kvm\",\n          \"to\": \"vmware\",\n"
                      "          \"downtime_ms\": \"41.20\",\n          \"pause_ms\": \"30.05\"\n"
                      "        }\n      ],\n      \"guest_move_hops\": [\n        {\n"
                      "          \"hop\": 1,\n          \"backend\": \"vmi\",\n"
                      "          \"clock_before\": 100,\n          \"clock_after\": 30000200\n"),
            std::string::npos)
      << json;
}

TEST(TerminalTextTest, JsonQuotingEscapesEverythingUnsafe) {
  EXPECT_EQ(JsonQuoted("plain"), "\"plain\"");
  EXPECT_EQ(JsonQuoted("a\"b\\c\nd\te"), "\"a\\\"b\\\\c\\nd\\te\"");
  EXPECT_EQ(JsonQuoted(std::string("\x01\x1b\x7f\xff", 4)), "\"\\u0001\\u001b\\u007f\\u00ff\"");
}

TEST(TerminalTextTest, ControlBytesBecomeVisible) {
  EXPECT_EQ(PrintableForTerminal("ok\tfine"), "ok\tfine");
  EXPECT_EQ(PrintableForTerminal(std::string("\x1b[2J\x00\xfe", 6)), "\\x1b[2J\\x00\\xfe");
}

TEST(TerminalTextTest, ConsoleEchoDropsEscapeSequencesAndCarriageReturns) {
  EXPECT_EQ(ConsoleEchoText("\x1b"
                            "c\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2)\r"),
            "SeaBIOS (version 1.16.2)");
  EXPECT_EQ(ConsoleEchoText("(XEN) ok\x07 \x1b[1;31mred\x1b[0m"), "(XEN) ok\\x07 red");
  EXPECT_EQ(ConsoleEchoText("cut \x1b["), "cut ");
}

}  // namespace
}  // namespace pvops_run
