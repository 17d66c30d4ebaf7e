/* SPDX-License-Identifier: MIT */
// What the hardware layer caches and sets up once, for every backend that reuses its pieces.
#pragma once

#include <pvops/pvops.h>

namespace pvops::hw {

// Run on the boot CPU before other CPUs start (the core does, before each backend's init):
// re-reads the CPU features and the LAPIC mode the hardware ops cache, forgets calibrations, and
// routes the TLB shootdown vector to its handler.
[[nodiscard]] pvops_status SetUpSharedState();

// Forgets what the hardware ops cached (CPUID bits, the LAPIC mode, the TSC and LAPIC timer
// calibrations): the next use reads the hardware again. Part of SetUpSharedState; host tests
// call it between cases.
void ForgetCachedState();

}  // namespace pvops::hw
