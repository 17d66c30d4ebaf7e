// SPDX-License-Identifier: MIT
#include "vm_state.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "vmm_error.h"

namespace pvops::vmm {
namespace {

constexpr uint32_t kMsrTsc = 0x10;
constexpr uint32_t kMsrKvmWallClockOld = 0x11;   // MSR_KVM_WALL_CLOCK
constexpr uint32_t kMsrKvmSystemTimeOld = 0x12;  // MSR_KVM_SYSTEM_TIME
constexpr uint32_t kMsrKvmFirst = 0x4b564d00;    // MSR_KVM_WALL_CLOCK_NEW and the rest
constexpr uint32_t kMsrKvmLast = 0x4b564dff;
constexpr uint32_t kMsrHypervisorFirst = 0x40000000;  // Hyper-V's synthetic MSRs, Xen's page MSR
constexpr uint32_t kMsrHypervisorLast = 0x4fffffff;

}  // namespace

bool MsrMovesWithGuest(uint32_t index) {
  if (index == kMsrKvmWallClockOld || index == kMsrKvmSystemTimeOld) return false;
  if (index >= kMsrKvmFirst && index <= kMsrKvmLast) return false;
  if (index >= kMsrHypervisorFirst && index <= kMsrHypervisorLast) return false;
  return true;
}

std::vector<uint32_t> MsrsToMove(const std::vector<uint32_t>& kvm_list) {
  std::vector<uint32_t> moved;
  if (std::find(kvm_list.begin(), kvm_list.end(), kMsrTsc) != kvm_list.end())
    moved.push_back(kMsrTsc);
  for (const uint32_t index : kvm_list) {
    if (index != kMsrTsc && MsrMovesWithGuest(index) &&
        std::find(moved.begin(), moved.end(), index) == moved.end())
      moved.push_back(index);
  }
  return moved;
}

VcpuState SaveVcpu(Vcpu& vcpu, const std::vector<uint32_t>& msrs, size_t xsave_bytes) {
  VcpuState state;
  state.regs = vcpu.GetRegs();
  state.sregs = vcpu.GetSregs();
  state.xsave = vcpu.GetXsave(xsave_bytes);
  state.xcrs = vcpu.GetXcrs();
  state.msrs = vcpu.GetMsrs(msrs);
  state.lapic = vcpu.GetLapic();
  state.mp_state = vcpu.GetMpState();
  state.events = vcpu.GetEvents();
  state.debugregs = vcpu.GetDebugRegs();
  return state;
}

uint64_t SavedTsc(const VcpuState& state) {
  for (const auto& entry : state.msrs)
    if (entry.index == kMsrTsc) return entry.data;
  throw VmmError("the saved vCPU state holds no TSC");
}

void RestoreVcpu(Vcpu& vcpu, const VcpuState& state, uint64_t tsc) {
  // The APIC base (in sregs) before the LAPIC's registers; CPUID is already set, so KVM takes
  // the x2APIC mode and long mode.
  vcpu.SetSregs(state.sregs);
  vcpu.SetRegs(state.regs);
  vcpu.SetXcrs(state.xcrs);
  vcpu.SetXsave(state.xsave);
  vcpu.SetLapic(state.lapic);
  // After the LAPIC: KVM drops a TSC deadline unless the timer is in TSC-deadline mode. Only
  // the values the new vCPU does not hold already are written (the TSC always): KVM logs each
  // write it does not implement (DEBUGCTL on AMD without LBR virtualization) on the L1's
  // console, the same serial line the guest's output goes to, where it can split a guest line.
  std::vector<uint32_t> indices;
  for (const auto& entry : state.msrs) indices.push_back(entry.index);
  const std::vector<kvm_msr_entry> held = vcpu.GetMsrs(indices);
  const auto holds = [&held](const kvm_msr_entry& entry) {
    return std::any_of(held.begin(), held.end(), [&entry](const kvm_msr_entry& h) {
      return h.index == entry.index && h.data == entry.data;
    });
  };
  std::vector<kvm_msr_entry> msrs;
  for (kvm_msr_entry entry : state.msrs) {
    if (entry.index == kMsrTsc)
      entry.data = tsc;
    else if (holds(entry))
      continue;
    msrs.push_back(entry);
  }
  for (size_t next = 0; next < msrs.size();) {
    const std::vector<kvm_msr_entry> rest(msrs.begin() + static_cast<ptrdiff_t>(next), msrs.end());
    next += vcpu.SetMsrs(rest);
    if (next == msrs.size()) break;
    // Refused: harmless only if the new vCPU holds that value already (a refused write leaves
    // what `held` read).
    const kvm_msr_entry& refused = msrs[next];
    if (!holds(refused)) {
      const auto now = std::find_if(held.begin(), held.end(), [&refused](const kvm_msr_entry& h) {
        return h.index == refused.index;
      });
      throw VmmError(
          absl::StrFormat("vCPU %u: KVM refused MSR %#x = %#x on the new VM (it holds %s)",
                          vcpu.id(), refused.index, refused.data,
                          now == held.end() ? "none" : absl::StrFormat("%#x", now->data)));
    }
    ++next;
  }
  vcpu.SetMpState(state.mp_state.mp_state);
  kvm_vcpu_events events = state.events;
  // KVM_GET_VCPU_EVENTS fills these fields but does not flag them valid for the set.
  events.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
  vcpu.SetEvents(events);
  vcpu.SetDebugRegs(state.debugregs);
}

VmDeviceState SaveVmDevices(Vm& vm) {
  VmDeviceState state;
  state.clock = vm.GetClock();
  state.pic_master = vm.GetIrqchip(KVM_IRQCHIP_PIC_MASTER);
  state.pic_slave = vm.GetIrqchip(KVM_IRQCHIP_PIC_SLAVE);
  state.ioapic = vm.GetIrqchip(KVM_IRQCHIP_IOAPIC);
  state.pit = vm.GetPit();
  return state;
}

void RestoreVmDevices(Vm& vm, const VmDeviceState& state) {
  // The kvmclock goes on from its saved value: the pause is the VMM's to report (pause_ns).
  kvm_clock_data clock{};
  clock.clock = state.clock.clock;
  vm.SetClock(clock);
  vm.SetIrqchip(state.pic_master);
  vm.SetIrqchip(state.pic_slave);
  vm.SetIrqchip(state.ioapic);
  vm.SetPit(state.pit);
}

}  // namespace pvops::vmm
