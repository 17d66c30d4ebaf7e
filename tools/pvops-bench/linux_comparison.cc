// SPDX-License-Identifier: MIT
#include "linux_comparison.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "guest_log.h"

namespace pvops_bench {
namespace {

using nlohmann::json;

// The lines Linux 6.12 prints about its own guest choices, matched at the start of a line (after
// the printk timestamp) or, for `anywhere`, after whatever pr_fmt prefix the caller's file has.
// Each comment names the printing line in Linux 6.12.
struct LinuxPattern {
  const char* id;
  const char* text;
  bool anywhere = false;
};
constexpr LinuxPattern kLinuxPatterns[] = {
    {"linux_version", "Linux version "},                  // init/main.c:895 (pr_notice)
    {"hypervisor", "Hypervisor detected: "},              // kernel/cpu/hypervisor.c:79
    {"pv_banner", "Booting paravirtualized kernel on "},  // kernel/paravirt.c:42
    {"xen_banner", "Booting kernel on "},                 // xen/enlighten.c:272 (PV, PVH)
    {"xen_version", "Xen version"},  // xen/enlighten.c:273 "Xen version: ", enlighten_hvm.c:102
    {"clocksource", "clocksource: Switched to clocksource "},    // kernel/time/clocksource.c:1070
    {"kvm_pv_ipi", "kvm-guest: setup PV IPIs"},                  // kernel/kvm.c:658
    {"kvm_pv_tlb", "kvm-guest: KVM setup pv remote TLB flush"},  // kernel/kvm.c:872
    {"kvm_sched_yield", "kvm-guest: setup PV sched yield"},      // kernel/kvm.c:878
    {"kvm_spinlocks_on", "kvm-guest: PV spinlocks enabled"},     // kernel/kvm.c:1151
    {"kvm_spinlocks_off", "kvm-guest: PV spinlocks disabled"},   // kernel/kvm.c:1127-1147
    {"kvm_steal", "kvm-guest: stealtime: cpu "},                 // kernel/kvm.c:357 (pr_debug)
    // asm/apic.h:376 apic_update_callback(), from kernel/kvm.c:861 and hyperv/hv_apic.c:320
    {"apic_eoi", "APIC: eoi() replaced with ", true},
    // the same, from kernel/kvm.c:656 and hyperv/hv_apic.c:299
    {"apic_ipi", "APIC: send_IPI_mask() replaced with ", true},
    {"hyperv_flags", "Hyper-V: privilege flags "},  // kernel/cpu/mshyperv.c:444
    {"hyperv_pv_tlb", "Hyper-V: Using hypercall for remote TLB flush"},  // hyperv/mmu.c:241
    {"hyperv_pv_ipi", "Hyper-V: Using IPI hypercalls"},                  // hyperv/hv_apic.c:292
    {"hyperv_apic", "Hyper-V: Using enlightened APIC"},                  // hyperv/hv_apic.c:307
    {"hyperv_spinlocks_on", "Hyper-V: PV spinlocks enabled"},            // hyperv/hv_spinlock.c:78
    {"hyperv_spinlocks_off", "Hyper-V: PV spinlocks disabled"},          // hyperv/hv_spinlock.c:75
    // drivers/xen/events/events_base.c:2247, as "xen:events: ..."
    {"xen_callback", "Xen HVM callback vector for event delivery is enabled", true},
    {"xen_spinlocks_on", "xen: PV spinlocks enabled"},        // xen/spinlock.c:135 (KERN_DEBUG)
    {"xen_spinlocks_off", "xen: PV spinlocks disabled"},      // xen/spinlock.c:131 (KERN_DEBUG)
    {"vmware_steal", "vmware: vmware-stealtime: cpu "},       // kernel/cpu/vmware.c:267
    {"vmware_tsc", "vmware: TSC freq read from hypervisor"},  // kernel/cpu/vmware.c:410
    // Either kernel's APIC mode: kernel/apic/apic.c:1730 (printk_once) and :1833.
    {"x2apic_on", "x2apic enabled"},
    {"x2apic_off", "x2apic: IRQ remapping doesn't support X2APIC mode"},
};

const LinuxPattern* FindPattern(std::string_view id) {
  for (const LinuxPattern& p : kLinuxPatterns)
    if (id == p.id) return &p;
  return nullptr;
}

// "[    1.234567] text" -> "text" (kernels built with PRINTK_TIME).
std::string_view WithoutTimestamp(std::string_view line) {
  if (!line.starts_with('[')) return line;
  const std::size_t close = line.find(']');
  if (close == std::string_view::npos) return line;
  for (char c : line.substr(1, close - 1))
    if (c != ' ' && c != '.' && !(c >= '0' && c <= '9')) return line;
  line.remove_prefix(close + 1);
  if (line.starts_with(' ')) line.remove_prefix(1);
  return line;
}

// Debian's Abseil has its own string_view type: Abseil is handed std::string.
std::optional<double> Number(std::string_view text) {
  double value = 0;
  if (!absl::SimpleAtod(std::string(text), &value)) return std::nullopt;
  return value;
}

// pvops-run keeps decimal integers as numbers and everything else (e.g. "?") as strings.
std::optional<double> Number(const json& value) {
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) return Number(std::string_view(value.get_ref<const std::string&>()));
  return std::nullopt;
}

std::optional<double> Field(const pvops_run::Fields& fields, std::string_view key) {
  const std::optional<std::string> text = pvops_run::FindField(fields, key);
  return text ? Number(std::string_view(*text)) : std::nullopt;
}

std::string Text(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key)) return "";
  const json& v = object.at(key);
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// Fills what `into` lacks from `from`.
void FillIn(PhaseSample& into, const PhaseSample& from) {
  if (!into.wall_us) into.wall_us = from.wall_us;
  if (!into.exits) into.exits = from.exits;
  if (!into.hypercalls) into.hypercalls = from.hypercalls;
  if (into.exits_by_reason.empty()) into.exits_by_reason = from.exits_by_reason;
}

