/* SPDX-License-Identifier: MIT */
// The bench's measurements as the reporter sees them: parsed from pvops-run's --json records
// (the guest's `bench:` and `# patch:` lines), Google Benchmark's JSON of the host runs and
// callgrind's counts of them, plus the figures the report derives (ratios within one run).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "linux_comparison.h"  // Summary

namespace pvops_bench {

// One `bench:` line: an op timed one way (variant: table, patched, raw or exiting).
struct Measurement {
  std::string op;
  std::string variant;
  std::string what;
  int batch = 1;
  int samples_per_round = 0;
  double counted_ops = 0;
  std::vector<double> round_cycles;  // each round's median, per op (the line's per batch / batch)
  double median_cycles = 0;          // per op: the median round
  double ops_timed = 0;              // rounds x samples_per_round x batch
  int updates_per_op = 1;
  std::string site;                              // patched: what its sites hold
  std::optional<double> exits_per_op;            // KVM's count, where the environment has one
  std::optional<double> kvm_hypercalls_per_op;   // likewise
  std::map<std::string, double> library_per_op;  // the library's counters that moved, per op
  std::string unavailable;                       // non-empty: not measurable here, and why

  Summary Rounds() const;  // median, min and max of the round medians
};

// One hop of a guest moved to another hypervisor interface: the mover's figures (pvops-vmm's
// `move: hop=` line) and the guest's clock around it (its own `# move: hop=` line), where given.
struct MoveHop {
  std::string run;  // which record: "conformance", "bench 1", ...
  int hop = 0;
  std::string from, to;
  std::optional<double> downtime_ms;                // "ready" to vCPU 0's first entry on the new VM
  double pause_ms = 0;                              // the guest's TSC stood still this long
  double stop_ms = 0, save_ms = 0, restore_ms = 0;  // the VMM's phases within the downtime
  std::optional<double> old_vm_close_ms;  // closing the old VM, after the guest runs again
  std::optional<double> clock_jump_ms;    // the guest's clock after the hop minus before it

  // What the downtime holds beyond the three phases: new vCPU threads up to the first entry.
  std::optional<double> StartMs() const;
};

// The goal for a hop's downtime, and the published figure it is set against: HyperTP (EuroSys
// 2021) swaps Xen and KVM under a running 1-vCPU, 1 GiB VM in place with 1.7 s of downtime.
inline constexpr double kMoveDowntimeGoalMs = 100;
inline constexpr double kHyperTpDowntimeMs = 1700;

struct EnvironmentBench {
  std::string name;
  std::string conformance_verdict;  // "pass", "fail", ... or "" when not run
  std::string conformance_reason;
  std::string bench_verdict;  // "" when the bench was not run (conformance failed)
  std::string bench_reason;
  std::string backend;                       // from the detect line
  std::map<std::string, std::string> patch;  // the `# patch:` line's fields
  double tsc_khz = 0;
  double tsc_step = 0;
  std::vector<Measurement> measurements;
  std::vector<MoveHop> hops;  // every hop of every record of this environment, in order

  const Measurement* Find(const std::string& op, const std::string& variant) const;
  bool Benched() const { return bench_verdict == "pass"; }
};

// Parses one pvops-run --json record; every environment in it. Throws std::runtime_error with
// the reason on malformed input.
std::vector<EnvironmentBench> ParseRunRecord(const nlohmann::json& record);

// One environment's bench boots as one: every round of every boot in boot order (so that round
// i of one variant still pairs with round i of another), counts weighted by the ops counted. The
// bench verdict passes only when every boot's did.
EnvironmentBench MergeBoots(const std::vector<EnvironmentBench>& boots);

// Merges a conformance record and a bench record of the same environments, by name; the
// conformance run's hops come first.
void MergeConformance(const std::vector<EnvironmentBench>& conformance,
                      std::vector<EnvironmentBench>& benches);

// `variant` over raw: per round (the variants took turns in each round, so drift cancels), then
// the median and range of those ratios. No value when either is missing or the rounds differ.
Summary RatioToRaw(const EnvironmentBench& env, const std::string& op, const std::string& variant);

// What sends an op to the hypervisor, per op: KVM's exits where counted, otherwise the
// library's hypercall-like counters (hypercalls, backdoor calls). `source` says which.
std::optional<double> ExitsPerOp(const Measurement& m, std::string* source);
struct Saved {
  std::optional<double> value;
  std::string source;  // "KVM exits", "library hypercalls", or why nothing is known
};
Saved ExitsSavedByLazyBatching(const EnvironmentBench& env);
Saved ExitsSavedByPvClock(const EnvironmentBench& env);

// The flags the report raises: patched/raw above these (the patched path should cost no more
// than the bare instruction, within the noise).
inline constexpr double kIrqPatchedOverRawLimit = 1.10;
inline constexpr double kHypercallPatchedOverRawLimit = 1.05;
// Why `op`'s patched/raw is flagged in `env`; "" when it is not. The irq limit holds where the
// backend allows the native sequence: where its sites stay calls (the VMI ROM's relocation
// answers say CALL_REL, Xen PV's event mask), PatchedNote says so instead.
std::string PatchedFlag(const EnvironmentBench& env, const std::string& op);
std::string PatchedNote(const EnvironmentBench& env, const std::string& op);

// ---- Host ----

// One host benchmark (Google Benchmark JSON), OP/MECHANISM, of one build (plain, retpoline).
struct HostTime {
  std::string build, op, mechanism;
  double cpu_time = 0;  // per iteration; CPU time, the machine being shared
  std::string time_unit;
};
std::vector<HostTime> ParseHostBenchmark(const nlohmann::json& gbench, const std::string& build);
// Per build and op: each mechanism's time over direct_call's, from the same run.
using HostRatios = std::map<std::string, std::map<std::string, std::map<std::string, double>>>;
HostRatios HostOverDirect(const std::vector<HostTime>& times);
inline constexpr double kHostPatchedOverDirectTarget = 1.05;

// Instructions per op of each mechanism, from callgrind's counts of the bench's count mode
// (--pvops_count=N, the loop of pvops_count_empty taken off).
struct HostInstructions {
  std::string build, op, mechanism;
  double per_op = 0;
};
// `text` is a callgrind.out file of one run with --toggle-collect='pvops_count_*'.
std::vector<HostInstructions> ParseCallgrind(const std::string& text, const std::string& build);

}  // namespace pvops_bench
