// SPDX-License-Identifier: MIT
#include "bench_results.h"

#include <algorithm>
#include <stdexcept>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace pvops_bench {
namespace {

using nlohmann::json;

// pvops-run keeps decimal integers as numbers and everything else as strings.
double AsNumber(const json& value, const std::string& what) {
  if (value.is_number()) return value.get<double>();
  double parsed = 0;
  if (value.is_string() && absl::SimpleAtod(value.get<std::string>(), &parsed)) return parsed;
  throw std::runtime_error("bench line: " + what + " is not a number: " + value.dump());
}

std::string AsText(const json& fields, const char* key) {
  if (!fields.contains(key)) return "";
  const json& v = fields.at(key);
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// "hypercalls:1.00,pv_eoi_slow:1.00" or "none"
std::map<std::string, double> ParseLibraryCounters(const std::string& text) {
  std::map<std::string, double> out;
  if (text.empty() || text == "none") return out;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(item, absl::MaxSplits(':', 1));
    double value = 0;
    if (!absl::SimpleAtod(kv.second, &value))
      throw std::runtime_error("bench line: bad lib counter '" + std::string(item) + "'");
    out[kv.first] = value;
  }
  return out;
}

Measurement ParseMeasurement(const json& fields) {
  Measurement m;
  m.op = AsText(fields, "op");
  m.variant = AsText(fields, "variant");
  if (m.op.empty() || m.variant.empty())
    throw std::runtime_error("bench line without op or variant: " + fields.dump());
  m.what = AsText(fields, "what");
  m.unavailable = AsText(fields, "unavailable");
  if (!m.unavailable.empty()) return m;
  m.batch = static_cast<int>(AsNumber(fields.at("batch"), "batch"));
  if (m.batch < 1) throw std::runtime_error("bench line: batch below 1");
  m.samples_per_round =
      static_cast<int>(AsNumber(fields.at("samples_per_round"), "samples_per_round"));
  m.counted_ops = AsNumber(fields.at("counted_ops"), "counted_ops");
  for (absl::string_view item :
       absl::StrSplit(AsText(fields, "round_medians"), ',', absl::SkipEmpty())) {
    double cycles = 0;
    if (!absl::SimpleAtod(item, &cycles))
      throw std::runtime_error("bench line: bad round median '" + std::string(item) + "'");
    m.round_cycles.push_back(cycles / m.batch);
  }
  const int rounds = static_cast<int>(AsNumber(fields.at("rounds"), "rounds"));
  if (rounds < 1 || static_cast<int>(m.round_cycles.size()) != rounds)
    throw std::runtime_error(absl::StrFormat("bench line: %d round medians for rounds=%d",
                                             m.round_cycles.size(), rounds));
  m.median_cycles = *m.Rounds().median;
  m.ops_timed = static_cast<double>(rounds) * m.samples_per_round * m.batch;
  if (fields.contains("updates_per_op"))
    m.updates_per_op = static_cast<int>(AsNumber(fields.at("updates_per_op"), "updates_per_op"));
  m.site = AsText(fields, "site");
  if (fields.contains("exits_per_op"))
    m.exits_per_op = AsNumber(fields.at("exits_per_op"), "exits_per_op");
  if (fields.contains("kvm_hypercalls_per_op"))
    m.kvm_hypercalls_per_op = AsNumber(fields.at("kvm_hypercalls_per_op"), "kvm_hypercalls_per_op");
  m.library_per_op = ParseLibraryCounters(AsText(fields, "lib"));
  return m;
}

std::optional<double> OptionalNumber(const json& fields, const char* key, const std::string& what) {
  if (!fields.contains(key)) return std::nullopt;
  const json& value = fields.at(key);
  // The mover writes "unknown" when vCPU 0 never entered the new VM within its wait.
  if (value.is_string() && value.get<std::string>() == "unknown") return std::nullopt;
  return AsNumber(value, what + " " + key);
}

// The mover's hop lines, each with the guest's line of the same hop: the first guest line
// whose `moves` count equals the hop's number (a move within one VM leaves the count as it was,
// so its line comes after the one of the mover's hop and is not taken).
std::vector<MoveHop> ParseHops(const json& env) {
  std::vector<MoveHop> hops;
  for (const json& line : env.value("move_hops", json::array())) {
    MoveHop h;
    const std::optional<double> hop = OptionalNumber(line, "hop", "move line");
    if (!hop || *hop < 1)
      throw std::runtime_error("move line without a hop number: " + line.dump());
    h.hop = static_cast<int>(*hop);
    h.from = AsText(line, "from");
    h.to = AsText(line, "to");
    h.downtime_ms = OptionalNumber(line, "downtime_ms", "move line");
    h.pause_ms = OptionalNumber(line, "pause_ms", "move line").value_or(0);
    h.stop_ms = OptionalNumber(line, "vmm_stop_ms", "move line").value_or(0);
    h.save_ms = OptionalNumber(line, "vmm_save_ms", "move line").value_or(0);
    h.restore_ms = OptionalNumber(line, "vmm_restore_ms", "move line").value_or(0);
    h.old_vm_close_ms = OptionalNumber(line, "old_vm_close_ms", "move line");
    for (const json& guest : env.value("guest_move_hops", json::array())) {
      if (OptionalNumber(guest, "moves", "guest move line") != *hop) continue;
      const std::optional<double> before = OptionalNumber(guest, "clock_before", "guest move line");
      const std::optional<double> after = OptionalNumber(guest, "clock_after", "guest move line");
      if (before && after) h.clock_jump_ms = (*after - *before) / 1e6;
      break;
    }
    hops.push_back(std::move(h));
  }
  return hops;
}

}  // namespace