// "linux_phase_vdso_clock_wall_us" -> {vdso_clock, wall_us}.
bool PhaseStat(std::string_view key, std::string* phase, std::string* figure) {
  constexpr std::string_view kPrefix = "linux_phase_";
  if (!key.starts_with(kPrefix)) return false;
  key.remove_prefix(kPrefix.size());
  for (std::string_view suffix : {"_wall_us", "_exits", "_hypercalls"}) {
    if (key.size() > suffix.size() && key.ends_with(suffix)) {
      *phase = std::string(key.substr(0, key.size() - suffix.size()));
      *figure = std::string(suffix.substr(1));
      return true;
    }
  }
  return false;
}

// pvops-check's order of its workload phases.
constexpr const char* kPhaseOrder[] = {"clock",      "tlb",           "ipi",   "futex",
                                       "vdso_clock", "syscall_clock", "yield", "idle"};

}  // namespace

ConsoleFacts ParseConsoleLog(std::string_view text) {
  ConsoleFacts facts;
  while (!text.empty()) {
    const std::size_t end = std::min(text.find('\n'), text.size());
    const std::string_view raw = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    const std::string normalized = pvops_run::NormalizeLine(raw);
    const std::string_view line = WithoutTimestamp(normalized);
    std::string_view rest = line;
    if (rest.starts_with("# ")) {
      rest.remove_prefix(2);
      const std::size_t colon = rest.find(": ");
      if (colon == std::string_view::npos) continue;
      const std::string_view tag = rest.substr(0, colon);
      const std::string_view body = rest.substr(colon + 2);
      const pvops_run::Fields fields = pvops_run::ParseFields(body);
      if (tag == "kernel") {
        facts.kernel = std::string(body);
      } else if (tag == "cmdline") {
        facts.cmdline = std::string(body);
      } else if (tag == "paths") {
        for (const auto& [key, value] : fields) facts.paths[key] = value;
      } else if (tag == "clocksource") {
        if (auto current = pvops_run::FindField(fields, "current"))
          facts.clocksource_current = *current;
      } else if (tag == "vdso") {
        ClockReads reads;
        reads.clocksource = pvops_run::FindField(fields, "clocksource").value_or("");
        reads.vdso_ns_per_read = Field(fields, "vdso_ns_per_read");
        reads.syscall_ns_per_read = Field(fields, "syscall_ns_per_read");
        if (auto in_user = Field(fields, "in_user_space"))
          reads.in_user_space = static_cast<int>(*in_user);
        facts.clock_reads = reads;
      } else if (tag == "phase") {
        const std::string name = pvops_run::FindField(fields, "name").value_or("");
        if (name.empty()) continue;
        PhaseSample& sample = facts.phases[name];
        sample = {
            Field(fields, "wall_us"), Field(fields, "exits"), Field(fields, "hypercalls"), {}};
        for (const auto& [key, unused] : fields) {
          if (key == "exits" || !key.ends_with("_exits")) continue;
          if (const auto count = Field(fields, key)) sample.exits_by_reason[key] = *count;
        }
      }
      continue;
    }
    for (const LinuxPattern& pattern : kLinuxPatterns) {
      const bool match = pattern.anywhere ? line.find(pattern.text) != std::string_view::npos
                                          : line.starts_with(pattern.text);
      if (!match) continue;
      facts.linux_lines[pattern.id] = std::string(line);
      if (std::string_view(pattern.id) == "linux_version") facts.linux_booted = true;
      break;
    }
  }
  return facts;
}

