// SPDX-License-Identifier: MIT
// Xen's call sites. The PV irq-flag ops read and write this vCPU's event mask in vcpu_info
// (xen_events.cc): C functions, so a callee-saved site reaches each through a thunk of its own
// that calls it directly, as Linux's xen_save_fl_direct does, instead of through the table.
// A PV hypercall site enters Xen by `syscall` itself, as Linux's xen_hypercall_pv does: that is
// all a 64-bit PV stub of the hypercall page does besides saving %rcx and %r11, which the site
// gives up anyway.
#include "backends/xen/xen.h"
#include "backends/xen/xen_backend.h"
#include "core/patch.h"
#include "core/runtime.h"

// Defined beside their targets in xen_events.cc.
extern "C" void pvops_xen_pv_save_flags_thunk();
extern "C" void pvops_xen_pv_restore_flags_thunk();
extern "C" void pvops_xen_pv_irq_disable_thunk();
extern "C" void pvops_xen_pv_irq_enable_thunk();

namespace pvops::xen {

namespace {

bool PatchPvHypercall(const core::Site& site, core::SiteCode* out) {
  if (!IsPv() || site.op != reinterpret_cast<uintptr_t>(RawHypercallFor(Mode::kPv, {})))
    return false;
  static const uint8_t kFast[] = {
      0x48, 0x83, 0xff, 0x7f,                    // cmp $kStubCount - 1, %rdi
      0x77, 0x31,                                // ja slow
      0x83, 0xff, 0x17,                          // cmp $__HYPERVISOR_iret, %edi
      0x74, 0x2c,                                // je slow: its stub pops a frame
      0x89, 0xf8,                                // mov %edi, %eax
      0x48, 0x89, 0xf7,                          // mov %rsi, %rdi
      0x48, 0x89, 0xd6,                          // mov %rdx, %rsi
      0x48, 0x89, 0xca,                          // mov %rcx, %rdx
      0x4d, 0x89, 0xc2,                          // mov %r8, %r10
      0x4d, 0x89, 0xc8,                          // mov %r9, %r8
      0x0f, 0x05,                                // syscall
      0xf0, 0x48, 0x83, 0x05, 0, 0, 0, 0, 0x01,  // lock addq $1, hypercalls(%rip)
      0x48, 0x8b, 0x0c, 0x24,                    // mov (%rsp), %rcx: the result pointer
      0x48, 0x85, 0xc9,                          // test %rcx, %rcx
      0x74, 0x03,                                // jz 1f
      0x48, 0x89, 0x01,                          // mov %rax, (%rcx)
      0x31, 0xc0,                                // 1: xor %eax, %eax: PVOPS_OK
      0xeb, 0x00,                                // jmp to the site's end
      0xe8, 0,    0,    0,    0,                 // slow: call the op
  };
  static_assert(kStubCount == 0x80 && __HYPERVISOR_iret == 0x17);
  static const core::Fixup kFixups[] = {
      {34, 39, core::Fixup::kRel32,
       core::CounterSet<core::Counter>::Address(core::Counter::kHypercalls)},
      {54, 55, core::Fixup::kRel8ToSiteEnd, nullptr},
      {56, 60, core::Fixup::kRel32ToOp, nullptr},
  };
  return core::EmitInline(site, kFast, sizeof(kFast), out, kFixups, 3);
}

}  // namespace

bool PatchSite(const core::Site& site, core::SiteCode* out) {
  if (site.kind == PVOPS_SITE_HYPERCALL) return PatchPvHypercall(site, out);
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
