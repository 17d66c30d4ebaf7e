// SPDX-License-Identifier: MIT
#include "sim_fault.h"

#include <gtest/gtest.h>

#include <pvops/pvops.h>

namespace pvops::sim {
namespace {

constexpr uint8_t kVectorGeneralProtection = 13;
// Distinct addresses for the stand-in instructions and recovery points.
const char g_sites[4] = {};

uint64_t AddressOf(int i) { return reinterpret_cast<uintptr_t>(&g_sites[i]); }

}  // namespace

FaultSite RdmsrSafeSite() { return {AddressOf(0), AddressOf(1)}; }
FaultSite WrmsrSafeSite() { return {AddressOf(2), AddressOf(3)}; }

bool RaiseGeneralProtection(const FaultSite& site) {
  uint64_t rip = site.instruction;
  if (pvops_fixup_fault(&rip, kVectorGeneralProtection) == 1 && rip == site.recovery) return true;
  ADD_FAILURE() << "#GP at 0x" << std::hex << site.instruction << " was not fixed up";
  return false;
}

}  // namespace pvops::sim

// The sim build's exception-table lookup: the same contract as src/arch/x86/fault_fixup.cc, over
// the stand-in sites.
extern "C" int pvops_fixup_fault(uint64_t* rip, uint8_t vector) {
  using pvops::sim::FaultSite;
  if (rip == nullptr || vector != pvops::sim::kVectorGeneralProtection) return 0;
  for (const FaultSite& site : {pvops::sim::RdmsrSafeSite(), pvops::sim::WrmsrSafeSite()}) {
    if (*rip == site.instruction) {
      *rip = site.recovery;
      return 1;
    }
  }
  return 0;
}
