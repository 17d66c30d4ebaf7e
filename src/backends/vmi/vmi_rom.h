// Finding and checking a VMI option ROM in the legacy window 0xC0000-0xE0000. Everything in the
// ROM is hypervisor data: nothing is used before it is bounds-checked.
#pragma once

#include <stdint.h>

#include "core/reason.h"

namespace pvops::vmi {

inline constexpr uint64_t kRomWindowStart = 0xc0000;
inline constexpr uint64_t kRomWindowEnd = 0xe0000;
inline constexpr uint64_t kRomScanStep = 2048;
inline constexpr uint32_t kVromSignature = 0x696d5663;  // "cVmi"
inline constexpr uint32_t kVromSignatureOffset = 8;

// Physical address of the first ROM in the window that carries the VMI signature and passes the
// option-ROM checks (0x55AA, length inside the window, byte checksum 0), or 0. A ROM carrying
// the VMI signature that fails a check is reported in `why`.
uint64_t FindRom(pvops::core::Reason* why);

}  // namespace pvops::vmi
