// SPDX-License-Identifier: MIT
// EOI, TPR and the VP assist page: the synthetic MSRs with the APIC-access hint, the assist
// word letting an EOI skip the exit, and the LAPIC itself without the hint or the privilege.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backends/hyperv/hv_apic.h"
#include "backends/hyperv/hyperv.h"
#include "hv_machine.h"
#include "hw/lapic.h"

namespace pvops::test {
namespace {

using namespace pvops::hyperv;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class HvApicTest : public HyperVMachineTest {};

TEST_F(HvApicTest, EveryCpuRegistersItsOwnVpAssistPage) {
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  OnlineCpus(3);
  for (uint32_t cpu = 0; cpu < 3; ++cpu) {
    const auto word = reinterpret_cast<uintptr_t>(ApicAssistWord(cpu));
    EXPECT_EQ(word % 4096, 0u) << "the assist word opens a page of its own";
    EXPECT_EQ(vp_assist_msr_[cpu], word | 1) << cpu;
  }
  EXPECT_NE(ApicAssistWord(1), ApicAssistWord(2));
}

TEST_F(HvApicTest, AnEoiTheHypervisorCompletesCostsNoExit) {
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  *ApicAssistWord(0) = kApicAssistNoEoiRequired;  // what the hypervisor sets on injection
  sim_.ResetExits();
  pvops_eoi();
  EXPECT_EQ(sim_.total_exits(), 0u);
  EXPECT_EQ(*ApicAssistWord(0), 0u) << "clearing the bit is the EOI";
  EXPECT_THAT(eoi_writes_, IsEmpty());
  EXPECT_EQ(CounterValue(core::Counter::kPvEoiFast), 1u);

  pvops_eoi();  // no bit set: the hypervisor must hear it
  EXPECT_THAT(eoi_writes_, ElementsAre(0u));
  EXPECT_EQ(CounterValue(core::Counter::kPvEoiSlow), 1u);
  EXPECT_EQ(lapic_.eoi_count(0), 0u) << "the synthetic MSR, not the LAPIC page";
}

TEST_F(HvApicTest, WithoutAnAssistPageEoiIsTheSyntheticMsr) {
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  OnlineCpus(2);
  Part(1)->vp_assist_enabled = 0;  // as when the registration failed on that CPU
  sim_.RunOnCpu(1, [] { pvops_eoi(); });
  EXPECT_THAT(eoi_writes_, ElementsAre(0u));
  EXPECT_EQ(CounterValue(core::Counter::kPvEoiSlow), 0u);
}

TEST_F(HvApicTest, CpuInitOpensThePriorityThroughTheSyntheticTpr) {
  tpr_[0] = 0x20;
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  EXPECT_EQ(tpr_[0], 0u);
  EXPECT_EQ(ReadTpr(), 0u);
  for (const sim::MmioAccess& a : sim_.mmio_log())
    EXPECT_NE(a.address - reinterpret_cast<uintptr_t>(lapic_.page()), 0x80u) << "LAPIC TPR";
  EXPECT_EQ(lapic_.spurious(0), 0x100u | core::kVectorSpurious);
  EXPECT_EQ(core::Cpu(0).apic_id, 0u);
  WriteTpr(0x30);
  EXPECT_EQ(tpr_[0], 0x30u);
}

TEST_F(HvApicTest, TheKernelsTaskPriorityIsTheSyntheticTprsClass) {
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  sim_.ResetExits();
  EXPECT_EQ(pvops_write_tpr(0xb), PVOPS_OK);
  EXPECT_EQ(tpr_[0], 0xb0u) << "the class in TPR bits 7:4";
  EXPECT_EQ(pvops_read_tpr(), 0xbu);
  EXPECT_EQ(pvops_write_tpr(16), PVOPS_ERR_INVALID);
  EXPECT_EQ(tpr_[0], 0xb0u);
  EXPECT_EQ(sim_.exits(sim::Exit::kCr8), 0u);
}

TEST_F(HvApicTest, WithoutTheHintTheLapicDoesEverything) {
  hv_.hints &= ~kHintApicAccessMsrs;
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  EXPECT_EQ(pvops_table.irq.eoi, hw::LapicEoi);
  pvops_eoi();
  EXPECT_EQ(lapic_.eoi_count(0), 1u);
  EXPECT_THAT(eoi_writes_, IsEmpty());
  EXPECT_TRUE(sim_.MsrWrites(kMsrVpAssistPage).empty());
  EXPECT_TRUE(sim_.MsrWrites(kMsrTpr).empty());
  EXPECT_EQ(pvops_write_tpr(2), PVOPS_OK);
  EXPECT_EQ(sim_.cr8(), 2u) << "natively, CR8";
  EXPECT_TRUE(sim_.MsrWrites(kMsrTpr).empty());
}

TEST_F(HvApicTest, ApicMsrsGrantedButRefusedLeaveTheLapicWithANote) {
  refused_msr_ = kMsrTpr;
  ASSERT_EQ(BootHyperV(), PVOPS_OK);  // a plain wrmsr of the TPR would fail the test here
  EXPECT_EQ(Info().backend, PVOPS_BACKEND_HYPERV);
  EXPECT_EQ(pvops_table.irq.eoi, hw::LapicEoi);
  EXPECT_EQ(Info().features[3] & (kPathApicMsrs | kPathVpAssistEoi), 0u);
  EXPECT_THAT(std::string(Info().notes), HasSubstr("HV_X64_MSR_TPR faults"));
  EXPECT_EQ(pvops_write_tpr(2), PVOPS_OK);
  EXPECT_EQ(sim_.cr8(), 2u) << "natively, CR8";
}

TEST_F(HvApicTest, TheHintWithoutThePrivilegeIsNotEnough) {
  hv_.privileges &= ~kPrivApicMsrs;
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  EXPECT_EQ(pvops_table.irq.eoi, hw::LapicEoi);
  EXPECT_EQ(Info().features[3] & (kPathApicMsrs | kPathVpAssistEoi), 0u);
}

}  // namespace
}  // namespace pvops::test
