#include "bench_results.h"

#include <algorithm>
#include <stdexcept>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

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
  m.impl = AsText(fields, "impl");
  if (m.op.empty() || m.impl.empty()) throw std::runtime_error("bench line without op or impl");
  m.what = AsText(fields, "what");
  m.unavailable = AsText(fields, "unavailable");
  m.samples = static_cast<int>(AsNumber(fields.value("samples", json(0)), "samples"));
  if (!m.unavailable.empty()) return m;
  m.min_cycles = AsNumber(fields.at("min"), "min");
  m.median_cycles = AsNumber(fields.at("median"), "median");
  m.p99_cycles = AsNumber(fields.at("p99"), "p99");
  if (fields.contains("ops_per_sample"))
    m.ops_per_sample = static_cast<int>(AsNumber(fields.at("ops_per_sample"), "ops_per_sample"));
  if (fields.contains("exits_per_op"))
    m.exits_per_op = AsNumber(fields.at("exits_per_op"), "exits_per_op");
  if (fields.contains("kvm_hypercalls_per_op"))
    m.kvm_hypercalls_per_op = AsNumber(fields.at("kvm_hypercalls_per_op"), "kvm_hypercalls_per_op");
  m.library_per_op = ParseLibraryCounters(AsText(fields, "lib"));
  return m;
}

}  // namespace

const Measurement* EnvironmentBench::Find(const std::string& op, const std::string& impl) const {
  for (const Measurement& m : measurements)
    if (m.op == op && m.impl == impl && m.unavailable.empty() && m.samples > 0) return &m;
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
    if (env.contains("stats") && env.at("stats").contains("bench_tsc_khz"))
      e.tsc_khz = AsNumber(env.at("stats").at("bench_tsc_khz"), "bench_tsc_khz");
    if (env.contains("bench"))
      for (const json& line : env.at("bench")) e.measurements.push_back(ParseMeasurement(line));
    out.push_back(std::move(e));
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
      benches.push_back(not_benched);
      target = &benches.back();
    }
    target->conformance_verdict = c.bench_verdict;  // a conformance record's own verdict
    target->conformance_reason = c.bench_reason;
  }
}

std::vector<HostTime> ParseHostBenchmark(const json& gbench) {
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
    HostTime t{parts.first, parts.second, b.at("cpu_time").get<double>(),
               b.value("time_unit", "ns")};
    if (HostTime* seen = find(t.op, t.mechanism)) {
      if (aggregate) *seen = t;
    } else {
      out.push_back(t);
    }
  }
  return out;
}

std::map<std::string, double> HostTableOverDirect(const std::vector<HostTime>& times) {
  std::map<std::string, double> direct, table, out;
  for (const HostTime& t : times) {
    if (t.mechanism == "direct_call") direct[t.op] = t.cpu_time;
    if (t.mechanism == "pvops_table_call") table[t.op] = t.cpu_time;
  }
  for (const auto& [op, time] : table)
    if (direct.contains(op) && direct[op] > 0) out[op] = time / direct[op];
  return out;
}

std::optional<double> RatioToRaw(const EnvironmentBench& env, const std::string& op,
                                 const std::string& impl) {
  const Measurement* m = env.Find(op, impl);
  const Measurement* raw = env.Find(op, "raw");
  if (m == nullptr || raw == nullptr || raw->median_cycles <= 0) return std::nullopt;
  return m->median_cycles / raw->median_cycles;
}

std::optional<double> ExitsPerSample(const Measurement& m, std::string* source) {
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
  const Measurement* eager = env.Find("pte_update_64_eager", "pvops");
  const Measurement* lazy = env.Find("pte_update_64_lazy", "pvops");
  if (eager == nullptr || lazy == nullptr) return {std::nullopt, "not measured"};
  std::string source_eager, source_lazy;
  const auto e = ExitsPerSample(*eager, &source_eager);
  const auto l = ExitsPerSample(*lazy, &source_lazy);
  return {*e - *l, source_eager};
}

Saved ExitsSavedByPvClock(const EnvironmentBench& env) {
  const Measurement* pv = env.Find("clock_ns", "pvops");
  const Measurement* exiting = env.Find("clock_ns", "exiting");
  if (pv == nullptr || exiting == nullptr) {
    for (const Measurement& m : env.measurements)
      if (m.op == "clock_ns" && m.impl == "exiting" && !m.unavailable.empty())
        return {std::nullopt, "no exiting read here: " + m.unavailable};
    return {std::nullopt, "not measured"};
  }
  if (!pv->exits_per_op || !exiting->exits_per_op)
    return {std::nullopt, "no exit counter in this environment"};
  return {*exiting->exits_per_op - *pv->exits_per_op, "KVM exits"};
}

}  // namespace pvops_bench