bool ConsoleFacts::InfoHidden() const {
  // "quiet" (loglevel 4) or a loglevel below 7 keeps pr_info lines off the console.
  bool hidden = false;
  const std::vector<std::string> words = absl::StrSplit(cmdline, ' ', absl::SkipEmpty());
  for (const std::string& word : words) {
    if (word == "quiet") hidden = true;
    int level = 0;
    if (word.starts_with("loglevel=") && absl::SimpleAtoi(word.substr(9), &level))
      hidden = level < 7;
    if (word == "ignore_loglevel") return false;
  }
  return hidden;
}

std::string ConsoleFacts::After(std::string_view id) const {
  const auto it = linux_lines.find(std::string(id));
  const LinuxPattern* pattern = FindPattern(id);
  if (it == linux_lines.end() || pattern == nullptr) return "";
  const std::size_t at = it->second.find(pattern->text);
  return at == std::string::npos ? ""
                                 : it->second.substr(at + std::string_view(pattern->text).size());
}

KernelRun ParseKernelRun(const std::string& env, const std::string& kernel, int round,
                         const json* record, const std::string* log) {
  KernelRun run;
  run.round = round;
  if (record == nullptr) {
    run.problems.push_back("no pvops-run record");
  } else {
    const json* found = nullptr;
    if (record->contains("environments") && record->at("environments").is_array()) {
      const json& all = record->at("environments");
      for (const json& e : all)
        if (Text(e, "name") == env) found = &e;
      if (found == nullptr && all.size() == 1) found = &all[0];
    }
    if (found == nullptr) {
      run.problems.push_back("the record has no environment " + env);
    } else {
      run.verdict = Text(*found, "verdict");
      if (run.verdict != "pass") run.problems.push_back("verdict " + run.verdict);
      if (found->contains("detect")) {
        run.backend = Text(found->at("detect"), "backend");
        run.features = Text(found->at("detect"), "features");
      }
      if (found->contains("stats") && found->at("stats").is_object()) {
        for (const auto& [key, value] : found->at("stats").items()) {
          std::string phase, figure;
          if (!PhaseStat(key, &phase, &figure)) continue;
          PhaseSample& sample = run.phases[phase];
          (figure == "wall_us" ? sample.wall_us
           : figure == "exits" ? sample.exits
                               : sample.hypercalls) = Number(value);
        }
      }
    }
  }
  if (log == nullptr) {
    run.problems.push_back("no console log");
  } else {
    run.has_log = true;
    run.console = ParseConsoleLog(*log);
    for (const auto& [phase, sample] : run.console.phases) FillIn(run.phases[phase], sample);
    // The file name says which kernel; pvops-check's own line must say the same.
    if (run.console.kernel.empty()) {
      run.problems.push_back("no '# kernel:' line");
    } else if (!run.console.kernel.starts_with(kernel)) {
      run.problems.push_back("named " + kernel + " but says '# kernel: " + run.console.kernel +
                             "'");
    }
  }
  return run;
}

std::optional<RunFileName> ParseRunFileName(const std::string& file_name) {
  const std::vector<std::string> parts = absl::StrSplit(file_name, '.');
  if (parts.size() < 4) return std::nullopt;
  RunFileName name;
  name.extension = parts[parts.size() - 1];
  name.kernel = parts[parts.size() - 3];
  const std::string& round = parts[parts.size() - 2];
  if (name.extension != "json" && name.extension != "log") return std::nullopt;
  if (name.kernel != "pvops" && name.kernel != "stock") return std::nullopt;
  if (round.empty() ||
      !std::all_of(round.begin(), round.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      !absl::SimpleAtoi(round, &name.round) || name.round < 1)
    return std::nullopt;
  name.env = absl::StrJoin(parts.begin(), parts.end() - 3, ".");
  if (name.env.empty()) return std::nullopt;
  return name;
}

LinuxComparison ReadLinuxRuns(const std::filesystem::path& dir,
                              const std::vector<std::string>& order) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw std::runtime_error("--linux: not a folder: " + dir.string());
  LinuxComparison out;
  out.dir = dir.string();
  struct Files {
    std::optional<fs::path> record, log;
  };
  // env -> kernel -> round -> files
  std::map<std::string, std::map<std::string, std::map<int, Files>>> found;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string file = entry.path().filename().string();
    const std::optional<RunFileName> name = ParseRunFileName(file);
    if (!name) {
      out.ignored.push_back(file);
      continue;
    }
    Files& files = found[name->env][name->kernel][name->round];
    (name->extension == "json" ? files.record : files.log) = entry.path();
  }
  std::sort(out.ignored.begin(), out.ignored.end());

  std::vector<std::string> names;
  for (const std::string& name : order)
    if (found.contains(name)) names.push_back(name);
  for (const auto& [name, unused] : found)
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);

  for (const std::string& name : names) {
    EnvironmentRuns env;
    env.name = name;
    for (const auto& [kernel, rounds] : found[name]) {
      for (const auto& [round, files] : rounds) {
        std::optional<json> record;
        std::optional<std::string> log;
        std::string unreadable;
        if (files.record) {
          std::ifstream in(*files.record);
          try {
            record = json::parse(in);
          } catch (const json::exception& error) {
            unreadable = files.record->filename().string() + " does not parse: " + error.what();
          }
        }
        if (files.log) {
          std::ifstream in(*files.log, std::ios::binary);
          std::ostringstream text;
          text << in.rdbuf();
          log = text.str();
        }
        KernelRun run =
            ParseKernelRun(name, kernel, round, record ? &*record : nullptr, log ? &*log : nullptr);
        if (!unreadable.empty()) run.problems.push_back(unreadable);
        (kernel == "pvops" ? env.pvops : env.stock).push_back(std::move(run));
      }
    }
    out.envs.push_back(std::move(env));
  }
  return out;
}

