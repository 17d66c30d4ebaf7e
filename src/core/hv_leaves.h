/* SPDX-License-Identifier: MIT */
// The hypervisor CPUID range 0x40000000..0x4000FF00, scanned once at boot.
#pragma once

#include <stdint.h>

namespace pvops::core {

inline constexpr uint32_t kHvLeafFirst = 0x40000000;
inline constexpr uint32_t kHvLeafLast = 0x4000ff00;
inline constexpr uint32_t kHvLeafStep = 0x100;
inline constexpr int kMaxHvInterfaces = 8;

// 12 signature bytes as CPUID returns them in EBX, ECX, EDX (headers often give the words).
struct Signature {
  char bytes[12];
};
constexpr Signature SignatureFromWords(uint32_t ebx, uint32_t ecx, uint32_t edx) {
  Signature s{};
  const uint32_t words[3] = {ebx, ecx, edx};
  for (int w = 0; w < 3; ++w)
    for (int b = 0; b < 4; ++b) s.bytes[w * 4 + b] = static_cast<char>(words[w] >> (8 * b));
  return s;
}

// One signature block: at `base`, EAX = max leaf, EBX:ECX:EDX = the 12-byte signature.
struct HvInterface {
  uint32_t base;
  uint32_t max_leaf;
  char signature[13];  // NUL-terminated copy; may hold NULs inside (KVM's "KVMKVMKVM\0\0\0")
};

struct HvLeaves {
  int count;
  HvInterface found[kMaxHvInterfaces];
  // Returns the first interface whose 12 signature bytes equal `sig12`, or nullptr.
  const HvInterface* Find(const char sig12[12]) const;
};

// Scans with arch::cpuid. A block counts only when its max leaf lies in [base, base + 0xff]:
// QEMU's TCG echoes the last basic leaf for leaves past the maximum, and garbage never fits.
HvLeaves ScanHvLeaves();

}  // namespace pvops::core
