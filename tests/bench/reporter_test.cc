// SPDX-License-Identifier: MIT
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

// One host run: direct_call 2 ns, table_call as given, patched 2.2, inline_insn 1 (median
// aggregates).
json HostRunJson(double table_ns) {
  json b = json::array();
  for (const auto& [mechanism, ns] :
       {std::pair{"direct_call", 2.0}, std::pair{"table_call", table_ns}, std::pair{"patched", 2.2},
        std::pair{"inline_insn", 1.0}}) {
    const std::string name = std::string("clock_ns/") + mechanism;
    b.push_back({{"name", name},
                 {"run_name", name},
                 {"run_type", "iteration"},
                 {"iterations", 10},
                 {"real_time", 9.0},
                 {"cpu_time", 9.0},
                 {"time_unit", "ns"}});
    b.push_back({{"name", name + "_median"},
                 {"run_name", name},
                 {"run_type", "aggregate"},
                 {"aggregate_name", "median"},
                 {"iterations", 10},
                 {"real_time", ns},
                 {"cpu_time", ns},
                 {"time_unit", "ns"}});
  }
  return {{"context", {{"pvops_patch", "2 sites (0 inline, 2 direct, 0 table)"}}},
          {"benchmarks", b}};
}

HostData Host() {
  HostData host;
  host.runs = {{"plain", HostRunJson(3.0)}, {"retpoline", HostRunJson(8.0)}};
  host.instructions = {{"plain", "clock_ns", "direct_call", 12},
                       {"plain", "clock_ns", "patched", 12}};
  return host;
}

TEST(BenchResults, ParsesEveryBenchLineWithItsFields) {
  const std::vector<EnvironmentBench> envs = RunA();
  ASSERT_EQ(envs.size(), 2u);
  const EnvironmentBench& kvm = envs[0];
  EXPECT_EQ(kvm.name, "kvm");
  EXPECT_EQ(kvm.backend, "kvm");
  EXPECT_EQ(kvm.tsc_khz, 2700000);
  EXPECT_EQ(kvm.tsc_step, 26);
  EXPECT_EQ(kvm.patch.at("inlined"), "75");
  EXPECT_EQ(kvm.patch.at("why"), "");
  EXPECT_TRUE(kvm.Benched());
  EXPECT_EQ(kvm.measurements.size(), 13u);
  const Measurement* clock = kvm.Find("clock_ns", "patched");
  ASSERT_NE(clock, nullptr);
  EXPECT_EQ(clock->batch, 64);
  EXPECT_EQ(clock->samples_per_round, 48);
  EXPECT_EQ(clock->counted_ops, 192 * 64);
  // The line's round medians are per batch; the reporter's per op.
  EXPECT_EQ(clock->round_cycles, (std::vector<double>{370, 380, 360}));
  EXPECT_EQ(clock->median_cycles, 370);
  EXPECT_EQ(clock->site, "clock_ns:direct");
  ASSERT_TRUE(clock->exits_per_op.has_value());
  EXPECT_DOUBLE_EQ(*clock->exits_per_op, 0.0);
  EXPECT_DOUBLE_EQ(clock->library_per_op.at("clock_reads"), 1.0);
  EXPECT_EQ(kvm.Find("pte_update_64_eager", "patched")->updates_per_op, 64);
  // An unavailable line is kept (the report says why) but never found as a measurement.
  EXPECT_EQ(kvm.Find("eoi", "raw"), nullptr);
}

TEST(BenchResults, RefusesALineWhoseRoundsDoNotAddUp) {
  json record = Load("run_a/kvm.bench.json");
  record["environments"][0]["bench"][0]["rounds"] = 4;
  EXPECT_THROW(ParseRunRecord(record), std::runtime_error);
}

