// SPDX-License-Identifier: MIT
#include "environment_run.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace pvops_run {
namespace {

namespace fs = std::filesystem;

// A throwaway repository root with fake environments written as shell scripts.
class EnvironmentRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "pvops-run-test.XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    image_ = root_ / "guest.elf";
    std::ofstream(image_) << "not really an ELF";
  }
  void TearDown() override { fs::remove_all(root_); }

  void WriteScript(const std::string& env, const std::string& file, const std::string& body,
                   bool executable = true) {
    fs::create_directories(root_ / "envs" / env);
    fs::path path = root_ / "envs" / env / file;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    chmod(path.c_str(), executable ? 0755 : 0644);
  }

  EnvironmentResult RunEnv(const std::string& env, double timeout_seconds = 10) {
    EnvironmentRequest request{.name = env,
                               .root = root_,
                               .image = image_,
                               .cmdline = "test=mmu.* pvops=native",
                               .timeout_seconds = timeout_seconds,
                               .setup_timeout_seconds = 10,
                               .kill_grace_seconds = 1};
    return RunEnvironment(request, ProgressOptions{.out = &progress_});
  }

  fs::path root_;
  fs::path image_;
  std::ostringstream progress_;
};

TEST_F(EnvironmentRunTest, PassingRunGetsItsArgumentsAndPasses) {
  // The launcher checks what it was given, then answers like a passing guest.
  WriteScript("fake", "launch", R"sh(
[ "$1" = "--image=$PWD/guest.elf" ] || { echo "bad image arg: $1" >&2; exit 9; }
[ "$2" = "--cmdline=test=mmu.* pvops=native" ] || { echo "bad cmdline arg: $2" >&2; exit 9; }
printf '# detect: backend=native reason="no signature"\r\n'
echo 'ok 1 mmu.map'
echo 'ok 2 mmu.flush_multi # SKIP needs 2 vCPUs'
echo '1 passed, 0 failed, 1 skipped'
exit 33)sh");
  EnvironmentResult result = RunEnv("fake");
  EXPECT_EQ(result.verdict.verdict, Verdict::kPass) << result.verdict.reason;
  EXPECT_EQ(result.outcome.exit_status, 33);
  ASSERT_EQ(result.log.cases.size(), 2u);
  EXPECT_EQ(FindField(*result.log.detect, "backend"), "native");
  const std::string progress = progress_.str();
  EXPECT_TRUE(
      progress.starts_with("[fake] running...\n[fake] pass: 1 passed, 0 failed, 1 skipped ("))
      << progress;
  EXPECT_TRUE(progress.ends_with(" s)\n")) << progress;
}

TEST_F(EnvironmentRunTest, AnEnvironmentsTimeoutFileRaisesTheTimeoutNeverLowersIt) {
  // Sleeps past the asked 1 s, but within the 5 s its timeout file states.
  WriteScript("slow", "launch", R"sh(
sleep 1.5
echo 'ok 1 fake.slow'
echo '1 passed, 0 failed, 0 skipped'
exit 33)sh");
  std::ofstream(root_ / "envs/slow/timeout") << "5\n";
  EnvironmentResult slow = RunEnv("slow", 1);
  EXPECT_EQ(slow.outcome.timeout_seconds, 5);
  EXPECT_EQ(slow.verdict.verdict, Verdict::kPass) << slow.verdict.reason;
  // A file below the asked timeout changes nothing; so does one that is not a number.
  WriteScript("quick", "launch", "exit 33");
  std::ofstream(root_ / "envs/quick/timeout") << "0.5\n";
  EXPECT_EQ(RunEnv("quick", 10).outcome.timeout_seconds, 10);
  std::ofstream(root_ / "envs/quick/timeout") << "soon\n";
  EXPECT_EQ(RunEnv("quick", 10).outcome.timeout_seconds, 10);
}

TEST_F(EnvironmentRunTest, MissingLauncherIsAFailureWithItsPath) {
  EnvironmentResult result = RunEnv("absent");
  EXPECT_EQ(result.verdict.verdict, Verdict::kFail);
  EXPECT_EQ(result.verdict.reason, "launcher missing: " + (root_ / "envs/absent/launch").string());
}