std::optional<double> MoveHop::StartMs() const {
  if (!downtime_ms) return std::nullopt;
  return *downtime_ms - stop_ms - save_ms - restore_ms;
}

Summary Measurement::Rounds() const { return Summarize(round_cycles); }

const Measurement* EnvironmentBench::Find(const std::string& op, const std::string& variant) const {
  for (const Measurement& m : measurements)
    if (m.op == op && m.variant == variant && m.unavailable.empty() && !m.round_cycles.empty())
      return &m;
  return nullptr;
}

std::vector<EnvironmentBench> ParseRunRecord(const json& record) {
  if (!record.contains("environments") || !record.at("environments").is_array())
    throw std::runtime_error("not a pvops-run record: no environments array");
  std::vector<EnvironmentBench> out;
  for (const json& env : record.at("environments")) {
    EnvironmentBench e;
    e.name = env.at("name").get<std::string>();
    e.bench_verdict = env.value("verdict", "");
    e.bench_reason = env.value("reason", "");
    if (env.contains("detect") && env.at("detect").is_object())
      e.backend = AsText(env.at("detect"), "backend");
    if (env.contains("patch") && env.at("patch").is_object())
      for (const auto& [key, value] : env.at("patch").items())
        e.patch[key] = value.is_string() ? value.get<std::string>() : value.dump();
    if (env.contains("stats")) {
      const json& stats = env.at("stats");
      if (stats.contains("bench_tsc_khz"))
        e.tsc_khz = AsNumber(stats.at("bench_tsc_khz"), "bench_tsc_khz");
      if (stats.contains("bench_tsc_step"))
        e.tsc_step = AsNumber(stats.at("bench_tsc_step"), "bench_tsc_step");
    }
    if (env.contains("bench"))
      for (const json& line : env.at("bench")) e.measurements.push_back(ParseMeasurement(line));
    e.hops = ParseHops(env);
    out.push_back(std::move(e));
  }
  return out;
}

EnvironmentBench MergeBoots(const std::vector<EnvironmentBench>& boots) {
  if (boots.empty()) return EnvironmentBench{};
  EnvironmentBench out = boots.front();
  for (size_t b = 1; b < boots.size(); ++b) {
    const EnvironmentBench& boot = boots[b];
    out.hops.insert(out.hops.end(), boot.hops.begin(), boot.hops.end());
    if (out.Benched() && !boot.Benched()) {
      out.bench_verdict = boot.bench_verdict;
      out.bench_reason = absl::StrFormat("boot %d: %s", b + 1, boot.bench_reason);
    }
    for (const Measurement& m : boot.measurements) {
      Measurement* into = nullptr;
      for (Measurement& o : out.measurements)
        if (o.op == m.op && o.variant == m.variant) into = &o;
      if (into == nullptr) {
        out.measurements.push_back(m);
        continue;
      }
      if (!into->unavailable.empty() || !m.unavailable.empty()) continue;
      const double before = into->counted_ops, total = before + m.counted_ops;
      auto weigh = [&](double mine, double theirs) {
        return total > 0 ? (mine * before + theirs * m.counted_ops) / total : mine;
      };
      if (into->exits_per_op && m.exits_per_op)
        into->exits_per_op = weigh(*into->exits_per_op, *m.exits_per_op);
      if (into->kvm_hypercalls_per_op && m.kvm_hypercalls_per_op)
        into->kvm_hypercalls_per_op = weigh(*into->kvm_hypercalls_per_op, *m.kvm_hypercalls_per_op);
      std::map<std::string, double> library;
      for (const auto& [name, value] : into->library_per_op) library[name] = value * before;
      for (const auto& [name, value] : m.library_per_op) library[name] += value * m.counted_ops;
      for (auto& [name, value] : library) value = total > 0 ? value / total : 0;
      into->library_per_op = library;
      into->counted_ops = total;
      into->ops_timed += m.ops_timed;
      into->round_cycles.insert(into->round_cycles.end(), m.round_cycles.begin(),
                                m.round_cycles.end());
      into->median_cycles = *into->Rounds().median;
    }
  }
  return out;
}

