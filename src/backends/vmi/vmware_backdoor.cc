// SPDX-License-Identifier: MIT
#include "backends/vmi/vmware_backdoor.h"

namespace pvops::vmi {

BackdoorPath ChooseBackdoorPath(const core::HvInterface* vmware) {
  if (vmware == nullptr) return BackdoorPath::kPort;
  const uint32_t timing_leaf = vmware->base + VMWARE_CPUID_TIMING_LEAF_OFFSET;
  if (vmware->max_leaf < timing_leaf) return BackdoorPath::kPort;
  const uint32_t features = arch::cpuid(timing_leaf, 0).ecx;
  if ((features & VMWARE_CPUID_FEATURE_VMCALL) != 0) return BackdoorPath::kVmcall;
  if ((features & VMWARE_CPUID_FEATURE_VMMCALL) != 0) return BackdoorPath::kVmmcall;
  return BackdoorPath::kPort;
}

BackdoorReply CallBackdoor(BackdoorPath path, uint32_t command, uint32_t in_ebx) {
  switch (path) {
    case BackdoorPath::kPort: return CallBackdoorOn<BackdoorPath::kPort>(command, in_ebx);
    case BackdoorPath::kVmcall: return CallBackdoorOn<BackdoorPath::kVmcall>(command, in_ebx);
    case BackdoorPath::kVmmcall: return CallBackdoorOn<BackdoorPath::kVmmcall>(command, in_ebx);
    case BackdoorPath::kNone: break;
  }
  return BackdoorReply{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff};
}

bool BackdoorVersion(BackdoorPath path, uint32_t* version) {
  const BackdoorReply reply = CallBackdoor(path, VMWARE_CMD_GETVERSION, 0xffffffff);
  if (reply.ebx != VMWARE_BACKDOOR_MAGIC) return false;
  *version = reply.eax;
  return true;
}

bool BackdoorFrequencies(BackdoorPath path, uint64_t* tsc_hz, uint32_t* apic_hz) {
  const BackdoorReply reply = CallBackdoor(path, VMWARE_CMD_GETHZ, 0xffffffff);
  if (reply.ebx == VMWARE_GETHZ_UNSUPPORTED) return false;
  *tsc_hz = uint64_t{reply.ebx} << 32 | reply.eax;
  *apic_hz = reply.ecx;
  return true;
}

}  // namespace pvops::vmi