TEST_F(EnvironmentRunTest, LauncherNotExecutableIsAFailure) {
  WriteScript("fake", "launch", "exit 33", /*executable=*/false);
  EnvironmentResult result = RunEnv("fake");
  EXPECT_EQ(result.verdict.verdict, Verdict::kFail);
  EXPECT_EQ(result.verdict.reason,
            "launcher not executable: " + (root_ / "envs/fake/launch").string());
}

TEST_F(EnvironmentRunTest, FailedSetupGivesItsLastStderrLineAndSkipsTheLaunch) {
  WriteScript("fake", "setup",
              "echo 'fetching linux-image-6.12'; echo 'E: Unable to locate package x' >&2;"
              " echo 'setup: cannot fetch the L1 kernel' >&2; exit 1");
  WriteScript("fake", "launch", "touch launched; exit 33");
  EnvironmentResult result = RunEnv("fake");
  EXPECT_EQ(result.verdict.verdict, Verdict::kFail);
  EXPECT_EQ(result.verdict.reason, "setup failed: setup: cannot fetch the L1 kernel");
  EXPECT_FALSE(fs::exists(root_ / "launched"));
}

TEST_F(EnvironmentRunTest, SilentSetupFailureGivesItsStatus) {
  WriteScript("fake", "setup", "exit 4");
  WriteScript("fake", "launch", "exit 33");
  EXPECT_EQ(RunEnv("fake").verdict.reason, "setup failed: exit status 4");
}

TEST_F(EnvironmentRunTest, SuccessfulSetupRunsInTheRootBeforeTheLaunch) {
  WriteScript("fake", "setup", "mkdir -p .cache/fake && echo ready > .cache/fake/state");
  WriteScript("fake", "launch", R"sh(
[ "$(cat .cache/fake/state)" = ready ] || exit 9
echo 'ok 1 a'; echo '1 passed, 0 failed, 0 skipped'; exit 33)sh");
  EnvironmentResult result = RunEnv("fake");
  EXPECT_EQ(result.verdict.verdict, Verdict::kPass) << result.verdict.reason;
}

TEST_F(EnvironmentRunTest, MissingImageIsAFailure) {
  WriteScript("fake", "launch", "exit 33");
  fs::remove(image_);
  EnvironmentResult result = RunEnv("fake");
  EXPECT_EQ(result.verdict.verdict, Verdict::kFail);
  EXPECT_EQ(result.verdict.reason, "image missing: " + image_.string());
}

TEST_F(EnvironmentRunTest, HangingGuestTimesOutAndShowsTheConsoleTail) {
  WriteScript("fake", "launch", "echo 'ok 1 detect.report'; exec sleep 100");
  EnvironmentResult result = RunEnv("fake", /*timeout_seconds=*/0.5);
  EXPECT_EQ(result.verdict.verdict, Verdict::kTimeout);
  EXPECT_EQ(result.verdict.reason, "timeout after 0.5 s (last case seen: 1 detect.report)");
  EXPECT_NE(progress_.str().find("[fake] last console lines:\n  | ok 1 detect.report\n"),
            std::string::npos)
      << progress_.str();
}

TEST_F(EnvironmentRunTest, ConsoleDirKeepsEveryLineAndTheFailureNamesTheFile) {
  // More lines than the tail keeps: the file must hold all of them, in order.
  WriteScript("fake", "launch", R"sh(
i=1; while [ $i -le 30 ]; do echo "line $i"; i=$((i+1)); done
echo 'late words on stderr' >&2
exit 37)sh");
  EnvironmentRequest request{.name = "fake",
                             .root = root_,
                             .image = image_,
                             .timeout_seconds = 10,
                             .setup_timeout_seconds = 10,
                             .kill_grace_seconds = 1,
                             .console_dir = root_ / "logs"};
  EnvironmentResult result = RunEnvironment(request, ProgressOptions{.out = &progress_});
  EXPECT_EQ(result.verdict.verdict, Verdict::kFault);
  EXPECT_EQ(result.console_log, root_ / "logs" / "fake.log");
  std::ifstream log(root_ / "logs" / "fake.log");
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(log, line)) lines.push_back(line);
  ASSERT_EQ(lines.size(), 31u);
  EXPECT_EQ(lines.front(), "line 1");
  EXPECT_EQ(lines[29], "line 30");
  EXPECT_EQ(lines.back(), "late words on stderr");
  EXPECT_NE(progress_.str().find("[fake] last console lines (all of them: " +
                                 (root_ / "logs" / "fake.log").string() + "):\n"),
            std::string::npos)
      << progress_.str();
}

