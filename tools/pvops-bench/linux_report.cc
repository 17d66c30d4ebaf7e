// SPDX-License-Identifier: MIT
// The "pvops vs Linux's own" section of report.md and its results.json member.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "linux_comparison.h"
#include "outputs.h"

namespace pvops_bench {
namespace {

using nlohmann::json;

// "1.02 (0.98–1.05)": the median of the per-round ratios and their range.
std::string RatioText(const Summary& s) {
  if (!s.median) return "-";
  if (s.count == 1) return absl::StrFormat("%.2f (1 round)", *s.median);
  return absl::StrFormat("%.2f (%.2f–%.2f)", *s.median, *s.min, *s.max);
}

std::string MedianText(const Summary& s) {
  return s.median ? absl::StrFormat("%.0f", *s.median) : std::string("-");
}

std::string PairText(const Summary& pvops, const Summary& stock) {
  return MedianText(pvops) + " / " + MedianText(stock);
}

std::string StateText(const FeatureState& state) {
  return state.known ? state.value : "_" + state.value + "_";
}

std::string ClockReadsSide(const std::string& kernel, const std::string& clocksource,
                           const std::string& in_user_space, const Summary& vdso,
                           const Summary& syscall) {
  return absl::StrCat(kernel, " ", MedianText(vdso), " ns (syscall ", MedianText(syscall),
                      " ns), in_user_space=", in_user_space.empty() ? "-" : in_user_space, ", ",
                      clocksource.empty() ? "-" : clocksource);
}

std::string Rounds(std::size_t count, const char* kernel) {
  return absl::StrCat(count, " ", kernel, count == 1 ? " round" : " rounds");
}

std::vector<std::string> Problems(const EnvironmentRuns& env) {
  std::vector<std::string> out;
  if (env.pvops.empty()) out.push_back("no pvops runs");
  if (env.stock.empty()) out.push_back("no stock runs");
  for (const auto& [kernel, runs] :
       {std::pair{"pvops", &env.pvops}, std::pair{"stock", &env.stock}})
    for (const KernelRun& run : *runs)
      for (const std::string& problem : run.problems)
        out.push_back(absl::StrCat(kernel, " round ", run.round, ": ", problem));
  return out;
}

json SummaryJson(const Summary& s) {
  const auto number = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
  return {{"median", number(s.median)},
          {"min", number(s.min)},
          {"max", number(s.max)},
          {"values", s.values}};
}

// "halt 300/150, irq 20/20, ...": each reason's medians, KVM's "_exits" suffix dropped.
std::string ExitReasonsText(const PhaseComparison& c) {
  if (c.exits_by_reason.empty()) return "-";
  std::vector<std::string> parts;
  for (const ExitReason& r : c.exits_by_reason) {
    std::string_view name = r.reason;
    if (name.ends_with("_exits")) name.remove_suffix(6);
    parts.push_back(
        absl::StrCat(std::string(name), " ", MedianText(r.pvops), "/", MedianText(r.stock)));
  }
  return absl::StrJoin(parts, ", ");
}

json ExitReasonsJson(const PhaseComparison& c) {
  json out = json::object();
  for (const ExitReason& r : c.exits_by_reason)
    out[r.reason] = {{"pvops", SummaryJson(r.pvops)}, {"stock", SummaryJson(r.stock)}};
  return out;
}

json StateJson(const FeatureState& state) {
  return {{"value", state.value}, {"known", state.known}, {"evidence", state.evidence}};
}

}  // namespace

std::string LinuxComparisonMarkdown(const LinuxComparison& comparison) {
  std::string md = "\n## pvops vs Linux's own\n\n";
  absl::StrAppend(
      &md,
      "The same Linux 6.12 source built twice and booted in rounds on the same environments: the "
      "**pvops** kernel takes its paravirtualization from the library, the **stock** kernel uses "
      "Linux's own guest code (KVM, Hyper-V, Xen, VMware). Runs from `",
      comparison.dir, "`.\n");
  if (comparison.envs.empty())
    absl::StrAppend(&md, "\nNo `ENV.KERNEL.ROUND.json` or `.log` runs there.\n");

  md += "\n### Agreement\n\n"
        "Linux's own choices are read from the stock kernel's boot messages: _not logged_ where "
        "Linux prints nothing about a feature on that hypervisor, off where Linux prints a line "
        "whenever it turns the feature on and that line is absent. pvops's come from its detect "
        "record, pvops-check's `# paths:` routed list and `# clocksource:` line. Clocks agree when "
        "they are of one kind (paravirtual, TSC, jiffies). A feature that differs between rounds "
        "of one kernel says so and counts as a mismatch.\n\n"
        "| environment | feature | Linux's own (stock) | pvops | agree? | note |\n"
        "|---|---|---|---|---|---|\n";
  for (const EnvironmentRuns& env : comparison.envs) {
    for (const FeatureRow& row : CompareFeatures(env)) {
      const std::string agree = row.agree != "no"       ? row.agree
                                : row.explained.empty() ? "**no**"
                                                        : "no, explained";
      std::string note;
      if (!row.own.evidence.empty()) note = "Linux: `" + row.own.evidence + "`";
      if (!row.pvops.evidence.empty())
        absl::StrAppend(&note, note.empty() ? "" : "; ", "pvops: `", row.pvops.evidence, "`");
      if (!row.explained.empty()) absl::StrAppend(&note, ". Why: ", row.explained);
      absl::StrAppend(&md, "| ", env.name, " | ", row.feature, " | ",
                      MarkdownCell(StateText(row.own)), " | ", MarkdownCell(StateText(row.pvops)),
                      " | ", agree, " | ", MarkdownCell(note), " |\n");
    }
  }
  const std::vector<std::string> mismatches = Mismatches(comparison);
  if (mismatches.empty()) {
    md += "\nNo unexplained mismatch where both sides are known.\n";
  } else {
    absl::StrAppend(&md, "\nMismatches (", mismatches.size(), "):\n\n");
    for (const std::string& m : mismatches) absl::StrAppend(&md, "- ", m, "\n");
  }
  const std::vector<std::string> explained = ExplainedMismatches(comparison);
  if (!explained.empty()) {
    absl::StrAppend(&md, "\nExplained disagreements (", explained.size(), "):\n\n");
    for (const std::string& m : explained) absl::StrAppend(&md, "- ", m, "\n");
  }

  absl::StrAppend(
      &md,
      "\n### Per-phase cost\n\n"
      "Ratios are pvops / stock per round (rounds paired by number): the median, and the min–max "
      "over rounds. Raw figures are each kernel's median over its rounds; exits and hypercalls are "
      "KVM's counts over the phase where the environment has them. Flags: **exits** where the "
      "exits ratio is above ",
      absl::StrFormat("%.2f", kExitsRatioLimit),
      " (or pvops exits where stock has none); **slower** where the median wall ratio is above 1 "
      "by more than its min–max spread. Exits by reason are each kernel's median (pvops / stock) "
      "of KVM's halt, host-interrupt (irq), interrupt-window and port I/O exits, and of the rest "
      "but hypercalls (other: mostly MSR and CPUID exits, which KVM does not count apart). The "
      "clock-read row compares one `clock_gettime()` as user space sees it (pvops-check's "
      "`# vdso:` line).\n");
  for (const EnvironmentRuns& env : comparison.envs) {
    absl::StrAppend(&md, "\n#### ", env.name, " (", Rounds(env.pvops.size(), "pvops"), ", ",
                    Rounds(env.stock.size(), "stock"), ")\n\n",
                    "| phase | exits pvops/stock | wall pvops/stock | exits pvops / stock | "
                    "hypercalls pvops / stock | wall µs pvops / stock | exits by reason | flag |\n"
                    "|---|---|---|---|---|---|---|---|\n");
    for (const PhaseComparison& c : ComparePhases(env)) {
      std::vector<std::string> flags;
      if (c.more_exits) flags.push_back("**exits**");
      if (c.slower) flags.push_back("**slower**");
      absl::StrAppend(&md, "| ", c.phase, " | ", RatioText(c.exits_ratio), " | ",
                      RatioText(c.wall_ratio), " | ", PairText(c.pvops_exits, c.stock_exits), " | ",
                      PairText(c.pvops_hypercalls, c.stock_hypercalls), " | ",
                      PairText(c.pvops_wall, c.stock_wall), " | ", ExitReasonsText(c), " | ",
                      absl::StrJoin(flags, ", "), " |\n");
    }
    const ClockReadsComparison clock = CompareClockReads(env);
    absl::StrAppend(
        &md, "| clock read, ns per read | - | ", RatioText(clock.vdso_ratio), " | - | - | ",
        MarkdownCell(
            absl::StrCat(ClockReadsSide("pvops", clock.pvops_clocksource, clock.pvops_in_user_space,
                                        clock.pvops_vdso_ns, clock.pvops_syscall_ns),
                         "; ",
                         ClockReadsSide("stock", clock.stock_clocksource, clock.stock_in_user_space,
                                        clock.stock_vdso_ns, clock.stock_syscall_ns))),
        " | - | ", clock.pvops_leaves_user_space ? "**pvops reads through a system call**" : "",
        " |\n");
    const std::vector<std::string> problems = Problems(env);
    if (!problems.empty()) {
      md += "\nProblems:\n\n";
      for (const std::string& p : problems) absl::StrAppend(&md, "- ", p, "\n");
    }
  }
  if (!comparison.ignored.empty())
    absl::StrAppend(&md, "\nIgnored (not ENV.pvops|stock.ROUND.json|log): ",
                    absl::StrJoin(comparison.ignored, ", "), "\n");
  return md;
}

json LinuxComparisonJson(const LinuxComparison& comparison) {
  json envs = json::array();
  for (const EnvironmentRuns& env : comparison.envs) {
    json rounds = {{"pvops", json::array()}, {"stock", json::array()}};
    for (const KernelRun& run : env.pvops) rounds["pvops"].push_back(run.round);
    for (const KernelRun& run : env.stock) rounds["stock"].push_back(run.round);
    json agreement = json::array();
    for (const FeatureRow& row : CompareFeatures(env))
      agreement.push_back({{"feature", row.feature},
                           {"linux", StateJson(row.own)},
                           {"pvops", StateJson(row.pvops)},
                           {"agree", row.agree},
                           {"explained", row.explained}});
    json phases = json::array();
    for (const PhaseComparison& c : ComparePhases(env)) {
      phases.push_back({{"phase", c.phase},
                        {"exits_ratio", SummaryJson(c.exits_ratio)},
                        {"wall_ratio", SummaryJson(c.wall_ratio)},
                        {"pvops",
                         {{"wall_us", SummaryJson(c.pvops_wall)},
                          {"exits", SummaryJson(c.pvops_exits)},
                          {"hypercalls", SummaryJson(c.pvops_hypercalls)}}},
                        {"stock",
                         {{"wall_us", SummaryJson(c.stock_wall)},
                          {"exits", SummaryJson(c.stock_exits)},
                          {"hypercalls", SummaryJson(c.stock_hypercalls)}}},
                        {"exits_by_reason", ExitReasonsJson(c)},
                        {"more_exits", c.more_exits},
                        {"slower", c.slower}});
    }
    const ClockReadsComparison clock = CompareClockReads(env);
    json clock_reads = {{"pvops",
                         {{"clocksource", clock.pvops_clocksource},
                          {"in_user_space", clock.pvops_in_user_space},
                          {"vdso_ns_per_read", SummaryJson(clock.pvops_vdso_ns)},
                          {"syscall_ns_per_read", SummaryJson(clock.pvops_syscall_ns)}}},
                        {"stock",
                         {{"clocksource", clock.stock_clocksource},
                          {"in_user_space", clock.stock_in_user_space},
                          {"vdso_ns_per_read", SummaryJson(clock.stock_vdso_ns)},
                          {"syscall_ns_per_read", SummaryJson(clock.stock_syscall_ns)}}},
                        {"vdso_ratio", SummaryJson(clock.vdso_ratio)},
                        {"pvops_leaves_user_space", clock.pvops_leaves_user_space}};
    envs.push_back({{"name", env.name},
                    {"rounds", rounds},
                    {"agreement", agreement},
                    {"phases", phases},
                    {"clock_reads", clock_reads},
                    {"problems", Problems(env)}});
  }
  return {{"dir", comparison.dir},
          {"exits_ratio_limit", kExitsRatioLimit},
          {"environments", envs},
          {"mismatches", Mismatches(comparison)},
          {"explained_mismatches", ExplainedMismatches(comparison)},
          {"ignored", comparison.ignored}};
}

}  // namespace pvops_bench
