// The bench reporter (tools/pvops-bench) on hand-made pvops-run records (data/README.md).
#include <gtest/gtest.h>

#include <fstream>

#include "bench_results.h"
#include "outputs.h"

namespace pvops_bench {
namespace {

using nlohmann::json;

json Load(const std::string& relative) {
  std::ifstream file(std::string(PVOPS_BENCH_TEST_DATA) + "/" + relative);
  return json::parse(file);
}

std::vector<EnvironmentBench> RunA() {
  std::vector<EnvironmentBench> envs = ParseRunRecord(Load("run_a/kvm.bench.json"));
  MergeConformance(ParseRunRecord(Load("run_a/kvm.conformance.json")), envs);
  MergeConformance(ParseRunRecord(Load("run_a/xen.conformance.json")), envs);
  return envs;
}

TEST(BenchResults, ParsesEveryBenchLineWithItsFields) {
  const std::vector<EnvironmentBench> envs = RunA();
  ASSERT_EQ(envs.size(), 2u);
  const EnvironmentBench& kvm = envs[0];
  EXPECT_EQ(kvm.name, "kvm");
  EXPECT_EQ(kvm.backend, "kvm");
  EXPECT_EQ(kvm.tsc_khz, 2700000);
  EXPECT_TRUE(kvm.Benched());
  EXPECT_EQ(kvm.measurements.size(), 8u);
  const Measurement* clock = kvm.Find("clock_ns", "pvops");
  ASSERT_NE(clock, nullptr);
  EXPECT_EQ(clock->median_cycles, 370);
  EXPECT_EQ(clock->samples, 1000);
  ASSERT_TRUE(clock->exits_per_op.has_value());
  EXPECT_DOUBLE_EQ(*clock->exits_per_op, 0.0);
  EXPECT_DOUBLE_EQ(clock->library_per_op.at("clock_reads"), 1.0);
  EXPECT_EQ(kvm.Find("pte_update_64_eager", "pvops")->ops_per_sample, 64);
  // An unavailable line is kept (the report says why) but never found as a measurement.
  EXPECT_EQ(kvm.Find("eoi", "raw"), nullptr);
}

TEST(BenchResults, AnEnvironmentThatFailedConformanceIsListedNotBenched) {
  const std::vector<EnvironmentBench> envs = RunA();
  const EnvironmentBench& xen = envs[1];
  EXPECT_EQ(xen.name, "xen");
  EXPECT_EQ(xen.conformance_verdict, "fail");
  EXPECT_FALSE(xen.Benched());
  EXPECT_EQ(envs[0].conformance_verdict, "pass");
}

TEST(BenchResults, DerivedFiguresComeFromTheSameRun) {
  const EnvironmentBench kvm = RunA()[0];
  EXPECT_DOUBLE_EQ(*RatioToRaw(kvm, "hypercall_null"), 140000.0 / 100000.0);
  EXPECT_DOUBLE_EQ(*RatioToRaw(kvm, "clock_ns", "exiting"), 200000.0 / 150.0);
  const Saved clock = ExitsSavedByPvClock(kvm);
  ASSERT_TRUE(clock.value.has_value());
  EXPECT_DOUBLE_EQ(*clock.value, 3.03);
  EXPECT_EQ(clock.source, "KVM exits");
  const Saved lazy = ExitsSavedByLazyBatching(kvm);
  ASSERT_TRUE(lazy.value.has_value());
  EXPECT_DOUBLE_EQ(*lazy.value, 0.0);
}

TEST(BenchResults, WithoutAnExitCounterTheLibrarysHypercallsStandIn) {
  Measurement eager{.op = "pte_update_64_eager",
                    .impl = "pvops",
                    .samples = 10,
                    .library_per_op = {{"hypercalls", 64.0}}};
  Measurement lazy{.op = "pte_update_64_lazy",
                   .impl = "pvops",
                   .samples = 10,
                   .library_per_op = {{"hypercalls", 1.0}}};
  EnvironmentBench xen{.name = "xen", .bench_verdict = "pass", .measurements = {eager, lazy}};
  const Saved saved = ExitsSavedByLazyBatching(xen);
  EXPECT_DOUBLE_EQ(*saved.value, 63.0);
  EXPECT_EQ(saved.source, "library hypercalls");
  EXPECT_FALSE(ExitsSavedByPvClock(xen).value.has_value());
}

TEST(ResultsJson, FollowsGoogleBenchmarksSchema) {
  const json host = json::parse(R"({"context": {}, "benchmarks": [
      {"name": "clock_ns/direct_call", "run_name": "clock_ns/direct_call", "run_type": "iteration",
       "iterations": 10, "real_time": 2.0, "cpu_time": 2.0, "time_unit": "ns"},
      {"name": "clock_ns/pvops_table_call", "run_name": "clock_ns/pvops_table_call",
       "run_type": "iteration", "iterations": 10, "real_time": 3.0, "cpu_time": 3.0,
       "time_unit": "ns"}]})");
  const json out =
      ResultsJson({.date = "d", .host_name = "h", .executable = "e", .num_cpus = 2}, RunA(), &host);
  ASSERT_TRUE(out.contains("context"));
  EXPECT_EQ(out["context"]["pvops_environments"]["xen"]["conformance"], "fail");
  const json& benchmarks = out.at("benchmarks");
  ASSERT_EQ(benchmarks.size(), 7u + 2u);  // 7 measurable kvm lines, 2 host benchmarks
  for (const json& b : benchmarks) {
    for (const char* key :
         {"name", "run_name", "run_type", "iterations", "real_time", "cpu_time", "time_unit"})
      EXPECT_TRUE(b.contains(key)) << b.dump() << " lacks " << key;
  }
  const json& clock = benchmarks[0];
  EXPECT_EQ(clock["name"], "kvm/clock_ns/pvops");
  EXPECT_EQ(clock["iterations"], 1000);
  EXPECT_DOUBLE_EQ(clock["real_time"].get<double>(), 370 * 1e6 / 2700000);  // virtual ns
  EXPECT_DOUBLE_EQ(clock["median_cycles"].get<double>(), 370);
  EXPECT_DOUBLE_EQ(clock["ratio_to_raw"].get<double>(), 370.0 / 150.0);
  EXPECT_EQ(benchmarks[7]["name"], "host/clock_ns/direct_call");
}