TEST_F(EnvironmentRunTest, XenStyleNoiseOnStderrAndStdoutStillParses) {
  WriteScript("fake", "launch", R"sh(
echo '(XEN) Xen version 4.17'
echo '(d0) # detect: backend=xen signature="XenVMMXenVMM"'
echo '(XEN) d0v0: upcall vector f3'
echo '(d0) ok 1 hypercall.xen_version'
echo 'qemu-system-x86_64: warning: host does not support x2apic' >&2
echo '(d0) 1 passed, 0 failed, 0 skipped'
exit 33)sh");
  EnvironmentResult result = RunEnv("fake");
  EXPECT_EQ(result.verdict.verdict, Verdict::kPass) << result.verdict.reason;
  EXPECT_EQ(FindField(*result.log.detect, "signature"), "XenVMMXenVMM");
  EXPECT_EQ(result.outcome.last_stderr_line,
            "qemu-system-x86_64: warning: host does not support x2apic");
}

TEST_F(EnvironmentRunTest, ClockLinesAreStampedWithTheHostsClockAsTheyArrive) {
  // The fake guest's clock is the host's own (date), so only how late the runner reads each
  // line separates the two: the run passes however long a loaded host makes the sleep.
  WriteScript("fake", "launch", R"sh(
echo "clock: ns=$(date +%s%N)"
sleep 2
echo 'ok 1 time.reference'
echo "clock: ns=$(date +%s%N)"
echo '1 passed, 0 failed, 0 skipped'
exit 33)sh");
  EnvironmentResult result = RunEnv("fake");
  EXPECT_EQ(result.verdict.verdict, Verdict::kPass) << result.verdict.reason;
  ASSERT_EQ(result.log.clock_lines.size(), 2u);
  ASSERT_TRUE(result.log.clock_lines[0].host_ns.has_value());
  ASSERT_TRUE(result.log.clock_lines[1].host_ns.has_value());
  // The sleep apart, give or take how late the runner read each line.
  const std::int64_t host_delta_ns =
      *result.log.clock_lines[1].host_ns - *result.log.clock_lines[0].host_ns;
  EXPECT_GT(host_delta_ns, 1'900'000'000);
  EXPECT_LT(host_delta_ns, 4'000'000'000);
  EXPECT_NE(progress_.str().find("; clock vs host: "), std::string::npos) << progress_.str();
}

TEST_F(EnvironmentRunTest, GuestClockFarFromTheHostsFailsTheRun) {
  // The guest claims 5 s went by while the host sleeps about 1.1 s.
  WriteScript("fake", "launch", R"sh(
echo 'clock: ns=0'
sleep 1.1
echo 'ok 1 time.reference'
echo 'clock: ns=5000000000'
echo '1 passed, 0 failed, 0 skipped'
exit 33)sh");
  EnvironmentResult result = RunEnv("fake");
  EXPECT_EQ(result.verdict.verdict, Verdict::kFail);
  EXPECT_TRUE(result.verdict.reason.starts_with("guest clock ran +")) << result.verdict.reason;
  EXPECT_TRUE(result.verdict.reason.ends_with(" s (limit 10000 ppm)")) << result.verdict.reason;
}

TEST_F(EnvironmentRunTest, ListsTheMainEnvironmentsInOrderThenTheVariantsByName) {
  for (const char* env : {"xen", "native", "kvm-nopv", "kvm", "a-variant", "vmware"}) {
    WriteScript(env, "launch", "exit 0");
  }
  WriteScript("no-launcher", "setup", "exit 0");  // not an environment
  fs::create_directories(root_ / "envs" / "empty");
  EXPECT_EQ(ListEnvironments(root_),
            (std::vector<std::string>{"native", "kvm", "xen", "vmware", "a-variant", "kvm-nopv"}));
}

TEST_F(EnvironmentRunTest, ARootWithoutEnvsListsNothing) {
  EXPECT_TRUE(ListEnvironments(root_).empty());
}

}  // namespace
}  // namespace pvops_run
