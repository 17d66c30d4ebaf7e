// SPDX-License-Identifier: MIT
#include "personality.h"

#include <asm/kvm_para.h>
#include <gtest/gtest.h>

#include "vmm_error.h"

namespace pvops::vmm {
namespace {

// A table shaped like KVM's answer under TCG -cpu max (values from a real run).
CpuidTable SupportedTable() {
  return {CpuidLeaf(0x1, 0, 0x00060fb1, 0x01020800, 0x76f83203, 0x0f8bfbfd),
          CpuidLeaf(0xb, 0, 0, 0, 0x100, 0x0, true),
          CpuidLeaf(0xb, 1, 0, 0, 0x201, 0x0, true),
          CpuidLeaf(0x8000001e, 0, 0, 0, 0, 0),
          CpuidLeaf(KVM_CPUID_SIGNATURE, 0, KVM_CPUID_FEATURES, 0x4b4d564b, 0x564b4d56, 0x4d),
          CpuidLeaf(KVM_CPUID_FEATURES, 0, 0x01007efb, 0, 0, 0)};
}

TEST(CpuidTopology, SetsApicIdsAndApicFeatureBits) {
  CpuidTable table = SupportedTable();
  ApplyTopologyAndApicFeatures(table, {.apic_id = 3, .vcpu_count = 4});
  const auto* features = FindLeaf(table, 1);
  ASSERT_NE(features, nullptr);
  EXPECT_EQ(features->ecx & kCpuid1EcxX2Apic, kCpuid1EcxX2Apic);
  EXPECT_EQ(features->ecx & kCpuid1EcxTscDeadline, kCpuid1EcxTscDeadline);
  EXPECT_EQ(features->ecx & kCpuid1EcxHypervisor, kCpuid1EcxHypervisor);
  EXPECT_EQ(features->ecx & 0x76f83203u, 0x76f83203u);  // nothing else lost
  EXPECT_EQ(features->ebx >> 24, 3u);
  EXPECT_EQ((features->ebx >> 16) & 0xff, 4u);
  EXPECT_EQ(features->ebx & 0xffff, 0x0800u);
  EXPECT_EQ(FindLeaf(table, 0xb, 0)->edx, 3u);
  EXPECT_EQ(FindLeaf(table, 0xb, 1)->edx, 3u);
  EXPECT_EQ(FindLeaf(table, 0x8000001e)->eax, 3u);
}

TEST(CpuidTopology, RefusesATableWithoutLeafOne) {
  CpuidTable table{CpuidLeaf(0, 0, 0xd, 0, 0, 0)};
  EXPECT_THROW(ApplyTopologyAndApicFeatures(table, {.apic_id = 0, .vcpu_count = 1}), VmmError);
}

TEST(FindLeaf, HonoursTheSignificantIndexFlag) {
  CpuidTable table = SupportedTable();
  EXPECT_EQ(FindLeaf(table, 0xb, 1)->ecx, 0x201u);
  EXPECT_EQ(FindLeaf(table, 0xb, 7), nullptr);
  // Index does not matter for leaf 1: any index finds it.
  EXPECT_EQ(FindLeaf(table, 0x1, 5)->eax, 0x00060fb1u);
  EXPECT_EQ(FindLeaf(table, 0x40000005), nullptr);
}

TEST(WithholdKvmFeatures, ClearsOnlyTheMaskedBits) {
  CpuidTable table = SupportedTable();
  WithholdKvmFeatures(table, 1u << KVM_FEATURE_PV_SEND_IPI);
  EXPECT_EQ(FindLeaf(table, KVM_CPUID_FEATURES)->eax, 0x010076fbu);
  EXPECT_EQ(FindLeaf(table, KVM_CPUID_SIGNATURE)->ebx, 0x4b4d564bu);  // signature untouched
}

TEST(WithholdKvmFeatures, FindsTheFeatureLeafAtAnotherBase) {
  CpuidTable table{CpuidLeaf(0x40000100, 0, 0x40000101, 0x4b4d564b, 0x564b4d56, 0x4d),
                   CpuidLeaf(0x40000101, 0, 0x01007efb, 0, 0, 0)};
  WithholdKvmFeatures(table, 1u << KVM_FEATURE_PV_SEND_IPI, 0x40000100);
  EXPECT_EQ(FindLeaf(table, 0x40000101)->eax, 0x010076fbu);
  EXPECT_THROW(WithholdKvmFeatures(table, 0x800), VmmError);  // nothing at 0x40000001
}

TEST(WithholdKvmFeatures, NeedsTheKvmLeafOnlyWhenSomethingIsWithheld) {
  CpuidTable table{CpuidLeaf(1, 0, 0, 0, 0, 0)};
  EXPECT_NO_THROW(WithholdKvmFeatures(table, 0));
  EXPECT_THROW(WithholdKvmFeatures(table, 0x800), VmmError);
}

TEST(KvmPersonality, KeepsKvmLeavesAndAppliesTheMask) {
  auto personality = MakePersonality("kvm", {.kvm_features_clear = 1u << KVM_FEATURE_PV_EOI});
  EXPECT_EQ(personality->name(), "kvm");
  const CpuidTable supported = SupportedTable();
  CpuidTable table = personality->BuildTable(supported, {.apic_id = 1, .vcpu_count = 2});
  ASSERT_EQ(table.size(), supported.size());
  EXPECT_EQ(FindLeaf(table, KVM_CPUID_FEATURES)->eax, 0x01007efbu & ~(1u << KVM_FEATURE_PV_EOI));
  EXPECT_EQ(FindLeaf(table, KVM_CPUID_SIGNATURE)->eax, static_cast<uint32_t>(KVM_CPUID_FEATURES));
  EXPECT_EQ(FindLeaf(table, 1)->ebx >> 24, 1u);
}

TEST(MakePersonality, RefusesWhatIsNotThere) {
  EXPECT_THROW(MakePersonality("bhyve", {}), VmmError);
  EXPECT_THROW(MakePersonality("", {}), VmmError);
}

}  // namespace
}  // namespace pvops::vmm
