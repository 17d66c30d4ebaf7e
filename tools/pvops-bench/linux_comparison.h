/* SPDX-License-Identifier: MIT */
// pvops vs Linux's own: one Linux 6.12 source built twice and booted in rounds on the same
// environments, as the "pvops" kernel (its paravirtualization from the library) and the "stock"
// kernel (Linux's own KVM/Hyper-V/Xen/VMware guest code). Read from a folder of pvops-run
// records and console logs named ENV.KERNEL.ROUND.json / ENV.KERNEL.ROUND.log.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace pvops_bench {

// One workload phase of pvops-check in one run; absent where the run did not say ("?").
struct PhaseSample {
  std::optional<double> wall_us, exits, hypercalls;
  // Some of the exits by KVM's reason ("halt_exits", "irq_exits", ...): the "# phase:" line's
  // other *_exits fields.
  std::map<std::string, double> exits_by_reason;
};

// pvops-check's "# vdso:" line: how the kernel lets user space read the clock.
struct ClockReads {
  std::string clocksource;
  std::optional<double> vdso_ns_per_read, syscall_ns_per_read;
  std::optional<int> in_user_space;
};

// What one console log says: Linux's own boot lines (by pattern id, see linux_comparison.cc) and
// pvops-check's comment lines.
struct ConsoleFacts {
  bool linux_booted = false;  // a "Linux version " line: Linux's boot messages are in this log
  std::map<std::string, std::string> linux_lines;  // pattern id -> the line's text (the last one)
  std::string kernel;   // "# kernel:" text: "pvops", "stock (no /sys/kernel/pvops)"
  std::string cmdline;  // "# cmdline:" text
  std::map<std::string, std::string> paths;  // "# paths:" fields: backend, paravirt, routed
  std::string clocksource_current;           // "# clocksource: current=..."
  std::optional<ClockReads> clock_reads;
  std::map<std::string, PhaseSample> phases;  // "# phase:" lines

  // The command line keeps pr_info lines off the console ("quiet", loglevel below 7): a line's
  // absence then says nothing.
  bool InfoHidden() const;
  // The text after pattern `id`'s words in its line, "" when there was no such line.
  std::string After(std::string_view id) const;
};

// Classifies every line of a console log.
ConsoleFacts ParseConsoleLog(std::string_view text);

// One boot: its record and its console log.
struct KernelRun {
  int round = 0;
  std::string verdict;                        // the record's; "" without a record
  std::string backend;                        // the record's detect line (the pvops kernel only)
  std::string features;                       // likewise
  std::map<std::string, PhaseSample> phases;  // the record's stat: lines; "# phase:" lines fill in
  bool has_log = false;
  ConsoleFacts console;
  std::vector<std::string> problems;  // what is missing or odd about this run, for the report
};

// `record` is a pvops-run --json record (may be null), `log` its console log (may be null).
KernelRun ParseKernelRun(const std::string& env, const std::string& kernel, int round,
                         const nlohmann::json* record, const std::string* log);

struct EnvironmentRuns {
  std::string name;
  std::vector<KernelRun> pvops, stock;  // by round
};

struct LinuxComparison {
  std::string dir;
  std::vector<EnvironmentRuns> envs;
  std::vector<std::string> ignored;  // files in the folder that are not ENV.KERNEL.ROUND.(json|log)
};

// "kvm-nopv.stock.3.log" -> {kvm-nopv, stock, 3, log}; nullopt for any other name.
struct RunFileName {
  std::string env, kernel;
  int round = 0;
  std::string extension;
};
std::optional<RunFileName> ParseRunFileName(const std::string& file_name);

// Reads every run in `dir`. Environments come in `order` first, the rest by name.
LinuxComparison ReadLinuxRuns(const std::filesystem::path& dir,
                              const std::vector<std::string>& order);

// Median and range of a list of values; empty when there are none.
struct Summary {
  std::optional<double> median, min, max;
  int count = 0;
  std::vector<double> values;  // in round order
};
Summary Summarize(std::vector<double> values);

