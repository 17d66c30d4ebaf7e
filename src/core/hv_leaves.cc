// SPDX-License-Identifier: MIT
#include "core/hv_leaves.h"

#include "arch/x86/arch.h"

namespace pvops::core {
namespace {

void StoreSignature(const pvops_cpuid_regs& r, char out[13]) {
  const Signature s = SignatureFromWords(r.ebx, r.ecx, r.edx);
  for (int i = 0; i < 12; ++i) out[i] = s.bytes[i];
  out[12] = '\0';
}

bool SameSignature(const char a[12], const char b[12]) {
  for (int i = 0; i < 12; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

}  // namespace

const HvInterface* HvLeaves::Find(const char sig12[12]) const {
  for (int i = 0; i < count; ++i)
    if (SameSignature(found[i].signature, sig12)) return &found[i];
  return nullptr;
}

HvLeaves ScanHvLeaves() {
  HvLeaves leaves{};
  // CPUID.1:ECX[31] is the hypervisor-present bit; without it the range means nothing.
  if ((arch::cpuid(1, 0).ecx & (1u << 31)) == 0) return leaves;
  for (uint32_t base = kHvLeafFirst; base <= kHvLeafLast; base += kHvLeafStep) {
    const pvops_cpuid_regs r = arch::cpuid(base, 0);
    if (r.eax < base || r.eax > base + 0xff) continue;  // TCG echo, garbage, truncated
    if (leaves.count == kMaxHvInterfaces) break;
    HvInterface& hv = leaves.found[leaves.count++];
    hv.base = base;
    hv.max_leaf = r.eax;
    StoreSignature(r, hv.signature);
  }
  return leaves;
}

}  // namespace pvops::core