TEST(BenchResults, BootsPoolTheirRoundsAndWeighTheirCounts) {
  // run_b is run_a 10% slower: as two boots, every round of both, each ratio still paired
  // within its boot.
  EnvironmentBench a = ParseRunRecord(Load("run_a/kvm.bench.json"))[0];
  EnvironmentBench b = ParseRunRecord(Load("run_b/kvm.bench.json"))[0];
  b.measurements[1].library_per_op["clock_reads"] = 3.0;  // counted over as many ops as boot 1
  const EnvironmentBench both = MergeBoots({a, b});
  const Measurement* clock = both.Find("clock_ns", "patched");
  ASSERT_NE(clock, nullptr);
  EXPECT_EQ(clock->round_cycles.size(), 6u);
  EXPECT_DOUBLE_EQ(clock->round_cycles[3], 370 * 1.1);
  EXPECT_DOUBLE_EQ(clock->median_cycles, 388);  // 360 370 380 396 407 418: the middle two
  EXPECT_DOUBLE_EQ(clock->library_per_op.at("clock_reads"), 2.0);
  EXPECT_EQ(clock->ops_timed, 2 * 3 * 48 * 64);
  const Summary ratio = RatioToRaw(both, "clock_ns", "patched");
  EXPECT_EQ(ratio.count, 6);
  EXPECT_DOUBLE_EQ(*ratio.max, 380.0 / 152.0);
  EXPECT_TRUE(both.Benched());
  b.bench_verdict = "fail";
  b.bench_reason = "timeout";
  const EnvironmentBench failed = MergeBoots({a, b});
  EXPECT_FALSE(failed.Benched());
  EXPECT_EQ(failed.bench_reason, "boot 2: timeout");
}

TEST(BenchResults, AnEnvironmentThatFailedConformanceIsListedNotBenched) {
  const std::vector<EnvironmentBench> envs = RunA();
  const EnvironmentBench& xen = envs[1];
  EXPECT_EQ(xen.name, "xen");
  EXPECT_EQ(xen.conformance_verdict, "fail");
  EXPECT_FALSE(xen.Benched());
  EXPECT_EQ(envs[0].conformance_verdict, "pass");
}

TEST(BenchResults, RatiosArePairedRoundByRound) {
  const EnvironmentBench kvm = RunA()[0];
  // 370/150, 380/152, 360/148: the median ratio is round 1's, not 370/150 by luck.
  const Summary clock = RatioToRaw(kvm, "clock_ns", "patched");
  ASSERT_TRUE(clock.median.has_value());
  EXPECT_DOUBLE_EQ(*clock.median, 370.0 / 150.0);
  EXPECT_DOUBLE_EQ(*clock.min, 360.0 / 148.0);
  EXPECT_DOUBLE_EQ(*clock.max, 380.0 / 152.0);
  EXPECT_DOUBLE_EQ(*RatioToRaw(kvm, "hypercall_null", "table").median, 1.5);
  EXPECT_DOUBLE_EQ(*RatioToRaw(kvm, "clock_ns", "exiting").median, 200000.0 / 150.0);
  // No raw line: no ratio.
  EXPECT_FALSE(RatioToRaw(kvm, "pte_update_64_eager", "patched").median.has_value());
}

TEST(BenchResults, FlagsAPatchedPathDearerThanTheBareOne) {
  const EnvironmentBench kvm = RunA()[0];
  EXPECT_EQ(PatchedFlag(kvm, "hypercall_null"), "patched/raw 1.40 > 1.05");
  // 40/40, 44/40, 42/40: a median of 1.05, within irq_save_restore's 1.10.
  EXPECT_EQ(PatchedFlag(kvm, "irq_save_restore"), "");
  EXPECT_EQ(PatchedFlag(kvm, "clock_ns"), "");
}

TEST(BenchResults, TheIrqLimitHoldsWhereTheSitesAreTheNativeSequence) {
  EnvironmentBench env = RunA()[0];
  for (Measurement& m : env.measurements) {
    if (m.op != "irq_save_restore") continue;
    // Every round's patched sample at four times raw's.
    if (m.variant == "patched")
      for (double& c : m.round_cycles) c *= 4;
    if (m.variant == "patched") m.site = "save_flags:inline,disable:inline,restore_flags:inline";
  }
  EXPECT_NE(PatchedFlag(env, "irq_save_restore"), "");
  EXPECT_EQ(PatchedNote(env, "irq_save_restore"), "");
  // The same with sites the backend kept as calls (the VMI ROM's CALL_REL answers).
  for (Measurement& m : env.measurements)
    if (m.op == "irq_save_restore" && m.variant == "patched")
      m.site = "save_flags:direct,disable:direct,restore_flags:direct";
  EXPECT_EQ(PatchedFlag(env, "irq_save_restore"), "");
  EXPECT_EQ(PatchedNote(env, "irq_save_restore"),
            "sites stay calls (save_flags:direct,disable:direct,restore_flags:direct): the "
            "backend allows no native sequence");
}

