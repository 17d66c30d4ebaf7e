#include "outputs.h"

namespace pvops_bench {

using nlohmann::json;

std::vector<std::string> OpOrder(const std::vector<EnvironmentBench>& envs) {
  std::vector<std::string> ops;
  for (const EnvironmentBench& env : envs)
    for (const Measurement& m : env.measurements)
      if (std::find(ops.begin(), ops.end(), m.op) == ops.end()) ops.push_back(m.op);
  return ops;
}

json ResultsJson(const RunContext& context, const std::vector<EnvironmentBench>& envs,
                 const json* host, const LinuxComparison* comparison) {
  json environments = json::object();
  for (const EnvironmentBench& env : envs) {
    environments[env.name] = {{"backend", env.backend},
                              {"conformance", env.conformance_verdict},
                              {"bench", env.bench_verdict},
                              {"tsc_khz", env.tsc_khz}};
  }
  json out;
  out["context"] = {
      {"date", context.date},
      {"host_name", context.host_name},
      {"executable", context.executable},
      {"num_cpus", context.num_cpus},
      {"mhz_per_cpu", 0},
      {"cpu_scaling_enabled", false},
      {"caches", json::array()},
      {"load_avg", json::array()},
      {"library_build_type", "release"},
      {"pvops_time_note",
       "guest real_time/cpu_time: median TSC cycles / tsc_khz, QEMU TCG virtual time; compare "
       "ratios and exit counts, not absolute times"},
      {"pvops_environments", environments},
  };
  json benchmarks = json::array();
  for (const EnvironmentBench& env : envs) {
    if (!env.Benched() || env.tsc_khz <= 0) continue;
    for (const Measurement& m : env.measurements) {
      if (!m.unavailable.empty() || m.samples <= 0) continue;
      const std::string name = env.name + "/" + m.op + "/" + m.impl;
      const double median_ns = m.median_cycles * 1e6 / env.tsc_khz;
      json b = {{"name", name},
                {"family_index", benchmarks.size()},
                {"per_family_instance_index", 0},
                {"run_name", name},
                {"run_type", "iteration"},
                {"repetitions", 1},
                {"repetition_index", 0},
                {"threads", 1},
                {"iterations", m.samples},
                {"real_time", median_ns},
                {"cpu_time", median_ns},
                {"time_unit", "ns"},
                {"min_cycles", m.min_cycles},
                {"median_cycles", m.median_cycles},
                {"p99_cycles", m.p99_cycles},
                {"ops_per_sample", m.ops_per_sample}};
      if (m.exits_per_op) b["exits_per_op"] = *m.exits_per_op;
      if (m.kvm_hypercalls_per_op) b["kvm_hypercalls_per_op"] = *m.kvm_hypercalls_per_op;
      if (m.impl != "raw")
        if (const auto ratio = RatioToRaw(env, m.op, m.impl)) b["ratio_to_raw"] = *ratio;
      for (const auto& [counter, value] : m.library_per_op) b["lib_" + counter] = value;
      benchmarks.push_back(std::move(b));
    }
  }
  if (host != nullptr && host->contains("benchmarks")) {
    for (json b : host->at("benchmarks")) {
      b["name"] = "host/" + b.at("name").get<std::string>();
      if (b.contains("run_name")) b["run_name"] = "host/" + b.at("run_name").get<std::string>();
      b["family_index"] = benchmarks.size();
      benchmarks.push_back(std::move(b));
    }
  }
  out["benchmarks"] = std::move(benchmarks);
  if (comparison != nullptr) out["linux_comparison"] = LinuxComparisonJson(*comparison);
  return out;
}

}  // namespace pvops_bench
