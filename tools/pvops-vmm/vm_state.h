/* SPDX-License-Identifier: MIT */
// A stopped VM's architectural state, saved from one KVM VM and restored into another built with
// another personality over the same guest memory (a move, docs/guest-protocol.md "Moves").
// What moves: every vCPU's registers, segment and control registers, FPU/XSAVE and XCRs, the
// MSRs KVM lists for migration (less the hypervisor interfaces' own), LAPIC, MP state, pending
// events, debug registers; the VM's kvmclock, PIC, IOAPIC and PIT. What is not moved is made
// again by the new VM's personality (CPUID, capabilities, Xen or Hyper-V set-up) or by the guest.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

#include "kvm_handles.h"

namespace pvops::vmm {

// False for the MSRs of a hypervisor interface rather than of the CPU: KVM's PV MSRs (kvmclock,
// steal time, PV EOI, async PF, ...), the Hyper-V synthetic range and anything else in
// 0x40000000..0x4fffffff (Xen's hypercall-page MSR). The guest released them before the move;
// the next personality may not offer them, and must not inherit them.
bool MsrMovesWithGuest(uint32_t index);

// The MSRs of `kvm_list` that move, the TSC first (the TSC deadline is relative to it).
std::vector<uint32_t> MsrsToMove(const std::vector<uint32_t>& kvm_list);

struct VcpuState {
  kvm_regs regs;
  kvm_sregs sregs;
  std::vector<uint8_t> xsave;
  kvm_xcrs xcrs;
  std::vector<kvm_msr_entry> msrs;  // MSR_IA32_TSC among them
  kvm_lapic_state lapic;
  kvm_mp_state mp_state;
  kvm_vcpu_events events;
  kvm_debugregs debugregs;
};

struct VmDeviceState {
  kvm_clock_data clock;
  kvm_irqchip pic_master;
  kvm_irqchip pic_slave;
  kvm_irqchip ioapic;
  kvm_pit_state2 pit;
};

// From a vCPU that is not running (no KVM_RUN in flight, pending I/O completed).
VcpuState SaveVcpu(Vcpu& vcpu, const std::vector<uint32_t>& msrs, size_t xsave_bytes);
// Into a new vCPU whose CPUID and personality set-up are done. The guest's TSC is written as
// `tsc` on every vCPU (one value, so KVM keeps them synchronized), the pause not counted.
// Throws VmmError when KVM refuses a value the new vCPU does not already hold.
void RestoreVcpu(Vcpu& vcpu, const VcpuState& state, uint64_t tsc);

VmDeviceState SaveVmDevices(Vm& vm);
// Into a new VM after KVM_CREATE_IRQCHIP and KVM_CREATE_PIT2, before any vCPU runs.
void RestoreVmDevices(Vm& vm, const VmDeviceState& state);

// The TSC among saved MSRs; throws VmmError when it is absent.
uint64_t SavedTsc(const VcpuState& state);

}  // namespace pvops::vmm
