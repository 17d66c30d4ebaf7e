// SPDX-License-Identifier: MIT
// The VMI backend through pvops_init on the simulated VMware machine: what it selects and
// reports, each op reaching the ROM entry get_reloc named with the System V registers, the
// deferred page updates of lazy mode, the ROM's APIC calls, the clock's rate sources, and the
// refusals that leave native in charge.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <asm/processor-flags.h>

#include "backends/vmi/vmi.h"
#include "core/cpu_area.h"
#include "core/runtime.h"
#include "sim_isa.h"
#include "vmware_machine.h"

namespace pvops::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class VmiBackendTest : public VmwareMachineTest {
 protected:
  void BootWithRom(const std::vector<uint8_t>& rom) {
    PlaceRom(rom);
    ASSERT_EQ(Init(), PVOPS_OK);
    ASSERT_EQ(pvops_get_info()->backend, uint32_t{PVOPS_BACKEND_VMI}) << pvops_get_info()->fallback;
    ForgetRomCalls();
    sim_.ClearLogs();
  }
  const pvops_info& Info() const { return *pvops_get_info(); }
  bool TouchedTheBackdoor() const {
    for (const sim::HypercallRecord& r : sim_.hypercalls()) {
      if (r.kind == sim::Exit::kBackdoor || r.kind == sim::Exit::kVmcall ||
          r.kind == sim::Exit::kVmmcall) {
        return true;
      }
    }
    return false;
  }
};

TEST_F(VmiBackendTest, SelectsTheRomAndReportsIt) {
  PlaceRom(LoadRomImage());
  ASSERT_EQ(Init(), PVOPS_OK);
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_VMI});
  EXPECT_STREQ(Info().signature, "cVmi");
  EXPECT_EQ(Info().base_leaf, 0u) << "found by the ROM, not by CPUID";
  EXPECT_EQ(Info().version, kVmxVersion) << "the backdoor's GETVERSION";
  EXPECT_EQ(Info().features[0], kRomPhys);
  EXPECT_EQ(Info().features[1], 0x01000300u) << "ROM code 1.0, API 3.0";
  EXPECT_EQ(Info().features[2],
            vmi::kFeatureRom | vmi::kFeatureBackdoorPort | vmi::kFeatureRomApic);
  EXPECT_EQ(Info().features[3], 0u) << "GETHZ could not tell: the rate is measured";
  EXPECT_STREQ(Info().fallback, "");
  EXPECT_STREQ(Info().notes, "the hypervisor told no TSC rate");
  EXPECT_EQ(EmptySlotOf(pvops_table), "");
  EXPECT_EQ(pvops_tsc_khz(), kTscKhz) << "the native measurement (CPUID 0x15 here)";
}

TEST_F(VmiBackendTest, CpuOpsGoThroughTheRom) {
  BootWithRom(LoadRomImage());
  sim_.SetMsr(0x10, 0x1234);
  pvops_cpuid_regs leaf0{};
  pvops_cpuid(0, 0, &leaf0);
  EXPECT_EQ(leaf0.ebx, 0x756e6547u);  // "Genu"
  EXPECT_EQ(pvops_read_msr(0x10), 0x1234u);
  pvops_write_msr(0x10, 0x5678);
  EXPECT_EQ(sim_.Msr(0x10), 0x5678u);
  pvops_io_delay();
  EXPECT_THAT(sim_.PortWrites(0x80), ElementsAre(0u));
  EXPECT_THAT(CallNumbers(),
              ElementsAre(VMI_CALL_CPUID, VMI_CALL_RDMSR, VMI_CALL_WRMSR, VMI_CALL_IODelay));
  EXPECT_EQ(CallsOf(VMI_CALL_WRMSR)[0].in.rdi, 0x10u);
  EXPECT_EQ(CallsOf(VMI_CALL_WRMSR)[0].in.rsi, 0x5678u);
  EXPECT_EQ(sim_.hypercalls().back().stub,
            reinterpret_cast<const void*>(EntryOf(VMI_CALL_IODelay)));
  // The safe MSR accessors stay the library's own: a #GP inside the ROM could not be recovered.
  uint64_t value = 0;
  EXPECT_EQ(pvops_read_msr_safe(0x4b564dff, &value), PVOPS_ERR_FAULT);
  EXPECT_EQ(CallsOf(VMI_CALL_RDMSR).size(), 1u);
}

