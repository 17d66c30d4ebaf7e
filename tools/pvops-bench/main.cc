// SPDX-License-Identifier: MIT
// pvops-bench: turns one `./pvops bench` run into results.json (Google Benchmark's schema),
// report.md and chart.svg. Input: per environment the pvops-run records of its conformance run
// (ENV.conformance.json) and, when that passed, of its bench run (ENV.bench.json); optionally
// the host benchmark's Google Benchmark JSON (plain and retpoline builds) and callgrind's counts
// of its count mode; optionally (--linux) the runs of the pvops and the stock Linux kernels, for
// the "pvops vs Linux's own" section.
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench_results.h"
#include "outputs.h"

// GNU C++ predefines `linux` as 1, which would name the --linux flag "1".
#undef linux

ABSL_FLAG(std::string, in, "",
          "folder holding ENV.conformance.json and ENV.bench.json (or one ENV.bench.K.json per "
          "boot, K from 1)");
ABSL_FLAG(std::string, envs, "", "environments in report order, comma-separated");
ABSL_FLAG(std::string, host, "",
          "Google Benchmark JSON of bench/pvops_dispatch_bench (optional); several processes' "
          "files separated by commas, pooled");
ABSL_FLAG(std::string, host_retpoline, "",
          "Google Benchmark JSON of bench/pvops_dispatch_bench_retpoline (optional)");
ABSL_FLAG(std::string, callgrind, "",
          "callgrind.out of pvops_dispatch_bench --pvops_count=N (optional)");
ABSL_FLAG(std::string, callgrind_retpoline, "",
          "callgrind.out of pvops_dispatch_bench_retpoline --pvops_count=N (optional)");
ABSL_FLAG(std::string, callgrind_skipped, "",
          "why there are no callgrind counts, for the report (with neither --callgrind flag)");
ABSL_FLAG(std::string, image, "", "the guest image benched (recorded in the context)");
ABSL_FLAG(std::string, out, "bench-out", "folder for results.json, report.md and chart.svg");
ABSL_FLAG(std::string, linux, "",
          "folder of ENV.KERNEL.ROUND.json and .log (KERNEL pvops or stock): pvops vs Linux's own "
          "(optional)");

namespace {

using nlohmann::json;

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error("cannot read " + path.string());
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

std::optional<json> ReadJson(const std::filesystem::path& path) {
  std::ifstream file(path);
  if (!file) return std::nullopt;
  return json::parse(file);
}

void Write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream file(path);
  file << text;
  if (!file) throw std::runtime_error("cannot write " + path.string());
}

