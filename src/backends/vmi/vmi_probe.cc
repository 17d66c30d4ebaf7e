// VMware's detection: the "VMwareVMware" block, or a VMI option ROM in the legacy ROM window
// (what the hypervisor places on purpose, so it ranks above any CPUID block).
#include "backends/vmi/vmi_rom.h"
#include "core/backend.h"

namespace pvops::core {
namespace {

constexpr char kVmwareSignature[12] = {'V', 'M', 'w', 'a', 'r', 'e', 'V', 'M', 'w', 'a', 'r', 'e'};

void ProbeVmi(const pvops_env&, const HvLeaves& leaves, pvops_candidate* out) {
  Reason ignored(nullptr, 0);
  if (vmi::FindRom(&ignored) != 0) {
    out->priority = kPriorityVmiRom;
    CopyString(out->signature, sizeof(out->signature), "cVmi");
  }
  const HvInterface* hv = leaves.Find(kVmwareSignature);
  if (hv == nullptr) return;
  if (out->priority == 0) out->priority = PriorityForBase(hv->base);
  out->base_leaf = hv->base;
  out->max_leaf = hv->max_leaf;
  if (out->signature[0] == '\0') CopyString(out->signature, sizeof(out->signature), "VMwareVMware");
}

pvops_status InitVmi(const pvops_env&, const pvops_candidate&, pvops_ops*, pvops_info*,
                     Reason* why) {
  why->Add("the VMI backend is not built yet (issue 7)");
  return PVOPS_ERR_UNSUPPORTED;
}

}  // namespace

const Backend kVmiBackend = {PVOPS_BACKEND_VMI, "vmi", ProbeVmi, InitVmi};

}  // namespace pvops::core
