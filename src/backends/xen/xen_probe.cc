// SPDX-License-Identifier: MIT
// Xen's detection: entered through the Xen PV entry point (CPUID is no guide there, the entry
// itself is the proof), or the "XenVMMXenVMM" block for HVM/PVH guests - above Viridian when Xen
// also offers the Hyper-V interface.
#include <xen/arch-x86/cpuid.h>

#include "backends/xen/xen.h"

namespace pvops::xen {
namespace {

using core::CopyString;

constexpr core::Signature kXenSignature = core::SignatureFromWords(
    XEN_CPUID_SIGNATURE_EBX, XEN_CPUID_SIGNATURE_ECX, XEN_CPUID_SIGNATURE_EDX);
// Leaves base+1 (version) and base+2 (hypercall page) are what the backend needs.
constexpr uint32_t kXenLeavesNeeded = 2;

}  // namespace

void Probe(const pvops_env& env, const core::HvLeaves& leaves, pvops_candidate* out) {
  const core::HvInterface* hv = leaves.Find(kXenSignature.bytes);
  if (env.entry == PVOPS_ENTRY_XEN_PV) {
    out->priority = core::kPriorityXenPvEntry;
    CopyString(out->signature, sizeof(out->signature), "XenVMMXenVMM");
    if (hv != nullptr) out->base_leaf = hv->base, out->max_leaf = hv->max_leaf;
    return;
  }
  if (hv == nullptr || hv->max_leaf < hv->base + kXenLeavesNeeded) return;
  out->priority = core::PriorityForBase(hv->base);
  out->base_leaf = hv->base;
  out->max_leaf = hv->max_leaf;
  CopyString(out->signature, sizeof(out->signature), "XenVMMXenVMM");
}

}  // namespace pvops::xen