void MergeConformance(const std::vector<EnvironmentBench>& conformance,
                      std::vector<EnvironmentBench>& benches) {
  for (const EnvironmentBench& c : conformance) {
    EnvironmentBench* target = nullptr;
    for (EnvironmentBench& b : benches)
      if (b.name == c.name) target = &b;
    if (target == nullptr) {
      EnvironmentBench not_benched;
      not_benched.name = c.name;
      not_benched.backend = c.backend;
      not_benched.patch = c.patch;
      benches.push_back(not_benched);
      target = &benches.back();
    }
    target->conformance_verdict = c.bench_verdict;  // a conformance record's own verdict
    target->conformance_reason = c.bench_reason;
    target->hops.insert(target->hops.begin(), c.hops.begin(), c.hops.end());
  }
}

Summary RatioToRaw(const EnvironmentBench& env, const std::string& op, const std::string& variant) {
  const Measurement* m = env.Find(op, variant);
  const Measurement* raw = env.Find(op, "raw");
  if (m == nullptr || raw == nullptr || m->round_cycles.size() != raw->round_cycles.size())
    return Summary{};
  std::vector<double> ratios;
  for (size_t r = 0; r < m->round_cycles.size(); ++r)
    if (raw->round_cycles[r] > 0) ratios.push_back(m->round_cycles[r] / raw->round_cycles[r]);
  return Summarize(ratios);
}

std::optional<double> ExitsPerOp(const Measurement& m, std::string* source) {
  if (m.exits_per_op) {
    *source = "KVM exits";
    return m.exits_per_op;
  }
  // No exit counter: what the library itself sent to the hypervisor.
  // A backdoor call also counts as a hypercall: the larger of the two, never their sum.
  double calls = 0;
  for (const char* counter : {"hypercalls", "vmware_backdoor_calls"}) {
    const auto it = m.library_per_op.find(counter);
    if (it != m.library_per_op.end()) calls = std::max(calls, it->second);
  }
  *source = "library hypercalls";
  return calls;
}

Saved ExitsSavedByLazyBatching(const EnvironmentBench& env) {
  const Measurement* eager = env.Find("pte_update_64_eager", "patched");
  const Measurement* lazy = env.Find("pte_update_64_lazy", "patched");
  if (eager == nullptr || lazy == nullptr) return {std::nullopt, "not measured"};
  std::string source_eager, source_lazy;
  const auto e = ExitsPerOp(*eager, &source_eager);
  const auto l = ExitsPerOp(*lazy, &source_lazy);
  return {*e - *l, source_eager};
}

Saved ExitsSavedByPvClock(const EnvironmentBench& env) {
  const Measurement* pv = env.Find("clock_ns", "patched");
  const Measurement* exiting = env.Find("clock_ns", "exiting");
  if (pv == nullptr || exiting == nullptr) {
    for (const Measurement& m : env.measurements)
      if (m.op == "clock_ns" && m.variant == "exiting" && !m.unavailable.empty())
        return {std::nullopt, "no exiting read here: " + m.unavailable};
    return {std::nullopt, "not measured"};
  }
  if (!pv->exits_per_op || !exiting->exits_per_op)
    return {std::nullopt, "no exit counter in this environment"};
  return {*exiting->exits_per_op - *pv->exits_per_op, "KVM exits"};
}

namespace {

// The irq sites of `env` as the backend left them, when they are calls, not the native sequence.
std::string IrqSitesThatStayCalls(const EnvironmentBench& env) {
  for (const Measurement& m : env.measurements)
    if (m.op == "irq_save_restore" && m.variant == "patched" && !m.site.empty() &&
        m.site.find(":inline") == std::string::npos)
      return m.site;
  return "";
}

}  // namespace

std::string PatchedNote(const EnvironmentBench& env, const std::string& op) {
  if (op != "irq_save_restore") return "";
  const std::string calls = IrqSitesThatStayCalls(env);
  if (calls.empty()) return "";
  return "sites stay calls (" + calls + "): the backend allows no native sequence";
}

std::string PatchedFlag(const EnvironmentBench& env, const std::string& op) {
  if (!PatchedNote(env, op).empty()) return "";
  double limit = 0;
  if (op == "irq_save_restore") limit = kIrqPatchedOverRawLimit;
  if (op == "hypercall_null") limit = kHypercallPatchedOverRawLimit;
  if (limit == 0) return "";
  const Summary ratio = RatioToRaw(env, op, "patched");
  if (!ratio.median || *ratio.median <= limit) return "";
  return absl::StrFormat("patched/raw %.2f > %.2f", *ratio.median, limit);
}

