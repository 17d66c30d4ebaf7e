// SPDX-License-Identifier: MIT
// The native table and the native backend as the core sees it.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>

#include "backends/native/native.h"
#include "bare_metal_machine.h"
#include "core/backend.h"
#include "core/paravirt_ops.h"
#include "hw/console_and_exit.h"
#include "hw/cpu_instructions.h"
#include "hw/lapic.h"
#include "hw/paging.h"
#include "hw/tsc.h"

namespace pvops::test {
namespace {

class NativeTableTest : public BareMetalMachineTest {};

TEST_F(NativeTableTest, EveryOpHasANativeImplementation) {
  EXPECT_EQ(EmptySlotOf(core::kNativeOps), "");
}

TEST(EmptySlotTest, FindsTheFirstClearedSlotByGroupIndexAndOffset) {
  pvops_ops ops = core::kNativeOps;
  ops.platform.cpu_init = nullptr;
  ops.mmu.flush_tlb_remote = nullptr;
  core::TableSlot empty{};
  ASSERT_TRUE(core::FindEmptySlot(ops, &empty));
  EXPECT_STREQ(empty.group, "mmu");
  EXPECT_EQ(empty.offset, offsetof(pvops_ops, mmu.flush_tlb_remote));
  EXPECT_EQ(empty.index,
            (offsetof(pvops_ops, mmu.flush_tlb_remote) - offsetof(pvops_ops, mmu)) / sizeof(void*));
}

TEST(EmptySlotTest, TheFirstAndTheLastSlotAreWalked) {
  pvops_ops ops = core::kNativeOps;
  ops.cpu.cpuid = nullptr;
  EXPECT_EQ(EmptySlotOf(ops), "cpu[0]");
  ops = core::kNativeOps;
  ops.platform.cpu_init = nullptr;
  EXPECT_EQ(EmptySlotOf(ops), "platform[3]");
  ops = core::kNativeOps;
  ops.kernel.read_cr2 = nullptr;
  EXPECT_EQ(EmptySlotOf(ops), "kernel[3]");
  EXPECT_EQ(EmptySlotOf(pvops_ops{}), "cpu[0]");
}

TEST_F(NativeTableTest, EachGroupPointsAtItsOwnFunctions) {
  const pvops_ops& ops = core::kNativeOps;
  EXPECT_EQ(ops.cpu.cpuid, &hw::Cpuid);
  EXPECT_EQ(ops.cpu.safe_halt, &hw::SafeHalt);
  EXPECT_EQ(ops.irq.disable, &hw::IrqDisable);
  EXPECT_EQ(ops.irq.enable, &hw::IrqEnable);
  EXPECT_EQ(ops.irq.register_handler, &native::RegisterHandler);
  EXPECT_EQ(ops.mmu.set_pte, &hw::SetPte);
  EXPECT_EQ(ops.mmu.update_pte, &hw::UpdatePte);
  EXPECT_EQ(ops.mmu.machine_to_phys, &native::MachineToPhys);
  EXPECT_EQ(ops.time.clock_ns, &hw::TscClockNs);
  EXPECT_EQ(ops.time.steal_ns, &native::StealNs);
  EXPECT_EQ(ops.lock.vcpu_is_preempted, &native::VcpuIsPreempted);
  EXPECT_EQ(ops.hypercall.call, &native::Hypercall);
  EXPECT_EQ(ops.platform.shutdown, &hw::DebugExitShutdown);
  EXPECT_EQ(ops.platform.cpu_init, &hw::LapicCpuInit);
}

TEST_F(NativeTableTest, InitOnBareMetalInstallsTheNativeTable) {
  std::memset(&pvops_table, 0, sizeof(pvops_table));
  Boot();
  EXPECT_EQ(std::memcmp(&pvops_table, &core::kNativeOps, sizeof(pvops_ops)), 0);
  const pvops_info& info = Info();
  EXPECT_EQ(info.abi_version, PVOPS_ABI_VERSION);
  EXPECT_EQ(info.backend, uint32_t{PVOPS_BACKEND_NATIVE});
  EXPECT_EQ(info.entry, uint32_t{PVOPS_ENTRY_NATIVE});
  EXPECT_EQ(info.candidate_count, 0u);
  EXPECT_EQ(info.base_leaf, 0u);
  EXPECT_STREQ(info.signature, "");
  EXPECT_STREQ(info.reason, "no hypervisor interface detected");
  EXPECT_STREQ(info.fallback, "");
  EXPECT_EQ(info.paravirt, 0u);
  EXPECT_EQ(core::OnlineCpuCount(), 1u);
}

TEST_F(NativeTableTest, TheKernelOpsAreTheInstructions) {
  Boot();
  alignas(16) static uint64_t gdt[5];
  alignas(16) static uint64_t idt[2 * 256];
  sim_.ClearLogs();
  sim_.ResetExits();
  EXPECT_EQ(pvops_load_gdt(gdt, sizeof(gdt) - 1, 0x08, 0x10), PVOPS_OK);
  EXPECT_EQ(pvops_load_tr(0x18), PVOPS_OK);
  EXPECT_EQ(pvops_load_idt(idt, sizeof(idt) - 1), PVOPS_OK);
  const sim::SimCpu::TableRegisters& t = sim_.tables();
  EXPECT_EQ(t.gdt_base, reinterpret_cast<uintptr_t>(gdt));
  EXPECT_EQ(t.gdt_limit, sizeof(gdt) - 1);
  EXPECT_EQ(t.cs, 0x08u);
  EXPECT_EQ(t.data, 0x10u);
  EXPECT_EQ(t.tr, 0x18u);
  EXPECT_EQ(t.idt_base, reinterpret_cast<uintptr_t>(idt));
  EXPECT_EQ(t.idt_limit, 4095u);
  EXPECT_EQ(sim_.exits(sim::Exit::kLoadTable), 3u);
  sim_.SetCr2(0xffff'8000'0123'4000);
  EXPECT_EQ(pvops_read_cr2(), 0xffff'8000'0123'4000u);
  EXPECT_EQ(Info().paravirt & PVOPS_PV_CPU_TABLES, 0u);
}

TEST_F(NativeTableTest, DescriptorsKernelStackControlRegistersAndTprAreWrittenAsTheyAre) {
  Boot();
  static uint64_t gdt[8];
  const uint64_t tls[PVOPS_TLS_ENTRIES] = {0x00cff3000000ffff, 0x1111, 0x2222};
  EXPECT_EQ(pvops_write_gdt_entry(gdt, 2, 0x00cf92000000ffff), PVOPS_OK);
  EXPECT_EQ(pvops_load_tls(gdt, 5, tls), PVOPS_OK);
  EXPECT_EQ(gdt[2], 0x00cf92000000ffffu);
  EXPECT_EQ(gdt[5], tls[0]);
  EXPECT_EQ(gdt[6], tls[1]);
  EXPECT_EQ(gdt[7], tls[2]);
  EXPECT_EQ(pvops_write_gdt_entry(nullptr, 2, 0), PVOPS_ERR_INVALID);
  EXPECT_EQ(pvops_load_tls(gdt, 5, nullptr), PVOPS_ERR_INVALID);

  alignas(8) unsigned char tss[104] = {};
  EXPECT_EQ(pvops_set_kernel_stack(tss, 0xffff'8000'0000'9000), PVOPS_OK);
  uint64_t rsp0 = 0;
  std::memcpy(&rsp0, tss + 4, sizeof(rsp0));
  EXPECT_EQ(rsp0, 0xffff'8000'0000'9000u) << "rsp0, after the TSS's first reserved word";
  EXPECT_EQ(pvops_set_kernel_stack(nullptr, 1), PVOPS_ERR_INVALID);

  EXPECT_EQ(pvops_write_cr0(0x8005'0033), PVOPS_OK);
  EXPECT_EQ(sim_.cr0(), 0x8005'0033u);
  EXPECT_EQ(pvops_write_cr4(0x3506f0), PVOPS_OK);
  EXPECT_EQ(sim_.cr4(), 0x3506f0u);
  EXPECT_EQ(pvops_write_tpr(9), PVOPS_OK);
  EXPECT_EQ(sim_.cr8(), 9u);
  EXPECT_EQ(pvops_read_tpr(), 9u);
  EXPECT_EQ(pvops_write_tpr(16), PVOPS_ERR_INVALID) << "CR8 holds a class, 0-15";
  EXPECT_EQ(sim_.cr8(), 9u);
}

TEST_F(NativeTableTest, EarlyInitKeepsTheNativeTableOnEveryRingZeroEntry) {
  for (uint32_t entry : {uint32_t{PVOPS_ENTRY_NATIVE}, uint32_t{PVOPS_ENTRY_PVH}}) {
    EXPECT_EQ(pvops_early_init(entry, nullptr), PVOPS_OK);
    EXPECT_EQ(std::memcmp(&pvops_table, &core::kNativeOps, sizeof(pvops_ops)), 0);
  }
  EXPECT_EQ(pvops_early_init(7, nullptr), PVOPS_ERR_INVALID) << "no such entry";
}

TEST_F(NativeTableTest, NativeHasNoMemoryReservation) {
  Boot();
  const uint64_t pfns[1] = {16};
  uint64_t pages = 7;
  EXPECT_EQ(pvops_memory_release(pfns, 1), PVOPS_ERR_UNSUPPORTED);
  EXPECT_EQ(pvops_memory_populate(pfns, 1), PVOPS_ERR_UNSUPPORTED);
  EXPECT_EQ(pvops_memory_reservation(&pages), PVOPS_ERR_UNSUPPORTED);
  EXPECT_EQ(pages, 7u);
}

TEST_F(NativeTableTest, EveryParavirtBitHasItsOwnName) {
  std::set<std::string> names;
  for (uint32_t bit = 1; bit <= PVOPS_PV_CPU_TABLES; bit <<= 1) {
    const char* name = pvops_paravirt_op_name(bit);
    ASSERT_NE(name, nullptr) << "bit " << bit;
    EXPECT_TRUE(names.insert(name).second) << name;
  }
  EXPECT_EQ(pvops_paravirt_op_name(PVOPS_PV_CPU_TABLES << 1), nullptr);
  EXPECT_EQ(pvops_paravirt_op_name(PVOPS_PV_CLOCK | PVOPS_PV_EOI), nullptr) << "one bit at a time";
  EXPECT_EQ(pvops_paravirt_op_name(0), nullptr);
}

TEST_F(NativeTableTest, TheNativeProbeNeverCompetes) {
  pvops_candidate found{};
  const core::HvLeaves none{};
  native::kBackend.probe(sim::MakeEnv(), none, &found);
  EXPECT_EQ(found.priority, core::kPriorityAbsent);
  EXPECT_STREQ(native::kBackend.name, "native");
  EXPECT_EQ(native::kBackend.id, uint32_t{PVOPS_BACKEND_NATIVE});
}

TEST_F(NativeTableTest, TheNativeInitCannotFailEvenWithoutALapic) {
  sim_.HandleMsrs(
      0x1b, 0x1b, [](uint32_t) -> std::optional<uint64_t> { return std::nullopt; }, nullptr);
  pvops_ops ops = core::kNativeOps;
  core::BackendReport report{};
  char why_text[PVOPS_REASON_LEN];
  core::Reason why(why_text, sizeof(why_text));
  const pvops_env env = sim::MakeEnv();
  core::InstallEnv(env);
  EXPECT_EQ(native::kBackend.init(env, pvops_candidate{}, &ops, &report, &why), PVOPS_OK);
  EXPECT_EQ(std::memcmp(&ops, &core::kNativeOps, sizeof(pvops_ops)), 0);
  // The LAPIC ops then say what is missing instead of faulting.
  ASSERT_EQ(pvops_set_cpu_area(1, NewCpuArea()), PVOPS_OK);
  core::CpuRecord(1)->online = 1;
  EXPECT_EQ(pvops_send_ipi(CpuSet::Only(1).raw(), 0x40), PVOPS_ERR_UNSUPPORTED);
}

// The ops with no hardware behind them natively.
class NativeTrivialOpsTest : public BareMetalMachineTest {
 protected:
  void SetUp() override {
    Boot();
    sim_.ResetExits();
    sim_.ClearLogs();
  }
};

TEST_F(NativeTrivialOpsTest, LockWaitPausesOnceAndReturns) {
  volatile uint8_t lock = 1;
  pvops_lock_wait(&lock, 1);
  EXPECT_EQ(sim_.exits(sim::Exit::kPause), 1u);
  EXPECT_EQ(sim_.total_exits(), 1u);
}

TEST_F(NativeTrivialOpsTest, KickAndPreemptionQueryCostNothing) {
  pvops_lock_kick(3);
  EXPECT_EQ(pvops_vcpu_is_preempted(1), 0);
  EXPECT_EQ(sim_.total_exits(), 0u);
}

TEST_F(NativeTrivialOpsTest, NativeHasNoHypercall) {
  int64_t result = -1;
  EXPECT_EQ(pvops_hypercall(1, 2, 3, 4, 5, 6, &result), PVOPS_ERR_UNSUPPORTED);
  EXPECT_EQ(result, 0);
  EXPECT_TRUE(sim_.hypercalls().empty());
}

TEST_F(NativeTrivialOpsTest, PhysAndMachineAddressesAreTheSame) {
  EXPECT_EQ(pvops_phys_to_machine(0x123456000), 0x123456000u);
  EXPECT_EQ(pvops_machine_to_phys(0x7000), 0x7000u);
  EXPECT_EQ(sim_.total_exits(), 0u);
}

TEST_F(NativeTrivialOpsTest, StealTimeIsZero) { EXPECT_EQ(pvops_steal_ns(0), 0u); }

}  // namespace
}  // namespace pvops::test