TEST(HostBenchmark, RatioOfTableCallOverDirectCallUsesTheMedianAggregate) {
  const json gbench = json::parse(R"({"benchmarks": [
      {"name": "x/direct_call", "run_name": "x/direct_call", "run_type": "iteration",
       "cpu_time": 9.0, "real_time": 9.0, "time_unit": "ns"},
      {"name": "x/direct_call_median", "run_name": "x/direct_call", "run_type": "aggregate",
       "aggregate_name": "median", "cpu_time": 2.0, "real_time": 2.0, "time_unit": "ns"},
      {"name": "x/direct_call_mean", "run_name": "x/direct_call", "run_type": "aggregate",
       "aggregate_name": "mean", "cpu_time": 7.0, "real_time": 7.0, "time_unit": "ns"},
      {"name": "x/pvops_table_call", "run_name": "x/pvops_table_call", "run_type": "iteration",
       "cpu_time": 3.0, "real_time": 3.0, "time_unit": "ns"}]})");
  const auto ratios = HostTableOverDirect(ParseHostBenchmark(gbench));
  EXPECT_DOUBLE_EQ(ratios.at("x"), 1.5);
}

TEST(Report, StatesThePerEnvironmentFiguresAndTheNotBenchedOnes) {
  const std::string md = ReportMarkdown({.date = "d", .host_name = "h"}, RunA(), {}, "chart.svg");
  EXPECT_NE(md.find("| kvm | kvm | pass | pass | 1.40x | 0.00 (KVM exits) | 3.03 (KVM exits) |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| xen | xen | fail: exit status 35: 2 cases failed | not run (failed its "
                    "conformance run)"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("### clock_ns"), std::string::npos);
  EXPECT_NE(md.find("not here: no raw LAPIC access here"), std::string::npos);
}

TEST(Chart, IsAnSvgWithABarPerBenchedEnvironmentAndOp) {
  const std::string svg = ChartSvg(RunA());
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find("<title>kvm clock_ns: 370 cycles</title>"), std::string::npos);
  EXPECT_EQ(svg.find("xen"), std::string::npos);  // not benched: no bar, no legend
}

}  // namespace
}  // namespace pvops_bench
