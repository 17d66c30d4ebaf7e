#include "backends/vmi/vmware_backdoor.h"

#include "arch/x86/arch.h"
#include "backends/vmi/vmi_backend.h"
#include "core/runtime.h"

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
  arch::HypercallRegs r{};
  r.rax = VMWARE_BACKDOOR_MAGIC;
  r.rbx = in_ebx;
  r.rcx = command;
  switch (path) {
    case BackdoorPath::kPort:
      r.rdx = VMWARE_BACKDOOR_PORT;
      arch::backdoor_in(r);
      break;
    case BackdoorPath::kVmcall:
      arch::hypercall(arch::HypercallInsn::kVmcall, r);  // DX = 0: low bandwidth, "in"
      break;
    case BackdoorPath::kVmmcall: arch::hypercall(arch::HypercallInsn::kVmmcall, r); break;
    case BackdoorPath::kNone: return BackdoorReply{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff};
  }
  core::Count(core::Counter::kHypercalls);
  kCounters.Count(Counter::kBackdoorCalls);
  return BackdoorReply{static_cast<uint32_t>(r.rax), static_cast<uint32_t>(r.rbx),
                       static_cast<uint32_t>(r.rcx), static_cast<uint32_t>(r.rdx)};
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