TEST(BenchResults, DerivedCountsComeFromThePatchedPath) {
  const EnvironmentBench kvm = RunA()[0];
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
                    .variant = "patched",
                    .round_cycles = {1},
                    .library_per_op = {{"hypercalls", 64.0}}};
  Measurement lazy{.op = "pte_update_64_lazy",
                   .variant = "patched",
                   .round_cycles = {1},
                   .library_per_op = {{"hypercalls", 1.0}}};
  EnvironmentBench xen{.name = "xen", .bench_verdict = "pass", .measurements = {eager, lazy}};
  const Saved saved = ExitsSavedByLazyBatching(xen);
  EXPECT_DOUBLE_EQ(*saved.value, 63.0);
  EXPECT_EQ(saved.source, "library hypercalls");
  EXPECT_FALSE(ExitsSavedByPvClock(xen).value.has_value());
}

TEST(HostBenchmark, RatiosOverDirectCallPerBuildUseTheMedianAggregate) {
  const HostRatios ratios = HostOverDirect(Host().Times());
  EXPECT_DOUBLE_EQ(ratios.at("plain").at("clock_ns").at("table_call"), 1.5);
  EXPECT_DOUBLE_EQ(ratios.at("plain").at("clock_ns").at("patched"), 2.2 / 2.0);
  EXPECT_DOUBLE_EQ(ratios.at("retpoline").at("clock_ns").at("table_call"), 4.0);
  EXPECT_DOUBLE_EQ(ratios.at("retpoline").at("clock_ns").at("inline_insn"), 0.5);
}

// One process's repetitions of clock_ns (cpu_time per repetition), as Google Benchmark writes
// them with --benchmark_repetitions: iteration runs with repetition_index, then aggregates.
json RepetitionsJson(const std::vector<double>& direct, const std::vector<double>& table) {
  json b = json::array();
  for (const auto& [mechanism, times] : {std::pair{"direct_call", direct}, {"table_call", table}}) {
    const std::string name = std::string("clock_ns/") + mechanism;
    for (size_t i = 0; i < times.size(); ++i)
      b.push_back({{"name", name},
                   {"run_name", name},
                   {"run_type", "iteration"},
                   {"repetition_index", i},
                   {"cpu_time", times[i]},
                   {"time_unit", "ns"}});
    b.push_back({{"name", name + "_median"},
                 {"run_name", name},
                 {"run_type", "aggregate"},
                 {"aggregate_name", "median"},
                 {"cpu_time", 1000.0},  // never read: the repetitions are pooled instead
                 {"time_unit", "ns"}});
  }
  return {{"benchmarks", b}};
}

TEST(HostBenchmark, RepetitionsOfEveryProcessOfABuildArePooled) {
  HostData host;
  host.runs = {{"plain", RepetitionsJson({2, 2, 2}, {3, 3, 9})},
               {"plain", RepetitionsJson({2, 2, 4}, {5, 5, 5})},
               {"retpoline", RepetitionsJson({1, 3}, {4, 6})}};
  EXPECT_EQ(host.Builds(), (std::vector<std::string>{"plain", "retpoline"}));
  EXPECT_EQ(host.Processes("plain"), 2u);
  const HostRatios ratios = HostOverDirect(host.Times());
  // plain: direct {2,2,2,2,2,4} -> 2, table {3,3,5,5,5,9} -> 5; retpoline: medians of two.
  EXPECT_DOUBLE_EQ(ratios.at("plain").at("clock_ns").at("table_call"), 2.5);
  EXPECT_DOUBLE_EQ(ratios.at("retpoline").at("clock_ns").at("table_call"), 2.5);
}