TEST_F(VmiBackendTest, InterruptFlagOpsGoThroughTheRom) {
  BootWithRom(LoadRomImage());
  pvops_irq_enable();
  EXPECT_TRUE(sim_.interrupts_enabled());
  const uint64_t flags = pvops_irq_save();
  EXPECT_EQ(flags, uint64_t{X86_EFLAGS_IF});
  EXPECT_FALSE(sim_.interrupts_enabled());
  pvops_restore_flags(flags);
  EXPECT_TRUE(sim_.interrupts_enabled());
  pvops_irq_disable();
  EXPECT_EQ(pvops_save_flags(), 0u);
  pvops_safe_halt();
  EXPECT_TRUE(sim_.interrupts_enabled()) << "VMI's Halt enables interrupts with hlt";
  EXPECT_THAT(CallNumbers(),
              ElementsAre(VMI_CALL_EnableInterrupts, VMI_CALL_GetInterruptMask,
                          VMI_CALL_DisableInterrupts, VMI_CALL_SetInterruptMask,
                          VMI_CALL_DisableInterrupts, VMI_CALL_GetInterruptMask, VMI_CALL_Halt));
  EXPECT_EQ(CallsOf(VMI_CALL_SetInterruptMask)[0].in.rdi, uint64_t{X86_EFLAGS_IF});
}

TEST_F(VmiBackendTest, PagingGoesThroughTheRom) {
  BootWithRom(LoadRomImage());
  pvops_write_cr3(0x123000);
  EXPECT_EQ(sim_.cr3(), 0x123000u);
  EXPECT_EQ(pvops_read_cr3(), 0x123000u);

  pvops_pte table[4] = {};
  pvops_set_pte(&table[0], 0x5003);
  EXPECT_EQ(table[0], 0x5003u);
  pvops_update_pte(&table[1], 0xffffc80000001000, 0x6003);
  EXPECT_EQ(table[1], 0x6003u);
  EXPECT_EQ(pvops_read_pte(&table[1]), 0x6003u);
  pvops_flush_tlb_one(0xffffc80000001000);
  EXPECT_THAT(sim_.invlpgs(),
              ElementsAre(::testing::Field(&sim::CpuEvent::value, 0xffffc80000001000u)));
  pvops_flush_tlb_local();
  EXPECT_EQ(sim_.cr3_writes().back().value, 0x123000u) << "FlushTLB(TLB) reloads CR3";

  const std::vector<RomCallRecord> sets = CallsOf(VMI_CALL_SetPxELong);
  ASSERT_EQ(sets.size(), 2u);
  EXPECT_EQ(sets[0].in.rdi, 0x5003u);
  EXPECT_EQ(sets[0].in.rsi, reinterpret_cast<uintptr_t>(&table[0]));
  EXPECT_EQ(sets[0].in.rdx, 0u) << "a new entry maps nothing yet";
  EXPECT_EQ(sets[1].in.rdx, uint64_t{VMI_PAGE_CURRENT_AS});
  EXPECT_EQ(sets[1].in.rcx, 0xffffc80000001000u);
  EXPECT_EQ(CallsOf(VMI_CALL_FlushTLB)[0].in.rdi, uint64_t{VMI_FLUSH_TLB});
  EXPECT_TRUE(CallsOf(VMI_CALL_UpdatePxELong).empty()) << "NOP: nothing to notify";
}

