// Xen's call sites. The PV irq-flag ops read and write this vCPU's event mask in vcpu_info
// (xen_events.cc): C functions, so a callee-saved site reaches each through a thunk of its own
// that calls it directly, as Linux's xen_save_fl_direct does, instead of through the table.
#include "backends/xen/xen.h"
#include "backends/xen/xen_backend.h"
#include "core/patch.h"

// Defined beside their targets in xen_events.cc.
extern "C" void pvops_xen_pv_save_flags_thunk();
extern "C" void pvops_xen_pv_restore_flags_thunk();
extern "C" void pvops_xen_pv_irq_disable_thunk();
extern "C" void pvops_xen_pv_irq_enable_thunk();

namespace pvops::xen {

bool PatchSite(const core::Site& site, core::SiteCode* out) {
  static const core::CalleeSaved kThunks[] = {
      {reinterpret_cast<uintptr_t>(PvSaveFlags),
       reinterpret_cast<uintptr_t>(pvops_xen_pv_save_flags_thunk)},
      {reinterpret_cast<uintptr_t>(PvRestoreFlags),
       reinterpret_cast<uintptr_t>(pvops_xen_pv_restore_flags_thunk)},
      {reinterpret_cast<uintptr_t>(PvIrqDisable),
       reinterpret_cast<uintptr_t>(pvops_xen_pv_irq_disable_thunk)},
      {reinterpret_cast<uintptr_t>(PvIrqEnable),
       reinterpret_cast<uintptr_t>(pvops_xen_pv_irq_enable_thunk)},
  };
  return core::EmitCalleeSavedCall(site, kThunks, sizeof(kThunks) / sizeof(kThunks[0]), out);
}

}  // namespace pvops::xen
