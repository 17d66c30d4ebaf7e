// The native table and the native backend as the core sees it.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>

#include "backends/native/native.h"
#include "core/backend.h"
#include "native_machine.h"

namespace pvops::test {
namespace {

// The table is a struct of function pointers only: walk it as such.
constexpr size_t kSlots = sizeof(pvops_ops) / sizeof(void (*)());
static_assert(sizeof(pvops_ops) % sizeof(void (*)()) == 0);

class NativeTableTest : public NativeMachineTest {};

TEST_F(NativeTableTest, EveryOpHasANativeImplementation) {
  void (*slots[kSlots])();
  std::memcpy(slots, &native::kNativeOps, sizeof(slots));
  for (size_t i = 0; i < kSlots; ++i) EXPECT_NE(slots[i], nullptr) << "slot " << i;
}

TEST_F(NativeTableTest, EachGroupPointsAtItsOwnFunctions) {
  const pvops_ops& ops = native::kNativeOps;
  EXPECT_EQ(ops.cpu.cpuid, &native::Cpuid);
  EXPECT_EQ(ops.cpu.safe_halt, &native::SafeHalt);
  EXPECT_EQ(ops.irq.disable, &native::IrqDisable);
  EXPECT_EQ(ops.irq.enable, &native::IrqEnable);
  EXPECT_EQ(ops.irq.register_handler, &native::RegisterHandler);
  EXPECT_EQ(ops.mmu.set_pte, &native::SetPte);
  EXPECT_EQ(ops.mmu.update_pte, &native::UpdatePte);
  EXPECT_EQ(ops.mmu.machine_to_phys, &native::MachineToPhys);
  EXPECT_EQ(ops.time.clock_ns, &native::ClockNs);
  EXPECT_EQ(ops.time.steal_ns, &native::StealNs);
  EXPECT_EQ(ops.lock.vcpu_is_preempted, &native::VcpuIsPreempted);
  EXPECT_EQ(ops.hypercall.call, &native::Hypercall);
  EXPECT_EQ(ops.platform.shutdown, &native::Shutdown);
  EXPECT_EQ(ops.platform.cpu_init, &native::CpuInit);
}

TEST_F(NativeTableTest, InitOnBareMetalInstallsTheNativeTable) {
  std::memset(&pvops_table, 0, sizeof(pvops_table));
  Boot();
  EXPECT_EQ(std::memcmp(&pvops_table, &native::kNativeOps, sizeof(pvops_ops)), 0);
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

TEST_F(NativeTableTest, EveryParavirtBitHasItsOwnName) {
  std::set<std::string> names;
  for (uint32_t bit = 1; bit <= PVOPS_PV_CPU_START; bit <<= 1) {
    const char* name = pvops_paravirt_op_name(bit);
    ASSERT_NE(name, nullptr) << "bit " << bit;
    EXPECT_TRUE(names.insert(name).second) << name;
  }
  EXPECT_EQ(pvops_paravirt_op_name(PVOPS_PV_CPU_START << 1), nullptr);
  EXPECT_EQ(pvops_paravirt_op_name(PVOPS_PV_CLOCK | PVOPS_PV_EOI), nullptr) << "one bit at a time";
  EXPECT_EQ(pvops_paravirt_op_name(0), nullptr);
}

TEST_F(NativeTableTest, TheNativeProbeNeverCompetes) {
  pvops_candidate found{};
  const core::HvLeaves none{};
  core::kNativeBackend.probe(sim::MakeEnv(), none, &found);
  EXPECT_EQ(found.priority, core::kPriorityAbsent);
  EXPECT_STREQ(core::kNativeBackend.name, "native");
  EXPECT_EQ(core::kNativeBackend.id, uint32_t{PVOPS_BACKEND_NATIVE});
}

TEST_F(NativeTableTest, TheNativeInitCannotFailEvenWithoutALapic) {
  sim_.HandleMsrs(0x1b, 0x1b, [](uint32_t) -> std::optional<uint64_t> { return std::nullopt; },
                  nullptr);
  pvops_ops ops{};
  pvops_info info{};
  char why_text[PVOPS_REASON_LEN];
  core::Reason why(why_text, sizeof(why_text));
  const pvops_env env = sim::MakeEnv();
  core::InstallEnv(env);
  EXPECT_EQ(core::kNativeBackend.init(env, pvops_candidate{}, &ops, &info, &why), PVOPS_OK);
  EXPECT_EQ(std::memcmp(&ops, &native::kNativeOps, sizeof(pvops_ops)), 0);
  // The LAPIC ops then say what is missing instead of faulting.
  core::Cpu(1).online = 1;
  EXPECT_EQ(pvops_send_ipi(CpuSet::Only(1).raw(), 0x40), PVOPS_ERR_UNSUPPORTED);
}

}  // namespace
}  // namespace pvops::test