TEST_F(VmiBackendTest, LazyModeDefersUpdatesUntilSetLazyModeZero) {
  BootWithRom(LoadRomImage());
  pvops_pte table[3] = {0x1003, 0x2003, 0x3003};
  pvops_lazy_mmu_begin();
  for (uint32_t i = 0; i < 3; ++i)
    pvops_update_pte(&table[i], 0x400000 + i * 0x1000, 0xa003 + i * 0x1000);
  EXPECT_EQ(table[0], 0x1003u) << "deferred: the table is untouched";
  EXPECT_EQ(pvops_read_pte(&table[2]), 0xc003u) << "this CPU reads what it queued";
  EXPECT_THAT(CallNumbers(), ElementsAre(VMI_CALL_SetLazyMode));
  pvops_lazy_mmu_end();
  EXPECT_EQ(table[0], 0xa003u);
  EXPECT_EQ(table[2], 0xc003u);
  EXPECT_THAT(CallNumbers(),
              ElementsAre(VMI_CALL_SetLazyMode, VMI_CALL_SetPxELong, VMI_CALL_SetPxELong,
                          VMI_CALL_SetPxELong, VMI_CALL_SetLazyMode));
  EXPECT_EQ(CallsOf(VMI_CALL_SetLazyMode)[0].in.rdi, uint64_t{VMI_LAZY_MMU});
  EXPECT_EQ(CallsOf(VMI_CALL_SetLazyMode)[1].in.rdi, uint64_t{VMI_LAZY_NONE});
  const std::vector<RomCallRecord> sets = CallsOf(VMI_CALL_SetPxELong);
  EXPECT_EQ(sets[0].in.rdx, uint64_t{VMI_PAGE_CURRENT_AS | VMI_PAGE_DEFER});
  EXPECT_EQ(sets[1].in.rcx, 0x401000u);
  EXPECT_EQ(core::CounterValue(core::Counter::kLazyBatches), 1u);
  EXPECT_EQ(core::CounterValue(core::Counter::kLazyBatchedUpdates), 3u);
}

TEST_F(VmiBackendTest, ALaterUpdateOfTheSameEntryWins) {
  BootWithRom(LoadRomImage());
  pvops_pte entry = 0;
  pvops_lazy_mmu_begin();
  pvops_update_pte(&entry, 0x1000, 0x1003);
  pvops_update_pte(&entry, 0x1000, 0x2003);
  EXPECT_EQ(pvops_read_pte(&entry), 0x2003u);
  pvops_lazy_mmu_end();
  EXPECT_EQ(entry, 0x2003u);
}

// Each CPU defers into its own queue, the VMI part of the area the kernel handed it: CPU 1's
// update waits there while CPU 0's queue stays empty.
TEST_F(VmiBackendTest, ASecondaryDefersIntoTheQueueInItsArea) {
  BootWithRom(LoadRomImage());
  auto* area = static_cast<core::CpuArea*>(NewCpuArea());
  ASSERT_EQ(pvops_set_cpu_area(1, area), PVOPS_OK);
  sim_.RunOnCpu(1, [] { ASSERT_EQ(pvops_cpu_online(1), PVOPS_OK); });
  pvops_pte entry = 0;
  sim_.RunOnCpu(1, [&] {
    pvops_lazy_mmu_begin();
    pvops_update_pte(&entry, 0x5000, 0x5003);
  });
  EXPECT_EQ(area->vmi.depth, 1u);
  ASSERT_EQ(area->vmi.count, 1u);
  EXPECT_EQ(area->vmi.updates[0].ptep, &entry);
  EXPECT_EQ(area->vmi.updates[0].value, 0x5003u);
  EXPECT_EQ(core::AreaOf(0)->vmi.count, 0u);
  EXPECT_EQ(entry, 0u) << "deferred";
  sim_.RunOnCpu(1, [] { pvops_lazy_mmu_end(); });
  EXPECT_EQ(entry, 0x5003u);
  EXPECT_EQ(area->vmi.count, 0u);
}

