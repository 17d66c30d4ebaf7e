// SPDX-License-Identifier: MIT
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

// "1.02 (0.99-1.05)": the median of the per-round ratios and their range.
std::string RatioText(const Summary& s) {
  if (!s.median) return "-";
  return absl::StrFormat("%.2f (%.2f-%.2f)", *s.median, *s.min, *s.max);
}

std::string CyclesText(const Summary& s) {
  if (!s.median) return "-";
  if (*s.median < 100) return absl::StrFormat("%.1f (%.1f-%.1f)", *s.median, *s.min, *s.max);
  return absl::StrFormat("%.0f (%.0f-%.0f)", *s.median, *s.min, *s.max);
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

std::string PatchCounts(const EnvironmentBench& env) {
  if (env.patch.empty()) return "-";
  auto get = [&env](const char* key) {
    const auto it = env.patch.find(key);
    return it == env.patch.end() ? std::string("?") : it->second;
  };
  std::string text = get("inlined") + " / " + get("direct") + " / " + get("table");
  if (!get("why").empty() && get("why") != "?") text += " (" + MarkdownCell(get("why")) + ")";
  return text;
}

// A ratio cell of the summary: "-" with the reason when there is no raw here.
std::string SummaryRatio(const EnvironmentBench& env, const std::string& op,
                         const std::string& variant) {
  if (env.Find(op, variant) == nullptr) return "-";
  return RatioText(RatioToRaw(env, op, variant));
}

std::string EnvironmentsTable(const std::vector<EnvironmentBench>& envs) {
  std::string md =
      "| environment | backend | conformance run | bench run | call sites inline / direct / "
      "table | exits saved by lazy batching (64 updates) | exits saved by the paravirtual clock "
      "(per read) |\n|---|---|---|---|---|---|---|\n";
  for (const EnvironmentBench& env : envs) {
    const std::string conformance =
        env.conformance_verdict.empty()
            ? "-"
            : env.conformance_verdict + (env.conformance_verdict == "pass"
                                             ? ""
                                             : ": " + MarkdownCell(env.conformance_reason));
    if (!env.Benched()) {
      // No bench record: the bench leaves out an environment that failed its conformance run;
      // one that passed has simply no bench record here.
      const std::string why =
          !env.bench_verdict.empty()
              ? env.bench_verdict + ": " + MarkdownCell(env.bench_reason)
              : (env.conformance_verdict == "pass" ? "no bench record"
                                                   : "not run (failed its conformance run)");
      absl::StrAppend(&md, "| ", env.name, " | ", env.backend, " | ", conformance, " | ", why,
                      " | ", PatchCounts(env), " | - | - |\n");
      continue;
    }
    absl::StrAppend(&md, "| ", env.name, " | ", env.backend, " | ", conformance, " | pass | ",
                    PatchCounts(env), " | ", SavedText(ExitsSavedByLazyBatching(env)), " | ",
                    SavedText(ExitsSavedByPvClock(env)), " |\n");
  }
  return md;
}

std::string PerOpTables(const std::vector<EnvironmentBench>& envs) {
  std::string md;
  for (const std::string& op : OpOrder(envs)) {
    absl::StrAppend(
        &md, "\n### ", op, "\n\n",
        "| environment | variant | site | batch | cycles per op (rounds) | ratio to raw "
        "(rounds) | exits/op | library counters per op | what one op is |\n"
        "|---|---|---|---|---|---|---|---|---|\n");
    for (const EnvironmentBench& env : envs) {
      if (!env.Benched()) continue;
      for (const Measurement& m : env.measurements) {
        if (m.op != op) continue;
        if (!m.unavailable.empty()) {
          absl::StrAppend(&md, "| ", env.name, " | ", m.variant,
                          " | - | - | - | - | - | - | not here: ", MarkdownCell(m.unavailable),
                          " |\n");
          continue;
        }
        std::string site = m.variant == "table" ? "table (by construction)" : m.site;
        if (m.variant == "raw" || m.variant == "exiting") site = "-";
        const std::string ratio =
            m.variant == "raw" ? "1" : RatioText(RatioToRaw(env, m.op, m.variant));
        std::string what = m.what;
        if (m.updates_per_op != 1) what += absl::StrFormat(" (%d updates)", m.updates_per_op);
        absl::StrAppend(&md, "| ", env.name, " | ", m.variant, " | ", MarkdownCell(site), " | ",
                        m.batch, " | ", CyclesText(m.Rounds()), " | ", ratio, " | ",
                        Fixed(m.exits_per_op), " | ", LibraryCounters(m), " | ", MarkdownCell(what),
                        " |\n");
      }
      const std::string flag = PatchedFlag(env, op);
      if (!flag.empty())
        absl::StrAppend(&md, "| ", env.name, " | **flag** | | | | ", flag, " | | | |\n");
    }
  }
  return md;
}

std::string HostCell(const std::map<std::string, std::string>& cells, const std::string& key) {
  const auto it = cells.find(key);
  return it == cells.end() ? "-" : it->second;
}

}  // namespace

