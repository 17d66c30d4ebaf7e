// SPDX-License-Identifier: MIT
#include "outputs.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace pvops_bench {

using nlohmann::json;

std::vector<std::string> OpOrder(const std::vector<EnvironmentBench>& envs) {
  std::vector<std::string> ops;
  for (const EnvironmentBench& env : envs)
    for (const Measurement& m : env.measurements)
      if (std::find(ops.begin(), ops.end(), m.op) == ops.end()) ops.push_back(m.op);
  return ops;
}

std::vector<HostTime> HostData::Times() const {
  // Every repetition's time; a process that kept none (no repetitions) gives its one figure.
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<double>> samples;
  std::vector<HostTime> times;
  for (const HostRun& run : runs) {
    bool repetitions = false;
    for (const json& b : run.gbench.value("benchmarks", json::array())) {
      if (b.value("run_type", "iteration") != "iteration" || !b.contains("repetition_index"))
        continue;
      repetitions = true;
      const std::string name = b.value("run_name", b.at("name").get<std::string>());
      const size_t slash = name.find('/');
      if (slash == std::string::npos) continue;
      samples[{run.build, name.substr(0, slash), name.substr(slash + 1)}].push_back(
          b.at("cpu_time").get<double>());
    }
    if (repetitions) continue;
    for (HostTime& t : ParseHostBenchmark(run.gbench, run.build))
      samples[{t.build, t.op, t.mechanism}].push_back(t.cpu_time);
  }
  for (auto& [key, values] : samples) {
    std::sort(values.begin(), values.end());
    const size_t n = values.size();
    const double median = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    times.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), median, "ns"});
  }
  return times;
}

std::vector<std::string> HostData::Builds() const {
  std::vector<std::string> builds;
  for (const HostRun& run : runs)
    if (std::find(builds.begin(), builds.end(), run.build) == builds.end())
      builds.push_back(run.build);
  return builds;
}

uint32_t HostData::Processes(const std::string& build) const {
  return static_cast<uint32_t>(
      std::count_if(runs.begin(), runs.end(), [&](const HostRun& r) { return r.build == build; }));
}

namespace {

// One measured figure in Google Benchmark's form: a single iteration-type run of `iterations`
// whose real and CPU time are both `time`.
json Iteration(const std::string& name, size_t family_index, int64_t iterations, double time,
               const char* unit) {
  return {{"name", name},
          {"family_index", family_index},
          {"per_family_instance_index", 0},
          {"run_name", name},
          {"run_type", "iteration"},
          {"repetitions", 1},
          {"repetition_index", 0},
          {"threads", 1},
          {"iterations", iterations},
          {"real_time", time},
          {"cpu_time", time},
          {"time_unit", unit}};
}

}  // namespace

json ResultsJson(const RunContext& context, const std::vector<EnvironmentBench>& envs,
                 const HostData& host, const LinuxComparison* comparison) {
  json environments = json::object();
  for (const EnvironmentBench& env : envs) {
    environments[env.name] = {
        {"backend", env.backend},     {"conformance", env.conformance_verdict},
        {"bench", env.bench_verdict}, {"tsc_khz", env.tsc_khz},
        {"tsc_step", env.tsc_step},   {"patch", env.patch}};
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
       "guest real_time/cpu_time: the median round's TSC cycles per op / tsc_khz, QEMU TCG "
       "virtual time; compare ratios and exit counts, not absolute times"},
      {"pvops_environments", environments},
  };
  json benchmarks = json::array();
  for (const EnvironmentBench& env : envs) {
    if (!env.Benched() || env.tsc_khz <= 0) continue;
    for (const Measurement& m : env.measurements) {
      if (!m.unavailable.empty() || m.round_cycles.empty()) continue;
      const std::string name = env.name + "/" + m.op + "/" + m.variant;
      const double median_ns = m.median_cycles * 1e6 / env.tsc_khz;
      const Summary rounds = m.Rounds();
      json b =
          Iteration(name, benchmarks.size(),
                    static_cast<int64_t>(m.round_cycles.size()) * m.samples_per_round * m.batch,
                    median_ns, "ns");
      b["batch"] = m.batch;
      b["median_cycles"] = m.median_cycles;
      b["round_min_cycles"] = *rounds.min;
      b["round_max_cycles"] = *rounds.max;
      b["updates_per_op"] = m.updates_per_op;
      if (m.exits_per_op) b["exits_per_op"] = *m.exits_per_op;
      if (m.kvm_hypercalls_per_op) b["kvm_hypercalls_per_op"] = *m.kvm_hypercalls_per_op;
      if (m.variant != "raw") {
        const Summary ratio = RatioToRaw(env, m.op, m.variant);
        if (ratio.median) {
          b["ratio_to_raw"] = *ratio.median;
          b["ratio_to_raw_min"] = *ratio.min;
          b["ratio_to_raw_max"] = *ratio.max;
        }
      }
      if (!m.site.empty()) b["site"] = m.site;
      for (const auto& [counter, value] : m.library_per_op) b["lib_" + counter] = value;
      benchmarks.push_back(std::move(b));
    }
  }
  for (const EnvironmentBench& env : envs) {
    for (const MoveHop& h : env.hops) {
      if (!h.downtime_ms) continue;
      std::string run = h.run;
      run.erase(std::remove(run.begin(), run.end(), ' '), run.end());
      const std::string name = env.name + "/move_downtime/" + run + "/hop" + std::to_string(h.hop) +
                               "_" + h.from + "_to_" + h.to;
      json b = Iteration(name, benchmarks.size(), 1, *h.downtime_ms, "ms");
      b["pause_ms"] = h.pause_ms;
      b["vmm_stop_ms"] = h.stop_ms;
      b["vmm_save_ms"] = h.save_ms;
      b["vmm_restore_ms"] = h.restore_ms;
      if (h.old_vm_close_ms) b["old_vm_close_ms"] = *h.old_vm_close_ms;
      if (h.clock_jump_ms) b["guest_clock_jump_ms"] = *h.clock_jump_ms;
      benchmarks.push_back(std::move(b));
    }
  }
  std::map<std::string, uint32_t> process_of_build;
  for (const HostRun& run : host.runs) {
    if (!run.gbench.contains("benchmarks")) continue;
    // host/, host-retpoline/: the first process; host.2/, host-retpoline.2/ and on: the others.
    const uint32_t process = ++process_of_build[run.build];
    const std::string prefix = (run.build == "plain" ? "host" : "host-" + run.build) +
                               (process > 1 ? "." + std::to_string(process) : "") + "/";
    for (json b : run.gbench.at("benchmarks")) {
      const std::string run_name = b.value("run_name", b.at("name").get<std::string>());
      for (const HostInstructions& i : host.instructions)
        if (i.build == run.build && run_name == i.op + "/" + i.mechanism)
          b["instructions_per_op"] = i.per_op;
      b["name"] = prefix + b.at("name").get<std::string>();
      if (b.contains("run_name")) b["run_name"] = prefix + run_name;
      b["family_index"] = benchmarks.size();
      benchmarks.push_back(std::move(b));
    }
  }
  out["benchmarks"] = std::move(benchmarks);
  if (comparison != nullptr) out["linux_comparison"] = LinuxComparisonJson(*comparison);
  return out;
}

}  // namespace pvops_bench
