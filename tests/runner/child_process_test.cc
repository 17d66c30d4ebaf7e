// SPDX-License-Identifier: MIT
#include "child_process.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace pvops_run {
namespace {

struct Captured {
  std::vector<std::string> out;
  std::vector<std::string> err;
  ChildOutcome outcome;
};

Captured RunShell(const std::string& script, double timeout_seconds = 10, double grace_seconds = 2,
                  double drain_seconds = 1) {
  Captured captured;
  ChildSpec spec{.argv = {"/bin/sh", "-c", script},
                 .timeout_seconds = timeout_seconds,
                 .kill_grace_seconds = grace_seconds,
                 .drain_after_exit_seconds = drain_seconds};
  captured.outcome = RunChild(spec, [&](OutputStream stream, std::string_view line) {
    (stream == OutputStream::kStdout ? captured.out : captured.err).emplace_back(line);
  });
  return captured;
}

// True once `pid` is gone or a zombie (reaping orphans is init's business, not ours).
bool ProcessEnds(pid_t pid) {
  for (int attempt = 0; attempt < 60; ++attempt) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string contents((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    std::size_t after_name = contents.rfind(") ");
    if (!stat || contents.empty() ||
        (after_name != std::string::npos && contents[after_name + 2] == 'Z')) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST(ChildProcessTest, LinesAndExitStatusPassThrough) {
  Captured run = RunShell("echo one; echo two >&2; echo three; printf partial; exit 7");
  EXPECT_EQ(run.outcome.start_error, "");
  EXPECT_FALSE(run.outcome.timed_out);
  EXPECT_EQ(run.outcome.exit_status, 7);
  EXPECT_EQ(run.outcome.term_signal, std::nullopt);
  EXPECT_EQ(run.out, (std::vector<std::string>{"one", "three", "partial"}));
  EXPECT_EQ(run.err, (std::vector<std::string>{"two"}));
  EXPECT_LT(run.outcome.wall_seconds, 5);
}

TEST(ChildProcessTest, StdinIsEmptyAndTheChildLeadsItsOwnGroup) {
  Captured run = RunShell("cat; echo cat=$?; cut -d' ' -f5,6 /proc/$$/stat");
  EXPECT_EQ(run.outcome.exit_status, 0);
  ASSERT_EQ(run.out.size(), 2u);
  EXPECT_EQ(run.out[0], "cat=0");  // reading stdin ends at once: it is /dev/null
  std::istringstream ids(run.out[1]);
  long pgid = 0, sid = 0;
  ids >> pgid >> sid;
  EXPECT_NE(pgid, static_cast<long>(getpgrp()));  // not our group: killing it spares us
  EXPECT_EQ(pgid, sid);                           // a session leader: setsid() was done
}

TEST(ChildProcessTest, TimeoutEndsTheWholeProcessGroup) {
  Captured run = RunShell("sleep 100 & echo $!; wait", /*timeout_seconds=*/0.5);
  EXPECT_TRUE(run.outcome.timed_out);
  EXPECT_EQ(run.outcome.term_signal, 15);
  EXPECT_LT(run.outcome.wall_seconds, 3);
  ASSERT_EQ(run.out.size(), 1u);
  EXPECT_TRUE(ProcessEnds(std::stoi(run.out[0]))) << "the background sleep survived";
}

TEST(ChildProcessTest, ChildThatClosesItsOutputButRunsOnStillMeetsTheTimeout) {
  auto start = std::chrono::steady_clock::now();
  Captured run = RunShell("echo bye; exec >&- 2>&-; sleep 100", /*timeout_seconds=*/0.5);
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(run.outcome.timed_out);
  EXPECT_EQ(run.out, (std::vector<std::string>{"bye"}));
  EXPECT_LT(elapsed, 3);
}

TEST(ChildProcessTest, EndlessOutputIsEndedOnTime) {
  auto start = std::chrono::steady_clock::now();
  Captured run = RunShell("yes 'ok 1 flood'", /*timeout_seconds=*/0.5);
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(run.outcome.timed_out);
  EXPECT_GT(run.out.size(), 1000u);
  EXPECT_EQ(run.out.front(), "ok 1 flood");
  EXPECT_LT(elapsed, 4);
}

TEST(ChildProcessTest, EndlessLineIsCutIntoBoundedPieces) {
  Captured run = RunShell("tr '\\000' x < /dev/zero", /*timeout_seconds=*/0.5);
  EXPECT_TRUE(run.outcome.timed_out);
  ASSERT_GT(run.out.size(), 1u);
  EXPECT_EQ(run.out.front().size(), 64u * 1024);
  for (const std::string& piece : run.out) EXPECT_LE(piece.size(), 64u * 1024);
}

TEST(ChildProcessTest, ChildIgnoringSigtermGetsSigkillAfterTheGrace) {
  Captured run = RunShell("trap '' TERM; echo armed; sleep 100", /*timeout_seconds=*/0.3,
                          /*grace_seconds=*/0.5);
  EXPECT_TRUE(run.outcome.timed_out);
  EXPECT_EQ(run.outcome.term_signal, 9);
  EXPECT_GE(run.outcome.wall_seconds, 0.7);
  EXPECT_LT(run.outcome.wall_seconds, 3);
}

TEST(ChildProcessTest, GrandchildHoldingThePipeDoesNotKeepUsWaiting) {
  Captured run =
      RunShell("sleep 100 & echo $!; exit 3", /*timeout_seconds=*/10, /*grace_seconds=*/2,
               /*drain_seconds=*/0.3);
  EXPECT_FALSE(run.outcome.timed_out);
  EXPECT_EQ(run.outcome.exit_status, 3);
  EXPECT_LT(run.outcome.wall_seconds, 2);
  ASSERT_EQ(run.out.size(), 1u);
  EXPECT_TRUE(ProcessEnds(std::stoi(run.out[0]))) << "the leftover group member survived";
}

TEST(ChildProcessTest, ProgramThatCannotRunIsAStartError) {
  ChildSpec spec{.argv = {"/nonexistent/launch"}, .timeout_seconds = 5};
  ChildOutcome outcome = RunChild(spec, [](OutputStream, std::string_view) {});
  EXPECT_EQ(outcome.start_error, "cannot run /nonexistent/launch: No such file or directory");
  EXPECT_EQ(outcome.exit_status, std::nullopt);
}

TEST(ChildProcessTest, RunsInTheGivenWorkingDirectory) {
  Captured run;
  ChildSpec spec{
      .argv = {"/bin/sh", "-c", "pwd"}, .working_directory = "/usr/share", .timeout_seconds = 5};
  run.outcome =
      RunChild(spec, [&](OutputStream, std::string_view line) { run.out.emplace_back(line); });
  EXPECT_EQ(run.outcome.exit_status, 0);
  EXPECT_EQ(run.out, (std::vector<std::string>{"/usr/share"}));
}

}  // namespace
}  // namespace pvops_run
