// VMI's call sites. The ROM's get_reloc answer for each interrupt-flag call says how a site may
// reach it (rom/README.md): CALL_REL lets the site call the ROM's entry directly, since those
// entries keep every register but rax; a site out of rel32 reach of the ROM calls a thunk of the
// backend's own op instead. NONE and NOP leave the op native, and native's instruction goes in.
#include "backends/vmi/vmi.h"
#include "backends/vmi/vmi_calls.h"
#include "core/patch.h"

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
  if (site.kind != PVOPS_SITE_CALLEE_SAVED) return false;
  for (const IrqFlagCall& c : kCalls) {
    if (c.slot != site.slot || c.op != site.op) continue;
    if (Provides(c.call) && core::EmitDirectCall(site, g_rom.entry[c.call], out)) return true;
    return core::EmitDirectCall(site, c.thunk, out);
  }
  return false;
}

}  // namespace pvops::vmi
