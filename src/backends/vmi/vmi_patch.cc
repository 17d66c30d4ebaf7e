// SPDX-License-Identifier: MIT
// VMI's call sites. The ROM's get_reloc answer for each interrupt-flag call says how a site may
// reach it (rom/README.md): CALL_REL lets the site call the ROM's entry directly, since those
// entries keep every register but rax; a site out of rel32 reach of the ROM calls a thunk of the
// backend's own op instead. NONE and NOP leave the op native, and native's instruction goes in.
#include "backends/vmi/vmi.h"
#include "backends/vmi/vmi_backend.h"
#include "backends/vmi/vmi_calls.h"
#include "core/patch.h"
#include "core/runtime.h"

extern "C" void pvops_vmi_save_flags_thunk();
extern "C" void pvops_vmi_restore_flags_thunk();
extern "C" void pvops_vmi_irq_disable_thunk();
extern "C" void pvops_vmi_irq_enable_thunk();

namespace pvops::vmi {
namespace {

struct IrqFlagCall {
  uint32_t slot;
  uint32_t call;
  uintptr_t op;
  uintptr_t thunk;
};

// The low-bandwidth backdoor by port inline at a hypercall site: what HypercallOn<kPort> does
// (vmi_cpu.cc), in its registers. Arguments it does not take go to the op.
bool PatchBackdoorHypercall(const core::Site& site, core::SiteCode* out) {
  if (site.op != reinterpret_cast<uintptr_t>(HypercallFor(BackdoorPath::kPort))) return false;
  static const uint8_t kFast[] = {
      0x48, 0x89, 0xf8,                             // mov %rdi, %rax
      0x48, 0x09, 0xf0,                             // or %rsi, %rax
      0x48, 0xc1, 0xe8, 0x20,                       // shr $32, %rax: command, EBX fit 32 bits
      0x48, 0x09, 0xd0,                             // or %rdx, %rax
      0x48, 0x09, 0xc8,                             // or %rcx, %rax
      0x4c, 0x09, 0xc0,                             // or %r8, %rax
      0x4c, 0x09, 0xc8,                             // or %r9, %rax: the rest are 0
      0x75, 0x33,                                   // jnz slow
      0x89, 0xf3,                                   // mov %esi, %ebx
      0x89, 0xf9,                                   // mov %edi, %ecx
      0xba, 0x58, 0x56, 0x00, 0x00,                 // mov $VMWARE_BACKDOOR_PORT, %edx
      0xb8, 0x68, 0x58, 0x4d, 0x56,                 // mov $VMWARE_BACKDOOR_MAGIC, %eax
      0xed,                                         // in %dx, %eax
      0xf0, 0x48, 0x83, 0x05, 0,    0, 0, 0, 0x01,  // lock addq $1, hypercalls(%rip)
      0xf0, 0x48, 0x83, 0x05, 0,    0, 0, 0, 0x01,  // lock addq $1, backdoor_calls(%rip)
      0x48, 0x8b, 0x0c, 0x24,                       // mov (%rsp), %rcx: the result pointer
      0x48, 0x85, 0xc9,                             // test %rcx, %rcx
      0x74, 0x05,                                   // jz 1f
      0x89, 0xc0,                                   // mov %eax, %eax
      0x48, 0x89, 0x01,                             // mov %rax, (%rcx)
      0x31, 0xc0,                                   // 1: xor %eax, %eax: PVOPS_OK
      0xeb, 0x00,                                   // jmp to the site's end
      0xe8, 0,    0,    0,    0,                    // slow: call the op
  };
  static_assert(VMWARE_BACKDOOR_PORT == 0x5658 && VMWARE_BACKDOOR_MAGIC == 0x564d5868);
  static const core::Fixup kFixups[] = {
      {43, 48, core::Fixup::kRel32,
       core::CounterSet<core::Counter>::Address(core::Counter::kHypercalls)},
      {52, 57, core::Fixup::kRel32, core::CounterSet<Counter>::Address(Counter::kBackdoorCalls)},
      {74, 75, core::Fixup::kRel8ToSiteEnd, nullptr},
      {76, 80, core::Fixup::kRel32ToOp, nullptr},
  };
  return core::EmitInline(site, kFast, sizeof(kFast), out, kFixups, 4);
}

}  // namespace

bool PatchSite(const core::Site& site, core::SiteCode* out) {
  static const IrqFlagCall kCalls[] = {
      {PVOPS_SLOT_OF(irq.save_flags), VMI_CALL_GetInterruptMask,
       reinterpret_cast<uintptr_t>(SaveFlags),
       reinterpret_cast<uintptr_t>(pvops_vmi_save_flags_thunk)},
      {PVOPS_SLOT_OF(irq.restore_flags), VMI_CALL_SetInterruptMask,
       reinterpret_cast<uintptr_t>(RestoreFlags),
       reinterpret_cast<uintptr_t>(pvops_vmi_restore_flags_thunk)},
      {PVOPS_SLOT_OF(irq.disable), VMI_CALL_DisableInterrupts,
       reinterpret_cast<uintptr_t>(IrqDisable),
       reinterpret_cast<uintptr_t>(pvops_vmi_irq_disable_thunk)},
      {PVOPS_SLOT_OF(irq.enable), VMI_CALL_EnableInterrupts, reinterpret_cast<uintptr_t>(IrqEnable),
       reinterpret_cast<uintptr_t>(pvops_vmi_irq_enable_thunk)},
  };
  if (site.kind == PVOPS_SITE_HYPERCALL) return PatchBackdoorHypercall(site, out);
  if (site.kind != PVOPS_SITE_CALLEE_SAVED) return false;
  for (const IrqFlagCall& c : kCalls) {
    if (c.slot != site.slot || c.op != site.op) continue;
    if (Provides(c.call) && core::EmitDirectCall(site, g_rom.entry[c.call], out)) return true;
    return core::EmitDirectCall(site, c.thunk, out);
  }
  return false;
}

}  // namespace pvops::vmi
