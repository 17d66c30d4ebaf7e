// SPDX-License-Identifier: MIT
// Suspend (core/move.cc): what the partition registered is switched off and forgotten. Per
// vCPU: synthetic timer 0 and the VP assist page. VM-wide: the reference TSC page, the
// hypercall page, then the guest OS ID (the TLFS ties the page to it). The SynIC's SIMP, SIEFP
// and SCONTROL are never written by this backend (stimer0 runs in direct mode): not touched.
#include "arch/x86/arch.h"
#include "backends/hyperv/hv_hypercall.h"
#include "backends/hyperv/hyperv.h"
#include "core/reason.h"

namespace pvops::hyperv {
namespace {

bool Off(uint32_t msr, core::Reason* why) {
  if (arch::wrmsr_safe(msr, 0)) return true;
  why->Separate().Add("MSR ").AddHex(msr).Add(" refused 0");
  return false;
}

}  // namespace

pvops_status ReleaseCpu(uint32_t cpu, core::Reason* why) {
  CpuPart* c = Part(cpu);
  if (c == nullptr) return PVOPS_OK;  // it never registered anything
  bool ok = true;
  if (c->stimer_ready != 0) ok = Off(kMsrStimer0Count, why) && Off(kMsrStimer0Config, why);
  if (c->vp_assist_enabled != 0) ok = Off(kMsrVpAssistPage, why) && ok;
  *c = CpuPart{};
  return ok ? PVOPS_OK : PVOPS_ERR_FAULT;
}

pvops_status Release(core::Reason* why) {
  bool ok = true;
  if (Enabled(kPathTscPageClock)) ok = Off(kMsrReferenceTsc, why);
  if (Enabled(kPathHypercallPage)) ok = Off(kMsrHypercall, why) && ok;
  if (Enabled(kPathGuestOsId)) ok = Off(kMsrGuestOsId, why) && ok;
  ForgetHypercallPage();
  __atomic_store_n(&g_state.enabled, 0u, __ATOMIC_RELAXED);
  return ok ? PVOPS_OK : PVOPS_ERR_FAULT;
}

}  // namespace pvops::hyperv
