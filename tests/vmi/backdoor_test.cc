// SPDX-License-Identifier: MIT
// VMware's channel on the simulated CPU: the registers of each backdoor call on each path, the
// path CPUID 0x40000010 selects, and GETVERSION / GETHZ as QEMU's vmport answers them.
#include <gtest/gtest.h>

#include "backends/vmi/vmi_backend.h"
#include "backends/vmi/vmware_backdoor.h"
#include "vmware_machine.h"

namespace pvops::test {
namespace {

using vmi::BackdoorPath;

class BackdoorTest : public VmwareMachineTest {
 protected:
  const sim::HypercallRecord& LastCall() const { return sim_.hypercalls().back(); }
  core::HvInterface Block(uint32_t max_leaf) const {
    return {0x40000000, max_leaf, "VMwareVMware"};
  }
};

TEST_F(BackdoorTest, GetVersionThroughThePort) {
  uint32_t version = 0;
  ASSERT_TRUE(vmi::BackdoorVersion(BackdoorPath::kPort, &version));
  EXPECT_EQ(version, kVmxVersion);
  ASSERT_EQ(sim_.hypercalls().size(), 1u);
  const sim::HypercallRecord& call = LastCall();
  EXPECT_EQ(call.kind, sim::Exit::kBackdoor);
  EXPECT_EQ(call.in.rax, uint64_t{VMWARE_BACKDOOR_MAGIC});
  EXPECT_EQ(call.in.rbx, 0xffffffffu);
  EXPECT_EQ(call.in.rcx, uint64_t{VMWARE_CMD_GETVERSION});
  EXPECT_EQ(call.in.rdx, uint64_t{VMWARE_BACKDOOR_PORT});
  EXPECT_EQ(vmi::kCounters.Value(vmi::Counter::kBackdoorCalls), 1u);
  EXPECT_EQ(core::CounterValue(core::Counter::kHypercalls), 1u);
}

TEST_F(BackdoorTest, NoBackdoorMeansNoVersion) {
  backdoor_present_ = false;
  uint32_t version = 1234;
  EXPECT_FALSE(vmi::BackdoorVersion(BackdoorPath::kPort, &version));
  EXPECT_EQ(version, 1234u);
}

TEST_F(BackdoorTest, AnEmptyBusIsNoBackdoor) {
  sim_.SetBackdoorHandler(nullptr);  // bare metal: the port reads all ones, EBX untouched
  uint32_t version = 0;
  EXPECT_FALSE(vmi::BackdoorVersion(BackdoorPath::kPort, &version));
}

TEST_F(BackdoorTest, PathFollowsTheTimingLeaf) {
  EXPECT_EQ(vmi::ChooseBackdoorPath(nullptr), BackdoorPath::kPort);
  const core::HvInterface short_block = Block(0x40000001);
  EXPECT_EQ(vmi::ChooseBackdoorPath(&short_block), BackdoorPath::kPort);

  const core::HvInterface block = Block(0x40000010);
  sim_.SetCpuid(0x40000010, {2'000'000, 1'000'000, 0, 0});
  EXPECT_EQ(vmi::ChooseBackdoorPath(&block), BackdoorPath::kPort);
  sim_.SetCpuid(0x40000010, {2'000'000, 1'000'000, VMWARE_CPUID_FEATURE_VMMCALL, 0});
  EXPECT_EQ(vmi::ChooseBackdoorPath(&block), BackdoorPath::kVmmcall);
  sim_.SetCpuid(0x40000010, {2'000'000, 1'000'000, VMWARE_CPUID_FEATURE_VMCALL, 0});
  EXPECT_EQ(vmi::ChooseBackdoorPath(&block), BackdoorPath::kVmcall);
}

TEST_F(BackdoorTest, VmcallAndVmmcallCarryNoPort) {
  VmwareCpuid();
  for (const auto& [path, kind] : {std::pair{BackdoorPath::kVmcall, sim::Exit::kVmcall},
                                   std::pair{BackdoorPath::kVmmcall, sim::Exit::kVmmcall}}) {
    uint32_t version = 0;
    ASSERT_TRUE(vmi::BackdoorVersion(path, &version));
    EXPECT_EQ(version, kVmxVersion);
    EXPECT_EQ(LastCall().kind, kind);
    EXPECT_EQ(LastCall().in.rdx, 0u) << "DX holds flags (0: low bandwidth), not the port";
    EXPECT_EQ(LastCall().in.rcx, uint64_t{VMWARE_CMD_GETVERSION});
  }
  EXPECT_EQ(sim_.exits(sim::Exit::kBackdoor), 0u);
}

TEST_F(BackdoorTest, GetHzUnsupportedAsUnderTcg) {
  uint64_t tsc_hz = 7;
  uint32_t apic_hz = 7;
  EXPECT_FALSE(vmi::BackdoorFrequencies(BackdoorPath::kPort, &tsc_hz, &apic_hz));
  EXPECT_EQ(tsc_hz, 7u);
  EXPECT_EQ(LastCall().in.rcx, uint64_t{VMWARE_CMD_GETHZ});
  EXPECT_EQ(LastCall().in.rbx, 0xffffffffu);
}

TEST_F(BackdoorTest, GetHzSplitsTheTscAcrossEbxEax) {
  gethz_tsc_hz_ = 0x1'2345'6789;  // above 4 GHz: the high word matters
  gethz_apic_hz_ = 1'000'000'000;
  uint64_t tsc_hz = 0;
  uint32_t apic_hz = 0;
  ASSERT_TRUE(vmi::BackdoorFrequencies(BackdoorPath::kPort, &tsc_hz, &apic_hz));
  EXPECT_EQ(tsc_hz, 0x1'2345'6789u);
  EXPECT_EQ(apic_hz, 1'000'000'000u);
}

}  // namespace
}  // namespace pvops::test