std::vector<HostTime> ParseHostBenchmark(const json& gbench, const std::string& build) {
  // With repetitions, the median aggregate stands for a benchmark; without, its one run.
  std::vector<HostTime> out;
  auto find = [&out](const std::string& op, const std::string& mechanism) -> HostTime* {
    for (HostTime& t : out)
      if (t.op == op && t.mechanism == mechanism) return &t;
    return nullptr;
  };
  for (const json& b : gbench.at("benchmarks")) {
    const bool aggregate = b.value("run_type", "iteration") == "aggregate";
    if (aggregate && b.value("aggregate_name", "") != "median") continue;
    const std::string name = b.value("run_name", b.at("name").get<std::string>());
    std::pair<std::string, std::string> parts = absl::StrSplit(name, absl::MaxSplits('/', 1));
    HostTime t{build, parts.first, parts.second, b.at("cpu_time").get<double>(),
               b.value("time_unit", "ns")};
    if (HostTime* seen = find(t.op, t.mechanism)) {
      if (aggregate) *seen = t;
    } else {
      out.push_back(t);
    }
  }
  return out;
}

HostRatios HostOverDirect(const std::vector<HostTime>& times) {
  HostRatios out;
  for (const HostTime& direct : times) {
    if (direct.mechanism != "direct_call" || direct.cpu_time <= 0) continue;
    for (const HostTime& t : times)
      if (t.build == direct.build && t.op == direct.op && t.mechanism != "direct_call")
        out[t.build][t.op][t.mechanism] = t.cpu_time / direct.cpu_time;
  }
  return out;
}

std::vector<HostInstructions> ParseCallgrind(const std::string& text, const std::string& build) {
  // The callgrind format: "fn=(id) name" opens a function's block (a later "fn=(id)" reuses
  // the name; "cfn=" names callees the same way); in a block, "POSITION COST" lines are its own
  // cost and the one after each "calls=" line the whole cost of that call. One event (Ir).
  constexpr absl::string_view kCountPrefix = "pvops_count_";
  std::map<std::string, std::string> names;  // "(id)" -> name
  std::map<std::string, double> inclusive;
  std::string current;
  double n = 0;
  auto name_of = [&names](absl::string_view spec) {
    spec = absl::StripAsciiWhitespace(spec);
    const size_t close = spec.find(')');
    if (spec.empty() || spec[0] != '(' || close == absl::string_view::npos)
      return std::string(spec);
    const std::string id(spec.substr(0, close + 1));
    const absl::string_view rest = absl::StripAsciiWhitespace(spec.substr(close + 1));
    if (!rest.empty()) names[id] = std::string(rest);
    return names[id];
  };
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::ConsumePrefix(&line, "cmd:")) {
      const size_t at = line.find("--pvops_count=");
      if (at != absl::string_view::npos)
        (void)absl::SimpleAtod(line.substr(at + 14).substr(0, line.substr(at + 14).find(' ')), &n);
    } else if (absl::ConsumePrefix(&line, "fn=")) {
      current = name_of(line);
    } else if (absl::ConsumePrefix(&line, "cfn=")) {
      (void)name_of(line);
    } else if (!line.empty() && (absl::ascii_isdigit(line[0]) || line[0] == '+' || line[0] == '-' ||
                                 line[0] == '*')) {
      const std::vector<absl::string_view> fields =
          absl::StrSplit(line, ' ', absl::SkipWhitespace());
      double cost = 0;
      if (fields.size() >= 2 && absl::SimpleAtod(fields.back(), &cost)) inclusive[current] += cost;
    }
  }
  if (n <= 0) throw std::runtime_error("callgrind: no --pvops_count=N on the cmd: line");
  const auto empty = inclusive.find("pvops_count_empty");
  if (empty == inclusive.end()) throw std::runtime_error("callgrind: no pvops_count_empty");
  std::vector<HostInstructions> out;
  for (const auto& [name, cost] : inclusive) {
    absl::string_view rest = name;
    if (!absl::ConsumePrefix(&rest, kCountPrefix) || rest == "empty") continue;
    // pvops_count_OP_MECHANISM: the mechanism is one of the four names, which contain '_'.
    for (const char* mechanism : {"direct_call", "table_call", "patched", "inline_insn"}) {
      absl::string_view op = rest;
      if (absl::ConsumeSuffix(&op, std::string("_") + mechanism)) {
        out.push_back({build, std::string(op), mechanism, (cost - empty->second) / n});
        break;
      }
    }
  }
  return out;
}

}  // namespace pvops_bench