Summary Summarize(std::vector<double> values) {
  Summary s;
  s.values = values;
  s.count = static_cast<int>(values.size());
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  s.median = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  s.min = values.front();
  s.max = values.back();
  return s;
}

std::optional<double> WallUs(const KernelRun& run, const std::string& phase) {
  const auto it = run.phases.find(phase);
  return it == run.phases.end() ? std::nullopt : it->second.wall_us;
}
std::optional<double> Exits(const KernelRun& run, const std::string& phase) {
  const auto it = run.phases.find(phase);
  return it == run.phases.end() ? std::nullopt : it->second.exits;
}
std::optional<double> Hypercalls(const KernelRun& run, const std::string& phase) {
  const auto it = run.phases.find(phase);
  return it == run.phases.end() ? std::nullopt : it->second.hypercalls;
}
std::optional<double> VdsoNsPerRead(const KernelRun& run, const std::string&) {
  return run.console.clock_reads ? run.console.clock_reads->vdso_ns_per_read : std::nullopt;
}
std::optional<double> SyscallNsPerRead(const KernelRun& run, const std::string&) {
  return run.console.clock_reads ? run.console.clock_reads->syscall_ns_per_read : std::nullopt;
}

Summary OverRounds(const std::vector<KernelRun>& runs, const std::string& phase, Figure figure) {
  std::vector<double> values;
  for (const KernelRun& run : runs)
    if (const auto v = figure(run, phase)) values.push_back(*v);
  return Summarize(values);
}

Summary PairedRatios(const std::vector<KernelRun>& pvops, const std::vector<KernelRun>& stock,
                     const std::string& phase, Figure figure) {
  std::vector<double> ratios;
  for (const KernelRun& p : pvops) {
    for (const KernelRun& s : stock) {
      if (s.round != p.round) continue;
      const auto pv = figure(p, phase);
      const auto st = figure(s, phase);
      if (pv && st && *st > 0) ratios.push_back(*pv / *st);
    }
  }
  return Summarize(ratios);
}

