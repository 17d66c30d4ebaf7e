// The PVH boot information (Xen's struct hvm_start_info, version 1) the guest finds through ebx:
// the command line and a memory map, placed in a low page the memory map marks reserved.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <xen/xen.h>
#include <xen/arch-x86/hvm/start_info.h>

#include "guest_memory.h"

namespace pvops::vmm {

// Where the boot information lives in guest-physical memory: two pages, info and memory map in
// the first, the command line in the second. Low memory, clear of a kernel loaded at 1 MiB.
inline constexpr uint64_t kBootInfoAddress = 0x1000;
inline constexpr uint64_t kCommandLineAddress = 0x2000;
inline constexpr uint64_t kBootInfoEnd = 0x3000;
inline constexpr uint64_t kMaxCommandLineBytes = kBootInfoEnd - kCommandLineAddress;  // with NUL

// Legacy PC holes kept out of the RAM the guest may use.
inline constexpr uint64_t kLowRamEnd = 0x9fc00;
inline constexpr uint64_t kHighRamStart = 0x100000;
inline constexpr uint64_t kLocalApicIoApicStart = 0xfec00000;
inline constexpr uint64_t kFourGiB = 0x100000000;

// The memory map for a guest with ram_bytes of RAM starting at physical 0.
std::vector<hvm_memmap_table_entry> BuildMemoryMap(uint64_t ram_bytes);

// Writes start info, memory map and command line into guest RAM; returns the start info's
// physical address (the guest's ebx). Throws VmmError if the command line does not fit.
uint64_t WriteStartInfo(GuestMemory& memory, std::string_view command_line);

}  // namespace pvops::vmm
