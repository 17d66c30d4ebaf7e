/* SPDX-License-Identifier: MIT */
// The PVH boot information (Xen's struct hvm_start_info, version 1) the guest finds through ebx:
// the command line, a memory map, the RSDP's address and the initrd as module 0. The information
// itself lives in low pages the memory map marks reserved; the initrd at the top of RAM.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include <xen/arch-x86/hvm/start_info.h>

#include "guest_memory.h"
#include "xen_public.h"

namespace pvops::vmm {

// Where the boot information lives in guest-physical memory: two pages, info and memory map in
// the first (and the module list at its middle), the command line in the second. Low memory,
// clear of a kernel loaded at 1 MiB.
inline constexpr uint64_t kBootInfoAddress = 0x1000;
inline constexpr uint64_t kModuleListAddress = 0x1800;
inline constexpr uint64_t kCommandLineAddress = 0x2000;
inline constexpr uint64_t kBootInfoEnd = 0x3000;
inline constexpr uint64_t kMaxCommandLineBytes = kBootInfoEnd - kCommandLineAddress;  // with NUL

// Legacy PC holes kept out of the RAM the guest may use.
inline constexpr uint64_t kLowRamEnd = 0x9fc00;
inline constexpr uint64_t kHighRamStart = 0x100000;
inline constexpr uint64_t kLocalApicIoApicStart = 0xfec00000;
inline constexpr uint64_t kFourGiB = 0x100000000;

inline constexpr uint64_t kInitrdAlignment = 0x1000;

// The memory map for a guest with ram_bytes of RAM starting at physical 0.
std::vector<hvm_memmap_table_entry> BuildMemoryMap(uint64_t ram_bytes);

struct BootModule {
  uint64_t address;
  uint64_t size;
};

struct BootExtras {
  std::optional<BootModule> initrd;  // module 0: where Linux looks for its initramfs
  uint64_t rsdp_address = 0;         // 0: no ACPI tables
};

// Where an initrd of initrd_bytes goes in RAM of ram_bytes: at the top, page-aligned, as
// bootloaders place it, so it stays clear of the kernel and of what the kernel allocates
// right after its image. Throws VmmError when it would reach below lowest_address (the end of
// the image).
uint64_t PlaceInitrd(uint64_t ram_bytes, uint64_t initrd_bytes, uint64_t lowest_address);

// Copies the initrd to PlaceInitrd's address; returns it as the boot module to announce.
BootModule LoadInitrd(GuestMemory& memory, std::span<const uint8_t> initrd,
                      uint64_t lowest_address);

// Writes start info, memory map, module list and command line into guest RAM; returns the start
// info's physical address (the guest's ebx). Throws VmmError if the command line does not fit.
uint64_t WriteStartInfo(GuestMemory& memory, std::string_view command_line,
                        const BootExtras& extras = {});

}  // namespace pvops::vmm