// Per-round pvops/stock ratios of one figure, rounds paired by number (a round that one kernel
// lacks, or whose stock figure is 0, is left out).
using Figure = std::optional<double> (*)(const KernelRun&, const std::string& phase);
Summary PairedRatios(const std::vector<KernelRun>& pvops, const std::vector<KernelRun>& stock,
                     const std::string& phase, Figure figure);
// One figure of one kernel over its rounds.
Summary OverRounds(const std::vector<KernelRun>& runs, const std::string& phase, Figure figure);

std::optional<double> WallUs(const KernelRun& run, const std::string& phase);
std::optional<double> Exits(const KernelRun& run, const std::string& phase);
std::optional<double> Hypercalls(const KernelRun& run, const std::string& phase);
std::optional<double> VdsoNsPerRead(const KernelRun& run, const std::string& unused);
std::optional<double> SyscallNsPerRead(const KernelRun& run, const std::string& unused);

constexpr double kExitsRatioLimit = 1.05;

// An exit reason of a phase: each kernel's count over its rounds.
struct ExitReason {
  std::string reason;  // KVM's counter, or "other": exits neither a reason nor a hypercall
  Summary pvops, stock;
};

struct PhaseComparison {
  std::string phase;
  Summary exits_ratio, wall_ratio;
  Summary pvops_exits, stock_exits, pvops_wall, stock_wall, pvops_hypercalls, stock_hypercalls;
  std::vector<ExitReason> exits_by_reason;  // empty where the runs gave no reasons
  bool more_exits = false;  // exits ratio above kExitsRatioLimit, or exits where stock has none
  bool slower = false;      // median wall ratio - 1 above the ratio's min-max spread
};
// Phases in pvops-check's order, then any others by name.
std::vector<PhaseComparison> ComparePhases(const EnvironmentRuns& env);

struct ClockReadsComparison {
  std::string pvops_clocksource, stock_clocksource;
  std::string pvops_in_user_space, stock_in_user_space;  // "1", "0", "0/1" when rounds differ
  Summary pvops_vdso_ns, stock_vdso_ns, pvops_syscall_ns, stock_syscall_ns, vdso_ratio;
  bool pvops_leaves_user_space = false;  // stock reads in user space, pvops does not
};
ClockReadsComparison CompareClockReads(const EnvironmentRuns& env);

// One side's view of one feature. `value` is comparable when `known`: a canonical hypervisor
// name, a clock class, "on" or "off"; otherwise it says why not ("not logged", "no log", ...).
struct FeatureState {
  std::string value;
  bool known = false;
  std::string evidence;  // the line or record field it comes from
};
struct FeatureRow {
  std::string feature;
  FeatureState own, pvops;  // own: Linux's own (the stock kernel)
  std::string agree;        // "yes", "no", or "n/a" when a side is not known
  std::string explained;    // for a "no" whose cause is known (KnownDisagreements()): why
};

// A disagreement whose cause is established: the feature, each side's value, and a fragment of
// the stock kernel's evidence that names the case (a line only that hypervisor's code prints),
// so that it explains only the case it was established for. Anything else that disagrees stays
// a mismatch.
struct KnownDisagreement {
  std::string_view feature, own, pvops, own_evidence, why;
};
const std::vector<KnownDisagreement>& KnownDisagreements();
// Rows: hypervisor, clock, PV IPI, PV TLB flush, PV spinlocks, steal time, PV EOI, x2APIC.
std::vector<FeatureRow> CompareFeatures(const EnvironmentRuns& env);
// Linux's view from one stock log, and the pvops view from one pvops run (for tests and rounds).
std::vector<FeatureState> LinuxFeatures(const ConsoleFacts& log);
std::vector<FeatureState> PvopsFeatures(const KernelRun& run);
const std::vector<std::string>& FeatureNames();

// Every "no" row without an explanation, as "ENV: FEATURE: Linux's own X (evidence), pvops Y
// (evidence)".
std::vector<std::string> Mismatches(const LinuxComparison& comparison);
// Every explained "no" row, the same text followed by ": WHY".
std::vector<std::string> ExplainedMismatches(const LinuxComparison& comparison);

}  // namespace pvops_bench
