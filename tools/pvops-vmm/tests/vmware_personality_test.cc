// SPDX-License-Identifier: MIT
#include "vmware_personality.h"

#include <gtest/gtest.h>

#include "vmm_error.h"

namespace pvops::vmm {
namespace {

// QEMU 7.2's vmport (hw/i386/vmport.c) is the reference for every answer below.
constexpr uint32_t kMagic = 0x564d5868;  // "VMXh"
constexpr BackdoorFacts kFacts{.tsc_khz = 2100000, .ram_bytes = 256u << 20, .x2apic = true};

TEST(VmwareBackdoor, GetVersionAnswersAsVmport) {
  BackdoorRegisters regs{kMagic, 0xffffffff, 10, 0x5658};
  EXPECT_TRUE(AnswerBackdoor(regs, kFacts));
  EXPECT_EQ(regs.eax, 6u);      // vmware-vmx-version
  EXPECT_EQ(regs.ebx, kMagic);  // the proof of a VMware hypervisor
  EXPECT_EQ(regs.ecx, 2u);      // vmware-vmx-type: ESX server
  EXPECT_EQ(regs.edx, 0x5658u);
}

TEST(VmwareBackdoor, TakesTheCommandFromCl) {
  BackdoorRegisters regs{kMagic, 0, 0x1230a, 0x5658};
  EXPECT_TRUE(AnswerBackdoor(regs, kFacts));
  EXPECT_EQ(regs.eax, 6u);
}

TEST(VmwareBackdoor, GetHzSplitsTheTscRateAndGivesKvmsApicBus) {
  BackdoorRegisters regs{kMagic, 0xffffffff, 45, 0x5658};
  EXPECT_TRUE(AnswerBackdoor(regs, kFacts));
  EXPECT_EQ((uint64_t{regs.ebx} << 32) | regs.eax, 2'100'000'000u);
  EXPECT_EQ(regs.ecx, 1'000'000'000u);
  BackdoorRegisters above_4ghz{kMagic, 0xffffffff, 45, 0x5658};
  EXPECT_TRUE(AnswerBackdoor(above_4ghz, {.tsc_khz = 5'000'000, .ram_bytes = 0, .x2apic = false}));
  EXPECT_EQ((uint64_t{above_4ghz.ebx} << 32) | above_4ghz.eax, 5'000'000'000u);
}

TEST(VmwareBackdoor, GetHzWithoutARateSaysSo) {
  BackdoorRegisters regs{kMagic, 0, 45, 0x5658};
  EXPECT_TRUE(AnswerBackdoor(regs, {.tsc_khz = 0, .ram_bytes = 0, .x2apic = false}));
  EXPECT_EQ(regs.ebx, 0xffffffffu);
}

TEST(VmwareBackdoor, RamSizeAndVcpuInfo) {
  BackdoorRegisters ram{kMagic, 0, 20, 0x5658};
  EXPECT_TRUE(AnswerBackdoor(ram, kFacts));
  EXPECT_EQ(ram.eax, 256u << 20);
  EXPECT_EQ(ram.ebx, 0x1177u);
  BackdoorRegisters info{kMagic, 0, 68, 0x5658};
  EXPECT_TRUE(AnswerBackdoor(info, kFacts));
  EXPECT_EQ(info.eax, 1u << 3);  // VCPU_INFO_LEGACY_X2APIC
}

TEST(VmwareBackdoor, WithoutTheMagicOrForAnUnknownCommandEaxIsAllOnes) {
  BackdoorRegisters no_magic{0x12345678, 7, 10, 0x5658};
  EXPECT_FALSE(AnswerBackdoor(no_magic, kFacts));
  EXPECT_EQ(no_magic.eax, 0xffffffffu);
  EXPECT_EQ(no_magic.ebx, 7u);  // nothing else touched
  BackdoorRegisters unknown{kMagic, 7, 99, 0x5658};
  EXPECT_FALSE(AnswerBackdoor(unknown, kFacts));
  EXPECT_EQ(unknown.eax, 0xffffffffu);
  EXPECT_EQ(unknown.ebx, 7u);
}

TEST(OptionRom, GoesToTheWindowsFirstSlot) {
  std::vector<uint8_t> rom(2048, 0);
  rom[0] = 0x55, rom[1] = 0xaa, rom[2] = 4;
  EXPECT_EQ(OptionRomAddress(rom), 0xc0000u);
  EXPECT_EQ(OptionRomAddress(rom) % 2048, 0u);
}

TEST(OptionRom, RefusesBytesThatAreNoOptionRomOrDoNotFit) {
  EXPECT_THROW(OptionRomAddress(std::vector<uint8_t>{0xaa, 0x55, 1}), VmmError);
  EXPECT_THROW(OptionRomAddress(std::vector<uint8_t>{0x55}), VmmError);
  std::vector<uint8_t> too_big(0x20001, 0);
  too_big[0] = 0x55, too_big[1] = 0xaa;
  EXPECT_THROW(OptionRomAddress(too_big), VmmError);
  too_big.resize(0x20000);  // exactly the window
  EXPECT_EQ(OptionRomAddress(too_big), 0xc0000u);
}

TEST(VmwarePersonality, ShowsNoHypervisorLeavesAndReservesItsRom) {
  std::vector<uint8_t> rom(2048, 0);
  rom[0] = 0x55, rom[1] = 0xaa;
  auto personality = MakePersonality("vmware", {.option_rom = rom});
  EXPECT_EQ(personality->name(), "vmware");
  CpuidTable supported = {
      kvm_cpuid_entry2{.function = 0x1, .eax = 0x00060fb1},
      kvm_cpuid_entry2{
          .function = KVM_CPUID_SIGNATURE, .eax = KVM_CPUID_FEATURES, .ebx = 0x4b4d564b},
      kvm_cpuid_entry2{.function = KVM_CPUID_FEATURES, .eax = 0x01007efb}};
  CpuidTable table = personality->BuildTable(supported, {.apic_id = 0, .vcpu_count = 2});
  EXPECT_EQ(FindLeaf(table, KVM_CPUID_SIGNATURE), nullptr);
  EXPECT_EQ(FindLeaf(table, KVM_CPUID_FEATURES), nullptr);
  const auto reserved = personality->ReservedRanges();
  ASSERT_EQ(reserved.size(), 1u);
  EXPECT_EQ(reserved[0].start, 0xc0000u);
  EXPECT_EQ(reserved[0].end, 0xc0000u + 2048);
  EXPECT_THROW(MakePersonality("kvm", {.option_rom = rom}), VmmError);
  EXPECT_THROW(MakePersonality("vmware", {.kvm_features_clear = 1}), VmmError);
}

}  // namespace
}  // namespace pvops::vmm
