// Hyper-V guest interface constants, named after the Hypervisor Top Level Functional
// Specification (TLFS). No Debian package ships these for guests, so they live here, once.
#pragma once

#include <stdint.h>

namespace pvops::hyperv {

// CPUID leaves, relative to the base where "Microsoft Hv" was found.
inline constexpr uint32_t kLeafInterface = 1;     // EAX = interface signature
inline constexpr uint32_t kLeafFeatures = 3;      // privileges and features
inline constexpr uint32_t kLeafHints = 4;         // enlightenment recommendations
inline constexpr uint32_t kLeafLimits = 5;        // implementation limits
inline constexpr uint32_t kInterfaceHv1 = 0x31237648;  // "Hv#1"

}  // namespace pvops::hyperv