TEST_F(VmiBackendTest, AFullQueueAndEveryFlushPointIssueTheUpdates) {
  BootWithRom(LoadRomImage());
  pvops_pte table[vmi::kLazyQueueEntries + 2] = {};
  pvops_lazy_mmu_begin();
  for (uint32_t i = 0; i <= vmi::kLazyQueueEntries; ++i) pvops_update_pte(&table[i], 0, i + 1);
  EXPECT_EQ(CallsOf(VMI_CALL_SetPxELong).size(), vmi::kLazyQueueEntries) << "full: issued";
  EXPECT_EQ(table[vmi::kLazyQueueEntries], 0u) << "the 17th waits";

  pvops_flush_tlb_one(0x7000);  // a flush must not find updates still queued
  EXPECT_EQ(table[vmi::kLazyQueueEntries], vmi::kLazyQueueEntries + 1);
  EXPECT_EQ(CallNumbers().back(), uint32_t{VMI_CALL_InvalPage});

  pvops_update_pte(&table[vmi::kLazyQueueEntries + 1], 0, 0x99);
  pvops_lazy_mmu_flush();  // issues, and the ROM's own deferred work ends at mode 0
  EXPECT_EQ(table[vmi::kLazyQueueEntries + 1], 0x99u);
  const std::vector<RomCallRecord> modes = CallsOf(VMI_CALL_SetLazyMode);
  ASSERT_EQ(modes.size(), 3u);
  EXPECT_EQ(modes[1].in.rdi, uint64_t{VMI_LAZY_NONE});
  EXPECT_EQ(modes[2].in.rdi, uint64_t{VMI_LAZY_MMU});
  pvops_lazy_mmu_end();
  EXPECT_EQ(CallsOf(VMI_CALL_SetLazyMode).back().in.rdi, uint64_t{VMI_LAZY_NONE});
}

TEST_F(VmiBackendTest, EoiAndIpisGoThroughTheRomApicCalls) {
  BootWithRom(LoadRomImage());
  OnlineCpus(2);
  ForgetRomCalls();
  pvops_eoi();
  EXPECT_EQ(lapic_.eoi_count(0), 1u);
  const std::vector<RomCallRecord> eoi = CallsOf(VMI_CALL_APICWrite);
  ASSERT_EQ(eoi.size(), 1u);
  EXPECT_EQ(eoi[0].in.rdi, reinterpret_cast<uintptr_t>(lapic_.page())) << "xAPIC: the page";
  EXPECT_EQ(eoi[0].in.rsi, 0xb0u);

  ForgetRomCalls();
  ASSERT_EQ(pvops_send_ipi(pvops::CpuSet::Only(1).raw(), 0x40), PVOPS_OK);
  ASSERT_EQ(lapic_.sent().size(), 1u);
  EXPECT_EQ(lapic_.sent()[0].destination, 1u);
  EXPECT_EQ(lapic_.sent()[0].vector(), 0x40);
  const std::vector<RomCallRecord> writes = CallsOf(VMI_CALL_APICWrite);
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_EQ(writes[0].in.rsi, 0x310u) << "ICR high first";
  EXPECT_EQ(writes[1].in.rsi, 0x300u) << "then ICR low, which sends";
  EXPECT_EQ(CallsOf(VMI_CALL_APICRead).size(), 1u) << "one look at delivery status";
  EXPECT_EQ(pvops_send_ipi(pvops::CpuSet::Only(5).raw(), 0x40), PVOPS_ERR_INVALID)
      << "CPU 5 is not online";
}

TEST_F(VmiBackendTest, X2apicModeHandsTheRomNoPage) {
  lapic_.SetX2apic(true);
  model_.x2apic = true;
  BootWithRom(LoadRomImage());
  pvops_eoi();
  const std::vector<RomCallRecord> eoi = CallsOf(VMI_CALL_APICWrite);
  ASSERT_EQ(eoi.size(), 1u);
  EXPECT_EQ(eoi[0].in.rdi, 0u);
  EXPECT_EQ(lapic_.eoi_count(0), 1u);
}

