// SPDX-License-Identifier: MIT
// Hyper-V's detection. The TLFS says to recognise the interface by CPUID base+1 = "Hv#1", not by
// the vendor signature ("Microsoft Hv" from Hyper-V and QEMU, "Linux KVM Hv" from KVM's own
// table), and the leaves up to the limits leaf must exist. Its priority is the lowest of all:
// KVM and Xen offer the same interface as an emulation, and when they do, they are what the
// guest really runs on.
#include "arch/x86/arch.h"
#include "backends/hyperv/hyperv.h"
#include "core/backend.h"

namespace pvops::hyperv {

const core::HvInterface* FindHv1Interface(const core::HvLeaves& leaves) {
  for (int i = 0; i < leaves.count; ++i) {
    const core::HvInterface& hv = leaves.found[i];
    if (hv.max_leaf < hv.base + kLeafLimits) continue;
    if (arch::cpuid(hv.base + kLeafInterface, 0).eax == kInterfaceHv1) return &hv;
  }
  return nullptr;
}

void Probe(const pvops_env&, const core::HvLeaves& leaves, pvops_candidate* out) {
  const core::HvInterface* hv = FindHv1Interface(leaves);
  if (hv == nullptr) return;
  out->priority = core::kPriorityEmulatedInterface;
  out->base_leaf = hv->base;
  out->max_leaf = hv->max_leaf;
  core::CopyString(out->signature, sizeof(out->signature), hv->signature);
}

}  // namespace pvops::hyperv
