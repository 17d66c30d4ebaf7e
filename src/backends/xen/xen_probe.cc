// Xen's detection: entered through the Xen PV entry point (CPUID is no guide there, the entry
// itself is the proof), or the "XenVMMXenVMM" block for HVM/PVH guests - above Viridian when Xen
// also offers the Hyper-V interface.
#include <xen/arch-x86/cpuid.h>

#include "backends/xen/xen.h"
#include "core/backend.h"

namespace pvops::core {
namespace {

constexpr Signature kXenSignature =
    SignatureFromWords(XEN_CPUID_SIGNATURE_EBX, XEN_CPUID_SIGNATURE_ECX, XEN_CPUID_SIGNATURE_EDX);
// Leaves base+1 (version) and base+2 (hypercall page) are what the backend needs.
constexpr uint32_t kXenLeavesNeeded = 2;

void ProbeXen(const pvops_env& env, const HvLeaves& leaves, pvops_candidate* out) {
  const HvInterface* hv = leaves.Find(kXenSignature.bytes);
  if (env.entry == PVOPS_ENTRY_XEN_PV) {
    out->priority = kPriorityXenPvEntry;
    CopyString(out->signature, sizeof(out->signature), "XenVMMXenVMM");
    if (hv != nullptr) out->base_leaf = hv->base, out->max_leaf = hv->max_leaf;
    return;
  }
  if (hv == nullptr || hv->max_leaf < hv->base + kXenLeavesNeeded) return;
  out->priority = PriorityForBase(hv->base);
  out->base_leaf = hv->base;
  out->max_leaf = hv->max_leaf;
  CopyString(out->signature, sizeof(out->signature), "XenVMMXenVMM");
}

}  // namespace

const Backend kXenBackend = {PVOPS_BACKEND_XEN, "xen", ProbeXen, xen::Init,
                             {"features", "start_or_hvm_flags", "paths", "mode"},
                             nullptr};

}  // namespace pvops::core