TEST_F(VmiBackendTest, TheRomAsksTheBackdoorForTheRates) {
  gethz_tsc_hz_ = 3'000'000'000;
  gethz_apic_hz_ = 1'000'000'000;
  BootWithRom(LoadRomImage());
  EXPECT_STREQ(Info().notes, "");
  EXPECT_EQ(pvops_tsc_khz(), 3'000'000u);
  EXPECT_EQ(Info().features[3], 3'000'000u);
  EXPECT_EQ(Info().features[2] & vmi::kFeatureTscKhzFromHypervisor,
            vmi::kFeatureTscKhzFromHypervisor);
  EXPECT_EQ(Info().features[2] & vmi::kFeatureApicHzFromHypervisor,
            vmi::kFeatureApicHzFromHypervisor);
  EXPECT_EQ(vmi::g_state.tsc_source, vmi::FrequencySource::kRom);
  EXPECT_EQ(vmi::g_state.apic_hz, 1'000'000'000u);
  EXPECT_EQ(Info().paravirt & PVOPS_PV_TSC_KHZ, uint32_t{PVOPS_PV_TSC_KHZ}) << "a stated rate";

  // The clock reads the TSC through the ROM and scales it by that rate.
  sim_.SetTsc(30'000'000'000);
  const uint64_t ns = pvops_clock_ns();
  EXPECT_GE(ns, 10'000'000'000u);
  EXPECT_LT(ns, 10'000'001'000u);
  EXPECT_EQ(CallNumbers().back(), uint32_t{VMI_CALL_RDTSC});
}

TEST_F(VmiBackendTest, TheTimingLeafBeatsTheRom) {
  VmwareCpuid(pvops_cpuid_regs{2'500'000, 1'000'000, 0, 0});
  gethz_tsc_hz_ = 3'000'000'000;
  gethz_apic_hz_ = 1'000'000'000;
  BootWithRom(LoadRomImage());
  EXPECT_EQ(pvops_tsc_khz(), 2'500'000u);
  EXPECT_EQ(vmi::g_state.tsc_source, vmi::FrequencySource::kCpuidLeaf);
  EXPECT_EQ(vmi::g_state.apic_hz, 1'000'000'000u);
  EXPECT_EQ(Info().base_leaf, 0x40000000u);
  EXPECT_STREQ(Info().signature, "cVmi") << "the ROM outranks the block";
}

TEST_F(VmiBackendTest, InsaneRatesAreIgnored) {
  gethz_tsc_hz_ = 5;  // 5 Hz
  gethz_apic_hz_ = 7;
  BootWithRom(LoadRomImage());
  EXPECT_EQ(Info().features[3], 0u);
  EXPECT_EQ(pvops_tsc_khz(), kTscKhz);
  // The clock is the ROM's, at the native measurement, which is no rate the hypervisor stated.
  EXPECT_EQ(Info().paravirt & PVOPS_PV_CLOCK, uint32_t{PVOPS_PV_CLOCK});
  EXPECT_EQ(Info().paravirt & PVOPS_PV_TSC_KHZ, 0u);
}

// The clock is the TSC at a known rate, and VMware keeps the vCPUs' TSCs in step: user space
// may read it by rdtsc, with no page.
TEST_F(VmiBackendTest, UserSpaceMayReadTheTscItself) {
  gethz_tsc_hz_ = 2'000'000'000;
  BootWithRom(LoadRomImage());
  pvops_user_clock clock{};
  clock.page_phys = 1;
  ASSERT_EQ(pvops_get_user_clock(&clock), PVOPS_OK);
  EXPECT_EQ(clock.kind, uint32_t{PVOPS_USER_CLOCK_TSC});
  EXPECT_EQ(clock.stable, 1u);
  EXPECT_EQ(clock.page, nullptr);
  EXPECT_EQ(clock.page_phys, 0u);
  // What user space computes from the TSC and the rate is the kernel's clock (the simulated
  // TSC moves on a little as the read runs).
  sim_.SetTsc(6'000'000'000);
  const uint64_t from_tsc = 6'000'000'000u * 1'000'000 / pvops_tsc_khz();
  const uint64_t ns = pvops_clock_ns();
  EXPECT_GE(ns, from_tsc);
  EXPECT_LT(ns, from_tsc + 1'000);
}

TEST_F(VmiBackendTest, NoUserClockWhereTheClockStaysNative) {
  VmwareCpuid();  // no timing leaf, no ROM, and GETHZ cannot tell: no clock of the backend's
  ASSERT_EQ(Init(), PVOPS_OK);
  ASSERT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_VMI});
  EXPECT_EQ(Info().paravirt & PVOPS_PV_CLOCK, 0u);
  pvops_user_clock clock{};
  EXPECT_EQ(pvops_get_user_clock(&clock), PVOPS_ERR_UNSUPPORTED);
  EXPECT_EQ(clock.kind, uint32_t{PVOPS_USER_CLOCK_NONE});
}

TEST_F(VmiBackendTest, TheRawHypercallIsTheBackdoor) {
  BootWithRom(LoadRomImage());
  int64_t result = 0;
  EXPECT_EQ(pvops_hypercall(VMWARE_CMD_GETVERSION, 0xffffffff, 0, 0, 0, 0, &result), PVOPS_OK);
  EXPECT_EQ(result, int64_t{kVmxVersion});
  EXPECT_EQ(pvops_hypercall(0x7f, 0, 0, 0, 0, 0, &result), PVOPS_OK);
  EXPECT_EQ(result, 0xffffffff) << "vmport's answer to an unknown command";
  EXPECT_EQ(pvops_hypercall(VMWARE_CMD_GETVERSION, 0, 1, 0, 0, 0, &result), PVOPS_ERR_INVALID);
  EXPECT_EQ(pvops_hypercall(uint64_t{1} << 32, 0, 0, 0, 0, 0, &result), PVOPS_ERR_INVALID);
}

// Init picks the raw op for the backdoor's path; each call is then exactly one entry on that
// path with the low-bandwidth registers, counted once as a hypercall and as a backdoor call.
TEST_F(VmiBackendTest, TheRawHypercallOpIsFixedAtInitForItsPath) {
  struct PathCase {
    uint32_t leaf_features;
    sim::Exit exit;
    uint64_t dx;
  };
  const PathCase cases[] = {{0, sim::Exit::kBackdoor, VMWARE_BACKDOOR_PORT},
                            {VMWARE_CPUID_FEATURE_VMCALL, sim::Exit::kVmcall, 0},
                            {VMWARE_CPUID_FEATURE_VMMCALL, sim::Exit::kVmmcall, 0}};
  std::vector<decltype(pvops_table.hypercall.call)> ops;
  for (const PathCase& c : cases) {
    SCOPED_TRACE(static_cast<int>(c.exit));
    VmwareCpuid(pvops_cpuid_regs{2'400'000, 1'000'000, c.leaf_features, 0});
    ASSERT_EQ(Init(), PVOPS_OK);
    ASSERT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_VMI});
    ops.push_back(pvops_table.hypercall.call);
    sim_.ClearLogs();
    const uint64_t hypercalls = core::CounterValue(core::Counter::kHypercalls);
    const uint64_t backdoor = vmi::kCounters.Value(vmi::Counter::kBackdoorCalls);
    int64_t result = 0;
    ASSERT_EQ(pvops_hypercall(VMWARE_CMD_GETVERSION, 0x1234, 0, 0, 0, 0, &result), PVOPS_OK);
    EXPECT_EQ(result, int64_t{kVmxVersion});
    ASSERT_EQ(sim_.hypercalls().size(), 1u);
    const sim::HypercallRecord& call = sim_.hypercalls().back();
    EXPECT_EQ(call.kind, c.exit);
    EXPECT_EQ(call.in.rax, uint64_t{VMWARE_BACKDOOR_MAGIC});
    EXPECT_EQ(call.in.rbx, 0x1234u);
    EXPECT_EQ(call.in.rcx, uint64_t{VMWARE_CMD_GETVERSION});
    EXPECT_EQ(call.in.rdx, c.dx);
    EXPECT_EQ(core::CounterValue(core::Counter::kHypercalls), hypercalls + 1);
    EXPECT_EQ(vmi::kCounters.Value(vmi::Counter::kBackdoorCalls), backdoor + 1);
    // What the low-bandwidth call cannot carry is refused before the hypervisor sees it.
    result = 77;
    EXPECT_EQ(pvops_hypercall(VMWARE_CMD_GETVERSION, uint64_t{1} << 32, 0, 0, 0, 0, &result),
              PVOPS_ERR_INVALID);
    EXPECT_EQ(result, 0);
    EXPECT_EQ(pvops_hypercall(VMWARE_CMD_GETVERSION, 0, 0, 0, 0, 1, nullptr), PVOPS_ERR_INVALID);
    EXPECT_EQ(sim_.hypercalls().size(), 1u);
    EXPECT_EQ(core::CounterValue(core::Counter::kHypercalls), hypercalls + 1);
    EXPECT_EQ(vmi::kCounters.Value(vmi::Counter::kBackdoorCalls), backdoor + 1);
    EXPECT_EQ(pvops_hypercall(VMWARE_CMD_GETVERSION, 0, 0, 0, 0, 0, nullptr), PVOPS_OK)
        << "no place for the result is fine";
  }
  EXPECT_NE(ops[0], ops[1]);
  EXPECT_NE(ops[1], ops[2]);
  EXPECT_NE(ops[0], ops[2]);
}

TEST_F(VmiBackendTest, ABadRomAloneFallsBackToNativeWithTheReason) {
  for (const char* kind : {"checksum", "offset", "length"}) {
    SCOPED_TRACE(kind);
    sim_.ClearLogs();
    PlaceRom(LoadRomImage(kind));
    ASSERT_EQ(Init(), PVOPS_OK);
    EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_NATIVE});
    EXPECT_THAT(Info().fallback,
                StartsWith("vmi init failed (bad-data): VMI ROM at 0xc3000 refused: "));
    EXPECT_FALSE(TouchedTheBackdoor()) << "nothing vouched for it";
    EXPECT_EQ(sim_.exits(sim::Exit::kStubCall), 0u) << "a refused ROM never runs";
    window_.Place(std::vector<uint8_t>(2048, 0), kRomPhys);
  }
}

TEST_F(VmiBackendTest, ARomWhoseInitFailsIsNotUsed) {
  init_override_ = VMI_INIT_NO_HYPERVISOR;
  PlaceRom(LoadRomImage());
  ASSERT_EQ(Init(), PVOPS_OK);
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_NATIVE});
  EXPECT_THAT(Info().fallback, HasSubstr("init returned 1 (its hypervisor did not answer)"));
}

