// The bench's measurements as the reporter sees them: parsed from pvops-run's --json records
// (the guest's `bench:` lines) and Google Benchmark's JSON of the host run, plus the figures the
// report derives from them (ratios within one run, exits saved).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pvops_bench {

// One `bench:` line: an op timed one way (impl: pvops, raw or exiting).
struct Measurement {
  std::string op;
  std::string impl;
  std::string what;
  int samples = 0;
  double min_cycles = 0, median_cycles = 0, p99_cycles = 0;
  int ops_per_sample = 1;
  std::optional<double> exits_per_op;            // KVM's count, where the environment has one
  std::optional<double> kvm_hypercalls_per_op;   // likewise
  std::map<std::string, double> library_per_op;  // the library's counters that moved, per sample
  std::string unavailable;                       // non-empty: not measurable here, and why
};

struct EnvironmentBench {
  std::string name;
  std::string conformance_verdict;  // "pass", "fail", ... or "" when not run
  std::string conformance_reason;
  std::string bench_verdict;  // "" when the bench was not run (conformance failed)
  std::string bench_reason;
  std::string backend;  // from the detect line
  double tsc_khz = 0;
  std::vector<Measurement> measurements;

  const Measurement* Find(const std::string& op, const std::string& impl) const;
  bool Benched() const { return bench_verdict == "pass"; }
};

// Parses one pvops-run --json record; every environment in it. Throws std::runtime_error with
// the reason on malformed input.
std::vector<EnvironmentBench> ParseRunRecord(const nlohmann::json& record);

// Merges a conformance record and a bench record of the same environments, by name.
void MergeConformance(const std::vector<EnvironmentBench>& conformance,
                      std::vector<EnvironmentBench>& benches);

// One host benchmark (Google Benchmark JSON), OP/MECHANISM.
struct HostTime {
  std::string op, mechanism;
  double cpu_time = 0;  // per iteration; CPU time, the machine being shared
  std::string time_unit;
};
std::vector<HostTime> ParseHostBenchmark(const nlohmann::json& gbench);
// pvops_table_call / direct_call per op, from the same run.
std::map<std::string, double> HostTableOverDirect(const std::vector<HostTime>& times);

// Derived figures; nullopt when the environment cannot give them (says why in `why`).
std::optional<double> RatioToRaw(const EnvironmentBench& env, const std::string& op,
                                 const std::string& impl = "pvops");
// How the environment counts exits for one measurement: KVM's exits where counted, otherwise
// the library's hypercall-like counters (hypercalls, backdoor calls). `source` says which.
std::optional<double> ExitsPerSample(const Measurement& m, std::string* source);
struct Saved {
  std::optional<double> value;
  std::string source;  // "KVM exits", "library hypercalls", or why nothing is known
};
Saved ExitsSavedByLazyBatching(const EnvironmentBench& env);
Saved ExitsSavedByPvClock(const EnvironmentBench& env);

}  // namespace pvops_bench
