// SPDX-License-Identifier: MIT
// The suite's check recorder (guest/suite/report.cc) on the host: what a case's checks print,
// the verdict they make, and that the runner's parser reads those lines as before.
#include "suite/report.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "guest_log.h"

namespace guest::suite {

std::vector<std::string>* g_lines;

// The hook the kernel points at its console.
void ReportLine(const char* text) { g_lines->emplace_back(text); }

namespace {

using pvops_run::CaseResult;
using pvops_run::GuestLogParser;
using pvops_run::LineKind;

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override { g_lines = &lines_; }
  void TearDown() override { g_lines = nullptr; }

  // Runs `body` as case number 1 the way RunSuite does, and returns its verdict.
  template <typename Body>
  Result RunCase(const char* name, Body body) {
    BeginCase(name);
    const Result result = EndCase(body());
    PrintCaseLine(1, name, result);
    return result;
  }

  std::vector<std::string> lines_;
};

TEST_F(ReportTest, ThreeFailedChecksArePrintedAndFailTheCase) {
  const Result result = RunCase("demo.three", [] {
    Check(1 + 1 == 2, "arithmetic holds");
    Check(false, "first broken: read 0x%x", 0xbad);
    {
      ScopedPrefix cpu("cpu %u", 1);
      Check(false, "second broken");
    }
    Check(false, "third broken");
    return CheckResult();
  });
  EXPECT_EQ(result.verdict(), Verdict::kFail);
  EXPECT_EQ(lines_, (std::vector<std::string>{
                        "# FAIL: demo.three: first broken: read 0xbad",
                        "# FAIL: demo.three: cpu 1: second broken",
                        "# FAIL: demo.three: third broken",
                        "not ok 1 demo.three # 3 of 4 checks failed, first: first broken: read "
                        "0xbad",
                    }));

  // The runner: three comments and one failed case with the summary as its reason.
  GuestLogParser parser;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(parser.Feed(lines_[i]), LineKind::kComment) << lines_[i];
  EXPECT_EQ(parser.Feed(lines_[3]), LineKind::kCase);
  ASSERT_EQ(parser.log().cases.size(), 1u);
  EXPECT_EQ(parser.log().cases[0].name, "demo.three");
  EXPECT_EQ(parser.log().cases[0].result, CaseResult::kFail);
  EXPECT_EQ(parser.log().cases[0].reason, "3 of 4 checks failed, first: first broken: read 0xbad");
}

TEST_F(ReportTest, OneFailedCheckGivesItsTextAsTheReason) {
  const Result result = RunCase("demo.one", [] {
    Check(true, "fine");
    Check(false, "page %u reads 0x%lx", 2u, 0xc2ul);
    return CheckResult();
  });
  EXPECT_EQ(result.verdict(), Verdict::kFail);
  EXPECT_STREQ(result.reason(), "page 2 reads 0xc2");
  EXPECT_EQ(lines_.back(), "not ok 1 demo.one # page 2 reads 0xc2");
}

TEST_F(ReportTest, ExpectedFailurePassesAndSaysSo) {
  const Result result = RunCase("demo.gap", [] {
    Check(true, "the part that works");
    CheckXfail(/*known_gap=*/true, /*pass=*/false, "the environment's known gap");
    return CheckResult();
  });
  EXPECT_EQ(result.verdict(), Verdict::kPass);
  EXPECT_EQ(lines_, (std::vector<std::string>{
                        "# XFAIL: demo.gap: the environment's known gap",
                        "ok 1 demo.gap # 1 expected failure: the environment's known gap",
                    }));
  GuestLogParser parser;
  for (const std::string& line : lines_) parser.Feed(line);
  ASSERT_EQ(parser.log().cases.size(), 1u);
  EXPECT_EQ(parser.log().cases[0].result, CaseResult::kPass);
  EXPECT_EQ(parser.log().cases[0].reason, "1 expected failure: the environment's known gap");
}

TEST_F(ReportTest, UnexpectedPassOfAnExpectedFailureIsReportedAndFails) {
  const Result result = RunCase("demo.xpass", [] {
    CheckXfail(true, true, "the gap that was closed");
    return CheckResult();
  });
  EXPECT_EQ(result.verdict(), Verdict::kFail);
  EXPECT_EQ(lines_, (std::vector<std::string>{
                        "# XPASS: demo.xpass: the gap that was closed",
                        "not ok 1 demo.xpass # XPASS: the gap that was closed",
                    }));
}

TEST_F(ReportTest, WithoutTheGapAnXfailCheckIsAPlainCheck) {
  const Result passed = RunCase("demo.plain", [] {
    CheckXfail(false, true, "works here");
    return CheckResult();
  });
  EXPECT_EQ(passed.verdict(), Verdict::kPass);
  EXPECT_STREQ(passed.reason(), "");
  const Result failed = RunCase("demo.plain", [] {
    CheckXfail(false, false, "broken here");
    return CheckResult();
  });
  EXPECT_EQ(failed.verdict(), Verdict::kFail);
  EXPECT_EQ(lines_, (std::vector<std::string>{
                        "ok 1 demo.plain",
                        "# FAIL: demo.plain: broken here",
                        "not ok 1 demo.plain # broken here",
                    }));
}

TEST_F(ReportTest, PassingChecksPrintNothing) {
  RunCase("demo.quiet", [] {
    ScopedPrefix part("part %c", 'a');
    Check(true, "value %d", 7);
    return CheckResult();
  });
  EXPECT_EQ(lines_, std::vector<std::string>{"ok 1 demo.quiet"});
}

TEST_F(ReportTest, ADependentCheckStopsTheCase) {
  bool went_on = false;
  const Result result = RunCase("demo.stop", [&went_on] {
    if (!Check(false, "setting up: %s", "no memory")) return CheckResult();
    went_on = true;
    return CheckResult();
  });
  EXPECT_FALSE(went_on);
  EXPECT_STREQ(result.reason(), "setting up: no memory");
}

TEST_F(ReportTest, PrefixesNestAndPop) {
  RunCase("demo.prefix", [] {
    PushPrefix("outer");
    PushPrefix("inner %u", 3u);
    Check(false, "deep");
    PopPrefix();
    Check(false, "shallow");
    PopPrefix();
    Check(false, "bare");
    return CheckResult();
  });
  EXPECT_EQ(lines_, (std::vector<std::string>{
                        "# FAIL: demo.prefix: outer: inner 3: deep",
                        "# FAIL: demo.prefix: outer: shallow",
                        "# FAIL: demo.prefix: bare",
                        "not ok 1 demo.prefix # 3 of 3 checks failed, first: outer: inner 3: "
                        "deep",
                    }));
}

TEST_F(ReportTest, APrefixLeftPushedFailsTheCase) {
  const Result result = RunCase("demo.unbalanced", [] {
    PushPrefix("forgotten");
    return CheckResult();
  });
  EXPECT_EQ(result.verdict(), Verdict::kFail);
  EXPECT_STREQ(result.reason(),
               "1 prefix(es) still pushed at the end of the case (\"forgotten: \")");
}

TEST_F(ReportTest, ACaseWithoutChecksKeepsWhatItReturned) {
  EXPECT_STREQ(RunCase("demo.old", [] { return Result::Fail("cpu %u is busy", 1u); }).reason(),
               "cpu 1 is busy");
  EXPECT_EQ(RunCase("demo.skip", [] { return Result::Skip("needs 2 vCPUs, have 1"); }).verdict(),
            Verdict::kSkip);
  EXPECT_EQ(RunCase("demo.pass", [] { return Result::Pass(); }).verdict(), Verdict::kPass);
  EXPECT_EQ(lines_, (std::vector<std::string>{
                        "not ok 1 demo.old # cpu 1 is busy",
                        "ok 1 demo.skip # SKIP needs 2 vCPUs, have 1",
                        "ok 1 demo.pass",
                    }));
}

TEST_F(ReportTest, AFailureReturnedAfterFailedChecksCountsAsOneMore) {
  const Result result = RunCase("demo.mixed", [] {
    Check(false, "checked");
    return Result::Fail("returned");
  });
  EXPECT_STREQ(result.reason(), "2 of 2 checks failed, first: checked");
  EXPECT_EQ(lines_[1], "# FAIL: demo.mixed: returned");
}

TEST_F(ReportTest, ASkipAfterFailedChecksIsAFailure) {
  const Result result = RunCase("demo.late_skip", [] {
    Check(false, "single-CPU part");
    return Result::Skip("needs 2 vCPUs, have 1");
  });
  EXPECT_EQ(result.verdict(), Verdict::kFail);
  EXPECT_STREQ(result.reason(), "single-CPU part");
  EXPECT_EQ(lines_[1], "# SKIP: demo.late_skip: needs 2 vCPUs, have 1");
}

TEST_F(ReportTest, ASkippedPartLeavesTheVerdict) {
  const Result result = RunCase("demo.part", [] {
    Check(true, "first part");
    SkipCheck("second part needs %s", "a second vCPU");
    return CheckResult();
  });
  EXPECT_EQ(result.verdict(), Verdict::kPass);
  EXPECT_EQ(lines_, (std::vector<std::string>{"# SKIP: demo.part: second part needs a second vCPU",
                                              "ok 1 demo.part"}));
}

TEST_F(ReportTest, LongTextsAreCutNotOverrun) {
  const std::string long_text(1000, 'x');
  const Result result = RunCase("demo.long", [&long_text] {
    PushPrefix("%s", long_text.c_str());
    Check(false, "%s", long_text.c_str());
    PopPrefix();
    return CheckResult();
  });
  EXPECT_EQ(result.verdict(), Verdict::kFail);
  EXPECT_EQ(std::string(result.reason()).size(), kReasonBytes - 1);
  EXPECT_LT(lines_[0].size(), 400u);
}

}  // namespace
}  // namespace guest::suite