TEST(HostBenchmark, CallgrindCountsEachFunctionWithItsCalleesLessTheEmptyLoop) {
  // Names are given once and reused by id; a cost line after calls= is the whole call's.
  const std::string out = R"(# callgrind format
version: 1
cmd:  /tmp/bench --pvops_count=1000
events: Ir
fl=(1) ???
fn=(10) pvops_count_empty
0 3005
fn=(11) pvops_count_clock_ns_table_call
0 6005
cfn=(12) DirectClockNs()
calls=1000 0
0 9000
fn=(12)
0 9000
fn=(13) pvops_count_flush_tlb_one_inline_insn
0 4005
)";
  const std::vector<HostInstructions> counts = ParseCallgrind(out, "plain");
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0].op, "clock_ns");
  EXPECT_EQ(counts[0].mechanism, "table_call");
  EXPECT_DOUBLE_EQ(counts[0].per_op, 12.0);  // (6005 + 9000 - 3005) / 1000
  EXPECT_EQ(counts[1].op, "flush_tlb_one");
  EXPECT_EQ(counts[1].mechanism, "inline_insn");
  EXPECT_DOUBLE_EQ(counts[1].per_op, 1.0);
  EXPECT_THROW(ParseCallgrind("fn=(1) pvops_count_empty\n0 5\n", "plain"), std::runtime_error);
}

TEST(ResultsJson, FollowsGoogleBenchmarksSchema) {
  const json out = ResultsJson({.date = "d", .host_name = "h", .executable = "e", .num_cpus = 2},
                               RunA(), Host());
  ASSERT_TRUE(out.contains("context"));
  EXPECT_EQ(out["context"]["pvops_environments"]["xen"]["conformance"], "fail");
  EXPECT_EQ(out["context"]["pvops_environments"]["kvm"]["patch"]["direct"], "281");
  const json& benchmarks = out.at("benchmarks");
  ASSERT_EQ(benchmarks.size(), 12u + 16u);  // 12 measurable kvm lines, 2 x 8 host entries
  for (const json& b : benchmarks) {
    for (const char* key :
         {"name", "run_name", "run_type", "iterations", "real_time", "cpu_time", "time_unit"})
      EXPECT_TRUE(b.contains(key)) << b.dump() << " lacks " << key;
  }
  const json& clock = benchmarks[1];
  EXPECT_EQ(clock["name"], "kvm/clock_ns/patched");
  EXPECT_EQ(clock["iterations"], 3 * 48 * 64);
  EXPECT_DOUBLE_EQ(clock["real_time"].get<double>(), 370 * 1e6 / 2700000);  // virtual ns
  EXPECT_DOUBLE_EQ(clock["median_cycles"].get<double>(), 370);
  EXPECT_DOUBLE_EQ(clock["round_max_cycles"].get<double>(), 380);
  EXPECT_DOUBLE_EQ(clock["ratio_to_raw"].get<double>(), 370.0 / 150.0);
  EXPECT_EQ(clock["site"], "clock_ns:direct");
  EXPECT_EQ(benchmarks[12]["name"], "host/clock_ns/direct_call");
  EXPECT_DOUBLE_EQ(benchmarks[12]["instructions_per_op"].get<double>(), 12);
  EXPECT_EQ(benchmarks[20]["name"], "host-retpoline/clock_ns/direct_call");
}

