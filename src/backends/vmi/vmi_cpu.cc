// SPDX-License-Identifier: MIT
// The cpu and interrupt-flag ops through the ROM: one ROM call each, the native instruction
// being the ROM's business (rom/README.md lists each call's registers).
#include "arch/x86/registers.h"
#include "backends/vmi/vmi.h"
#include "backends/vmi/vmi_calls.h"
#include "core/patch.h"
#include "hw/console_and_exit.h"

namespace pvops::vmi {

void Cpuid(uint32_t leaf, uint32_t subleaf, pvops_cpuid_regs* out) {
  if (out == nullptr) return;
  static_assert(sizeof(pvops_cpuid_regs) == 16, "the ROM writes four 32-bit registers");
  CallRom(VMI_CALL_CPUID, leaf, subleaf, reinterpret_cast<uintptr_t>(out));
}

uint64_t ReadMsr(uint32_t msr) { return CallRom(VMI_CALL_RDMSR, msr); }
void WriteMsr(uint32_t msr, uint64_t value) { CallRom(VMI_CALL_WRMSR, msr, value); }

void IoDelay() { CallRom(VMI_CALL_IODelay); }
// The ROM answered NOP: on this hypervisor legacy ports need no delay.
void NoIoDelay() {}

// VMI's Halt is the safe one: the ROM enables interrupts and halts in one step.
void SafeHalt() { CallRom(VMI_CALL_Halt); }

uint64_t SaveFlags() { return CallRom(VMI_CALL_GetInterruptMask) & X86_EFLAGS_IF; }
void RestoreFlags(uint64_t flags) { CallRom(VMI_CALL_SetInterruptMask, flags & X86_EFLAGS_IF); }
void IrqDisable() { CallRom(VMI_CALL_DisableInterrupts); }
void IrqEnable() { CallRom(VMI_CALL_EnableInterrupts); }

void Shutdown(uint32_t code) {
  if (Provides(VMI_CALL_Shutdown)) CallRom(VMI_CALL_Shutdown, code);
  hw::DebugExitShutdown(code);  // the ROM came back: end the machine the native way
}

namespace {

// The low-bandwidth call carries a 32-bit command in ECX and a 32-bit EBX, nothing else.
template <BackdoorPath kPath>
[[nodiscard]] pvops_status HypercallOn(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
                                       uint64_t a3, uint64_t a4, int64_t* result) {
  if (((nr | a0) >> 32 | a1 | a2 | a3 | a4) != 0) {
    if (result != nullptr) *result = 0;
    return PVOPS_ERR_INVALID;
  }
  const BackdoorReply reply =
      CallBackdoorOn<kPath>(static_cast<uint32_t>(nr), static_cast<uint32_t>(a0));
  if (result != nullptr) *result = reply.eax;
  return PVOPS_OK;
}

}  // namespace

HypercallOp HypercallFor(BackdoorPath path) {
  switch (path) {
    case BackdoorPath::kPort: return HypercallOn<BackdoorPath::kPort>;
    case BackdoorPath::kVmcall: return HypercallOn<BackdoorPath::kVmcall>;
    case BackdoorPath::kVmmcall: return HypercallOn<BackdoorPath::kVmmcall>;
    case BackdoorPath::kNone: break;
  }
  return nullptr;
}

}  // namespace pvops::vmi

// Callee-saved thunks of the irq-flag ops (vmi_patch.cc), for sites beyond rel32 reach of the
// ROM; here, beside their targets, so that each call is to a symbol this object defines.
PVOPS_CALLEE_SAVE_THUNK(pvops_vmi_save_flags_thunk, pvops::vmi::SaveFlags)
PVOPS_CALLEE_SAVE_THUNK(pvops_vmi_restore_flags_thunk, pvops::vmi::RestoreFlags)
PVOPS_CALLEE_SAVE_THUNK(pvops_vmi_irq_disable_thunk, pvops::vmi::IrqDisable)
PVOPS_CALLEE_SAVE_THUNK(pvops_vmi_irq_enable_thunk, pvops::vmi::IrqEnable)