TEST_F(VmiBackendTest, ABadRomOnVmwareLeavesTheBackdoorWithNativePaging) {
  VmwareCpuid(pvops_cpuid_regs{2'100'000, 1'000'000, 0, 0});
  PlaceRom(LoadRomImage("offset"));
  ASSERT_EQ(Init(), PVOPS_OK);
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_VMI});
  EXPECT_STREQ(Info().signature, "cVmi");
  EXPECT_STREQ(Info().fallback, "") << "the vmi candidate was not refused";
  EXPECT_THAT(Info().notes, StartsWith("VMI ROM at 0xc3000 refused: PCI header offset"));
  EXPECT_EQ(Info().features[0], 0u);
  EXPECT_EQ(Info().features[2], vmi::kFeatureRomRefused | vmi::kFeatureBackdoorPort |
                                    vmi::kFeatureTscKhzFromHypervisor |
                                    vmi::kFeatureApicHzFromHypervisor);
  EXPECT_EQ(pvops_tsc_khz(), 2'100'000u);
  ForgetRomCalls();
  pvops_write_cr3(0x8000);
  EXPECT_EQ(sim_.cr3(), 0x8000u);
  EXPECT_EQ(sim_.exits(sim::Exit::kStubCall), 0u) << "paging is native";
}

TEST_F(VmiBackendTest, PlainVmwareUsesVmcallWhenTheLeafOffersIt) {
  VmwareCpuid(pvops_cpuid_regs{2'400'000, 1'000'000, VMWARE_CPUID_FEATURE_VMCALL, 0});
  ASSERT_EQ(Init(), PVOPS_OK);
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_VMI});
  EXPECT_STREQ(Info().signature, "VMwareVMware");
  EXPECT_STREQ(Info().fallback, "");
  EXPECT_STREQ(Info().notes, "no VMI ROM: cpu, irq and paging ops stay native");
  EXPECT_EQ(Info().features[2] & vmi::kFeatureBackdoorVmcall, vmi::kFeatureBackdoorVmcall);
  EXPECT_EQ(sim_.exits(sim::Exit::kBackdoor), 0u) << "never the port when vmcall is offered";
  int64_t result = 0;
  EXPECT_EQ(pvops_hypercall(VMWARE_CMD_GETVERSION, 0xffffffff, 0, 0, 0, 0, &result), PVOPS_OK);
  EXPECT_EQ(result, int64_t{kVmxVersion});
  EXPECT_EQ(sim_.hypercalls().back().kind, sim::Exit::kVmcall);
  EXPECT_EQ(pvops_tsc_khz(), 2'400'000u);
}

