// SPDX-License-Identifier: MIT
#include "environment_run.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "child_process.h"
#include "clock_rate.h"
#include "terminal_text.h"

namespace pvops_run {
namespace {

constexpr std::size_t kConsoleTailLines = 20;

// The main environments, in the order `all` runs them (where envs/<name>/launch exists).
constexpr const char* kEnvironmentOrder[] = {"native", "kvm",     "hyperv", "hyperv-kvm",
                                             "xen",    "xen-pvh", "vmware"};

namespace fs = std::filesystem;

bool IsExecutableFile(const fs::path& path) {
  std::error_code error;
  return fs::is_regular_file(path, error) && access(path.c_str(), X_OK) == 0;
}

class ProgressLine {
 public:
  ProgressLine(std::string name, const ProgressOptions& options)
      : name_(std::move(name)), options_(options) {}

  void Show(std::string_view state) {
    if (options_.out == nullptr) return;
    if (options_.rewrite_in_place && !options_.verbose) {
      *options_.out << "\r\033[K[" << name_ << "] " << state << std::flush;
    } else {
      *options_.out << "[" << name_ << "] " << state << std::endl;
    }
  }

  // Updates a terminal's line as cases arrive; a log gets only the start and end lines.
  void ShowCaseCount(std::size_t cases) {
    if (options_.rewrite_in_place && !options_.verbose) {
      Show(absl::StrCat("running... ", cases, cases == 1 ? " case" : " cases"));
    }
  }

  void Echo(std::string_view line) {
    if (options_.out != nullptr && options_.verbose) *options_.out << ConsoleEchoText(line) << '\n';
  }

  void Finish(const EnvironmentResult& result) {
    if (options_.out == nullptr) return;
    std::string summary =
        result.verdict.verdict == Verdict::kPass
            ? absl::StrFormat("%d passed, %d failed, %d skipped", result.log.closing->passed,
                              result.log.closing->failed, result.log.closing->skipped)
            : PrintableForTerminal(result.verdict.reason);
    std::string clock_rate;
    if (std::optional<ClockRate> rate = MeasureClockRate(result.log)) {
      clock_rate = absl::StrCat("; ", ClockRateText(*rate));
    }
    Show(absl::StrFormat("%s: %s (%.1f s%s)", VerdictName(result.verdict.verdict), summary,
                         result.wall_seconds, clock_rate));
    if (options_.rewrite_in_place && !options_.verbose) *options_.out << '\n';
    if (result.verdict.verdict != Verdict::kPass && !options_.verbose &&
        !result.console_tail.empty()) {
      *options_.out << "[" << name_ << "] last console lines";
      if (!result.console_log.empty()) {
        *options_.out << " (all of them: " << result.console_log.string() << ")";
      }
      *options_.out << ":\n";
      for (const std::string& line : result.console_tail) {
        *options_.out << "  | " << PrintableForTerminal(line) << '\n';
      }
    }
    options_.out->flush();
  }

