/* SPDX-License-Identifier: MIT */
// The PVH start info, checked before anything trusts it: the magic, and a command line that
// lies inside the direct map and ends within kMaxCmdlineBytes. The text is copied into the
// kernel's own buffer, so nothing later depends on the loader's memory staying untouched (the
// AP trampoline page, for one, is free low memory a loader might have used).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace guest {

inline constexpr size_t kMaxCmdlineBytes = 4095;  // without the NUL

struct BootInfo {
  const void* start_info;  // direct-map address of the hvm_start_info (the library's boot_info)
  uint32_t version;
  const char* cmdline;  // the kernel's copy; "" when the loader gave none
  const char* error;    // nullptr when everything checked out
};

BootInfo ReadPvhStartInfo(uint64_t start_info_phys);
// The boot structure of an entry the library reads (pvops_boot_cmdline): `boot_info` is the
// pointer the entry received.
BootInfo ReadLoaderBootInfo(uint32_t entry, const void* boot_info);

// How the kernel was entered (enum pvops_entry), recorded first thing by kernel_main.
void RecordBootEntry(uint32_t entry);
uint32_t BootEntry();

}  // namespace guest