std::string NowIso8601() {
  const std::time_t now = std::time(nullptr);
  char text[64];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S%z", std::localtime(&now));
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "pvops-bench --in=DIR --envs=native,kvm,... [--host=FILE --host_retpoline=FILE "
      "--callgrind=FILE --callgrind_retpoline=FILE] [--image=PATH] [--linux=DIR] "
      "[--out=DIR]\n  or: pvops-bench --linux=DIR [--envs=...] [--out=DIR]");
  absl::ParseCommandLine(argc, argv);
  const std::filesystem::path in = absl::GetFlag(FLAGS_in);
  const std::filesystem::path out = absl::GetFlag(FLAGS_out);
  const std::vector<std::string> names =
      absl::StrSplit(absl::GetFlag(FLAGS_envs), ',', absl::SkipWhitespace());
  const std::string linux_dir = absl::GetFlag(FLAGS_linux);
  if ((in.empty() || names.empty()) && linux_dir.empty()) {
    std::cerr << "pvops-bench: --in and --envs are required (or --linux alone)\n";
    return 2;
  }
  try {
    std::vector<pvops_bench::EnvironmentBench> envs;
    for (const std::string& name : in.empty() ? std::vector<std::string>{} : names) {
      const auto conformance = ReadJson(in / (name + ".conformance.json"));
      // One record per bench boot (ENV.bench.1.json, ...), or one ENV.bench.json.
      std::vector<pvops_bench::EnvironmentBench> boots;
      for (int boot = 1;; ++boot) {
        const auto record = ReadJson(in / absl::StrFormat("%s.bench.%d.json", name, boot));
        if (!record) break;
        for (auto& env : pvops_bench::ParseRunRecord(*record)) {
          for (auto& hop : env.hops) hop.run = absl::StrFormat("bench %d", boot);
          boots.push_back(std::move(env));
        }
      }
      if (boots.empty())
        if (const auto record = ReadJson(in / (name + ".bench.json")))
          boots = pvops_bench::ParseRunRecord(*record);
      std::vector<pvops_bench::EnvironmentBench> parsed;
      if (!boots.empty()) parsed.push_back(pvops_bench::MergeBoots(boots));
      if (conformance) {
        std::vector<pvops_bench::EnvironmentBench> record =
            pvops_bench::ParseRunRecord(*conformance);
        for (auto& env : record)
          for (auto& hop : env.hops) hop.run = "conformance";
        pvops_bench::MergeConformance(record, parsed);
      }
      if (parsed.empty()) {
        pvops_bench::EnvironmentBench missing;
        missing.name = name;
        missing.conformance_verdict = "missing";
        missing.conformance_reason = "no conformance record in " + in.string();
        parsed.push_back(missing);
      }
      for (auto& env : parsed) envs.push_back(std::move(env));
    }
    pvops_bench::HostData host;
    for (const auto& [build, path] :
         {std::pair{"plain", absl::GetFlag(FLAGS_host)},
          std::pair{"retpoline", absl::GetFlag(FLAGS_host_retpoline)}}) {
      for (const std::string& file :
           std::vector<std::string>(absl::StrSplit(path, ',', absl::SkipEmpty()))) {
        const auto gbench = ReadJson(file);
        if (!gbench) throw std::runtime_error("cannot read " + file);
        host.runs.push_back({build, *gbench});
      }
    }
    for (const auto& [build, path] :
         {std::pair{"plain", absl::GetFlag(FLAGS_callgrind)},
          std::pair{"retpoline", absl::GetFlag(FLAGS_callgrind_retpoline)}}) {
      if (path.empty()) continue;
      for (auto& counts : pvops_bench::ParseCallgrind(ReadText(path), build))
        host.instructions.push_back(std::move(counts));
    }
    host.callgrind_skipped = absl::GetFlag(FLAGS_callgrind_skipped);
    if (host.instructions.empty() && host.callgrind_skipped.empty())
      host.callgrind_skipped = "not counted (no --callgrind given)";
    std::optional<pvops_bench::LinuxComparison> comparison;
    if (!linux_dir.empty()) comparison = pvops_bench::ReadLinuxRuns(linux_dir, names);
    char host_name[256] = "";
    gethostname(host_name, sizeof(host_name) - 1);
    const pvops_bench::RunContext context{
        .date = NowIso8601(),
        .host_name = host_name,
        .executable = absl::GetFlag(FLAGS_image),
        .num_cpus = static_cast<int>(std::thread::hardware_concurrency())};

    std::filesystem::create_directories(out);
    const pvops_bench::LinuxComparison* linux_runs = comparison ? &*comparison : nullptr;
    Write(out / "results.json",
          pvops_bench::ResultsJson(context, envs, host, linux_runs).dump(2) + "\n");
    // The chart is of bench runs: with --linux alone it is empty, and not linked.
    Write(out / "report.md", pvops_bench::ReportMarkdown(
                                 context, envs, host, envs.empty() ? "" : "chart.svg", linux_runs));
    Write(out / "chart.svg", pvops_bench::ChartSvg(envs));
    for (const auto& env : envs) {
      if (!env.Benched()) continue;
      std::string ratios;
      for (const char* op : {"irq_save_restore", "hypercall_null"}) {
        const pvops_bench::Summary ratio = pvops_bench::RatioToRaw(env, op, "patched");
        if (ratio.median) ratios += absl::StrFormat(", %s patched/raw %.2f", op, *ratio.median);
      }
      std::cout << absl::StrFormat("pvops-bench: %s: %d measurements%s\n", env.name,
                                   env.measurements.size(), ratios);
    }
    if (comparison) {
      std::cout << absl::StrFormat(
          "pvops-bench: pvops vs Linux's own: %d environments, %d mismatches, %d explained\n",
          comparison->envs.size(), pvops_bench::Mismatches(*comparison).size(),
          pvops_bench::ExplainedMismatches(*comparison).size());
    }
    std::cout << "pvops-bench: wrote " << (out / "results.json").string() << ", "
              << (out / "report.md").string() << ", " << (out / "chart.svg").string() << "\n";
  } catch (const std::exception& error) {
    std::cerr << "pvops-bench: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
