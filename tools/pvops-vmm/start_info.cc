// SPDX-License-Identifier: MIT
#include "start_info.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "vmm_error.h"

namespace pvops::vmm {

std::vector<hvm_memmap_table_entry> BuildMemoryMap(uint64_t ram_bytes) {
  if (ram_bytes <= kHighRamStart || ram_bytes > kLocalApicIoApicStart) {
    throw VmmError(absl::StrFormat("guest RAM of %#x bytes must lie between 1 MiB and %#x",
                                   ram_bytes, kLocalApicIoApicStart));
  }
  auto entry = [](uint64_t start, uint64_t end, uint32_t type) {
    return hvm_memmap_table_entry{.addr = start, .size = end - start, .type = type, .reserved = 0};
  };
  return {
      entry(0, kBootInfoAddress, XEN_HVM_MEMMAP_TYPE_RAM),
      entry(kBootInfoAddress, kBootInfoEnd, XEN_HVM_MEMMAP_TYPE_RESERVED),
      entry(kBootInfoEnd, kLowRamEnd, XEN_HVM_MEMMAP_TYPE_RAM),
      entry(kLowRamEnd, kHighRamStart, XEN_HVM_MEMMAP_TYPE_RESERVED),
      entry(kHighRamStart, ram_bytes, XEN_HVM_MEMMAP_TYPE_RAM),
      entry(kLocalApicIoApicStart, kFourGiB, XEN_HVM_MEMMAP_TYPE_RESERVED),
  };
}

uint64_t PlaceInitrd(uint64_t ram_bytes, uint64_t initrd_bytes, uint64_t lowest_address) {
  const uint64_t lowest = std::max(lowest_address, kHighRamStart);
  if (initrd_bytes > 0 && initrd_bytes <= ram_bytes) {
    const uint64_t address = (ram_bytes - initrd_bytes) / kInitrdAlignment * kInitrdAlignment;
    if (address >= lowest) return address;
  }
  throw VmmError(absl::StrFormat("an initrd of %u bytes does not fit in RAM between %#x and %#x",
                                 initrd_bytes, lowest, ram_bytes));
}

BootModule LoadInitrd(GuestMemory& memory, std::span<const uint8_t> initrd,
                      uint64_t lowest_address) {
  const uint64_t address = PlaceInitrd(memory.size(), initrd.size(), lowest_address);
  std::memcpy(memory.At(address, initrd.size()).data(), initrd.data(), initrd.size());
  return {.address = address, .size = initrd.size()};
}

uint64_t WriteStartInfo(GuestMemory& memory, std::string_view command_line,
                        const BootExtras& extras) {
  if (command_line.size() + 1 > kMaxCommandLineBytes) {
    throw VmmError(absl::StrFormat("command line of %u bytes exceeds the %u the boot page holds",
                                   command_line.size(), kMaxCommandLineBytes - 1));
  }
  const auto memory_map = BuildMemoryMap(memory.size());
  const uint64_t memory_map_address = kBootInfoAddress + sizeof(hvm_start_info);
  static_assert(sizeof(hvm_start_info) % 8 == 0);

  auto page = memory.At(kBootInfoAddress, kBootInfoEnd - kBootInfoAddress);
  std::memset(page.data(), 0, page.size());

  const hvm_start_info info{
      .magic = XEN_HVM_START_MAGIC_VALUE,
      .version = 1,
      .flags = 0,
      .nr_modules = extras.initrd ? 1u : 0u,
      .modlist_paddr = extras.initrd ? kModuleListAddress : 0,
      .cmdline_paddr = kCommandLineAddress,
      .rsdp_paddr = extras.rsdp_address,
      .memmap_paddr = memory_map_address,
      .memmap_entries = static_cast<uint32_t>(memory_map.size()),
      .reserved = 0,
  };
  std::memcpy(memory.At(kBootInfoAddress, sizeof(info)).data(), &info, sizeof(info));
  const uint64_t memory_map_bytes = memory_map.size() * sizeof(hvm_memmap_table_entry);
  static_assert(sizeof(hvm_start_info) + 8 * sizeof(hvm_memmap_table_entry) <=
                kModuleListAddress - kBootInfoAddress);
  static_assert(kModuleListAddress + sizeof(hvm_modlist_entry) <= kCommandLineAddress);
  std::memcpy(memory.At(memory_map_address, memory_map_bytes).data(), memory_map.data(),
              memory_map_bytes);
  if (extras.initrd) {
    const hvm_modlist_entry module{.paddr = extras.initrd->address,
                                   .size = extras.initrd->size,
                                   .cmdline_paddr = 0,
                                   .reserved = 0};
    std::memcpy(memory.At(kModuleListAddress, sizeof(module)).data(), &module, sizeof(module));
  }
  std::memcpy(memory.At(kCommandLineAddress, command_line.size()).data(), command_line.data(),
              command_line.size());  // the NUL is already there from the memset
  return kBootInfoAddress;
}

}  // namespace pvops::vmm