TEST_F(VmiBackendTest, PlainVmwareWithoutAnAnsweringBackdoorIsRefused) {
  VmwareCpuid();
  backdoor_present_ = false;
  ASSERT_EQ(Init(), PVOPS_OK);
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_NATIVE});
  EXPECT_THAT(Info().fallback,
              HasSubstr("VMwareVMware at 0x40000000, but GETVERSION got no answer"));
}

TEST_F(VmiBackendTest, AXenPvEntryTouchesNeitherRomNorBackdoor) {
  PlaceRom(LoadRomImage());
  VmwareCpuid();
  Init(nullptr, PVOPS_ENTRY_XEN_PV);
  EXPECT_NE(Info().backend, uint32_t{PVOPS_BACKEND_VMI});
  EXPECT_FALSE(TouchedTheBackdoor());
  EXPECT_EQ(sim_.exits(sim::Exit::kStubCall), 0u);
}

TEST_F(VmiBackendTest, TheRomShutsTheMachineDown) {
  BootWithRom(LoadRomImage());
  sim::SimDebugExit exit_device(sim_);
  EXPECT_EXIT(pvops_shutdown(0x10), ::testing::ExitedWithCode(33), "");
}

// A kernel whose direct map is NX (Linux) hands out a read-only executable view through
// env.map_exec: every call runs there (the stub handler knows no other ROM address).
const RomWindow* g_window;
const void* ExecView(uint64_t pa, uint64_t) { return g_window->ExecAt(pa); }
const void* NoExecView(uint64_t, uint64_t) { return nullptr; }

TEST_F(VmiBackendTest, TheRomRunsWhereTheKernelMapsItExecutable) {
  g_window = &window_;
  map_exec_ = ExecView;
  UseExecView();
  BootWithRom(LoadRomImage());
  pvops_cpuid_regs regs{};
  pvops_cpuid(0, 0, &regs);
  EXPECT_THAT(CallNumbers(), ElementsAre(uint32_t{VMI_CALL_CPUID}));
  EXPECT_GT(pvops_get_counter("vmi_rom_calls"), 0u);
}

TEST_F(VmiBackendTest, NoExecutableMappingLeavesNative) {
  map_exec_ = NoExecView;
  PlaceRom(LoadRomImage());
  ASSERT_EQ(Init(), PVOPS_OK);
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_NATIVE});
  EXPECT_STREQ(Info().fallback,
               "vmi init failed (bad-data): VMI ROM at 0xc3000 refused: the kernel gives no "
               "executable mapping of it");
  EXPECT_EQ(sim_.exits(sim::Exit::kStubCall), 0u);
}

}  // namespace
}  // namespace pvops::test
