/* SPDX-License-Identifier: MIT */
// A PVH-bootable ELF64: its loadable segments (placed by physical address) and the 32-bit entry
// point from the XEN_ELFNOTE_PHYS32_ENTRY note.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "guest_memory.h"

namespace pvops::vmm {

struct LoadSegment {
  uint64_t physical_address;
  uint64_t file_offset;
  uint64_t file_size;
  uint64_t memory_size;  // bytes past file_size are zero-filled (.bss)
};

struct PvhImage {
  std::vector<LoadSegment> segments;
  uint32_t phys32_entry = 0;

  // Lowest and one-past-highest physical byte any segment occupies.
  uint64_t LowestAddress() const;
  uint64_t EndAddress() const;
};

// Parses the ELF64 bytes; throws VmmError naming what is wrong or missing.
PvhImage ParsePvhImage(std::span<const uint8_t> elf);

// Copies every segment into guest RAM at its p_paddr and zero-fills the rest of memsz.
void LoadPvhImage(const PvhImage& image, std::span<const uint8_t> elf, GuestMemory& memory);

}  // namespace pvops::vmm
