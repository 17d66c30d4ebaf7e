// SPDX-License-Identifier: MIT
// The cpu and irq-flag ops: one instruction each, checked instruction by instruction on the
// simulated CPU.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "bare_metal_machine.h"

namespace pvops::test {
namespace {

using sim::Exit;
using ::testing::ElementsAre;

constexpr uint64_t kIf = 1u << 9;

class CpuInstructionsTest : public BareMetalMachineTest {
 protected:
  void SetUp() override {
    Boot();
    sim_.ResetExits();
    sim_.ClearLogs();
  }
};

TEST_F(CpuInstructionsTest, CpuidReturnsTheCpusAnswerInOneExit) {
  sim_.SetCpuid(7, 0, {0, 0x029c67af, 0x40000004, 0xbc000400});
  pvops_cpuid_regs r{};
  pvops_cpuid(7, 0, &r);
  EXPECT_EQ(r.ebx, 0x029c67afu);
  EXPECT_EQ(r.ecx, 0x40000004u);
  EXPECT_EQ(r.edx, 0xbc000400u);
  EXPECT_EQ(sim_.exits(Exit::kCpuid), 1u);
  EXPECT_EQ(sim_.total_exits(), 1u);
}

TEST_F(CpuInstructionsTest, MsrReadAndWriteUseTheInstructions) {
  sim_.SetMsr(0xc0000080, 0xd01);
  EXPECT_EQ(pvops_read_msr(0xc0000080), 0xd01u);
  pvops_write_msr(0xc0000080, 0xd00);
  EXPECT_EQ(sim_.Msr(0xc0000080), 0xd00u);
  ASSERT_EQ(sim_.msr_log().size(), 2u);
  EXPECT_FALSE(sim_.msr_log()[0].write);
  EXPECT_TRUE(sim_.msr_log()[1].write);
  EXPECT_EQ(sim_.msr_log()[1].msr, 0xc0000080u);
}

TEST_F(CpuInstructionsTest, SafeMsrReadReportsTheFaultOfAnAbsentMsr) {
  sim_.SetMsr(0x10, 123);
  uint64_t value = 0;
  EXPECT_EQ(pvops_read_msr_safe(0x10, &value), PVOPS_OK);
  EXPECT_EQ(value, 123u);
  value = 55;
  EXPECT_EQ(pvops_read_msr_safe(0xdead, &value), PVOPS_ERR_FAULT);
  EXPECT_EQ(value, 0u);
  EXPECT_EQ(sim_.exits(Exit::kMsrFault), 1u);
  EXPECT_EQ(pvops_read_msr_safe(0x10, nullptr), PVOPS_ERR_INVALID);
}

TEST_F(CpuInstructionsTest, SafeMsrWriteReportsTheFault) {
  sim_.SetMsr(0x10, 0);
  EXPECT_EQ(pvops_write_msr_safe(0x10, 7), PVOPS_OK);
  EXPECT_EQ(sim_.Msr(0x10), 7u);
  EXPECT_EQ(pvops_write_msr_safe(0xdead, 7), PVOPS_ERR_FAULT);
  EXPECT_EQ(sim_.exits(Exit::kMsrFault), 1u);
}

TEST_F(CpuInstructionsTest, IoDelayWritesOneByteToThePostPort) {
  pvops_io_delay();
  ASSERT_EQ(sim_.port_log().size(), 1u);
  EXPECT_EQ(sim_.port_log()[0].port, 0x80u);
  EXPECT_EQ(sim_.port_log()[0].size, 1u);
  EXPECT_TRUE(sim_.port_log()[0].write);
  EXPECT_EQ(sim_.total_exits(), 1u);
}

TEST_F(CpuInstructionsTest, HaltLeavesTheInterruptFlagAlone) {
  sim_.SetInterruptsEnabled(true);
  pvops_halt();
  EXPECT_EQ(sim_.exits(Exit::kHlt), 1u);
  EXPECT_EQ(sim_.exits(Exit::kSti), 0u);
  EXPECT_TRUE(sim_.interrupts_enabled());
}

TEST_F(CpuInstructionsTest, SafeHaltEnablesInterruptsThenHalts) {
  bool enabled_at_halt = false;
  sim_.OnHalt([&] { enabled_at_halt = sim_.interrupts_enabled(); });
  sim_.SetInterruptsEnabled(false);
  pvops_safe_halt();
  EXPECT_TRUE(enabled_at_halt);
  EXPECT_EQ(sim_.exits(Exit::kSti), 1u);
  EXPECT_EQ(sim_.exits(Exit::kHlt), 1u);
}

// RFLAGS as pushf reads it (what a patched site's `pushf; pop` gives too): IF, and bit 1,
// which always reads as 1 (SDM vol. 1, 3.4.3).
constexpr uint64_t kRflagsAlwaysOne = 1u << 1;

TEST_F(CpuInstructionsTest, SaveFlagsIsRflagsAsPushfReadsIt) {
  sim_.SetInterruptsEnabled(true);
  EXPECT_EQ(pvops_save_flags(), kIf | kRflagsAlwaysOne);
  sim_.SetInterruptsEnabled(false);
  EXPECT_EQ(pvops_save_flags(), kRflagsAlwaysOne);
}

TEST_F(CpuInstructionsTest, IrqSaveDisablesAndRestoreBringsBackTheOldState) {
  sim_.SetInterruptsEnabled(true);
  const uint64_t outer = pvops_irq_save();
  EXPECT_FALSE(sim_.interrupts_enabled());
  const uint64_t inner = pvops_irq_save();
  pvops_restore_flags(inner);
  EXPECT_FALSE(sim_.interrupts_enabled());  // the inner section started disabled
  pvops_restore_flags(outer);
  EXPECT_TRUE(sim_.interrupts_enabled());
  EXPECT_EQ(outer, kIf | kRflagsAlwaysOne);
  EXPECT_EQ(inner, kRflagsAlwaysOne);
}

TEST_F(CpuInstructionsTest, IrqSaveGuardNests) {
  sim_.SetInterruptsEnabled(true);
  {
    IrqSave outer;
    EXPECT_FALSE(IrqsEnabled());
    { IrqSave inner; }
    EXPECT_FALSE(IrqsEnabled());
  }
  EXPECT_TRUE(IrqsEnabled());
}

TEST_F(CpuInstructionsTest, DisableAndEnableAreCliAndSti) {
  pvops_irq_enable();
  EXPECT_TRUE(sim_.interrupts_enabled());
  pvops_irq_disable();
  EXPECT_FALSE(sim_.interrupts_enabled());
  EXPECT_EQ(sim_.exits(Exit::kSti), 1u);
  EXPECT_EQ(sim_.exits(Exit::kCli), 1u);
}

}  // namespace
}  // namespace pvops::test
