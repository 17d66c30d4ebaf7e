// SPDX-License-Identifier: MIT
#include "vm_state.h"

#include <gtest/gtest.h>

namespace pvops::vmm {
namespace {

TEST(VmState, CpuMsrsMoveHypervisorMsrsDoNot) {
  EXPECT_TRUE(MsrMovesWithGuest(0x10));        // TSC
  EXPECT_TRUE(MsrMovesWithGuest(0xc0000080));  // EFER
  EXPECT_TRUE(MsrMovesWithGuest(0xc0000082));  // LSTAR
  EXPECT_TRUE(MsrMovesWithGuest(0x6e0));       // TSC deadline
  EXPECT_TRUE(MsrMovesWithGuest(0x277));       // PAT
  EXPECT_FALSE(MsrMovesWithGuest(0x11));       // kvmclock, old numbers
  EXPECT_FALSE(MsrMovesWithGuest(0x12));
  EXPECT_FALSE(MsrMovesWithGuest(0x4b564d01));  // MSR_KVM_SYSTEM_TIME_NEW
  EXPECT_FALSE(MsrMovesWithGuest(0x4b564d04));  // MSR_KVM_PV_EOI_EN
  EXPECT_FALSE(MsrMovesWithGuest(0x40000000));  // HV_X64_MSR_GUEST_OS_ID, Xen's page MSR
  EXPECT_FALSE(MsrMovesWithGuest(0x40000083));  // HV_X64_MSR_SCONTROL
  EXPECT_FALSE(MsrMovesWithGuest(0x400000b0));  // HV_X64_MSR_STIMER0_CONFIG
}

TEST(VmState, TheTscMovesFirstAndEachMsrOnce) {
  EXPECT_EQ(MsrsToMove({0x6e0, 0x4b564d01, 0x10, 0x277, 0x6e0}),
            (std::vector<uint32_t>{0x10, 0x6e0, 0x277}));
  EXPECT_EQ(MsrsToMove({0x277}), (std::vector<uint32_t>{0x277}));
}

}  // namespace
}  // namespace pvops::vmm
