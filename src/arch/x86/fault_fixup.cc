// SPDX-License-Identifier: MIT
// pvops_fixup_fault: the exception-table lookup for the library's few faulting accessors.
// Two sites do not need a sorted table or a linker section: a direct comparison is enough.
#include <stdint.h>

#include <pvops/pvops.h>

extern "C" {
// Labels in msr_safe.S: the faulting instruction of each accessor and where it resumes.
[[gnu::visibility("hidden")]] extern const char pvops_arch_rdmsr_insn[];
[[gnu::visibility("hidden")]] extern const char pvops_arch_rdmsr_recover[];
[[gnu::visibility("hidden")]] extern const char pvops_arch_wrmsr_insn[];
[[gnu::visibility("hidden")]] extern const char pvops_arch_wrmsr_recover[];
}

namespace {

constexpr uint8_t kVectorGeneralProtection = 13;

struct FaultSite {
  const char* instruction;
  const char* recovery;
};

}  // namespace

extern "C" int pvops_fixup_fault(uint64_t* rip, uint8_t vector) {
  if (rip == nullptr || vector != kVectorGeneralProtection) return 0;
  const FaultSite sites[] = {
      {pvops_arch_rdmsr_insn, pvops_arch_rdmsr_recover},
      {pvops_arch_wrmsr_insn, pvops_arch_wrmsr_recover},
  };
  for (const FaultSite& site : sites) {
    if (*rip == reinterpret_cast<uintptr_t>(site.instruction)) {
      *rip = reinterpret_cast<uintptr_t>(site.recovery);
      return 1;
    }
  }
  return 0;
}
