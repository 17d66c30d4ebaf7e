#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "outputs.h"

namespace pvops_bench {
namespace {

std::string Fixed(std::optional<double> v) {
  return v ? absl::StrFormat("%.2f", *v) : std::string("-");
}
std::string Cycles(double v) { return absl::StrFormat("%.0f", v); }

std::string HypercallOverhead(const EnvironmentBench& env) {
  const auto ratio = RatioToRaw(env, "hypercall_null");
  if (ratio) return absl::StrFormat("%.2fx", *ratio);
  if (env.Find("hypercall_null", "pvops") == nullptr) return "no hypercall interface";
  return "no raw baseline here";
}

std::string SavedText(const Saved& saved) {
  if (!saved.value) return saved.source;
  return absl::StrFormat("%.2f (%s)", *saved.value, saved.source);
}

std::string LibraryCounters(const Measurement& m) {
  std::vector<std::string> parts;
  for (const auto& [name, value] : m.library_per_op)
    parts.push_back(absl::StrFormat("%s %.2f", name, value));
  return parts.empty() ? "-" : absl::StrJoin(parts, ", ");
}

// The environments' table and the per-op tables.
std::string BenchTables(const std::vector<EnvironmentBench>& envs) {
  std::string md;
  md += "## Environments\n\n";
  md += "| environment | backend | conformance run | bench run | library overhead over the raw "
        "hypercall (median pvops / raw) | exits saved by lazy batching (64 updates) | exits saved "
        "by the paravirtual clock (per read) |\n|---|---|---|---|---|---|---|\n";
  for (const EnvironmentBench& env : envs) {
    const std::string conformance =
        env.conformance_verdict.empty()
            ? "-"
            : env.conformance_verdict + (env.conformance_verdict == "pass"
                                             ? ""
                                             : ": " + MarkdownCell(env.conformance_reason));
    if (!env.Benched()) {
      const std::string why = env.bench_verdict.empty()
                                  ? "not run (failed its conformance run)"
                                  : env.bench_verdict + ": " + MarkdownCell(env.bench_reason);
      absl::StrAppend(&md, "| ", env.name, " | ", env.backend, " | ", conformance, " | ", why,
                      " | - | - | - |\n");
      continue;
    }
    absl::StrAppend(&md, "| ", env.name, " | ", env.backend, " | ", conformance, " | pass | ",
                    HypercallOverhead(env), " | ", SavedText(ExitsSavedByLazyBatching(env)), " | ",
                    SavedText(ExitsSavedByPvClock(env)), " |\n");
  }

  md += "\n## Per op\n\nmedian and p99 in TSC cycles per sample; ratio = this median / the raw "
        "median of the same environment and run.\n";
  for (const std::string& op : OpOrder(envs)) {
    absl::StrAppend(
        &md, "\n### ", op, "\n\n",
        "| environment | impl | median | p99 | ratio to raw | exits/op | library "
        "counters per sample | what one sample times |\n|---|---|---|---|---|---|---|---|\n");
    for (const EnvironmentBench& env : envs) {
      if (!env.Benched()) continue;
      for (const Measurement& m : env.measurements) {
        if (m.op != op) continue;
        if (!m.unavailable.empty()) {
          absl::StrAppend(&md, "| ", env.name, " | ", m.impl,
                          " | - | - | - | - | - | not here: ", MarkdownCell(m.unavailable), " |\n");
          continue;
        }
        const std::string ratio = m.impl == "raw" ? "1" : Fixed(RatioToRaw(env, m.op, m.impl));
        absl::StrAppend(&md, "| ", env.name, " | ", m.impl, " | ", Cycles(m.median_cycles), " | ",
                        Cycles(m.p99_cycles), " | ", ratio, " | ", Fixed(m.exits_per_op), " | ",
                        LibraryCounters(m), " | ", MarkdownCell(m.what), " |\n");
      }
    }
  }
  return md;
}

}  // namespace

std::string MarkdownCell(const std::string& text) {
  std::string out = text;
  std::replace(out.begin(), out.end(), '|', '/');
  return out;
}

std::string ReportMarkdown(const RunContext& context, const std::vector<EnvironmentBench>& envs,
                           const std::vector<HostTime>& host, const std::string& chart_file,
                           const LinuxComparison* comparison) {
  std::string md = "# pvops bench report\n\n";
  absl::StrAppend(&md, "Run of ", context.date, " on `", context.host_name, "` (", context.num_cpus,
                  " CPUs), guest image `", context.executable, "`.\n\n",
                  "Every environment runs under QEMU TCG: TSC cycles are virtual, so the figures "
                  "that carry are ratios between two measurements of the same run and counts of "
                  "exits or hypercalls. A sample is the cycles between two `rdtsc` around one op "
                  "(a PTE sample holds 64 updates; `empty` is the two `rdtsc` alone). "
                  "`raw` is the bare instruction with no library around it; `exiting` is a clock "
                  "read that exits to the hypervisor. Exits per op are KVM's own counts (read "
                  "through pvops-vmm's stats port) where the environment has them.\n\n");

  if (envs.empty()) {
    md += "No bench run given (--in): only the comparison with Linux's own.\n";
  } else {
    md += BenchTables(envs);
  }

  if (!host.empty()) {
    md +=
        "\n## Host dispatch (Google Benchmark, user mode on the host)\n\n"
        "Each op reached three ways: a direct call of a hard-coded backend function (build-time "
        "selection), a call through the real `pvops_table` and its inline wrappers, and the "
        "inline instruction. Privileged bodies are user-mode stand-ins of the same shape "
        "(bench/user_backend.h). CPU time per iteration (median of the repetitions), host time.\n\n"
        "| op | direct_call | pvops_table_call | inline_insn | pvops_table_call / direct_call |\n"
        "|---|---|---|---|---|\n";
    std::map<std::string, std::map<std::string, std::string>> cells;
    std::vector<std::string> ops;
    for (const HostTime& t : host) {
      if (std::find(ops.begin(), ops.end(), t.op) == ops.end()) ops.push_back(t.op);
      cells[t.op][t.mechanism] = absl::StrFormat("%.2f %s", t.cpu_time, t.time_unit);
    }
    const std::map<std::string, double> ratios = HostTableOverDirect(host);
    for (const std::string& op : ops) {
      const auto ratio = ratios.find(op);
      absl::StrAppend(&md, "| ", op, " | ", cells[op]["direct_call"], " | ",
                      cells[op]["pvops_table_call"], " | ", cells[op]["inline_insn"], " | ",
                      ratio == ratios.end() ? "-" : absl::StrFormat("%.3f", ratio->second), " |\n");
    }
  }
  if (comparison != nullptr) {
    md += LinuxComparisonMarkdown(*comparison);
  } else {
    md += "\npvops vs Linux's own: not compared (no --linux runs given).\n";
  }
  if (!chart_file.empty())
    absl::StrAppend(&md, "\n## Chart\n\n![median cycles per op and environment](", chart_file,
                    ")\n");
  return md;
}

}  // namespace pvops_bench
