// SPDX-License-Identifier: MIT
// Suspend (core/move.cc; HVM/PVH only: a PV guest never gets here). Per vCPU: its singleshot
// timer stopped, its ports (VIRQ_TIMER, the kick port, the IPI ports) closed, its runstate area
// unregistered. VM-wide: the callback vector unhooked, every event masked and no longer
// pending, and shared_info forgotten (vcpu_info reads fall back to the library's masked copy).
// The hypercall page is Xen's one-time write: nothing to undo.
#include "backends/xen/xen.h"
// Xen headers after xen.h: core/xen_public.h pins the interface version first.
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>

namespace pvops::xen {

[[nodiscard]] pvops_status ReleaseCpu(uint32_t cpu, Reason* why) {
  CpuPart* part = Part(cpu);
  if (part == nullptr) return PVOPS_OK;
  PerCpu& c = part->cpu;
  bool ok = true;
  if (c.ready != 0 && PathOn(PVOPS_XEN_PATH_EVENTS)) {
    ok = Hypercall(__HYPERVISOR_vcpu_op, VCPUOP_stop_singleshot_timer, c.vcpu_id, 0) == 0;
    ok = CloseBoundPort(c.timer_port) && ok;
    ok = CloseBoundPort(c.kick_port) && ok;
    for (uint16_t& port : part->ipi_ports) {
      ok = CloseBoundPort(port) && ok;
      port = 0;
    }
  }
  if (part->runstate.registered != 0) {
    vcpu_register_runstate_memory_area none{};  // a null area: Xen stops writing it
    ok = Hypercall(__HYPERVISOR_vcpu_op, VCPUOP_register_runstate_memory_area, c.vcpu_id,
                   Arg(&none)) == 0 &&
         ok;
    part->runstate.registered = 0;
  }
  c = PerCpu{};
  if (!ok) why->Add("Xen refused a timer, port or runstate release");
  return ok ? PVOPS_OK : PVOPS_ERR_HYPERVISOR;
}

[[nodiscard]] pvops_status Release(Reason* why) {
  bool ok = true;
  if (PathOn(PVOPS_XEN_PATH_CALLBACK_VECTOR)) {
    xen_hvm_param param{};
    param.domid = DOMID_SELF;
    param.index = HVM_PARAM_CALLBACK_IRQ;  // value 0: no callback
    ok = Hypercall(__HYPERVISOR_hvm_op, HVMOP_set_param, Arg(&param)) == 0;
    (void)core::SetIrqHandler(PVOPS_XEN_HVM_CALLBACK_VECTOR, nullptr, nullptr);
  }
  // A CPU parked inside an upcall scans these words once more when it returns: nothing there.
  if (volatile shared_info* s = g_state.shared; s != nullptr) {
    for (uint32_t i = 0; i < sizeof(s->evtchn_mask) / sizeof(s->evtchn_mask[0]); ++i) {
      s->evtchn_mask[i] = ~xen_ulong_t{0};
      s->evtchn_pending[i] = 0;
    }
    for (uint32_t v = 0; v < kMaxCpus; ++v) s->vcpu_info[v].evtchn_pending_sel = 0;
  }
  g_state.shared = nullptr;
  g_state.paths = 0;
  if (!ok) why->Add("Xen refused HVM_PARAM_CALLBACK_IRQ 0");
  return ok ? PVOPS_OK : PVOPS_ERR_HYPERVISOR;
}

}  // namespace pvops::xen
