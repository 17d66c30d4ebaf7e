// SPDX-License-Identifier: MIT
// The reference ROM as rom/ builds it: the option-ROM and VMI header rules byte by byte, the
// three corrupted variants, and its get_reloc run for real (natively, it is unprivileged
// code) at two load addresses: the answers move with the ROM, so it is position-independent.
#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "vmware_machine.h"

namespace pvops::test {
namespace {

uint16_t U16(const std::vector<uint8_t>& b, size_t at) { return uint16_t(b[at] | b[at + 1] << 8); }
uint32_t U32(const std::vector<uint8_t>& b, size_t at) {
  return U16(b, at) | uint32_t{U16(b, at + 2)} << 16;
}
uint8_t Sum(const std::vector<uint8_t>& b, size_t from, size_t size) {
  uint8_t sum = 0;
  for (size_t i = from; i < from + size; ++i) sum = uint8_t(sum + b[i]);
  return sum;
}
std::string StringAt(const std::vector<uint8_t>& b, size_t at) {
  return std::string(reinterpret_cast<const char*>(&b[at]));
}

// Every call the 64-bit form defines, as the reference ROM answers it.
const std::set<uint32_t> kCallRel = {VMI_CALL_CPUID,
                                     VMI_CALL_WRMSR,
                                     VMI_CALL_RDMSR,
                                     VMI_CALL_SetCR3,
                                     VMI_CALL_GetCR3,
                                     VMI_CALL_RDTSC,
                                     VMI_CALL_EnableInterrupts,
                                     VMI_CALL_DisableInterrupts,
                                     VMI_CALL_GetInterruptMask,
                                     VMI_CALL_SetInterruptMask,
                                     VMI_CALL_Halt,
                                     VMI_CALL_Shutdown,
                                     VMI_CALL_SetPxE,
                                     VMI_CALL_SetPxELong,
                                     VMI_CALL_InvalPage,
                                     VMI_CALL_FlushTLB,
                                     VMI_CALL_APICWrite,
                                     VMI_CALL_APICRead,
                                     VMI_CALL_IODelay,
                                     VMI_CALL_GetCycleFrequency,
                                     VMI_CALL_GetCycleCounter,
                                     VMI_CALL_SetLazyMode,
                                     VMI_CALL_GetApicFrequency,
                                     VMI_CALL_GetHypervisorVersion};
const std::set<uint32_t> kNop = {VMI_CALL_UpdatePxE, VMI_CALL_UpdatePxELong};

TEST(RomImage, OptionRomRules) {
  const std::vector<uint8_t> rom = LoadRomImage();
  ASSERT_GE(rom.size(), 512u);
  EXPECT_EQ(rom[0], 0x55);
  EXPECT_EQ(rom[1], 0xaa);
  EXPECT_EQ(rom.size() % 512, 0u);
  EXPECT_EQ(rom[VMI_OFFSET_ROM_LENGTH] * 512u, rom.size());
  EXPECT_EQ(Sum(rom, 0, rom.size()), 0);
  EXPECT_EQ(rom[VMI_OFFSET_POST_ENTRY], 0xcb) << "the POST entry is a far return";
}

TEST(RomImage, VmiHeader) {
  const std::vector<uint8_t> rom = LoadRomImage();
  ASSERT_GE(rom.size(), size_t{VMI_HEADER_BYTES});
  EXPECT_EQ(U32(rom, VMI_OFFSET_VROM_SIGNATURE), 0x696d5663u);
  EXPECT_EQ(std::memcmp(&rom[VMI_OFFSET_VROM_SIGNATURE], "cVmi", 4), 0);
  EXPECT_EQ(rom[VMI_OFFSET_API_MAJOR], 3);
  EXPECT_EQ(rom[VMI_OFFSET_API_MINOR], 0);
  EXPECT_EQ(rom[VMI_OFFSET_JUMP_SLOTS], VMI_REFERENCE_JUMP_SLOTS);
  EXPECT_EQ(U32(rom, VMI_OFFSET_VIRTUAL_TOP), 0u);
  EXPECT_EQ(StringAt(rom, U16(rom, VMI_OFFSET_LICENSE)), "same license as the pvops project");
  for (const uint32_t slot : {VMI_OFFSET_INIT_SLOT, VMI_OFFSET_GET_RELOC_SLOT}) {
    EXPECT_EQ(rom[slot], 0xe9) << "slot " << slot << " is a jmp rel32";
    const int64_t target = int64_t{slot} + 5 + static_cast<int32_t>(U32(rom, slot + 1));
    EXPECT_GE(target, VMI_HEADER_BYTES);
    EXPECT_LT(target, static_cast<int64_t>(rom.size()));
  }
}

TEST(RomImage, PciAndPnpHeaders) {
  const std::vector<uint8_t> rom = LoadRomImage();
  const uint16_t pci = U16(rom, VMI_OFFSET_PCI_HEADER);
  ASSERT_LE(pci + VMI_PCI_STRUCT_BYTES, rom.size());
  EXPECT_EQ(std::memcmp(&rom[pci], "PCIR", 4), 0);
  EXPECT_EQ(U16(rom, pci + VMI_PCI_OFFSET_VENDOR), 0x15ad);
  EXPECT_EQ(U16(rom, pci + VMI_PCI_OFFSET_DEVICE), 0x0801);
  EXPECT_EQ(U16(rom, pci + VMI_PCI_OFFSET_STRUCT_LENGTH), VMI_PCI_STRUCT_BYTES);
  EXPECT_EQ(U16(rom, pci + VMI_PCI_OFFSET_IMAGE_LENGTH) * 512u, rom.size());
  EXPECT_EQ(rom[pci + VMI_PCI_OFFSET_CODE_TYPE], 0);
  EXPECT_EQ(rom[pci + VMI_PCI_OFFSET_INDICATOR], 0x80);

  const uint16_t pnp = U16(rom, VMI_OFFSET_PNP_HEADER);
  ASSERT_LE(pnp + VMI_PNP_HEADER_BYTES, rom.size());
  EXPECT_EQ(std::memcmp(&rom[pnp], "$PnP", 4), 0);
  EXPECT_EQ(rom[pnp + VMI_PNP_OFFSET_LENGTH] * 16, VMI_PNP_HEADER_BYTES);
  EXPECT_EQ(Sum(rom, pnp, VMI_PNP_HEADER_BYTES), 0);
  // No boot vectors: a BIOS must not try to boot from it.
  EXPECT_EQ(U16(rom, pnp + VMI_PNP_OFFSET_BCV), 0);
  EXPECT_EQ(U16(rom, pnp + VMI_PNP_OFFSET_BEV), 0);
  EXPECT_EQ(StringAt(rom, U16(rom, pnp + VMI_PNP_OFFSET_MANUFACTURER)), "pvops project");
  EXPECT_EQ(StringAt(rom, U16(rom, pnp + VMI_PNP_OFFSET_PRODUCT)),
            "reference VMI ROM, 64-bit form");
}

TEST(RomImage, CorruptedVariantsBreakOneRuleEach) {
  const std::vector<uint8_t> good = LoadRomImage();
  const std::vector<uint8_t> checksum = LoadRomImage("checksum");
  const std::vector<uint8_t> offset = LoadRomImage("offset");
  const std::vector<uint8_t> length = LoadRomImage("length");
  ASSERT_EQ(checksum.size(), good.size());
  ASSERT_EQ(offset.size(), good.size());
  ASSERT_EQ(length.size(), good.size());

  EXPECT_EQ(Sum(checksum, 0, checksum.size()), 1);
  EXPECT_EQ(std::memcmp(checksum.data(), good.data(), good.size() - 1), 0);

  EXPECT_EQ(Sum(offset, 0, offset.size()), 0);
  EXPECT_GT(U16(offset, VMI_OFFSET_PCI_HEADER), offset.size());

  EXPECT_EQ(Sum(length, 0, length.size()), 0);
  EXPECT_EQ(length[VMI_OFFSET_ROM_LENGTH], 255);
}

TEST(RomImage, GetRelocAnswersEveryCallAndMovesWithTheRom) {
  const std::vector<uint8_t> rom = LoadRomImage();
  RomWindow window;
  const uint64_t first = 0xc0800, second = 0xd3000;
  window.Place(rom, first);
  window.Place(rom, second);
  for (uint32_t call = 0; call < 256; ++call) {
    SCOPED_TRACE("call " + std::to_string(call));
    const RelocAnswer a = RunGetRelocNatively(window.At(first + VMI_OFFSET_GET_RELOC_SLOT), call);
    const RelocAnswer b = RunGetRelocNatively(window.At(second + VMI_OFFSET_GET_RELOC_SLOT), call);
    EXPECT_EQ(a.type, b.type);
    if (kCallRel.count(call) != 0) {
      ASSERT_EQ(a.type, uint64_t{VMI_RELOCATION_CALL_REL});
      const uint64_t offset = a.entry - reinterpret_cast<uintptr_t>(window.At(first));
      EXPECT_GE(offset, uint64_t{VMI_HEADER_BYTES});
      EXPECT_LT(offset, rom.size());
      EXPECT_EQ(b.entry - reinterpret_cast<uintptr_t>(window.At(second)), offset);
    } else if (kNop.count(call) != 0) {
      EXPECT_EQ(a.type, uint64_t{VMI_RELOCATION_NOP});
      EXPECT_EQ(a.entry, 0u);
    } else {
      EXPECT_EQ(a.type, uint64_t{VMI_RELOCATION_NONE});
      EXPECT_EQ(a.entry, 0u);
    }
  }
}

TEST(RomImage, EveryCallHasItsOwnEntry) {
  RomWindow window;
  window.Place(LoadRomImage(), 0xc0000);
  std::set<uint64_t> entries;
  for (const uint32_t call : kCallRel) {
    entries.insert(RunGetRelocNatively(window.At(0xc0000 + VMI_OFFSET_GET_RELOC_SLOT), call).entry);
  }
  EXPECT_EQ(entries.size(), kCallRel.size());
}

}  // namespace
}  // namespace pvops::test
