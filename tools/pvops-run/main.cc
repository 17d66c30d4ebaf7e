// SPDX-License-Identifier: MIT
// pvops-run: boots the guest image on one or every environment and judges each run
// (docs/guest-protocol.md). Exit status 0 only when every verdict is the expected one.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_split.h"
#include "child_process.h"
#include "environment_run.h"
#include "json_report.h"
#include "matrix_report.h"
#include "record_merge.h"

ABSL_FLAG(std::string, env, "", "environment name, a comma-separated list, or 'all'");
ABSL_FLAG(std::string, image, PVOPS_DEFAULT_IMAGE, "guest image (ELF64 with a PVH entry)");
ABSL_FLAG(std::string, root, PVOPS_DEFAULT_ROOT, "repository root holding envs/<name>/");
ABSL_FLAG(std::string, cmdline, "", "the guest's command line (e.g. \"test=irq.*\")");
ABSL_FLAG(double, timeout, 120, "seconds one environment's launch may take");
ABSL_FLAG(double, setup_timeout, 900, "seconds one environment's setup may take");
ABSL_FLAG(std::string, json, "", "write the run's record as JSON to this file");
ABSL_FLAG(std::string, expect, "pass", "verdict that counts as success: pass|fail|fault|timeout");
ABSL_FLAG(std::string, expect_reason, "",
          "with --expect: a regex the verdict's reason must also match (self-tests)");
ABSL_FLAG(bool, verbose, false, "echo the raw console (and setup output)");
ABSL_FLAG(std::string, console_dir, "", "write each environment's whole console to DIR/<name>.log");
ABSL_FLAG(bool, merge, false,
          "print one matrix from the JSON records given as arguments (--json of runs made apart)");
ABSL_FLAG(bool, list_envs, false,
          "print the environments 'all' runs, one per line in that order, and exit");

namespace {

void OnStopSignal(int) { pvops_run::RequestInterrupt(); }

void InstallStopHandlers() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;  // no SA_RESTART: poll() returns and the child gets ended
  sigemptyset(&action.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &action, nullptr);
}

std::vector<std::string> SelectEnvironments(const std::string& spec,
                                            const std::filesystem::path& root) {
  if (spec == "all") return pvops_run::ListEnvironments(root);
  return absl::StrSplit(spec, ',', absl::SkipWhitespace());
}

bool WriteJsonFile(const std::string& path, const pvops_run::RunSettings& settings,
                   const std::vector<pvops_run::EnvironmentResult>& results) {
  std::ofstream file(path);
  file << pvops_run::RenderJson(settings, results);
  file.close();
  if (!file) std::cerr << "pvops-run: cannot write " << path << "\n";
  return static_cast<bool>(file);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "pvops-run --env=NAME|all [--image=PATH] [--timeout=S] [--json=FILE] [--cmdline=\"...\"]\n"
      "          [--root=DIR] [--expect=pass|fail|fault|timeout] [--verbose] [--console_dir=DIR]\n"
      "pvops-run --list_envs [--root=DIR]\n"
      "pvops-run --merge A.json B.json ...\n"
      "Boots the guest image on each environment (envs/<name>/launch) and prints the matrix.");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_merge)) {
    if (positional.size() < 2) {
      std::cerr << "pvops-run: --merge needs the JSON records to merge\n";
      return 2;
    }
    return pvops_run::MergeRecords({positional.begin() + 1, positional.end()}, std::cout,
                                   std::cerr);
  }
  if (positional.size() > 1) {
    std::cerr << "pvops-run: unexpected argument '" << positional[1] << "' (see --help)\n";
    return 2;
  }
  if (absl::GetFlag(FLAGS_list_envs)) {
    for (const std::string& name : pvops_run::ListEnvironments(absl::GetFlag(FLAGS_root))) {
      std::cout << name << "\n";
    }
    return 0;
  }
  std::optional<pvops_run::Verdict> expect =
      pvops_run::ParseVerdictName(absl::GetFlag(FLAGS_expect));
  if (!expect) {
    std::cerr << "pvops-run: --expect must be pass, fail, fault or timeout\n";
    return 2;
  }
  std::optional<std::regex> expect_reason;
  try {
    if (!absl::GetFlag(FLAGS_expect_reason).empty()) {
      expect_reason.emplace(absl::GetFlag(FLAGS_expect_reason));
    }
  } catch (const std::regex_error& error) {
    std::cerr << "pvops-run: --expect_reason is not a regex: " << error.what() << "\n";
    return 2;
  }
  if (absl::GetFlag(FLAGS_env).empty()) {
    std::cerr << "pvops-run: --env=NAME|all is required\n";
    return 2;
  }
  if (absl::GetFlag(FLAGS_timeout) <= 0 || absl::GetFlag(FLAGS_setup_timeout) <= 0) {
    std::cerr << "pvops-run: timeouts must be positive\n";
    return 2;
  }

  const std::filesystem::path root = absl::GetFlag(FLAGS_root);
  const std::vector<std::string> names = SelectEnvironments(absl::GetFlag(FLAGS_env), root);
  if (names.empty()) {
    std::cerr << "pvops-run: no environment to run (no envs/*/launch under " << root << ")\n";
    return 1;
  }

  InstallStopHandlers();
  const pvops_run::ProgressOptions progress{.out = &std::cout,
                                            .rewrite_in_place = isatty(STDOUT_FILENO) != 0,
                                            .verbose = absl::GetFlag(FLAGS_verbose)};
  std::vector<pvops_run::EnvironmentResult> results;
  for (const std::string& name : names) {
    if (pvops_run::InterruptRequested()) break;
    pvops_run::EnvironmentRequest request{
        .name = name,
        .root = root,
        .image = absl::GetFlag(FLAGS_image),
        .cmdline = absl::GetFlag(FLAGS_cmdline),
        .timeout_seconds = absl::GetFlag(FLAGS_timeout),
        .setup_timeout_seconds = absl::GetFlag(FLAGS_setup_timeout),
        .console_dir = absl::GetFlag(FLAGS_console_dir)};
    results.push_back(pvops_run::RunEnvironment(request, progress));
  }

  bool json_ok = true;
  if (const std::string json_path = absl::GetFlag(FLAGS_json); !json_path.empty()) {
    json_ok = WriteJsonFile(json_path,
                            {.image = std::filesystem::absolute(absl::GetFlag(FLAGS_image)),
                             .cmdline = absl::GetFlag(FLAGS_cmdline),
                             .expect = *expect,
                             .timeout_seconds = absl::GetFlag(FLAGS_timeout)},
                            results);
  }

  bool all_as_expected = results.size() == names.size();
  for (const pvops_run::EnvironmentResult& result : results) {
    all_as_expected = all_as_expected && result.verdict.verdict == *expect &&
                      (!expect_reason || std::regex_search(result.verdict.reason, *expect_reason));
  }
  if (*expect != pvops_run::Verdict::kPass || expect_reason) {
    std::cout << "pvops-run: expected verdict '" << pvops_run::VerdictName(*expect) << "' "
              << (all_as_expected ? "met" : "NOT met") << "\n";
  }
  // Last, so that `./pvops run ENV` ends with the closing line.
  pvops_run::PrintMatrix(results, std::cout);

  if (pvops_run::InterruptRequested()) return 130;
  return all_as_expected && json_ok ? 0 : 1;
}