std::string MoveTable(const std::vector<EnvironmentBench>& envs) {
  std::string md;
  for (const EnvironmentBench& env : envs) {
    if (env.hops.empty()) continue;
    absl::StrAppend(&md, "\n### ", env.name, "\n\n",
                    "| run | hop | from → to | downtime ms | stop | save | restore | start | "
                    "pause ms | guest clock jump ms | old VM closed, after |\n"
                    "|---|---|---|---|---|---|---|---|---|---|---|\n");
    std::vector<double> downtimes;
    for (const MoveHop& h : env.hops) {
      if (h.downtime_ms) downtimes.push_back(*h.downtime_ms);
      const bool over = h.downtime_ms && *h.downtime_ms > kMoveDowntimeGoalMs;
      absl::StrAppend(&md, "| ", MarkdownCell(h.run), " | ", h.hop, " | ", MarkdownCell(h.from),
                      " → ", MarkdownCell(h.to), " | ",
                      h.downtime_ms ? Fixed(h.downtime_ms) + (over ? " ⚑" : "") : "unknown", " | ",
                      Fixed(h.stop_ms), " | ", Fixed(h.save_ms), " | ", Fixed(h.restore_ms), " | ",
                      Fixed(h.StartMs()), " | ", Fixed(h.pause_ms), " | ", Fixed(h.clock_jump_ms),
                      " | ", Fixed(h.old_vm_close_ms), " |\n");
    }
    const Summary s = Summarize(downtimes);
    const auto within = std::count_if(downtimes.begin(), downtimes.end(),
                                      [](double d) { return d <= kMoveDowntimeGoalMs; });
    absl::StrAppend(&md, "\n", env.hops.size(), " hops");
    if (s.median) {
      absl::StrAppend(
          &md,
          absl::StrFormat(": downtime median %.1f ms (%.1f-%.1f), %d of %d within the %.0f ms "
                          "goal (⚑: over it); HyperTP's in-place swap: %.1f s, %.0fx the median",
                          *s.median, *s.min, *s.max, within, downtimes.size(), kMoveDowntimeGoalMs,
                          kHyperTpDowntimeMs / 1000, kHyperTpDowntimeMs / *s.median));
    }
    md += ".\n";
  }
  return md;
}

std::string MarkdownCell(const std::string& text) {
  std::string out = text;
  std::replace(out.begin(), out.end(), '|', '/');
  return out;
}

