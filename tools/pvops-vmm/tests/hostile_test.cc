// SPDX-License-Identifier: MIT
#include "hostile.h"

#include <asm/kvm_para.h>
#include <gtest/gtest.h>

#include "hyperv_personality.h"
#include "vmm_error.h"

namespace pvops::vmm {
namespace {

// KVM's signature block as KVM_GET_SUPPORTED_CPUID gave it in a real run, after leaf 1.
CpuidTable KvmTable() {
  return {CpuidLeaf(0x1, 0, 0x00060fb1, 0x01020800, 0x76f83203, 0x0f8bfbfd),
          CpuidLeaf(KVM_CPUID_SIGNATURE, 0, KVM_CPUID_FEATURES, 0x4b4d564b, 0x564b4d56, 0x4d),
          CpuidLeaf(KVM_CPUID_FEATURES, 0, 0x01007efb, 0, 0, 0)};
}

TEST(ParseHostile, NamesAndErrors) {
  EXPECT_EQ(ParseHostile(""), 0u);
  EXPECT_EQ(ParseHostile("max-below-base"), uint32_t{kHostileMaxBelowBase});
  EXPECT_EQ(ParseHostile("kvmclock-odd,cpuid-differs-on-cpu1"),
            uint32_t{kHostileKvmclockOdd | kHostileCpuidDiffersOnCpu1});
  EXPECT_THROW(ParseHostile("kvmclock-even"), VmmError);
  // Two ways of breaking one signature block would hide each other.
  EXPECT_THROW(ParseHostile("max-below-base,max-leaf-huge"), VmmError);
  EXPECT_THROW(ParseHostile("hv-hypercall-faults,hv-hypercall-ignored"), VmmError);
}

TEST(ApplyHostileKvmLeaves, MaxLeafValues) {
  CpuidTable below = KvmTable();
  ApplyHostileKvmLeaves(below, kHostileMaxBelowBase, 0);
  EXPECT_EQ(FindLeaf(below, KVM_CPUID_SIGNATURE)->eax, KVM_CPUID_SIGNATURE - 1);
  CpuidTable huge = KvmTable();
  ApplyHostileKvmLeaves(huge, kHostileMaxLeafHuge, 0);
  EXPECT_EQ(FindLeaf(huge, KVM_CPUID_SIGNATURE)->eax, 0x4fffffffu);
  EXPECT_EQ(FindLeaf(huge, KVM_CPUID_SIGNATURE)->ebx, 0x4b4d564bu);  // still KVM's signature
}

TEST(ApplyHostileKvmLeaves, NoFeaturesLeaf) {
  CpuidTable table = KvmTable();
  ApplyHostileKvmLeaves(table, kHostileNoFeaturesLeaf, 0);
  EXPECT_EQ(FindLeaf(table, KVM_CPUID_SIGNATURE)->eax, KVM_CPUID_SIGNATURE);
  EXPECT_EQ(FindLeaf(table, KVM_CPUID_FEATURES), nullptr);
}

TEST(ApplyHostileKvmLeaves, AllOnesOverTheWholeBlock) {
  CpuidTable table = KvmTable();
  ApplyHostileKvmLeaves(table, kHostileLeavesAllFf, 0);
  for (uint32_t leaf = 0x40000000; leaf <= 0x4000001f; ++leaf) {
    const auto* e = FindLeaf(table, leaf);
    ASSERT_NE(e, nullptr) << std::hex << leaf;
    EXPECT_EQ(e->eax & e->ebx & e->ecx & e->edx, 0xffffffffu) << std::hex << leaf;
  }
  EXPECT_EQ(FindLeaf(table, 0x40000020), nullptr);  // KVM's 256-entry limit: no more
  EXPECT_EQ(FindLeaf(table, 1)->eax, 0x00060fb1u);  // the basic leaves untouched
}

TEST(ApplyHostileKvmLeaves, CpuidDiffersOnlyOnVcpu1) {
  CpuidTable cpu0 = KvmTable(), cpu1 = KvmTable();
  ApplyHostileKvmLeaves(cpu0, kHostileCpuidDiffersOnCpu1, 0);
  ApplyHostileKvmLeaves(cpu1, kHostileCpuidDiffersOnCpu1, 1);
  EXPECT_EQ(FindLeaf(cpu0, KVM_CPUID_FEATURES)->eax, 0x01007efbu);
  // 0x01007efb less clocksource (0), clocksource2 (3), steal time (5), PV EOI (6).
  EXPECT_EQ(FindLeaf(cpu1, KVM_CPUID_FEATURES)->eax, 0x01007e92u);
}

TEST(ApplyHostileHvLeaves, MicrosoftHvWithoutHv1) {
  CpuidTable table{
      CpuidLeaf(kHvLeafVendorAndMax, 0, kHvLeafNestedFeatures, 0x756e694c, 0x564b2078, 0x7648204d),
      CpuidLeaf(kHvLeafInterface, 0, kHvInterfaceSignature)};
  ApplyHostileHvLeaves(table, kHostileHvNoHv1);
  EXPECT_EQ(FindLeaf(table, kHvLeafVendorAndMax)->ebx, kHvVendorMicrosoftEbx);
  EXPECT_EQ(FindLeaf(table, kHvLeafVendorAndMax)->ecx, kHvVendorMicrosoftEcx);
  EXPECT_EQ(FindLeaf(table, kHvLeafVendorAndMax)->edx, kHvVendorMicrosoftEdx);
  EXPECT_NE(FindLeaf(table, kHvLeafInterface)->eax, kHvInterfaceSignature);
}

TEST(HostilePersonalities, RefuseTheOtherInterfacesOptions) {
  EXPECT_THROW(MakePersonality("kvm", {.hostile = kHostileHvNoHv1}), VmmError);
  EXPECT_THROW(MakePersonality("hyperv", {.hostile = kHostileKvmclockOdd}), VmmError);
}

}  // namespace
}  // namespace pvops::vmm
