/* SPDX-License-Identifier: MIT */
// VMware's hypervisor channel: the backdoor I/O port 0x5658, or vmcall/vmmcall where CPUID
// 0x40000010 offers them (facts from QEMU's hw/i386/vmport.c and Linux's asm/vmware.h).
// Only ever used from CPL0 after something vouched for a VMware interface (the VMwareVMware
// CPUID block, or a VMI ROM whose init reached the backdoor): on bare metal or another
// hypervisor the port reads all ones, and at CPL3 `in` faults.
#pragma once

#include <stdint.h>

#include "arch/x86/arch.h"
#include "backends/vmi/vmi_abi.h"
#include "backends/vmi/vmi_backend.h"
#include "core/hv_leaves.h"
#include "core/runtime.h"

namespace pvops::vmi {

enum class BackdoorPath : uint8_t { kNone, kPort, kVmcall, kVmmcall };

struct BackdoorReply {
  uint32_t eax, ebx, ecx, edx;
};

// The path the CPUID block offers: vmcall or vmmcall when leaf base+0x10 exists and its ECX
// says so, else the port. `vmware` may be nullptr (no block: the port, as a ROM vouched).
BackdoorPath ChooseBackdoorPath(const core::HvInterface* vmware);

// One low-bandwidth backdoor call: EAX magic, EBX `in_ebx`, ECX the command, DX the port (or
// 0 for vmcall/vmmcall). Counts as a hypercall. The path is fixed at compile time, so a caller
// that chose it once (the raw hypercall op) pays for nothing but the instruction.
template <BackdoorPath kPath>
inline BackdoorReply CallBackdoorOn(uint32_t command, uint32_t in_ebx) {
  static_assert(kPath != BackdoorPath::kNone);
  arch::HypercallRegs r{};
  r.rax = VMWARE_BACKDOOR_MAGIC;
  r.rbx = in_ebx;
  r.rcx = command;
  if constexpr (kPath == BackdoorPath::kPort) {
    r.rdx = VMWARE_BACKDOOR_PORT;
    arch::backdoor_in(r);
  } else if constexpr (kPath == BackdoorPath::kVmcall) {
    arch::hypercall(arch::HypercallInsn::kVmcall, r);  // DX = 0: low bandwidth, "in"
  } else {
    arch::hypercall(arch::HypercallInsn::kVmmcall, r);
  }
  core::Count(core::Counter::kHypercalls);
  kCounters.Count(Counter::kBackdoorCalls);
  return BackdoorReply{static_cast<uint32_t>(r.rax), static_cast<uint32_t>(r.rbx),
                       static_cast<uint32_t>(r.rcx), static_cast<uint32_t>(r.rdx)};
}

// The same with the path chosen at run time; kNone answers all ones and calls nothing.
BackdoorReply CallBackdoor(BackdoorPath path, uint32_t command, uint32_t in_ebx);

// GETVERSION: true (and the version) only when EBX comes back as the magic.
bool BackdoorVersion(BackdoorPath path, uint32_t* version);

// GETHZ: the TSC and APIC frequencies in Hz; false when the hypervisor says it cannot tell.
bool BackdoorFrequencies(BackdoorPath path, uint64_t* tsc_hz, uint32_t* apic_hz);

}  // namespace pvops::vmi
