/* SPDX-License-Identifier: MIT */
// Personality `vmware`: what QEMU's `pc` machine shows the guest in the vmware environment, on
// KVM: no hypervisor CPUID leaves, the VMware backdoor (I/O port 0x5658) answered by this VMM as
// QEMU's vmport answers it, and an option ROM (the project's VMI ROM) in the option-ROM window
// where SeaBIOS would have left it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "personality.h"

namespace pvops::vmm {

inline constexpr uint16_t kVmwareBackdoorPort = 0x5658;
inline constexpr uint32_t kVmwareBackdoorMagic = 0x564d5868;  // "VMXh"
// The legacy option-ROM window a BIOS scans (and SeaBIOS fills) in 2 KiB steps.
inline constexpr uint64_t kOptionRomWindowStart = 0xc0000;
inline constexpr uint64_t kOptionRomWindowEnd = 0xe0000;

// Where the ROM goes: the window's first slot, where SeaBIOS puts the first option ROM when no
// VGA ROM precedes it. Throws VmmError when the bytes are no option ROM (0x55 0xAA) or do not fit
// the window. The guest checks the rest (length byte, checksum, VMI headers) itself.
uint64_t OptionRomAddress(std::span<const uint8_t> rom);

// The registers a backdoor call reads and writes.
struct BackdoorRegisters {
  uint32_t eax, ebx, ecx, edx;
};
// What the answers come from.
struct BackdoorFacts {
  uint32_t tsc_khz;    // the vCPU's TSC rate as KVM runs it (KVM_GET_TSC_KHZ)
  uint64_t ram_bytes;  // guest RAM
  bool x2apic;         // CPUID.1:ECX[21] is offered
};

// One low-bandwidth backdoor call, answered as QEMU 7.2's vmport answers it (hw/i386/vmport.c,
// every compat flag on): GETVERSION (EBX 'VMXh', ECX 2 = ESX, EAX 6), GETRAMSIZE, GETHZ, and
// GET_VCPU_INFO; without the magic in EAX, or for any other command, EAX becomes all ones.
// Returns false for those (a command not answered).
bool AnswerBackdoor(BackdoorRegisters& regs, const BackdoorFacts& facts);

std::unique_ptr<Personality> MakeVmwarePersonality(const PersonalityOptions& options);

}  // namespace pvops::vmm