std::string RatioTable(const std::vector<EnvironmentBench>& envs) {
  std::string md = "| environment | backend |";
  std::string rule = "|---|---|";
  for (const std::string& op : kSummaryOps) {
    absl::StrAppend(&md, " ", op, " table/raw | ", op, " patched/raw |");
    rule += "---|---|";
  }
  absl::StrAppend(&md, " flags |\n", rule, "---|\n");
  for (const EnvironmentBench& env : envs) {
    if (!env.Benched()) continue;
    absl::StrAppend(&md, "| ", env.name, " | ", env.backend, " |");
    std::vector<std::string> flags;
    for (const std::string& op : kSummaryOps) {
      absl::StrAppend(&md, " ", SummaryRatio(env, op, "table"), " | ",
                      SummaryRatio(env, op, "patched"), " |");
      const std::string flag = PatchedFlag(env, op);
      if (!flag.empty()) flags.push_back(op + " " + flag);
      const std::string note = PatchedNote(env, op);
      if (!note.empty()) flags.push_back(op + ": " + note);
    }
    absl::StrAppend(&md, " ", flags.empty() ? "-" : absl::StrJoin(flags, "; "), " |\n");
  }
  return md;
}

std::string HostTable(const HostData& host) {
  const std::vector<HostTime> times = host.Times();
  const HostRatios ratios = HostOverDirect(times);
  std::map<std::string, std::map<std::string, std::map<std::string, double>>> instructions;
  for (const HostInstructions& i : host.instructions)
    instructions[i.build][i.op][i.mechanism] = i.per_op;
  std::string md =
      "| op | build | table_call / direct_call | patched / direct_call | inline_insn / "
      "direct_call | instructions per op: direct_call, table_call, patched, inline_insn |\n"
      "|---|---|---|---|---|---|\n";
  // The summary's order, not the run's: repetitions are interleaved at random.
  std::vector<std::string> ops;
  for (const std::string& op : kSummaryOps)
    for (const HostTime& t : times)
      if (t.op == op && std::find(ops.begin(), ops.end(), op) == ops.end()) ops.push_back(op);
  for (const HostTime& t : times)
    if (std::find(ops.begin(), ops.end(), t.op) == ops.end()) ops.push_back(t.op);
  for (const std::string& op : ops) {
    for (const std::string& build : host.Builds()) {
      std::map<std::string, std::string> cells;
      if (ratios.contains(build) && ratios.at(build).contains(op))
        for (const auto& [mechanism, ratio] : ratios.at(build).at(op))
          cells[mechanism] = absl::StrFormat("%.3f", ratio);
      std::string counts = host.callgrind_skipped.empty() ? "-" : host.callgrind_skipped;
      if (instructions.contains(build) && instructions.at(build).contains(op)) {
        std::vector<std::string> parts;
        for (const char* m : {"direct_call", "table_call", "patched", "inline_insn"}) {
          const auto& by = instructions.at(build).at(op);
          parts.push_back(by.contains(m) ? absl::StrFormat("%.2f", by.at(m)) : "-");
        }
        counts = absl::StrJoin(parts, ", ");
      }
      absl::StrAppend(&md, "| ", op, " | ", build, " | ", HostCell(cells, "table_call"), " | ",
                      HostCell(cells, "patched"), " | ", HostCell(cells, "inline_insn"), " | ",
                      MarkdownCell(counts), " |\n");
    }
  }
  return md;
}

