/* SPDX-License-Identifier: MIT */
// Finding and checking a VMI option ROM in the legacy window 0xC0000-0xE0000. The ROM is
// hypervisor data: every field is bounds-checked before it is used, and a ROM that breaks any
// rule of rom/README.md is refused with the reason.
#pragma once

#include <stdint.h>

#include "backends/vmi/vmi_abi.h"
#include "core/reason.h"

namespace pvops::vmi {

// What the static checks established about one ROM (nothing here came from running it).
struct RomLayout {
  uint64_t phys;                  // where the BIOS placed it
  const volatile uint8_t* bytes;  // the kernel's mapping of it (contiguous over `length`)
  const volatile uint8_t* code;   // where it runs: env.map_exec's mapping, else `bytes`
  uint32_t length;                // bytes, a multiple of 512
  uint8_t api_major;
  uint8_t api_minor;
  uint8_t jump_slots;     // get_reloc answers call numbers below this
  uint16_t code_version;  // the ROM's own version (PCI code revision), major << 8
};

// The first ROM in the window carrying both signatures (0x55AA and "cVmi"), or 0. Reads those
// six bytes per 2 KiB step and nothing else: a probe's look.
uint64_t FindSignedRom();

// Scans the window and runs every static check on each signed ROM; the first that passes is
// returned in `out`. false when none passes: `why` then says why the first one was refused
// (or that there is none).
bool FindValidRom(RomLayout* out, core::Reason* why);

// Every static check on the ROM at `phys`: length inside the window, a contiguous mapping,
// checksum, version, header fields, PCI and PnP headers, strings and entry slots; then, when the
// kernel offers env.map_exec, its executable mapping of the ROM, checked to show the same bytes.
bool CheckRom(uint64_t phys, RomLayout* out, core::Reason* why);

}  // namespace pvops::vmi