TEST(Report, StatesThePerEnvironmentFiguresAndTheNotBenchedOnes) {
  const std::string md =
      ReportMarkdown({.date = "d", .host_name = "h"}, RunA(), Host(), "chart.svg");
  EXPECT_NE(md.find("| kvm | kvm | pass | pass | 75 / 281 / 0 | 0.00 (KVM exits) | 3.03 (KVM "
                    "exits) |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| xen | xen | fail: exit status 35: 2 cases failed | not run (failed its "
                    "conformance run)"),
            std::string::npos)
      << md;
  // The summary: irq, hypercall, clock, flush (not measured here), with the flag.
  EXPECT_NE(md.find("| kvm | kvm | 2.50 (2.50-2.50) | 1.05 (1.00-1.10) | 1.50 (1.50-1.50) | "
                    "1.40 (1.39-1.41) | 2.67 (2.64-2.70) | 2.47 (2.43-2.50) | - | - | "
                    "hypercall_null patched/raw 1.40 > 1.05 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("### clock_ns"), std::string::npos);
  EXPECT_NE(md.find("| kvm | patched | clock_ns:direct | 64 | 370 (360-380) | 2.47 (2.43-2.50) | "
                    "0.00 | clock_reads 1.00 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("not here: no raw LAPIC access here"), std::string::npos);
  EXPECT_NE(md.find("| clock_ns | retpoline | 4.000 | 1.100 | 0.500 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| clock_ns | plain | 1.500 | 1.100 | 0.500 | 12.00, -, 12.00, - |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("Target patched / direct_call <= 1.05: missed by clock_ns plain 1.100, "
                    "clock_ns retpoline 1.100."),
            std::string::npos)
      << md;
}

// A moved guest's conformance record: two hops by the mover, the guest's lines of both and of a
// move within one VM (moves stays 1), which pairs with no hop.
json MovedRecord() {
  return {
      {"environments",
       {{{"name", "kvm-move"},
         {"verdict", "pass"},
         {"reason", ""},
         {"move_hops",
          {{{"hop", 1},
            {"from", "kvm"},
            {"to", "vmware"},
            {"downtime_ms", "40.00"},
            {"pause_ms", "30.00"},
            {"vmm_stop_ms", "5.00"},
            {"vmm_save_ms", "2.00"},
            {"vmm_restore_ms", "25.00"},
            {"old_vm_close_ms", "60.00"}},
           {{"hop", 2},
            {"from", "vmware"},
            {"to", "xen"},
            {"downtime_ms", "unknown"},
            {"pause_ms", "31.50"},
            {"vmm_stop_ms", "4.00"},
            {"vmm_save_ms", "2.00"},
            {"vmm_restore_ms", "26.00"}}}},
         {"guest_move_hops",
          {{{"hop", 1}, {"moves", 1}, {"clock_before", 1000000000}, {"clock_after", 1032500000}},
           {{"hop", 2}, {"moves", 1}, {"clock_before", 2000000000}, {"clock_after", 2000100000}},
           {{"hop", 3},
            {"moves", 2},
            {"clock_before", 3000000000},
            {"clock_after", 3034000000}}}}}}}};
}

TEST(BenchResults, EachHopPairsTheMoversFiguresWithTheGuestsClock) {
  std::vector<EnvironmentBench> envs;
  MergeConformance(ParseRunRecord(MovedRecord()), envs);
  ASSERT_EQ(envs.size(), 1u);
  ASSERT_EQ(envs[0].hops.size(), 2u);
  const MoveHop& first = envs[0].hops[0];
  EXPECT_EQ(first.to, "vmware");
  ASSERT_TRUE(first.downtime_ms);
  EXPECT_DOUBLE_EQ(*first.downtime_ms, 40);
  EXPECT_DOUBLE_EQ(*first.StartMs(), 40 - 5 - 2 - 25);
  ASSERT_TRUE(first.clock_jump_ms);
  EXPECT_DOUBLE_EQ(*first.clock_jump_ms, 32.5);
  const MoveHop& second = envs[0].hops[1];
  EXPECT_FALSE(second.downtime_ms);  // "unknown": vCPU 0 never entered within the wait
  ASSERT_TRUE(second.clock_jump_ms);
  EXPECT_DOUBLE_EQ(*second.clock_jump_ms, 34);  // the guest line with moves=2, not the self-move
}

TEST(Report, StatesEachHopsDowntimeAgainstTheGoal) {
  std::vector<EnvironmentBench> envs;
  MergeConformance(ParseRunRecord(MovedRecord()), envs);
  envs[0].hops[0].run = "conformance";
  envs[0].hops[1].run = "conformance";
  const std::string md = MoveTable(envs);
  EXPECT_NE(md.find("| conformance | 1 | kvm → vmware | 40.00 | 5.00 | 2.00 | 25.00 | 8.00 | "
                    "30.00 | 32.50 | 60.00 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| conformance | 2 | vmware → xen | unknown |"), std::string::npos) << md;
  EXPECT_NE(md.find("2 hops: downtime median 40.0 ms (40.0-40.0), 1 of 1 within the 100 ms goal"),
            std::string::npos)
      << md;
  const json out = ResultsJson({}, envs, HostData{});
  ASSERT_EQ(out.at("benchmarks").size(), 1u);  // the hop of unknown downtime has no figure
  EXPECT_EQ(out["benchmarks"][0]["name"], "kvm-move/move_downtime/conformance/hop1_kvm_to_vmware");
  EXPECT_EQ(out["benchmarks"][0]["time_unit"], "ms");
  EXPECT_DOUBLE_EQ(out["benchmarks"][0]["real_time"].get<double>(), 40);
  EXPECT_TRUE(MoveTable(RunA()).empty());
  // A conformance record alone: the environment passed it and was not benched here.
  const std::string report = ReportMarkdown({}, envs, HostData{}, "");
  EXPECT_NE(report.find("| kvm-move |  | pass | no bench record |"), std::string::npos) << report;
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
