// SPDX-License-Identifier: MIT
#include "xen_public.h"
// clang-format off: xen_public.h stays before every other Xen header
#include "xen_personality.h"

#include <xen/arch-x86/cpuid.h>
#include <xen/event_channel.h>
// clang-format on

#include <gtest/gtest.h>

#include "vmm_error.h"

namespace pvops::vmm {
namespace {

TEST(XenLeaves, AreXensSignatureVersionAndHypercallPage) {
  CpuidTable leaves = XenLeaves(0);
  const kvm_cpuid_entry2* signature = FindLeaf(leaves, 0x40000000);
  ASSERT_NE(signature, nullptr);
  EXPECT_EQ(signature->ebx, XEN_CPUID_SIGNATURE_EBX);
  EXPECT_EQ(signature->ecx, XEN_CPUID_SIGNATURE_ECX);
  EXPECT_EQ(signature->edx, XEN_CPUID_SIGNATURE_EDX);
  EXPECT_EQ(signature->eax, 0x40000004u);  // up to the HVM leaf the guest reads its id from
  EXPECT_EQ(FindLeaf(leaves, 0x40000001)->eax, (4u << 16) | 17u);
  const kvm_cpuid_entry2* page = FindLeaf(leaves, 0x40000002);
  EXPECT_EQ(page->eax, 1u);           // one hypercall page...
  EXPECT_EQ(page->ebx, 0x40000000u);  // ...named by this MSR
}

TEST(XenLeaves, GiveKvmTheTimeSubleavesToFill) {
  CpuidTable leaves = XenLeaves(0);
  for (uint32_t index = 0; index < 3; ++index) {
    const kvm_cpuid_entry2* time = FindLeaf(leaves, 0x40000003, index);
    ASSERT_NE(time, nullptr) << index;
    EXPECT_EQ(time->index, index);
    EXPECT_TRUE(time->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
  }
}

TEST(XenLeaves, NameEachVcpu) {
  for (const uint32_t id : {0u, 1u, 31u}) {
    CpuidTable leaves = XenLeaves(id);
    const kvm_cpuid_entry2* hvm = FindLeaf(leaves, 0x40000004);
    EXPECT_TRUE(hvm->eax & XEN_HVM_CPUID_VCPU_ID_PRESENT);
    EXPECT_EQ(hvm->ebx, id);
  }
}

TEST(XenPortTable, BindsFromPortOneAndReusesTheLowestFree) {
  XenPortTable ports(8);
  EXPECT_EQ(ports.Bind({XenPort::Kind::kVirq, 0, VIRQ_TIMER}), 1u);
  EXPECT_EQ(ports.Bind({XenPort::Kind::kIpi, 1, 0}), 2u);
  EXPECT_EQ(ports.Bind({XenPort::Kind::kIpi, 0, 0}), 3u);
  EXPECT_TRUE(ports.Close(2));
  EXPECT_FALSE(ports.Close(2));
  EXPECT_EQ(ports.Bind({XenPort::Kind::kIpi, 0, 0}), 2u);
}

TEST(XenPortTable, FindsBoundPortsOnly) {
  XenPortTable ports(4);
  const auto timer = ports.Bind({XenPort::Kind::kVirq, 1, VIRQ_TIMER});
  EXPECT_EQ(ports.FindVirq(1, VIRQ_TIMER), timer);
  EXPECT_EQ(ports.FindVirq(0, VIRQ_TIMER), std::nullopt);
  ASSERT_NE(ports.Find(*timer), nullptr);
  EXPECT_EQ(ports.Find(*timer)->vcpu, 1u);
  EXPECT_EQ(ports.Find(0), nullptr);  // Xen never hands out port 0
  EXPECT_EQ(ports.Find(2), nullptr);  // free
  EXPECT_EQ(ports.Find(4), nullptr);  // out of range
  EXPECT_EQ(ports.Find(0xffffffff), nullptr);
}

TEST(XenPortTable, SaysWhenFull) {
  XenPortTable ports(3);  // ports 1 and 2
  EXPECT_TRUE(ports.Bind({XenPort::Kind::kIpi, 0, 0}));
  EXPECT_TRUE(ports.Bind({XenPort::Kind::kIpi, 0, 0}));
  EXPECT_EQ(ports.Bind({XenPort::Kind::kIpi, 0, 0}), std::nullopt);
}

TEST(XenPersonality, IsMadeByNameAndTakesNoOtherOptions) {
  EXPECT_EQ(MakePersonality("xen", {})->name(), "xen");
  EXPECT_THROW(MakePersonality("xen", {.kvm_features_clear = 0x800}), VmmError);
  EXPECT_THROW(MakePersonality("xen", {.option_rom = {0x55, 0xaa, 1}}), VmmError);
}

TEST(XenPersonality, ReplacesKvmsLeavesWithXens) {
  auto personality = MakePersonality("xen", {});
  CpuidTable supported = {
      kvm_cpuid_entry2{.function = 0x1, .eax = 0x00060fb1},
      kvm_cpuid_entry2{
          .function = KVM_CPUID_SIGNATURE, .eax = KVM_CPUID_FEATURES, .ebx = 0x4b4d564b},
      kvm_cpuid_entry2{.function = KVM_CPUID_FEATURES, .eax = 0x01007efb}};
  CpuidTable table = personality->BuildTable(supported, {.apic_id = 1, .vcpu_count = 2});
  EXPECT_EQ(FindLeaf(table, 0x40000000)->ebx, XEN_CPUID_SIGNATURE_EBX);
  EXPECT_EQ(FindLeaf(table, 0x40000001)->eax, (4u << 16) | 17u);  // not KVM's features
  EXPECT_EQ(FindLeaf(table, 0x40000004)->ebx, 1u);
  EXPECT_TRUE(FindLeaf(table, 1)->ecx & kCpuid1EcxHypervisor);
}

}  // namespace
}  // namespace pvops::vmm
