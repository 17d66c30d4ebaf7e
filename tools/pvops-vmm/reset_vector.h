/* SPDX-License-Identifier: MIT */
// The PC's reset vector at f000:fff0 (physical 0xffff0), where a BIOS would restart the machine.
// There is no BIOS here, but guests jump there to reboot: Linux's last-resort BIOS reboot, and its
// default one on a hardware-reduced ACPI platform, where it picks the EFI method, finds no EFI
// and falls through to the BIOS method. A few real-mode instructions at that address write the
// reset control register (the FADT's reset register), so such a reboot ends the run like the
// others instead of running through zeroed memory.
#pragma once

#include <cstdint>
#include <vector>

#include "guest_memory.h"

namespace pvops::vmm {

inline constexpr uint64_t kResetVectorAddress = 0xffff0;
inline constexpr uint64_t kResetVectorEnd = 0x100000;

// The real-mode code: mov dx, 0xcf9; mov al, 0x06; out dx, al; then hlt in a loop.
std::vector<uint8_t> ResetVectorCode();

void WriteResetVector(GuestMemory& memory);

}  // namespace pvops::vmm
