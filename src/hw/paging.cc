// SPDX-License-Identifier: MIT
// Page tables and the local TLB. On hardware page tables are plain memory: the writes are
// volatile so the compiler neither drops nor merges them (the MMU reads them behind its back).
#include "hw/paging.h"

#include "arch/x86/arch.h"
#include "arch/x86/registers.h"

namespace pvops::hw {
namespace {

// CR4.PGE toggled off and on flushes every translation, global ones too (SDM 4.10.4.1).
void FlushEverythingHere() {
  const uint64_t cr4 = arch::read_cr4();
  if ((cr4 & X86_CR4_PGE) != 0) {
    arch::write_cr4(cr4 & ~uint64_t{X86_CR4_PGE});
    arch::write_cr4(cr4);
  } else {
    arch::write_cr3(arch::read_cr3());
  }
}

}  // namespace

uint64_t ReadCr3() { return arch::read_cr3(); }
void WriteCr3(uint64_t cr3) { arch::write_cr3(cr3); }

void SetPte(pvops_pte* ptep, pvops_pte value) { *static_cast<volatile pvops_pte*>(ptep) = value; }
void UpdatePte(pvops_pte* ptep, uint64_t, pvops_pte value) {
  *static_cast<volatile pvops_pte*>(ptep) = value;
}
pvops_pte ReadPte(const pvops_pte* ptep) { return *static_cast<const volatile pvops_pte*>(ptep); }

// Reloading CR3 drops every non-global translation of this CPU.
void FlushTlbLocal() { arch::write_cr3(arch::read_cr3()); }
void FlushTlbOne(uint64_t va) { arch::invlpg(va); }

void FlushRangeHere(uint64_t start, uint64_t end) {
  if (end != 0 && end <= start) return;
  if (end == 0 || end - start > kMaxInvlpgPages * X86_PAGE_SIZE) {
    FlushEverythingHere();
    return;
  }
  for (uint64_t va = start & ~(X86_PAGE_SIZE - 1); va < end; va += X86_PAGE_SIZE) arch::invlpg(va);
}

}  // namespace pvops::hw
