// KVM's detection: the "KVMKVMKVM\0\0\0" signature block, wherever it sits in the range (at
// 0x40000100 when KVM also offers Hyper-V enlightenments at 0x40000000).
#include <linux/kvm_para.h>

#include "arch/x86/arch.h"
#include "core/backend.h"

namespace pvops::core {
namespace {

void ProbeKvm(const pvops_env&, const HvLeaves& leaves, pvops_candidate* out) {
  const HvInterface* hv = leaves.Find(KVM_SIGNATURE);
  if (hv == nullptr) return;
  // The features leaf must exist inside the block for anything past detection to be trusted.
  if (hv->max_leaf < hv->base + (KVM_CPUID_FEATURES - KVM_CPUID_SIGNATURE)) return;
  out->priority = PriorityForBase(hv->base);
  out->base_leaf = hv->base;
  out->max_leaf = hv->max_leaf;
  CopyString(out->signature, sizeof(out->signature), "KVMKVMKVM");
}

pvops_status InitKvm(const pvops_env&, const pvops_candidate&, pvops_ops*, pvops_info*,
                     Reason* why) {
  why->Add("the KVM backend is not built yet (issue 4)");
  return PVOPS_ERR_UNSUPPORTED;
}

}  // namespace

const Backend kKvmBackend = {PVOPS_BACKEND_KVM, "kvm", ProbeKvm, InitKvm};

}  // namespace pvops::core
