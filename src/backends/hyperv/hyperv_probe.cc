// Hyper-V's detection: "Microsoft Hv" plus the "Hv#1" interface and the leaves up to the limits
// leaf. Its priority is the lowest of all: KVM and Xen offer the same interface as an
// emulation, and when they do, they are what the guest really runs on.
#include "backends/hyperv/hv_tlfs.h"
#include "arch/x86/arch.h"
#include "core/backend.h"

namespace pvops::core {
namespace {

constexpr char kHyperVSignature[12] = {'M', 'i', 'c', 'r', 'o', 's', 'o', 'f', 't', ' ', 'H', 'v'};

void ProbeHyperV(const pvops_env&, const HvLeaves& leaves, pvops_candidate* out) {
  const HvInterface* hv = leaves.Find(kHyperVSignature);
  if (hv == nullptr || hv->max_leaf < hv->base + hyperv::kLeafLimits) return;
  if (arch::cpuid(hv->base + hyperv::kLeafInterface, 0).eax != hyperv::kInterfaceHv1) return;
  out->priority = kPriorityEmulatedInterface;
  out->base_leaf = hv->base;
  out->max_leaf = hv->max_leaf;
  CopyString(out->signature, sizeof(out->signature), "Microsoft Hv");
}

pvops_status InitHyperV(const pvops_env&, const pvops_candidate&, pvops_ops*, pvops_info*,
                        Reason* why) {
  why->Add("the Hyper-V backend is not built yet (issue 6)");
  return PVOPS_ERR_UNSUPPORTED;
}

}  // namespace

const Backend kHyperVBackend = {PVOPS_BACKEND_HYPERV, "hyperv", ProbeHyperV, InitHyperV};

}  // namespace pvops::core