std::string ReportMarkdown(const RunContext& context, const std::vector<EnvironmentBench>& envs,
                           const HostData& host, const std::string& chart_file,
                           const LinuxComparison* comparison) {
  std::string md = "# pvops bench report\n\n";
  absl::StrAppend(
      &md, "Run of ", context.date, " on `", context.host_name, "` (", context.num_cpus,
      " CPUs), guest image `", context.executable, "`.\n\n",
      "Every environment runs under QEMU TCG: TSC cycles are virtual, so the figures that carry "
      "are ratios between measurements of the same run and counts of exits or hypercalls. Each "
      "op is reached three ways: `table` (a call through `pvops_table`), `patched` (the "
      "`pvops_*` wrapper, whose call site `pvops_init` rewrote: `site` says into what) and `raw` "
      "(the bare instruction, no library); `exiting` is a clock read that exits to the "
      "hypervisor. A sample times a batch of ops spanning at least 100 steps of the guest's TSC; "
      "the variants take turns sample by sample for 21 rounds of 48 samples, in each of the "
      "environment's bench boots; a figure is the median of the round medians of every boot and "
      "`(a-b)` their range. A ratio is taken per round (the variants of a round ran side by "
      "side) and summarised the same way. Exits per op are "
      "KVM's own counts (pvops-vmm's stats port) where the environment has them, over a "
      "separate run of each variant; the library's counters per op likewise.\n\n");

  if (envs.empty()) {
    md += "No bench run given (--in): only the comparison with Linux's own.\n";
  } else {
    md += "## Environments\n\n" + EnvironmentsTable(envs);
    absl::StrAppend(&md, "\n## Ratios to raw\n\nFlags: patched/raw above ",
                    absl::StrFormat("%.2f", kIrqPatchedOverRawLimit), " for irq_save_restore, ",
                    absl::StrFormat("%.2f", kHypercallPatchedOverRawLimit),
                    " for hypercall_null.\n\n", RatioTable(envs));
    md += "\n## Per op\n" + PerOpTables(envs);
    if (const std::string moves = MoveTable(envs); !moves.empty()) {
      md += "\n## Moving a running guest\n\n"
            "Per hop, pvops-vmm's wall time from the guest's \"ready\" to vCPU 0's first entry "
            "on the new VM (downtime), and within it: waiting for every vCPU to stop (stop), "
            "saving their state (save), taking over the next VM (made with its personality "
            "while the guest still ran, at the request), placing the personality's memory and "
            "restoring the state (restore), and starting the new vCPU threads (start). The old "
            "VM is closed after the guest runs again; that takes the last column's time. "
            "The pause is the time the guest's TSC stood still (save to restore of vCPU 0); the "
            "guest clock jump is its `pvops_clock_ns()` after the hop minus before, which also "
            "holds the suspend and resume work on both sides.\n" +
            moves;
    }
  }

  if (!host.runs.empty()) {
    md += "\n## Host dispatch (Google Benchmark, user mode on the host)\n\n"
          "Each op reached four ways: a direct call of a hard-coded backend function (build-time "
          "selection), a call through the real `pvops_table` (pvops.h built with "
          "`PVOPS_NO_PATCHING`), the same wrappers as patchable sites rewritten at start by the "
          "library's `PatchSites`, and the inline instruction. Privileged bodies are user-mode "
          "stand-ins of the same shape (bench/user_backend.h). Two builds: plain, and with "
          "`-mretpoline`, where an indirect call goes through a retpoline thunk. Ratios of CPU "
          "time per iteration, each time the median over every repetition of several processes "
          "of the build (where a process's code lands moves its times by a few percent); "
          "instructions per op from callgrind (the loop's own taken off), which repeat "
          "exactly.\n\n";
    for (const std::string& build : host.Builds()) {
      const auto run = std::find_if(host.runs.begin(), host.runs.end(),
                                    [&](const HostRun& r) { return r.build == build; });
      const nlohmann::json& c = run->gbench.value("context", nlohmann::json::object());
      absl::StrAppend(&md, "- ", build, " build (", host.Processes(build),
                      " processes), the patched sites: ",
                      MarkdownCell(c.value("pvops_patch", std::string("not recorded"))), "\n");
    }
    md += "\n" + HostTable(host);
    std::vector<std::string> missed;
    for (const auto& [build, by_op] : HostOverDirect(host.Times()))
      for (const auto& [op, by_mechanism] : by_op)
        if (by_mechanism.contains("patched") &&
            by_mechanism.at("patched") > kHostPatchedOverDirectTarget)
          missed.push_back(absl::StrFormat("%s %s %.3f", op, build, by_mechanism.at("patched")));
    absl::StrAppend(&md, "\nTarget patched / direct_call <= ",
                    absl::StrFormat("%.2f", kHostPatchedOverDirectTarget), ": ",
                    missed.empty() ? "met for every op in both builds"
                                   : "missed by " + absl::StrJoin(missed, ", "),
                    ".\n");
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
