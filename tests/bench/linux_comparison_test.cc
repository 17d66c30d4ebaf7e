// SPDX-License-Identifier: MIT
// pvops vs Linux's own (tools/pvops-bench/linux_comparison.*): the console lines it reads, the
// ratio arithmetic and the agreement table, on hand-made runs (data/linux, data/README.md).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "linux_comparison.h"
#include "outputs.h"

namespace pvops_bench {
namespace {

using nlohmann::json;

const std::string kData = std::string(PVOPS_BENCH_TEST_DATA) + "/linux";

std::string ReadText(const std::string& file) {
  std::ifstream in(kData + "/" + file);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

LinuxComparison Fixture() { return ReadLinuxRuns(kData, {"kvm", "hyperv"}); }

const PhaseComparison& Phase(const std::vector<PhaseComparison>& phases, const std::string& name) {
  for (const PhaseComparison& p : phases)
    if (p.phase == name) return p;
  throw std::runtime_error("no phase " + name);
}

const FeatureRow& Row(const std::vector<FeatureRow>& rows, const std::string& feature) {
  for (const FeatureRow& r : rows)
    if (r.feature == feature) return r;
  throw std::runtime_error("no feature " + feature);
}

TEST(LinuxRunFiles, NamesAreEnvKernelRoundExtension) {
  const auto name = ParseRunFileName("hyperv-kvm.stock.12.log");
  ASSERT_TRUE(name.has_value());
  EXPECT_EQ(name->env, "hyperv-kvm");
  EXPECT_EQ(name->kernel, "stock");
  EXPECT_EQ(name->round, 12);
  EXPECT_EQ(name->extension, "log");
  EXPECT_EQ(ParseRunFileName("a.b.pvops.1.json")->env, "a.b");
  for (const char* other : {"kvm.other.1.json", "kvm.pvops.0.json", "kvm.pvops.x.json",
                            "pvops.1.json", "kvm.pvops.1.txt", ".pvops.1.json", "README.md"})
    EXPECT_FALSE(ParseRunFileName(other).has_value()) << other;
}

// Each line as Linux 6.12 prints it (the printing line is in linux_comparison.cc), the pattern it
// must be read as, and the text after the pattern's words.
struct LinuxLine {
  const char* line;
  const char* id;
  const char* after;
};
constexpr LinuxLine kLinuxLines[] = {
    {"Linux version 6.12.118 (fixture@host) (gcc 12.2.0) #1 SMP", "linux_version",
     "6.12.118 (fixture@host) (gcc 12.2.0) #1 SMP"},
    {"Hypervisor detected: Microsoft Hyper-V", "hypervisor", "Microsoft Hyper-V"},
    {"Booting paravirtualized kernel on KVM", "pv_banner", "KVM"},
    {"Booting kernel on Xen PVH", "xen_banner", "Xen PVH"},
    {"Xen version: 4.17.1 (preserve-AD)", "xen_version", ": 4.17.1 (preserve-AD)"},
    {"Xen version 4.17.", "xen_version", " 4.17."},
    {"clocksource: Switched to clocksource kvm-clock", "clocksource", "kvm-clock"},
    {"kvm-guest: setup PV IPIs", "kvm_pv_ipi", ""},
    {"kvm-guest: KVM setup pv remote TLB flush", "kvm_pv_tlb", ""},
    {"kvm-guest: setup PV sched yield", "kvm_sched_yield", ""},
    {"kvm-guest: PV spinlocks enabled", "kvm_spinlocks_on", ""},
    {"kvm-guest: PV spinlocks disabled, single CPU", "kvm_spinlocks_off", ", single CPU"},
    {"kvm-guest: PV spinlocks disabled, no host support", "kvm_spinlocks_off", ", no host support"},
    {"kvm-guest: stealtime: cpu 1, msr 7fd1f040", "kvm_steal", "1, msr 7fd1f040"},
    {"kvm-guest: APIC: eoi() replaced with kvm_guest_apic_eoi_write()", "apic_eoi",
     "kvm_guest_apic_eoi_write()"},
    {"APIC: eoi() replaced with hv_apic_eoi_write()", "apic_eoi", "hv_apic_eoi_write()"},
    {"kvm-guest: APIC: send_IPI_mask() replaced with kvm_send_ipi_mask()", "apic_ipi",
     "kvm_send_ipi_mask()"},
    {"Hyper-V: privilege flags low 0x2e7f, high 0x3b8030, hints 0x64e24, misc 0xbed7b2",
     "hyperv_flags", "low 0x2e7f, high 0x3b8030, hints 0x64e24, misc 0xbed7b2"},
    {"Hyper-V: Using hypercall for remote TLB flush", "hyperv_pv_tlb", ""},
    {"Hyper-V: Using IPI hypercalls", "hyperv_pv_ipi", ""},
    {"Hyper-V: Using enlightened APIC (x2apic mode)", "hyperv_apic", " (x2apic mode)"},
    {"Hyper-V: PV spinlocks enabled", "hyperv_spinlocks_on", ""},
    {"Hyper-V: PV spinlocks disabled", "hyperv_spinlocks_off", ""},
    {"xen:events: Xen HVM callback vector for event delivery is enabled", "xen_callback", ""},
    {"xen: PV spinlocks enabled", "xen_spinlocks_on", ""},
    {"xen: PV spinlocks disabled", "xen_spinlocks_off", ""},
    {"vmware: vmware-stealtime: cpu 0, pa 7fc1f040", "vmware_steal", "0, pa 7fc1f040"},
    {"vmware: TSC freq read from hypervisor : 2100.000 MHz", "vmware_tsc", " : 2100.000 MHz"},
};

TEST(LinuxConsoleLines, EachLinuxLineIsReadByItsPattern) {
  for (const LinuxLine& l : kLinuxLines) {
    SCOPED_TRACE(l.line);
    // Bare, and as a PRINTK_TIME kernel prints it through a serial console.
    for (const std::string& line :
         {std::string(l.line), "\x1b[0m[    1.234567] " + std::string(l.line) + "\r"}) {
      const ConsoleFacts facts = ParseConsoleLog(line + "\n");
      ASSERT_EQ(facts.linux_lines.size(), 1u) << line;
      EXPECT_EQ(facts.linux_lines.begin()->first, l.id);
      EXPECT_EQ(facts.linux_lines.begin()->second, l.line);
      EXPECT_EQ(facts.After(l.id), l.after);
    }
  }
}

TEST(LinuxConsoleLines, OtherLinesAreNotLinuxs) {
  const ConsoleFacts facts =
      ParseConsoleLog("(XEN) Xen version 4.17.1 (root@) (gcc) debug=n\n"
                      "Hypervisor detected:\n"  // no name after it: not the line Linux prints
                      "clocksource: kvm-clock: mask: 0xffffffffffffffff max_cycles: 0x1cd42e4dffb\n"
                      "# kernel: pvops\n"
                      "ok 1 sysfs.backend\n");
  EXPECT_EQ(facts.linux_lines.size(), 0u);
  EXPECT_FALSE(facts.linux_booted);
}

TEST(LinuxConsoleLines, TheLastClocksourceSwitchIsTheOneKept) {
  const ConsoleFacts facts = ParseConsoleLog(ReadText("hyperv.stock.1.log"));
  EXPECT_EQ(facts.After("clocksource"), "hyperv_clocksource_tsc_page");
}

TEST(PvopsCheckLines, KernelPathsClocksourceVdsoAndPhases) {
  const ConsoleFacts facts = ParseConsoleLog(
      "# kernel: stock (no /sys/kernel/pvops)\n"
      "# cmdline: console=ttyS0 quiet\n"
      "# paths: backend=kvm paravirt=\"eoi,send_ipi\" routed=\"eoi\"\n"
      "# clocksource: current=kvm-clock available=\"kvm-clock tsc\" backend=kvm\n"
      "# clocksource: kvm enabled=0xaea: kvmclock taken\n"
      "# vdso: clocksource=kvm-clock reads=100000 vdso_ns_per_read=85 syscall_ns_per_read=900 "
      "in_user_space=1\n"
      "# phase: name=vdso_clock kernel=stock wall_us=5123456 exits=20345 hypercalls=2010\n"
      "# phase: name=tlb kernel=stock wall_us=77 exits=? hypercalls=? (no KVM counters)\n"
      "# phase: name=idle kernel=stock wall_us=300000 exits=600 hypercalls=1 halt_exits=250 "
      "irq_exits=40 irq_window_exits=3 io_exits=0\n");
  EXPECT_EQ(facts.kernel, "stock (no /sys/kernel/pvops)");
  EXPECT_TRUE(facts.InfoHidden());
  EXPECT_EQ(facts.paths.at("paravirt"), "eoi,send_ipi");
  EXPECT_EQ(facts.paths.at("routed"), "eoi");
  EXPECT_EQ(facts.clocksource_current, "kvm-clock");
  ASSERT_TRUE(facts.clock_reads.has_value());
  EXPECT_EQ(facts.clock_reads->clocksource, "kvm-clock");
  EXPECT_EQ(facts.clock_reads->vdso_ns_per_read, 85);
  EXPECT_EQ(facts.clock_reads->syscall_ns_per_read, 900);
  EXPECT_EQ(facts.clock_reads->in_user_space, 1);
  EXPECT_EQ(facts.phases.at("vdso_clock").wall_us, 5123456);
  EXPECT_EQ(facts.phases.at("vdso_clock").exits, 20345);
  EXPECT_EQ(facts.phases.at("vdso_clock").hypercalls, 2010);
  EXPECT_EQ(facts.phases.at("tlb").wall_us, 77);
  EXPECT_FALSE(facts.phases.at("tlb").exits.has_value());
  EXPECT_FALSE(facts.phases.at("tlb").hypercalls.has_value());
  EXPECT_TRUE(facts.phases.at("tlb").exits_by_reason.empty());
  EXPECT_EQ(facts.phases.at("idle").exits, 600);
  EXPECT_EQ(facts.phases.at("idle").exits_by_reason,
            (std::map<std::string, double>{
                {"halt_exits", 250}, {"irq_exits", 40}, {"irq_window_exits", 3}, {"io_exits", 0}}));
}

// Each reason's median per kernel, and "other": the exits neither a reason nor a hypercall covers.
TEST(Arithmetic, ExitsByReasonAndTheRest) {
  EnvironmentRuns env;
  env.name = "kvm";
  for (int round = 1; round <= 3; ++round) {
    for (auto* runs : {&env.pvops, &env.stock}) {
      KernelRun run;
      run.round = round;
      const double halts = runs == &env.pvops ? 300 + round : 150;
      // 100 + round other exits, 5 hypercalls.
      run.phases["idle"] = {
          300000, halts + 2 + 100 + round + 5, 5, {{"halt_exits", halts}, {"io_exits", 2}}};
      run.phases["tlb"] = {1000, 50, 0, {}};
      runs->push_back(run);
    }
  }
  const std::vector<PhaseComparison> phases = ComparePhases(env);
  const PhaseComparison& idle = Phase(phases, "idle");
  ASSERT_EQ(idle.exits_by_reason.size(), 3u);
  EXPECT_EQ(idle.exits_by_reason[0].reason, "halt_exits");
  EXPECT_DOUBLE_EQ(*idle.exits_by_reason[0].pvops.median, 302);
  EXPECT_DOUBLE_EQ(*idle.exits_by_reason[0].stock.median, 150);
  EXPECT_EQ(idle.exits_by_reason[1].reason, "io_exits");
  EXPECT_EQ(idle.exits_by_reason[2].reason, "other");
  EXPECT_DOUBLE_EQ(*idle.exits_by_reason[2].pvops.median, 102);  // not halts, I/O, hypercalls
  EXPECT_DOUBLE_EQ(*idle.exits_by_reason[2].stock.min, 101);
  EXPECT_DOUBLE_EQ(*idle.exits_by_reason[2].stock.max, 103);
  EXPECT_TRUE(Phase(phases, "tlb").exits_by_reason.empty());  // the runs gave no reasons
}

TEST(PvopsCheckLines, LoglevelDecidesWhetherInfoLinesReachTheConsole) {
  const auto hidden = [](const std::string& cmdline) {
    return ParseConsoleLog("# cmdline: " + cmdline + "\n").InfoHidden();
  };
  EXPECT_FALSE(hidden("console=ttyS0 panic=-1"));
  EXPECT_TRUE(hidden("console=ttyS0 loglevel=6"));
  EXPECT_FALSE(hidden("console=ttyS0 loglevel=7"));
  EXPECT_FALSE(hidden("quiet ignore_loglevel"));
}

// Linux's view ------------------------------------------------------------------------------

std::vector<std::string> Values(const std::vector<FeatureState>& states) {
  std::vector<std::string> out;
  for (const FeatureState& s : states) out.push_back(s.value);
  return out;
}

using Strings = std::vector<std::string>;

TEST(LinuxFeatures, KvmWithEverything) {
  const auto states = LinuxFeatures(ParseConsoleLog(ReadText("kvm.stock.1.log")));
  // hypervisor, clock, PV IPI, PV TLB flush, PV spinlocks, steal time, PV EOI, x2APIC
  EXPECT_EQ(Values(states), (Strings{"kvm", "paravirtual", "on", "on", "on", "on", "on", "on"}));
  EXPECT_EQ(states[7].evidence, "x2apic enabled");
  EXPECT_EQ(states[5].evidence, "implied: kvm-guest: KVM setup pv remote TLB flush");
  for (const FeatureState& s : states) EXPECT_TRUE(s.known) << s.value;
}

TEST(LinuxFeatures, KvmWithoutItsLinesIsOffWhereLinuxWouldHaveSaidSo) {
  const auto states =
      LinuxFeatures(ParseConsoleLog("Linux version 6.12.118\n"
                                    "Hypervisor detected: KVM\n"
                                    "kvm-guest: PV spinlocks disabled, single CPU\n"
                                    "x2apic: IRQ remapping doesn't support X2APIC mode\n"
                                    "clocksource: Switched to clocksource tsc\n"));
  EXPECT_EQ(Values(states),
            (Strings{"kvm", "TSC", "off", "off", "off", "not logged", "off", "off"}));
  EXPECT_EQ(states[4].evidence, "kvm-guest: PV spinlocks disabled, single CPU");
  EXPECT_EQ(states[2].evidence, "no \"kvm-guest: setup PV IPIs\" line");
  EXPECT_FALSE(states[5].known);  // steal time registration is pr_debug
}

TEST(LinuxFeatures, TheApicCallbackLinesStandInForTheHypervisorsOwn) {
  const auto states = LinuxFeatures(
      ParseConsoleLog("Linux version 6.12.118\nHypervisor detected: Microsoft Hyper-V\n"
                      "APIC: send_IPI_mask() replaced with hv_send_ipi_mask()\n"
                      "APIC: eoi() replaced with hv_apic_eoi_write()\n"));
  EXPECT_EQ(states[2].value, "on");
  EXPECT_EQ(states[2].evidence, "APIC: send_IPI_mask() replaced with hv_send_ipi_mask()");
  EXPECT_EQ(states[6].value, "on");
  EXPECT_EQ(states[3].value, "off");
  EXPECT_EQ(states[3].evidence, "no \"Hyper-V: Using hypercall for remote TLB flush\" line");
}

TEST(LinuxFeatures, KvmStealTimeWhenDynamicDebugShowsIt) {
  const auto states =
      LinuxFeatures(ParseConsoleLog("Linux version 6.12.118\nHypervisor detected: KVM\nkvm-guest: "
                                    "stealtime: cpu 0, msr 7fc1f040\n"));
  EXPECT_EQ(states[5].value, "on");
  EXPECT_EQ(states[5].evidence, "kvm-guest: stealtime: cpu 0, msr 7fc1f040");
}

TEST(LinuxFeatures, HyperV) {
  const auto states = LinuxFeatures(ParseConsoleLog(ReadText("hyperv.stock.1.log")));
  EXPECT_EQ(Values(states), (Strings{"hyperv", "paravirtual", "on", "on", "off", "not logged", "on",
                                     "not logged"}));
  EXPECT_EQ(states[0].evidence,
            "Hypervisor detected: Microsoft Hyper-V; Booting paravirtualized kernel on Hyper-V; "
            "Hyper-V: privilege flags low 0x2e7f, high 0x3b8030, hints 0x64e24, misc 0xbed7b2");
  EXPECT_EQ(states[6].evidence, "Hyper-V: Using enlightened APIC (xapic mode)");
}

TEST(LinuxFeatures, XenPvh) {
  const auto states = LinuxFeatures(
      ParseConsoleLog("Linux version 6.12.118\n"
                      "Hypervisor detected: Xen HVM\n"
                      "Xen version 4.17.\n"
                      "Booting kernel on Xen PVH\n"
                      "Xen version: 4.17.1\n"
                      "xen:events: Xen HVM callback vector for event delivery is enabled\n"
                      "clocksource: Switched to clocksource xen\n"));
  EXPECT_EQ(Values(states), (Strings{"xen", "paravirtual", "on", "not logged", "not logged",
                                     "not logged", "not logged", "not logged"}));
  EXPECT_EQ(states[0].evidence,
            "Hypervisor detected: Xen HVM; Booting kernel on Xen PVH; Xen version: 4.17.1");
}

TEST(LinuxFeatures, XenSpinlocksAtDebugLoglevel) {
  const auto states = LinuxFeatures(ParseConsoleLog(
      "Linux version 6.12.118\nHypervisor detected: Xen HVM\nxen: PV spinlocks disabled\n"));
  EXPECT_EQ(states[4].value, "off");
  EXPECT_EQ(states[2].value, "not logged");  // no callback-vector line: nothing either way
}

TEST(LinuxFeatures, VmwareStealTime) {
  const std::string boot = "Linux version 6.12.118\nHypervisor detected: VMware\n"
                           "clocksource: Switched to clocksource tsc-early\n";
  EXPECT_EQ(Values(LinuxFeatures(
                ParseConsoleLog(boot + "vmware: vmware-stealtime: cpu 0, pa 7fc1f040\n"))),
            (Strings{"vmware", "TSC", "not logged", "not logged", "not logged", "on", "not logged",
                     "not logged"}));
  EXPECT_EQ(LinuxFeatures(ParseConsoleLog(boot))[5].value, "off");
}

TEST(LinuxFeatures, NoHypervisorLineIsBareHardwareUnlessInfoLinesAreHidden) {
  const std::string boot = "Linux version 6.12.118\nclocksource: Switched to clocksource tsc\n";
  EXPECT_EQ(Values(LinuxFeatures(ParseConsoleLog(boot))),
            (Strings{"none", "TSC", "off", "off", "off", "off", "off", "not logged"}));
  const auto quiet = LinuxFeatures(ParseConsoleLog(boot + "# cmdline: console=ttyS0 quiet\n"));
  EXPECT_EQ(Values(quiet), (Strings{"not logged", "TSC", "not logged", "not logged", "not logged",
                                    "not logged", "not logged", "not logged"}));
  EXPECT_FALSE(quiet[0].known);
}

TEST(LinuxFeatures, WithoutLinuxsBootLinesNothingIsKnown) {
  const auto states = LinuxFeatures(ParseConsoleLog("# kernel: stock\n"));
  for (const FeatureState& s : states) {
    EXPECT_EQ(s.value, "no log");
    EXPECT_FALSE(s.known);
  }
}

// pvops's view -------------------------------------------------------------------------------

TEST(PvopsFeatures, RoutedOfferedAndNotOffered) {
  const json record = json::parse(ReadText("kvm.pvops.1.json"));
  const std::string log = ReadText("kvm.pvops.1.log");
  const KernelRun run = ParseKernelRun("kvm", "pvops", 1, &record, &log);
  const auto states = PvopsFeatures(run);
  EXPECT_EQ(Values(states),
            (Strings{"kvm", "paravirtual", "on", "off", "on", "on", "on", "not logged"}));
  EXPECT_EQ(states[0].evidence,
            "detect: backend=kvm features=0x01007efb,0x00000000,0x00000aea,0x00000001");
  EXPECT_EQ(states[3].evidence, "offered, not routed: tlb_flush");
  EXPECT_EQ(states[2].evidence, "routed send_ipi");

  KernelRun vmi;
  vmi.backend = "vmi";
  vmi.console = ParseConsoleLog(
      "# clocksource: current=pvops\n# paths: backend=vmi paravirt=\"io_delay,halt,clock\" "
      "routed=\"halt,clock\"\n");
  EXPECT_EQ(Values(PvopsFeatures(vmi)),
            (Strings{"vmware", "paravirtual", "off", "off", "off", "off", "off", "unknown"}));
  EXPECT_EQ(PvopsFeatures(vmi)[6].evidence, "not offered: eoi");
}

TEST(PvopsFeatures, WithoutAPathsLineTheFeaturesAreUnknown) {
  KernelRun run;
  run.backend = "kvm";
  const auto states = PvopsFeatures(run);
  EXPECT_TRUE(states[0].known);
  for (int f = 2; f < 7; ++f) EXPECT_FALSE(states[f].known);
}

// Runs, rounds and the arithmetic ------------------------------------------------------------

TEST(LinuxRuns, ReadsEveryRoundOfEveryEnvironmentInOrder) {
  const LinuxComparison c = Fixture();
  ASSERT_EQ(c.envs.size(), 2u);
  EXPECT_EQ(c.envs[0].name, "kvm");
  EXPECT_EQ(c.envs[1].name, "hyperv");
  ASSERT_EQ(c.envs[0].pvops.size(), 3u);
  ASSERT_EQ(c.envs[0].stock.size(), 3u);
  EXPECT_EQ(c.envs[0].stock[2].round, 3);
  EXPECT_TRUE(c.ignored.empty());
  for (const EnvironmentRuns& env : c.envs)
    for (const auto* runs : {&env.pvops, &env.stock})
      for (const KernelRun& run : *runs) EXPECT_TRUE(run.problems.empty()) << run.problems[0];
  // Round 3's record has no ipi stat: its console's "# phase:" line stands in.
  EXPECT_EQ(WallUs(c.envs[0].stock[2], "ipi"), 1000000);
  // "?" in a record is no figure.
  EXPECT_FALSE(Exits(c.envs[1].pvops[0], "tlb").has_value());
  EXPECT_EQ(WallUs(c.envs[1].pvops[0], "tlb"), 6000000);
}

TEST(LinuxRuns, ARunThatIsNotWhatItsNameSaysIsAProblem) {
  const json record = json::parse(R"({"environments": [{"name": "kvm", "verdict": "fail"}]})");
  const std::string log = "# kernel: stock (no /sys/kernel/pvops)\n";
  const KernelRun run = ParseKernelRun("kvm", "pvops", 2, &record, &log);
  EXPECT_EQ(
      run.problems,
      (Strings{"verdict fail", "named pvops but says '# kernel: stock (no /sys/kernel/pvops)'"}));
  EXPECT_EQ(ParseKernelRun("kvm", "stock", 1, nullptr, nullptr).problems,
            (Strings{"no pvops-run record", "no console log"}));
}

TEST(Arithmetic, MedianAndRange) {
  const Summary even = Summarize({4, 1, 3, 2});
  EXPECT_DOUBLE_EQ(*even.median, 2.5);
  EXPECT_DOUBLE_EQ(*even.min, 1);
  EXPECT_DOUBLE_EQ(*even.max, 4);
  EXPECT_EQ(even.values, (std::vector<double>{4, 1, 3, 2}));  // kept in round order
  EXPECT_DOUBLE_EQ(*Summarize({3, 1, 2}).median, 2);
  EXPECT_FALSE(Summarize({}).median.has_value());
}

TEST(Arithmetic, RatiosPairRoundsByNumber) {
  const auto run = [](int round, std::optional<double> wall) {
    KernelRun r;
    r.round = round;
    r.phases["tlb"].wall_us = wall;
    return r;
  };
  // pvops round 3 has no stock partner; stock round 2's 0 gives no ratio.
  const std::vector<KernelRun> pvops = {run(1, 300), run(2, 10), run(3, 7), run(4, 50)};
  const std::vector<KernelRun> stock = {run(1, 100), run(2, 0), run(4, 100)};
  const Summary r = PairedRatios(pvops, stock, "tlb", WallUs);
  EXPECT_EQ(r.values, (std::vector<double>{3.0, 0.5}));
  EXPECT_DOUBLE_EQ(*r.median, 1.75);
}

TEST(Arithmetic, PerPhaseRatiosSpreadsAndFlags) {
  const std::vector<PhaseComparison> phases = ComparePhases(Fixture().envs[0]);
  ASSERT_EQ(phases.size(), 3u);
  EXPECT_EQ(phases[0].phase, "clock");  // pvops-check's order
  EXPECT_EQ(phases[1].phase, "tlb");
  EXPECT_EQ(phases[2].phase, "ipi");

  // tlb: exits 20000/20000, 21000/20000, 22000/20000; wall 5.0/5.0, 5.2/5.0, 5.1/4.8 (s).
  const PhaseComparison& tlb = Phase(phases, "tlb");
  EXPECT_DOUBLE_EQ(*tlb.exits_ratio.median, 1.05);
  EXPECT_DOUBLE_EQ(*tlb.exits_ratio.min, 1.0);
  EXPECT_DOUBLE_EQ(*tlb.exits_ratio.max, 1.1);
  EXPECT_FALSE(tlb.more_exits);  // 1.05 is the limit, not above it
  EXPECT_DOUBLE_EQ(*tlb.wall_ratio.median, 1.04);
  EXPECT_DOUBLE_EQ(*tlb.wall_ratio.min, 1.0);
  EXPECT_DOUBLE_EQ(*tlb.wall_ratio.max, 5.1 / 4.8);
  EXPECT_FALSE(tlb.slower);  // 4% slower, within the 6.25% spread
  EXPECT_DOUBLE_EQ(*tlb.pvops_exits.median, 21000);
  EXPECT_DOUBLE_EQ(*tlb.stock_hypercalls.median, 1900);
  EXPECT_DOUBLE_EQ(*tlb.pvops_wall.median, 5100000);
  EXPECT_DOUBLE_EQ(*tlb.stock_wall.median, 5000000);

  // ipi: exits 3000/2000 each round; wall 2.0, 2.1, 2.05 times stock's.
  const PhaseComparison& ipi = Phase(phases, "ipi");
  EXPECT_DOUBLE_EQ(*ipi.exits_ratio.median, 1.5);
  EXPECT_TRUE(ipi.more_exits);
  EXPECT_DOUBLE_EQ(*ipi.wall_ratio.median, 2.05);
  EXPECT_DOUBLE_EQ(*ipi.wall_ratio.max - *ipi.wall_ratio.min, 2.1 - 2.0);
  EXPECT_TRUE(ipi.slower);
  EXPECT_EQ(ipi.stock_wall.count, 3);

  // clock: stock has no exits at all, pvops some: no ratio, but flagged.
  const PhaseComparison& clock = Phase(phases, "clock");
  EXPECT_FALSE(clock.exits_ratio.median.has_value());
  EXPECT_TRUE(clock.more_exits);
  EXPECT_DOUBLE_EQ(*clock.wall_ratio.median, 1.0);
  EXPECT_FALSE(clock.slower);

  // One round: no spread, so any slowdown is flagged.
  const std::vector<PhaseComparison> hyperv = ComparePhases(Fixture().envs[1]);
  const PhaseComparison& hyperv_tlb = Phase(hyperv, "tlb");
  EXPECT_DOUBLE_EQ(*hyperv_tlb.wall_ratio.median, 1.2);
  EXPECT_TRUE(hyperv_tlb.slower);
  EXPECT_FALSE(hyperv_tlb.exits_ratio.median.has_value());
  EXPECT_FALSE(hyperv_tlb.more_exits);
}

TEST(Arithmetic, ClockReadsInUserSpaceOrNot) {
  const ClockReadsComparison c = CompareClockReads(Fixture().envs[0]);
  EXPECT_EQ(c.pvops_clocksource, "pvops");
  EXPECT_EQ(c.stock_clocksource, "kvm-clock");
  EXPECT_EQ(c.pvops_in_user_space, "0");
  EXPECT_EQ(c.stock_in_user_space, "1");
  EXPECT_TRUE(c.pvops_leaves_user_space);
  // 900/100, 950/95, 1000/100
  EXPECT_EQ(c.vdso_ratio.values, (std::vector<double>{9.0, 10.0, 10.0}));
  EXPECT_DOUBLE_EQ(*c.vdso_ratio.median, 10.0);
  EXPECT_DOUBLE_EQ(*c.pvops_vdso_ns.median, 950);
  EXPECT_DOUBLE_EQ(*c.stock_syscall_ns.median, 870);
}

// Agreement ---------------------------------------------------------------------------------

TEST(Agreement, AMismatchIsListed) {
  const LinuxComparison c = Fixture();
  const std::vector<FeatureRow> kvm = CompareFeatures(c.envs[0]);
  ASSERT_EQ(kvm.size(), FeatureNames().size());
  EXPECT_EQ(Row(kvm, "hypervisor").agree, "yes");
  EXPECT_EQ(Row(kvm, "clock").agree, "yes");
  EXPECT_EQ(Row(kvm, "PV TLB flush").agree, "no");
  EXPECT_EQ(Row(CompareFeatures(c.envs[1]), "steal time").agree, "n/a");  // Linux: not logged
  EXPECT_EQ(Mismatches(c),
            (Strings{"kvm: PV TLB flush: Linux's own on (kvm-guest: KVM setup pv remote TLB "
                     "flush), pvops off (offered, not routed: tlb_flush)"}));
}

// Hyper-V as KVM offers it: no guest-idle MSR, so Linux turns its PV spinlocks off, while pvops
// waits with HvCallNotifyLongSpinWait. Explained only where Linux's line says why.
TEST(Agreement, AKnownDisagreementIsExplainedOnlyInItsOwnCase) {
  EnvironmentRuns env = Fixture().envs[1];
  ASSERT_EQ(env.name, "hyperv");
  const std::string linux_log = "Linux version 6.12.118\nHypervisor detected: Microsoft Hyper-V\n"
                                "Hyper-V: PV spinlocks disabled\n";
  env.stock[0].console = ParseConsoleLog(linux_log);
  env.pvops[0].console.paths["routed"] = "lock";
  std::vector<FeatureRow> rows = CompareFeatures(env);
  EXPECT_EQ(Row(rows, "PV spinlocks").agree, "no");
  EXPECT_NE(Row(rows, "PV spinlocks").explained.find("HvCallNotifyLongSpinWait"),
            std::string::npos);
  LinuxComparison c;
  c.envs = {env};
  EXPECT_TRUE(Mismatches(c).empty());
  ASSERT_EQ(ExplainedMismatches(c).size(), 1u);
  EXPECT_EQ(ExplainedMismatches(c)[0].rfind("hyperv: PV spinlocks: Linux's own off (", 0), 0u);

  // The same values on KVM, where Linux's line gives another cause: a mismatch.
  EnvironmentRuns kvm = Fixture().envs[0];
  for (KernelRun& run : kvm.stock)
    run.console = ParseConsoleLog("Linux version 6.12.118\nHypervisor detected: KVM\n"
                                  "kvm-guest: PV spinlocks disabled, single CPU\n");
  for (KernelRun& run : kvm.pvops) run.console.paths["routed"] = "lock";
  rows = CompareFeatures(kvm);
  EXPECT_EQ(Row(rows, "PV spinlocks").own.value, "off");
  EXPECT_EQ(Row(rows, "PV spinlocks").pvops.value, "on");
  EXPECT_EQ(Row(rows, "PV spinlocks").agree, "no");
  EXPECT_EQ(Row(rows, "PV spinlocks").explained, "");
}

TEST(Agreement, ASideThatVariesBetweenRoundsIsAMismatch) {
  EnvironmentRuns env = Fixture().envs[0];
  env.stock[1].console = ParseConsoleLog(
      "Linux version 6.12.118\nHypervisor detected: KVM\nkvm-guest: PV spinlocks disabled, "
      "single CPU\nkvm-guest: setup PV IPIs\nclocksource: Switched to clocksource kvm-clock\n");
  const std::vector<FeatureRow> rows = CompareFeatures(env);
  const FeatureRow& spinlocks = Row(rows, "PV spinlocks");
  EXPECT_EQ(spinlocks.own.value, "varies (round 1: on, round 2: off, round 3: on)");
  EXPECT_EQ(spinlocks.agree, "no");
  EXPECT_EQ(Row(rows, "PV IPI").agree, "yes");
}

// Outputs -----------------------------------------------------------------------------------

// Each text must stand in the report; a failure shows the report.
void ExpectIn(const std::string& md, const std::vector<std::string>& texts) {
  for (const std::string& text : texts)
    EXPECT_NE(md.find(text), std::string::npos) << text << "\nnot in:\n" << md;
}

TEST(LinuxReport, MarkdownSection) {
  const LinuxComparison c = Fixture();
  const std::string md = ReportMarkdown({.date = "d", .host_name = "h"}, {}, {}, "", &c);
  EXPECT_EQ(md.find("## Environments"), std::string::npos);
  ExpectIn(md,
           {
               "## pvops vs Linux's own",
               "No bench run given (--in)",
               "| kvm | PV TLB flush | on | off | **no** | Linux: `kvm-guest: KVM setup pv "
               "remote TLB flush`; pvops: `offered, not routed: tlb_flush` |",
               "| hyperv | steal time | _not logged_ | off | n/a |",
               "Mismatches (1):\n\n- kvm: PV TLB flush:",
               "#### kvm (3 pvops rounds, 3 stock rounds)",
               "| ipi | 1.50 (1.50–1.50) | 2.05 (2.00–2.10) | 3000 / 2000 | 1000 / 900 | "
               "2050000 / 1000000 | - | **exits**, **slower** |",
               "| tlb | 1.05 (1.00–1.10) | 1.04 (1.00–1.06) |",
               "| clock read, ns per read | - | 10.00 (9.00–10.00) |",
               "#### hyperv (1 pvops round, 1 stock round)",
               "| tlb | - | 1.20 (1 round) | - / - | - / - | 6000000 / 5000000 | - | **slower** |",
           });
}

TEST(LinuxReport, AbsentWithoutLinuxRuns) {
  const std::string md = ReportMarkdown({.date = "d", .host_name = "h"}, {}, {}, "chart.svg");
  EXPECT_EQ(md.find("## pvops vs Linux's own"), std::string::npos);
  EXPECT_NE(md.find("\npvops vs Linux's own: not compared (no --linux runs given).\n"),
            std::string::npos);
  EXPECT_FALSE(ResultsJson({}, {}, {}).contains("linux_comparison"));
}

TEST(LinuxReport, ResultsJsonMember) {
  const LinuxComparison c = Fixture();
  const json out = ResultsJson({.date = "d"}, {}, {}, &c);
  ASSERT_TRUE(out.contains("linux_comparison"));
  const json& linux_runs = out.at("linux_comparison");
  EXPECT_EQ(linux_runs.at("mismatches").size(), 1u);
  const json& kvm = linux_runs.at("environments").at(0);
  EXPECT_EQ(kvm.at("name"), "kvm");
  EXPECT_EQ(kvm.at("rounds").at("stock"), json::parse("[1, 2, 3]"));
  const json& tlb = kvm.at("phases").at(1);
  EXPECT_EQ(tlb.at("phase"), "tlb");
  EXPECT_DOUBLE_EQ(tlb.at("exits_ratio").at("median").get<double>(), 1.05);
  EXPECT_EQ(tlb.at("pvops").at("wall_us").at("values"),
            json::parse("[5000000.0, 5200000.0, 5100000.0]"));
  EXPECT_FALSE(tlb.at("slower").get<bool>());
  EXPECT_EQ(kvm.at("agreement").at(3).at("feature"), "PV TLB flush");
  EXPECT_EQ(kvm.at("agreement").at(3).at("agree"), "no");
  EXPECT_TRUE(kvm.at("clock_reads").at("pvops_leaves_user_space").get<bool>());
  const json& hyperv_tlb = linux_runs.at("environments").at(1).at("phases").at(0);
  EXPECT_TRUE(hyperv_tlb.at("exits_ratio").at("median").is_null());
}

}  // namespace
}  // namespace pvops_bench
