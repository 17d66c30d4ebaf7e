// SPDX-License-Identifier: MIT
// Suspend (core/move.cc): what the partition registered is switched off and forgotten. Per
// vCPU: synthetic timer 0 and the VP assist page. VM-wide: the reference TSC page, the
// hypercall page, then the guest OS ID (the TLFS ties the page to it). The SynIC's SIMP, SIEFP
// and SCONTROL are never written by this backend (stimer0 runs in direct mode): not touched.
#include "backends/hyperv/hv_hypercall.h"
#include "backends/hyperv/hyperv.h"
#include "core/move.h"

namespace pvops::hyperv {
[[nodiscard]] pvops_status ReleaseCpu(uint32_t cpu, core::Reason* why) {
  CpuPart* c = Part(cpu);
  if (c == nullptr) return PVOPS_OK;  // it never registered anything
  bool ok = true;
  if (c->stimer_ready != 0)
    ok = core::ReleaseMsr(kMsrStimer0Count, why) && core::ReleaseMsr(kMsrStimer0Config, why);
  if (c->vp_assist_enabled != 0) ok = core::ReleaseMsr(kMsrVpAssistPage, why) && ok;
  *c = CpuPart{};
  return ok ? PVOPS_OK : PVOPS_ERR_FAULT;
}

[[nodiscard]] pvops_status Release(core::Reason* why) {
  bool ok = true;
  if (Enabled(kPathTscPageClock)) ok = core::ReleaseMsr(kMsrReferenceTsc, why);
  if (Enabled(kPathHypercallPage)) ok = core::ReleaseMsr(kMsrHypercall, why) && ok;
  if (Enabled(kPathGuestOsId)) ok = core::ReleaseMsr(kMsrGuestOsId, why) && ok;
  ForgetHypercallPage();
  __atomic_store_n(&g_state.enabled, 0u, __ATOMIC_RELAXED);
  return ok ? PVOPS_OK : PVOPS_ERR_FAULT;
}

}  // namespace pvops::hyperv