namespace {

// One exit reason of a phase in one run; "other" is the exits that neither a counted reason nor
// a hypercall covers.
std::optional<double> ExitsFor(const KernelRun& run, const std::string& phase,
                               const std::string& reason) {
  const auto it = run.phases.find(phase);
  if (it == run.phases.end()) return std::nullopt;
  const PhaseSample& sample = it->second;
  if (reason != "other") {
    const auto found = sample.exits_by_reason.find(reason);
    if (found == sample.exits_by_reason.end()) return std::nullopt;
    return found->second;
  }
  if (!sample.exits || sample.exits_by_reason.empty()) return std::nullopt;
  double counted = sample.hypercalls.value_or(0);
  for (const auto& [unused, count] : sample.exits_by_reason) counted += count;
  return std::max(0.0, *sample.exits - counted);
}

std::vector<ExitReason> CompareExitReasons(const EnvironmentRuns& env, const std::string& phase) {
  std::set<std::string> reasons;
  for (const auto* runs : {&env.pvops, &env.stock})
    for (const KernelRun& run : *runs)
      if (const auto it = run.phases.find(phase); it != run.phases.end())
        for (const auto& [reason, unused] : it->second.exits_by_reason) reasons.insert(reason);
  if (reasons.empty()) return {};
  reasons.insert("other");
  std::vector<ExitReason> out;
  for (const std::string& reason : reasons) {
    ExitReason r{reason, {}, {}};
    for (auto [runs, summary] :
         {std::pair{&env.pvops, &r.pvops}, std::pair{&env.stock, &r.stock}}) {
      std::vector<double> values;
      for (const KernelRun& run : *runs)
        if (const auto v = ExitsFor(run, phase, reason)) values.push_back(*v);
      *summary = Summarize(values);
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

std::vector<PhaseComparison> ComparePhases(const EnvironmentRuns& env) {
  std::set<std::string> seen;
  for (const auto* runs : {&env.pvops, &env.stock})
    for (const KernelRun& run : *runs)
      for (const auto& [phase, unused] : run.phases) seen.insert(phase);
  std::vector<std::string> phases;
  for (const char* phase : kPhaseOrder)
    if (seen.erase(phase) > 0) phases.push_back(phase);
  phases.insert(phases.end(), seen.begin(), seen.end());

  std::vector<PhaseComparison> out;
  for (const std::string& phase : phases) {
    PhaseComparison c;
    c.phase = phase;
    c.exits_ratio = PairedRatios(env.pvops, env.stock, phase, Exits);
    c.wall_ratio = PairedRatios(env.pvops, env.stock, phase, WallUs);
    c.pvops_exits = OverRounds(env.pvops, phase, Exits);
    c.stock_exits = OverRounds(env.stock, phase, Exits);
    c.pvops_wall = OverRounds(env.pvops, phase, WallUs);
    c.stock_wall = OverRounds(env.stock, phase, WallUs);
    c.pvops_hypercalls = OverRounds(env.pvops, phase, Hypercalls);
    c.stock_hypercalls = OverRounds(env.stock, phase, Hypercalls);
    c.exits_by_reason = CompareExitReasons(env, phase);
    if (c.exits_ratio.median) {
      c.more_exits = *c.exits_ratio.median > kExitsRatioLimit;
    } else if (c.stock_exits.median && c.pvops_exits.median) {
      c.more_exits = *c.stock_exits.median == 0 && *c.pvops_exits.median > 0;
    }
    if (c.wall_ratio.median)
      c.slower = *c.wall_ratio.median - 1 > *c.wall_ratio.max - *c.wall_ratio.min;
    out.push_back(std::move(c));
  }
  return out;
}

namespace {

// The rounds' values of one text, "" for none, "a/b" when they differ.
std::string Distinct(const std::vector<KernelRun>& runs,
                     std::optional<std::string> (*get)(const KernelRun&)) {
  std::vector<std::string> values;
  for (const KernelRun& run : runs)
    if (auto v = get(run); v && std::find(values.begin(), values.end(), *v) == values.end())
      values.push_back(*v);
  return absl::StrJoin(values, "/");
}

std::optional<std::string> ReadsClocksource(const KernelRun& run) {
  if (!run.console.clock_reads || run.console.clock_reads->clocksource.empty()) return std::nullopt;
  return run.console.clock_reads->clocksource;
}

std::optional<std::string> ReadsInUserSpace(const KernelRun& run) {
  if (!run.console.clock_reads || !run.console.clock_reads->in_user_space) return std::nullopt;
  return absl::StrCat(*run.console.clock_reads->in_user_space);
}

}  // namespace

ClockReadsComparison CompareClockReads(const EnvironmentRuns& env) {
  ClockReadsComparison c;
  c.pvops_clocksource = Distinct(env.pvops, ReadsClocksource);
  c.stock_clocksource = Distinct(env.stock, ReadsClocksource);
  c.pvops_in_user_space = Distinct(env.pvops, ReadsInUserSpace);
  c.stock_in_user_space = Distinct(env.stock, ReadsInUserSpace);
  c.pvops_vdso_ns = OverRounds(env.pvops, "", VdsoNsPerRead);
  c.stock_vdso_ns = OverRounds(env.stock, "", VdsoNsPerRead);
  c.pvops_syscall_ns = OverRounds(env.pvops, "", SyscallNsPerRead);
  c.stock_syscall_ns = OverRounds(env.stock, "", SyscallNsPerRead);
  c.vdso_ratio = PairedRatios(env.pvops, env.stock, "", VdsoNsPerRead);
  c.pvops_leaves_user_space = c.stock_in_user_space == "1" && c.pvops_in_user_space == "0";
  return c;
}

// Agreement ---------------------------------------------------------------------------------

namespace {

enum Feature {
  kHypervisor,
  kClock,
  kPvIpi,
  kPvTlbFlush,
  kPvSpinlocks,
  kStealTime,
  kPvEoi,
  kX2apic,
  kCount
};

// The library's path name (sysfs paravirt/routed) of each feature, "" for none.
constexpr const char* kPathOf[kCount] = {"",     "clock", "send_ipi", "tlb_flush",
                                         "lock", "steal", "eoi",      ""};

FeatureState Known(std::string value, std::string evidence) {
  return {std::move(value), true, std::move(evidence)};
}
FeatureState Unknown(std::string why, std::string evidence = "") {
  return {std::move(why), false, std::move(evidence)};
}

// Linux's names (hypervisor_x86.name) and the library's backends on one scale.
std::string LinuxHypervisor(const std::string& name) {
  if (name == "KVM") return "kvm";
  if (name == "Microsoft Hyper-V") return "hyperv";
  if (name.starts_with("Xen")) return "xen";  // "Xen HVM" (also PVH), "Xen PV"
  if (name == "VMware") return "vmware";
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return lower;
}
std::string PvopsHypervisor(const std::string& backend) {
  if (backend == "native") return "none";
  if (backend == "vmi") return "vmware";  // the VMI ROM is VMware's interface
  return backend;
}

// Clocksources by kind: both kernels name their paravirtual clock differently.
std::string ClockClass(const std::string& name) {
  static const std::set<std::string> paravirtual = {"kvm-clock", "hyperv_clocksource_tsc_page",
                                                    "hyperv_clocksource_msr", "xen", "pvops"};
  if (paravirtual.contains(name)) return "paravirtual";
  if (name == "tsc" || name == "tsc-early") return "TSC";
  if (name == "jiffies" || name == "refined-jiffies") return "jiffies";
  return name;
}

// On if `id`'s line (or the generic `also` line) is there; off if not: Linux prints it whenever
// it turns the feature on.
FeatureState OnIfLogged(const ConsoleFacts& log, const char* id, const char* also = nullptr) {
  for (const char* each : {id, also}) {
    if (each == nullptr) continue;
    if (auto it = log.linux_lines.find(each); it != log.linux_lines.end())
      return Known("on", it->second);
  }
  return Known("off", absl::StrCat("no \"", FindPattern(id)->text, "\" line"));
}

// Explicit enabled/disabled lines; nothing when neither was printed.
FeatureState OnOrOff(const ConsoleFacts& log, const char* on_id, const char* off_id) {
  if (auto it = log.linux_lines.find(on_id); it != log.linux_lines.end())
    return Known("on", it->second);
  if (auto it = log.linux_lines.find(off_id); it != log.linux_lines.end())
    return Known("off", it->second);
  return Unknown("not logged");
}

}  // namespace

const std::vector<std::string>& FeatureNames() {
  static const std::vector<std::string> names = {"hypervisor",   "clock",        "PV IPI",
                                                 "PV TLB flush", "PV spinlocks", "steal time",
                                                 "PV EOI",       "x2APIC"};
  return names;
}

std::vector<FeatureState> LinuxFeatures(const ConsoleFacts& log) {
  std::vector<FeatureState> out(kCount);
  if (!log.linux_booted) {
    std::fill(out.begin(), out.end(), Unknown("no log", "no \"Linux version\" line"));
    return out;
  }
  const bool hidden = log.InfoHidden();
  const auto line = [&log](const char* id) -> std::string {
    const auto it = log.linux_lines.find(id);
    return it == log.linux_lines.end() ? "" : it->second;
  };

  std::string hypervisor = "none";
  std::vector<std::string> evidence;
  if (!line("hypervisor").empty()) {
    hypervisor = LinuxHypervisor(log.After("hypervisor"));
    evidence.push_back(line("hypervisor"));
  }
  for (const char* id : {"pv_banner", "xen_banner", "xen_version", "hyperv_flags", "vmware_tsc"})
    if (!line(id).empty()) evidence.push_back(line(id));
  if (hypervisor == "none" && hidden) {
    out[kHypervisor] = Unknown("not logged", "pr_info lines hidden by the command line's loglevel");
  } else if (hypervisor == "none") {
    out[kHypervisor] = Known("none", "no \"Hypervisor detected\" line");
  } else {
    out[kHypervisor] = Known(hypervisor, absl::StrJoin(evidence, "; "));
  }

  // The last switch is the clocksource Linux kept; pvops-check's view stands in where the boot
  // lines are gone.
  std::string clock = log.After("clocksource");
  std::string clock_evidence = line("clocksource");
  if (clock.empty() && log.clock_reads && !log.clock_reads->clocksource.empty()) {
    clock = log.clock_reads->clocksource;
    clock_evidence = "# vdso: clocksource=" + clock;
  }
  if (clock.empty() && !log.clocksource_current.empty()) {
    clock = log.clocksource_current;
    clock_evidence = "# clocksource: current=" + clock;
  }
  out[kClock] = clock.empty() ? Unknown("not logged") : Known(ClockClass(clock), clock_evidence);
  // The APIC code prints its mode under any hypervisor, and on bare hardware.
  out[kX2apic] = OnOrOff(log, "x2apic_on", "x2apic_off");

  if (hidden) {
    for (int f : {kPvIpi, kPvTlbFlush, kPvSpinlocks, kStealTime, kPvEoi})
      out[f] = Unknown("not logged", "pr_info lines hidden by the command line's loglevel");
    return out;
  }
  for (int f : {kPvIpi, kPvTlbFlush, kPvSpinlocks, kStealTime, kPvEoi})
    out[f] = hypervisor == "none" ? Known("off", "no hypervisor detected") : Unknown("not logged");
  if (hypervisor == "kvm") {
    out[kPvIpi] = OnIfLogged(log, "kvm_pv_ipi", "apic_ipi");
    out[kPvTlbFlush] = OnIfLogged(log, "kvm_pv_tlb");
    out[kPvSpinlocks] = OnOrOff(log, "kvm_spinlocks_on", "kvm_spinlocks_off");
    // Steal time registration is pr_debug; PV TLB flush and PV sched yield both need
    // KVM_FEATURE_STEAL_TIME, which makes kvm_guest_init() take steal time.
    if (!line("kvm_steal").empty()) {
      out[kStealTime] = Known("on", line("kvm_steal"));
    } else if (!line("kvm_pv_tlb").empty() || !line("kvm_sched_yield").empty()) {
      out[kStealTime] =
          Known("on", "implied: " + (line("kvm_pv_tlb").empty() ? line("kvm_sched_yield")
                                                                : line("kvm_pv_tlb")));
    }
    out[kPvEoi] = OnIfLogged(log, "apic_eoi");
  } else if (hypervisor == "hyperv") {
    out[kPvIpi] = OnIfLogged(log, "hyperv_pv_ipi", "apic_ipi");
    out[kPvTlbFlush] = OnIfLogged(log, "hyperv_pv_tlb");
    out[kPvSpinlocks] = OnOrOff(log, "hyperv_spinlocks_on", "hyperv_spinlocks_off");
    out[kPvEoi] = OnIfLogged(log, "hyperv_apic", "apic_eoi");
  } else if (hypervisor == "xen") {
    // Event-channel IPIs come with the callback vector (xen_hvm_smp_init); without its line
    // nothing says either way.
    if (!line("xen_callback").empty())
      out[kPvIpi] = Known("on", "implied: " + line("xen_callback"));
    out[kPvSpinlocks] = OnOrOff(log, "xen_spinlocks_on", "xen_spinlocks_off");
  } else if (hypervisor == "vmware") {
    out[kStealTime] = OnIfLogged(log, "vmware_steal");
  }
  return out;
}

std::vector<FeatureState> PvopsFeatures(const KernelRun& run) {
  std::vector<FeatureState> out(kCount);
  std::string backend = run.backend;
  std::string evidence = "detect: backend=" + run.backend;
  if (backend.empty() && run.console.paths.contains("backend")) {
    backend = run.console.paths.at("backend");
    evidence = "# paths: backend=" + backend;
  }
  if (!run.features.empty()) absl::StrAppend(&evidence, " features=", run.features);
  out[kHypervisor] = backend.empty() ? Unknown("unknown", "no detect record")
                                     : Known(PvopsHypervisor(backend), evidence);

  std::string clock = run.console.clocksource_current;
  std::string clock_evidence = "# clocksource: current=" + clock;
  if (clock.empty() && run.has_log) {
    clock = run.console.After("clocksource");
    clock_evidence = run.console.linux_lines.contains("clocksource")
                         ? run.console.linux_lines.at("clocksource")
                         : "";
  }
  out[kClock] = clock.empty() ? Unknown("unknown", "no clocksource line")
                              : Known(ClockClass(clock), clock_evidence);
  // The same kernel lines as Linux's own: the APIC code is Linux's in both kernels.
  out[kX2apic] = run.has_log ? OnOrOff(run.console, "x2apic_on", "x2apic_off")
                             : Unknown("unknown", "no console log");

  if (!run.console.paths.contains("routed")) {
    for (int f : {kPvIpi, kPvTlbFlush, kPvSpinlocks, kStealTime, kPvEoi})
      out[f] = Unknown("unknown", "no \"# paths:\" line");
    return out;
  }
  const auto list = [&run](const char* key) -> std::vector<std::string> {
    const auto it = run.console.paths.find(key);
    if (it == run.console.paths.end()) return {};
    return absl::StrSplit(it->second, ',', absl::SkipEmpty());
  };
  const std::vector<std::string> routed = list("routed"), offered = list("paravirt");
  const auto has = [](const std::vector<std::string>& paths, const char* path) {
    return std::find(paths.begin(), paths.end(), path) != paths.end();
  };
  for (int f : {kPvIpi, kPvTlbFlush, kPvSpinlocks, kStealTime, kPvEoi}) {
    if (has(routed, kPathOf[f])) {
      out[f] = Known("on", absl::StrCat("routed ", kPathOf[f]));
    } else if (has(offered, kPathOf[f])) {
      out[f] = Known("off", absl::StrCat("offered, not routed: ", kPathOf[f]));
    } else {
      out[f] = Known("off", absl::StrCat("not offered: ", kPathOf[f]));
    }
  }
  return out;
}

namespace {

// One state over the rounds: the common one, or a known "varies" listing each round's.
FeatureState Combined(const std::vector<std::pair<int, FeatureState>>& rounds) {
  if (rounds.empty()) return Unknown("no runs");
  std::vector<const std::pair<int, FeatureState>*> known;
  for (const auto& r : rounds)
    if (r.second.known) known.push_back(&r);
  if (known.empty()) return rounds.front().second;
  for (const auto* r : known) {
    if (r->second.value == known.front()->second.value) continue;
    std::vector<std::string> each;
    for (const auto* k : known)
      each.push_back(absl::StrCat("round ", k->first, ": ", k->second.value));
    return Known("varies (" + absl::StrJoin(each, ", ") + ")", known.front()->second.evidence);
  }
  return known.front()->second;
}

}  // namespace

std::vector<FeatureRow> CompareFeatures(const EnvironmentRuns& env) {
  std::vector<std::vector<std::pair<int, FeatureState>>> own(kCount), pvops(kCount);
  for (const KernelRun& run : env.stock) {
    const std::vector<FeatureState> states = LinuxFeatures(run.console);
    for (int f = 0; f < kCount; ++f) own[f].emplace_back(run.round, states[f]);
  }
  for (const KernelRun& run : env.pvops) {
    const std::vector<FeatureState> states = PvopsFeatures(run);
    for (int f = 0; f < kCount; ++f) pvops[f].emplace_back(run.round, states[f]);
  }
  std::vector<FeatureRow> rows;
  for (int f = 0; f < kCount; ++f) {
    FeatureRow row{FeatureNames()[f], Combined(own[f]), Combined(pvops[f]), "n/a", ""};
    if (row.own.known && row.pvops.known)
      row.agree = row.own.value == row.pvops.value ? "yes" : "no";
    if (row.agree == "no") {
      for (const KnownDisagreement& known : KnownDisagreements()) {
        if (known.feature == row.feature && known.own == row.own.value &&
            known.pvops == row.pvops.value &&
            row.own.evidence.find(known.own_evidence) != std::string::npos) {
          row.explained = known.why;
          break;
        }
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

namespace {

std::vector<std::string> Disagreements(const LinuxComparison& comparison, bool explained) {
  std::vector<std::string> out;
  for (const EnvironmentRuns& env : comparison.envs) {
    for (const FeatureRow& row : CompareFeatures(env)) {
      if (row.agree != "no" || row.explained.empty() == explained) continue;
      std::string text = absl::StrCat(env.name, ": ", row.feature, ": Linux's own ", row.own.value,
                                      " (", row.own.evidence, "), pvops ", row.pvops.value, " (",
                                      row.pvops.evidence, ")");
      if (explained) absl::StrAppend(&text, ": ", row.explained);
      out.push_back(std::move(text));
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> Mismatches(const LinuxComparison& comparison) {
  return Disagreements(comparison, false);
}

std::vector<std::string> ExplainedMismatches(const LinuxComparison& comparison) {
  return Disagreements(comparison, true);
}

const std::vector<KnownDisagreement>& KnownDisagreements() {
  static const std::vector<KnownDisagreement> known = {
      {"PV spinlocks", "off", "on", "Hyper-V: PV spinlocks disabled",
       "Linux's Hyper-V spinlock wait halts through the guest-idle MSR (HV_X64_MSR_GUEST_IDLE) "
       "and turns itself off without that privilege, which KVM's Hyper-V does not grant; pvops "
       "spins the count the hypervisor hints and then calls HvCallNotifyLongSpinWait, which the "
       "TLFS recommends and KVM answers with a directed yield"},
      {"hypervisor", "none", "vmware", "no \"Hypervisor detected\" line",
       "Linux's own VMware detection (vmware_platform()) needs the CPUID vendor \"VMwareVMware\", "
       "or, with the CPU's hypervisor bit clear, a \"VMware\" DMI serial number and the backdoor; "
       "QEMU answers the backdoor and pvops finds the VMI ROM, which Linux dropped in 2.6.37"},
      {"PV IPI", "on", "off", "Xen HVM callback vector",
       "a gap in pvops: Linux sends Xen's IPIs as per-CPU event channels bound to its IPI "
       "handlers; the library's Xen send_ipi delivers an event channel through its callback "
       "vector, not the vector the kernel sent, so the pvops kernel keeps the APIC's IPIs "
       "until the library can hand such events to the kernel's vector handlers"},
  };
  return known;
}

}  // namespace pvops_bench