 private:
  const std::string name_;
  const ProgressOptions& options_;
};

// Runs envs/<name>/setup; returns an empty string on success, else why it failed.
std::string RunSetup(const EnvironmentRequest& request, const fs::path& setup,
                     ProgressLine& progress) {
  std::string last_stdout_line, last_stderr_line;
  ChildSpec spec{.argv = {setup.string()},
                 .working_directory = request.root.string(),
                 .timeout_seconds = request.setup_timeout_seconds,
                 .kill_grace_seconds = request.kill_grace_seconds};
  ChildOutcome outcome = RunChild(spec, [&](OutputStream stream, std::string_view line) {
    progress.Echo(line);
    if (NormalizeLine(line).empty()) return;
    (stream == OutputStream::kStderr ? last_stderr_line : last_stdout_line) = NormalizeLine(line);
  });
  if (!outcome.start_error.empty()) return absl::StrCat("setup failed: ", outcome.start_error);
  if (outcome.interrupted) return "setup interrupted";
  if (outcome.timed_out) {
    return absl::StrFormat("setup timed out after %g s", request.setup_timeout_seconds);
  }
  if (outcome.exit_status == 0) return "";
  std::string said = !last_stderr_line.empty() ? last_stderr_line : last_stdout_line;
  if (said.empty()) {
    said = outcome.term_signal ? absl::StrCat("killed by signal ", *outcome.term_signal)
                               : absl::StrCat("exit status ", outcome.exit_status.value_or(-1));
  }
  return absl::StrCat("setup failed: ", said);
}

}  // namespace

fs::path LauncherPath(const fs::path& root, const std::string& name) {
  return root / "envs" / name / "launch";
}

std::vector<std::string> ListEnvironments(const fs::path& root) {
  std::vector<std::string> names;
  std::error_code error;
  for (const char* name : kEnvironmentOrder) {
    if (fs::exists(LauncherPath(root, name), error)) names.push_back(name);
  }
  std::vector<std::string> variants;
  for (const auto& entry : fs::directory_iterator(root / "envs", error)) {
    const std::string name = entry.path().filename().string();
    if (std::find(names.begin(), names.end(), name) == names.end() &&
        fs::exists(LauncherPath(root, name), error)) {
      variants.push_back(name);
    }
  }
  std::sort(variants.begin(), variants.end());
  names.insert(names.end(), variants.begin(), variants.end());
  return names;
}

// An environment whose one run does more than a boot (envs/kvm-move: four hops, the suite after
// each) states the least time it needs in envs/NAME/timeout, in seconds; the runner gives it the
// larger of that and the timeout asked for.
double TimeoutFor(const EnvironmentRequest& request) {
  std::ifstream file(request.root / "envs" / request.name / "timeout");
  double least = 0;
  if (!(file >> least) || least <= 0) return request.timeout_seconds;
  return std::max(request.timeout_seconds, least);
}

EnvironmentResult RunEnvironment(const EnvironmentRequest& request,
                                 const ProgressOptions& options) {
  EnvironmentResult result;
  result.name = request.name;
  ProgressLine progress(result.name, options);
  LaunchOutcome& outcome = result.outcome;
  const double timeout_seconds = TimeoutFor(request);
  outcome.timeout_seconds = timeout_seconds;

  auto finish = [&]() -> EnvironmentResult {
    result.verdict = DecideVerdict(outcome, result.log);
    progress.Finish(result);
    return std::move(result);
  };

  const fs::path launcher = LauncherPath(request.root, request.name);
  std::error_code error;
  if (!fs::exists(launcher, error)) {
    outcome.start_error = absl::StrCat("launcher missing: ", launcher.string());
    return finish();
  }
  if (!IsExecutableFile(launcher)) {
    outcome.start_error = absl::StrCat("launcher not executable: ", launcher.string());
    return finish();
  }

  const fs::path setup = request.root / "envs" / request.name / "setup";
  if (fs::exists(setup, error)) {
    progress.Show("setup...");
    outcome.start_error = RunSetup(request, setup, progress);
    if (!outcome.start_error.empty()) return finish();
  }

  const fs::path image = fs::absolute(request.image, error);
  if (!fs::is_regular_file(image, error)) {
    outcome.start_error = absl::StrCat("image missing: ", image.string());
    return finish();
  }

  std::ofstream console_log;
  if (!request.console_dir.empty()) {
    fs::create_directories(request.console_dir, error);
    result.console_log = request.console_dir / (request.name + ".log");
    console_log.open(result.console_log, std::ios::trunc);
    if (!console_log) {
      outcome.start_error =
          absl::StrCat("cannot write the console log ", result.console_log.string());
      return finish();
    }
  }

  progress.Show("running...");
  GuestLogParser parser;
  ChildSpec spec{.argv = {launcher.string(), absl::StrCat("--image=", image.string()),
                          absl::StrCat("--cmdline=", request.cmdline)},
                 .working_directory = request.root.string(),
                 .timeout_seconds = timeout_seconds,
                 .kill_grace_seconds = request.kill_grace_seconds};
  ChildOutcome child = RunChild(spec, [&](OutputStream stream, std::string_view line) {
    progress.Echo(line);
    if (console_log.is_open()) console_log << line << '\n' << std::flush;
    std::string kept = NormalizeLine(line);
    if (stream == OutputStream::kStderr && !kept.empty()) outcome.last_stderr_line = kept;
    if (result.console_tail.size() == kConsoleTailLines) result.console_tail.pop_front();
    result.console_tail.push_back(std::move(kept));
    // Stamped as it is read, for the clock lines' rate check against the host.
    if (parser.Feed(line, HostMonotonicNs()) == LineKind::kCase) {
      progress.ShowCaseCount(parser.log().cases.size());
    }
  });
  result.log = parser.TakeLog();
  result.wall_seconds = child.wall_seconds;
  outcome.start_error = child.start_error;
  outcome.interrupted = child.interrupted;
  outcome.timed_out = child.timed_out;
  outcome.exit_status = child.exit_status;
  outcome.term_signal = child.term_signal;
  return finish();
}

}  // namespace pvops_run
