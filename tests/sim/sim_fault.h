/* SPDX-License-Identifier: MIT */
// The simulated safe-MSR fault path. The sim build has no real faulting instructions, so each
// safe accessor has a stand-in instruction address and recovery address; when a simulated
// rdmsr/wrmsr faults, the shim raises #GP at the stand-in address and asks pvops_fixup_fault,
// as a kernel's #GP handler would, where to resume.
#pragma once

#include <stdint.h>

namespace pvops::sim {

struct FaultSite {
  uint64_t instruction;
  uint64_t recovery;
};
FaultSite RdmsrSafeSite();
FaultSite WrmsrSafeSite();

// Raises #GP at `site`; true when pvops_fixup_fault moved rip to the recovery address. A fault
// nobody fixes up is a failed expectation (a real kernel would oops).
bool RaiseGeneralProtection(const FaultSite& site);

}  // namespace pvops::sim
