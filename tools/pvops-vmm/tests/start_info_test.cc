// SPDX-License-Identifier: MIT
#include "start_info.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "vmm_error.h"

namespace pvops::vmm {
namespace {

constexpr uint64_t kRam = 256ull << 20;

hvm_start_info ReadInfo(GuestMemory& memory, uint64_t address) {
  hvm_start_info info;
  std::memcpy(&info, memory.At(address, sizeof(info)).data(), sizeof(info));
  return info;
}

TEST(StartInfo, Version1WithCommandLineAndMemoryMap) {
  GuestMemory memory(kRam);
  const std::string command_line = "pvops=kvm test=irq.*,mmu.*";
  const uint64_t address = WriteStartInfo(memory, command_line);
  const hvm_start_info info = ReadInfo(memory, address);
  EXPECT_EQ(info.magic, XEN_HVM_START_MAGIC_VALUE);
  EXPECT_EQ(info.version, 1u);
  EXPECT_EQ(info.nr_modules, 0u);
  EXPECT_EQ(info.rsdp_paddr, 0u);  // none given
  EXPECT_EQ(info.reserved, 0u);
  const char* text =
      reinterpret_cast<const char*>(memory.At(info.cmdline_paddr, command_line.size() + 1).data());
  EXPECT_EQ(std::string(text), command_line);

  ASSERT_EQ(info.memmap_entries, BuildMemoryMap(kRam).size());
  std::vector<hvm_memmap_table_entry> entries(info.memmap_entries);
  std::memcpy(entries.data(),
              memory.At(info.memmap_paddr, entries.size() * sizeof(entries[0])).data(),
              entries.size() * sizeof(entries[0]));
  // The boot info itself is reserved so the guest does not reuse it while reading it.
  bool boot_info_reserved = false;
  for (const auto& entry : entries) {
    if (entry.addr <= address && address + sizeof(info) <= entry.addr + entry.size) {
      boot_info_reserved = entry.type == XEN_HVM_MEMMAP_TYPE_RESERVED;
    }
  }
  EXPECT_TRUE(boot_info_reserved);
}

TEST(StartInfo, MemoryMapIsOrderedAndEndsRamAtItsSize) {
  const auto entries = BuildMemoryMap(kRam);
  uint64_t ram_bytes = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) {
      EXPECT_LE(entries[i - 1].addr + entries[i - 1].size, entries[i].addr);
    }
    EXPECT_EQ(entries[i].reserved, 0u);
    if (entries[i].type == XEN_HVM_MEMMAP_TYPE_RAM) ram_bytes += entries[i].size;
  }
  const auto& high = entries[4];
  EXPECT_EQ(high.type, static_cast<uint32_t>(XEN_HVM_MEMMAP_TYPE_RAM));
  EXPECT_EQ(high.addr, kHighRamStart);
  EXPECT_EQ(high.addr + high.size, kRam);
  // All RAM but the boot pages and the legacy hole below 1 MiB.
  EXPECT_EQ(ram_bytes, kRam - (kBootInfoEnd - kBootInfoAddress) - (kHighRamStart - kLowRamEnd));
  EXPECT_EQ(entries.back().addr, kLocalApicIoApicStart);
  EXPECT_EQ(entries.back().type, static_cast<uint32_t>(XEN_HVM_MEMMAP_TYPE_RESERVED));
}

TEST(StartInfo, InitrdIsModuleZeroAndRsdpIsPassed) {
  GuestMemory memory(kRam);
  const std::vector<uint8_t> initrd = {'0', '7', '0', '7', '0', '1'};  // a cpio's magic
  const BootModule module = LoadInitrd(memory, initrd, 0x1000000 + 0x345);
  const uint64_t address =
      WriteStartInfo(memory, "rdinit=/init", {.initrd = module, .rsdp_address = 0xe0000});
  const hvm_start_info info = ReadInfo(memory, address);
  EXPECT_EQ(info.rsdp_paddr, 0xe0000u);
  ASSERT_EQ(info.nr_modules, 1u);
  hvm_modlist_entry entry;
  std::memcpy(&entry, memory.At(info.modlist_paddr, sizeof(entry)).data(), sizeof(entry));
  EXPECT_EQ(entry.paddr, module.address);
  EXPECT_EQ(entry.size, initrd.size());
  EXPECT_EQ(entry.cmdline_paddr, 0u);
  EXPECT_EQ(entry.reserved, 0u);
  const auto loaded = memory.At(entry.paddr, entry.size);
  EXPECT_TRUE(std::equal(loaded.begin(), loaded.end(), initrd.begin()));
  // The module list sits in the reserved boot page, clear of the start info and memory map.
  EXPECT_GE(info.modlist_paddr,
            info.memmap_paddr + info.memmap_entries * sizeof(hvm_memmap_table_entry));
  EXPECT_LE(info.modlist_paddr + sizeof(entry), kCommandLineAddress);
  // The initrd itself lies in RAM the guest owns (Linux reserves it while it unpacks it).
  bool in_ram = false;
  for (const auto& range : BuildMemoryMap(kRam)) {
    if (range.type == XEN_HVM_MEMMAP_TYPE_RAM && range.addr <= entry.paddr &&
        entry.paddr + entry.size <= range.addr + range.size) {
      in_ram = true;
    }
  }
  EXPECT_TRUE(in_ram);
}

TEST(StartInfo, NoInitrdNoModules) {
  GuestMemory memory(kRam);
  const hvm_start_info info = ReadInfo(memory, WriteStartInfo(memory, ""));
  EXPECT_EQ(info.nr_modules, 0u);
  EXPECT_EQ(info.modlist_paddr, 0u);
}

TEST(StartInfo, InitrdGoesPageAlignedToTheTopOfRam) {
  EXPECT_EQ(PlaceInitrd(kRam, 0x1000, 0x100000), kRam - 0x1000);
  EXPECT_EQ(PlaceInitrd(kRam, 0x1001, 0x100000), kRam - 0x2000);
  EXPECT_EQ(PlaceInitrd(kRam, 1, 0x100000) % kInitrdAlignment, 0u);
  // Just fits above the image's end; one page more does not.
  EXPECT_EQ(PlaceInitrd(kRam, kRam - 0x4000000, 0x4000000), 0x4000000u);
  EXPECT_THROW(PlaceInitrd(kRam, kRam - 0x4000000 + 1, 0x4000000), VmmError);
  EXPECT_THROW(PlaceInitrd(kRam, 0, 0x100000), VmmError);
  EXPECT_THROW(PlaceInitrd(kRam, kRam + 1, 0x100000), VmmError);
  // Never into the low megabyte, whatever the image says.
  EXPECT_THROW(PlaceInitrd(kRam, kRam - 0x1000, 0), VmmError);
}

TEST(StartInfo, RefusesWhatDoesNotFit) {
  GuestMemory memory(kRam);
  EXPECT_THROW(WriteStartInfo(memory, std::string(kMaxCommandLineBytes, 'x')), VmmError);
  EXPECT_NO_THROW(WriteStartInfo(memory, std::string(kMaxCommandLineBytes - 1, 'x')));
  EXPECT_THROW(BuildMemoryMap(512 << 10), VmmError);
  EXPECT_THROW(BuildMemoryMap(kLocalApicIoApicStart + 4096), VmmError);
}

}  // namespace
}  // namespace pvops::vmm
