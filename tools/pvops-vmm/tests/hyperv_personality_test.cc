// SPDX-License-Identifier: MIT
#include "hyperv_personality.h"

#include <asm/kvm_para.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "vmm_error.h"

namespace pvops::vmm {
namespace {

kvm_cpuid_entry2 Leaf(uint32_t function, uint32_t eax, uint32_t ebx = 0, uint32_t ecx = 0,
                      uint32_t edx = 0) {
  kvm_cpuid_entry2 entry{};
  entry.function = function;
  entry.eax = eax;
  entry.ebx = ebx;
  entry.ecx = ecx;
  entry.edx = edx;
  return entry;
}

// KVM 6.12's KVM_GET_SUPPORTED_HV_CPUID with an in-kernel LAPIC on AMD (arch/x86/kvm/hyperv.c).
constexpr uint32_t kKvmFeaturesEax = 0x0000aaff;
constexpr uint32_t kKvmFeaturesEbx =
    0x00100830;  // post messages, signal events, debugging, ext calls
constexpr uint32_t kKvmFeaturesEdx = 0x00084d12;
constexpr uint32_t kKvmHintsEax = 0x00000e2c;
CpuidTable KvmHvLeaves() {
  return {Leaf(0x40000000, 0x40000082, 0x756e694c, 0x564b2078, 0x7648204d),  // "Linux KVM Hv"
          Leaf(0x40000001, 0x31237648),
          Leaf(0x40000002, 0x00003839, 0x000a0000),
          Leaf(0x40000003, kKvmFeaturesEax, kKvmFeaturesEbx, 0, kKvmFeaturesEdx),
          Leaf(0x40000004, kKvmHintsEax, 0x00000fff),
          Leaf(0x40000005, 1024, 64),
          Leaf(0x40000080, 0, 0x756e694c, 0x564b2078, 0x7648204d),
          Leaf(0x40000081, 0x31235356),
          Leaf(0x40000082, 0),
          Leaf(0x4000000a, 0x00060000, 0x1)};
}

// KVM_GET_SUPPORTED_CPUID's shape: basic leaves and KVM's own block at 0x40000000.
CpuidTable SupportedTable() {
  return {Leaf(0x0, 0xd, 0x68747541, 0x444d4163, 0x69746e65),
          Leaf(0x1, 0x00060fb1, 0x01020800, 0x76f83203, 0x0f8bfbfd),
          Leaf(KVM_CPUID_SIGNATURE, KVM_CPUID_FEATURES, 0x4b4d564b, 0x564b4d56, 0x4d),
          Leaf(KVM_CPUID_FEATURES, 0x01007efb)};
}

// The 12 vendor bytes of a signature leaf, EBX ECX EDX in order, as a guest reads them.
std::string VendorOf(const kvm_cpuid_entry2& leaf) {
  const uint32_t words[3] = {leaf.ebx, leaf.ecx, leaf.edx};
  std::string vendor(sizeof(words), '\0');
  std::memcpy(vendor.data(), words, sizeof(words));
  return vendor;
}

size_t CountInRange(const CpuidTable& table, uint32_t first, uint32_t last) {
  size_t n = 0;
  for (const auto& entry : table) n += entry.function >= first && entry.function <= last;
  return n;
}

TEST(HypervLeavesForGuest, KeepsKvmsValuesButTheUserspaceServices) {
  const CpuidTable offered = HypervLeavesForGuest(KvmHvLeaves());
  CpuidTable table = offered;
  EXPECT_EQ(FindLeaf(table, 0x40000000)->eax, 0x4000000au);  // ends before the debugger leaves
  EXPECT_EQ(VendorOf(*FindLeaf(table, 0x40000000)), "Microsoft Hv");  // not KVM's "Linux KVM Hv"
  EXPECT_EQ(FindLeaf(table, 0x40000001)->eax, kHvInterfaceSignature);
  EXPECT_EQ(FindLeaf(table, 0x40000003)->eax, kKvmFeaturesEax);  // every MSR privilege KVM has
  EXPECT_EQ(FindLeaf(table, 0x40000003)->ebx, 0u);
  EXPECT_EQ(FindLeaf(table, 0x40000003)->edx,
            kKvmFeaturesEdx & ~(kHvGuestDebuggingAvailable | kHvDebugMsrsAvailable));
  EXPECT_EQ(FindLeaf(table, 0x40000004)->eax, kKvmHintsEax);
  EXPECT_EQ(FindLeaf(table, 0x40000004)->ebx, 0xfffu);
  EXPECT_EQ(FindLeaf(table, 0x4000000a)->eax, 0x00060000u);
  EXPECT_EQ(CountInRange(table, 0x40000080, 0x400000ff), 0u);
  EXPECT_EQ(table.size(), 7u);
}

TEST(HypervLeavesForGuest, RefusesATableWithoutHv1) {
  CpuidTable broken = KvmHvLeaves();
  FindLeaf(broken, 0x40000001)->eax = 0;
  EXPECT_THROW(HypervLeavesForGuest(broken), VmmError);
  CpuidTable short_table{Leaf(0x40000000, 0x40000001), Leaf(0x40000001, kHvInterfaceSignature)};
  EXPECT_THROW(HypervLeavesForGuest(short_table), VmmError);
}

TEST(KvmLeavesAt, MovesSignatureAndFeaturesWithTheMaxLeaf) {
  CpuidTable moved = KvmLeavesAt(SupportedTable(), kKvmBaseBesideHyperv);
  ASSERT_EQ(moved.size(), 2u);
  EXPECT_EQ(FindLeaf(moved, 0x40000100)->eax, 0x40000101u);
  EXPECT_EQ(FindLeaf(moved, 0x40000100)->ebx, 0x4b4d564bu);
  EXPECT_EQ(FindLeaf(moved, 0x40000101)->eax, 0x01007efbu);
  EXPECT_THROW(KvmLeavesAt(CpuidTable{Leaf(1, 0)}, kKvmBaseBesideHyperv), VmmError);
}

TEST(HypervPersonality, HypervOnlyHasNoKvmSignatureAnywhere) {
  auto personality = MakeHypervPersonalityForTest(HypervFlavour::kHypervOnly, {}, KvmHvLeaves());
  EXPECT_EQ(personality->name(), "hyperv");
  CpuidTable table = personality->BuildTable(SupportedTable(), {.apic_id = 1, .vcpu_count = 2});
  for (const auto& entry : table) EXPECT_NE(entry.ebx, 0x4b4d564bu) << std::hex << entry.function;
  EXPECT_EQ(CountInRange(table, 0x40000100, kHypervisorLeafLast), 0u);
  EXPECT_EQ(FindLeaf(table, 0x40000001)->eax, kHvInterfaceSignature);
  EXPECT_EQ(VendorOf(*FindLeaf(table, 0x40000000)), "Microsoft Hv");
  EXPECT_EQ(FindLeaf(table, 1)->ecx & kCpuid1EcxHypervisor, kCpuid1EcxHypervisor);
  EXPECT_EQ(FindLeaf(table, 1)->ebx >> 24, 1u);
  EXPECT_EQ(FindLeaf(table, 0)->eax, 0xdu);  // the basic leaves stay
}

TEST(HypervPersonality, HypervOnlyRefusesAKvmFeatureMask) {
  auto personality = MakeHypervPersonalityForTest(HypervFlavour::kHypervOnly,
                                                  {.kvm_features_clear = 0x800}, KvmHvLeaves());
  EXPECT_THROW(personality->BuildTable(SupportedTable(), {.apic_id = 0, .vcpu_count = 1}),
               VmmError);
}

TEST(HypervPersonality, HypervWithKvmPutsKvmAbove) {
  auto personality = MakeHypervPersonalityForTest(
      HypervFlavour::kHypervWithKvm, {.kvm_features_clear = 1u << KVM_FEATURE_PV_SEND_IPI},
      KvmHvLeaves());
  EXPECT_EQ(personality->name(), "hyperv-kvm");
  CpuidTable table = personality->BuildTable(SupportedTable(), {.apic_id = 0, .vcpu_count = 2});
  EXPECT_EQ(VendorOf(*FindLeaf(table, 0x40000000)), "Microsoft Hv");  // Hyper-V first...
  EXPECT_EQ(FindLeaf(table, 0x40000001)->eax, kHvInterfaceSignature);
  EXPECT_EQ(FindLeaf(table, 0x40000100)->ebx, 0x4b4d564bu);  // ...KVM above it
  EXPECT_EQ(FindLeaf(table, 0x40000100)->eax, 0x40000101u);
  EXPECT_EQ(FindLeaf(table, 0x40000101)->eax, 0x01007efbu & ~(1u << KVM_FEATURE_PV_SEND_IPI));
  // Exactly one entry per leaf: KVM's original 0x40000000/1 are gone, not shadowed.
  EXPECT_EQ(CountInRange(table, 0x40000000, 0x40000001), 2u);
}

TEST(HypervPersonality, BuildingBeforeConfigureVmIsAnError) {
  auto personality = MakeHypervPersonality(HypervFlavour::kHypervOnly, {});
  EXPECT_THROW(personality->BuildTable(SupportedTable(), {.apic_id = 0, .vcpu_count = 1}),
               VmmError);
}

TEST(HypervPersonality, VpIndexStrideMustBePositiveAndHypervOnly) {
  EXPECT_THROW(MakeHypervPersonality(HypervFlavour::kHypervOnly, {.hv_vp_index_stride = 0}),
               VmmError);
  EXPECT_NO_THROW(MakeHypervPersonality(HypervFlavour::kHypervOnly, {.hv_vp_index_stride = 130}));
  EXPECT_THROW(MakePersonality("kvm", {.hv_vp_index_stride = 130}), VmmError);
}

TEST(HypervPersonality, WithholdsPrivilegesAndHints) {
  auto personality = MakeHypervPersonalityForTest(
      HypervFlavour::kHypervOnly, {.hv_privileges_clear = 0x208, .hv_hints_clear = 0xc0c},
      KvmHvLeaves());
  CpuidTable table = personality->BuildTable(SupportedTable(), {.apic_id = 0, .vcpu_count = 2});
  EXPECT_EQ(FindLeaf(table, 0x40000003)->eax, kKvmFeaturesEax & ~0x208u & ~kHvAccessTscInvariant);
  EXPECT_EQ(FindLeaf(table, 0x40000004)->eax, kKvmHintsEax & ~0xc0cu);
  EXPECT_EQ(FindLeaf(table, 0x40000004)->ebx, 0xfffu);  // the spin count stays
  EXPECT_THROW(MakePersonality("kvm", {.hv_hints_clear = 0x4}), VmmError);
}

// KVM 6.12 grants HV_ACCESS_TSC_INVARIANT (0x8000 of kKvmFeaturesEax) on any host.
TEST(HypervPersonality, GrantsTheInvariantTscControlOnlyOnAnInvariantTsc) {
  static_assert((kKvmFeaturesEax & kHvAccessTscInvariant) != 0);
  for (const auto flavour : {HypervFlavour::kHypervOnly, HypervFlavour::kHypervWithKvm}) {
    auto personality = MakeHypervPersonalityForTest(flavour, {}, KvmHvLeaves());
    CpuidTable supported = SupportedTable();
    supported.push_back(Leaf(kLeafAdvancedPowerManagement, 0, 0, 0, 0));  // no invariant TSC
    CpuidTable table = personality->BuildTable(supported, {.apic_id = 0, .vcpu_count = 2});
    EXPECT_EQ(FindLeaf(table, 0x40000003)->eax, kKvmFeaturesEax & ~kHvAccessTscInvariant);
    table = personality->BuildTable(SupportedTable(), {.apic_id = 0, .vcpu_count = 2});  // no leaf
    EXPECT_EQ(FindLeaf(table, 0x40000003)->eax, kKvmFeaturesEax & ~kHvAccessTscInvariant);
    FindLeaf(supported, kLeafAdvancedPowerManagement)->edx = kApmEdxInvariantTsc;
    table = personality->BuildTable(supported, {.apic_id = 0, .vcpu_count = 2});
    EXPECT_EQ(FindLeaf(table, 0x40000003)->eax, kKvmFeaturesEax);
  }
}

TEST(MakePersonality, KnowsTheHypervPersonalities) {
  EXPECT_EQ(MakePersonality("hyperv", {})->name(), "hyperv");
  EXPECT_EQ(MakePersonality("hyperv-kvm", {})->name(), "hyperv-kvm");
}

}  // namespace
}  // namespace pvops::vmm
