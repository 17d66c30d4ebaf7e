// SPDX-License-Identifier: MIT
// The Hyper-V backend: reads what the partition may do (privileges), what the hypervisor
// recommends (hints) and its limits, then turns on each enlightened path only when both allow
// it and the hypervisor's answer checks out, leaving the native op in place otherwise.
#include "arch/x86/arch.h"
#include "backends/hyperv/hv_apic.h"
#include "backends/hyperv/hv_clock.h"
#include "backends/hyperv/hv_hypercall.h"
#include "backends/hyperv/hyperv.h"
#include "core/backend.h"
#include "core/cpu_area.h"
#include "core/runtime.h"
#include "hw/lapic.h"

namespace pvops::hyperv {

State g_state;

namespace {

bool Granted(uint32_t privilege) { return (g_state.privileges & privilege) != 0; }
bool Hinted(uint32_t hint) { return (g_state.hints & hint) != 0; }

// VP indexes a hypercall can name: below the stated VP limit and inside 64 banks of 64.
uint64_t VpIndexLimit() {
  const uint64_t banks_limit = uint64_t{kMaxVpIndex} + 1;
  return g_state.max_vps != 0 && g_state.max_vps < banks_limit ? g_state.max_vps : banks_limit;
}

[[nodiscard]] pvops_status ReadVpIndexOn(uint32_t cpu) {
  CpuPart& c = *Part(cpu);
  __atomic_store_n(&c.vp_index_valid, 0, __ATOMIC_RELEASE);
  uint64_t vp;
  if (!arch::rdmsr_safe(kMsrVpIndex, &vp)) return PVOPS_ERR_FAULT;
  if (vp >= VpIndexLimit()) return PVOPS_ERR_BAD_DATA;
  c.vp_index = static_cast<uint32_t>(vp);
  __atomic_store_n(&c.vp_index_valid, 1, __ATOMIC_RELEASE);
  return PVOPS_OK;
}

// Run by pvops_cpu_online on each CPU. A feature this CPU cannot register leaves it on that
// feature's native path (no VP index: no hypercall names it), noted under the per-CPU rule
// (core/backend.h); the CPU itself still comes up.
pvops_status CpuInit(uint32_t cpu) {
  if (Part(cpu) == nullptr) return PVOPS_ERR_NO_CPU_AREA;
  // The VP index, assist page and stimer do not depend on the LAPIC's set-up: a kernel that
  // maps its APIC later still gets them, and hears of the LAPIC failure afterwards.
  const pvops_status lapic = Enabled(kPathApicMsrs) ? SetUpLapicOn(cpu) : hw::LapicCpuInit(cpu);
  if (Enabled(kPathVpIndex)) core::NoteCpuRefused(cpu, " VP index: ", ReadVpIndexOn(cpu));
  if (Enabled(kPathVpAssistEoi)) core::NoteCpuRefused(cpu, " VP assist: ", EnableVpAssistOn(cpu));
  if (Enabled(kPathStimerDirect)) core::NoteCpuRefused(cpu, " stimer: ", CheckStimerOn(cpu));
  return lapic;
}

void ReadLeaves(uint32_t base) {
  const pvops_cpuid_regs features = arch::cpuid(base + kLeafFeatures, 0);
  const pvops_cpuid_regs hints = arch::cpuid(base + kLeafHints, 0);
  g_state.base_leaf = base;
  g_state.version = arch::cpuid(base + kLeafVersion, 0).ebx;
  g_state.privileges = features.eax;
  g_state.privileges_high = features.ebx;
  g_state.features = features.edx;
  g_state.hints = hints.eax;
  g_state.spin_wait_count = hints.ebx;
  g_state.max_vps = arch::cpuid(base + kLeafLimits, 0).eax;
}

// The guest OS ID, then the hypercall page (the hypervisor ignores the page until the ID is
// set). Returns whether hypercalls can be made.
bool SetUpHypercalls(core::Reason* notes) {
  if (!Granted(kPrivHypercallMsrs)) {
    notes->Separate().Add("no hypercall MSR privilege");
    return false;
  }
  if (!arch::wrmsr_safe(kMsrGuestOsId, GuestOsId())) {
    notes->Separate().Add("HV_X64_MSR_GUEST_OS_ID faults");
    return false;
  }
  Enable(kPathGuestOsId);
  if (EnableHypercallPage(notes) != PVOPS_OK) return false;
  Enable(kPathHypercallPage);
  return true;
}

}  // namespace

[[nodiscard]] PVOPS_BOOT_CODE pvops_status Init(const pvops_env&, const pvops_candidate& found,
                                                pvops_ops* ops, core::BackendReport* report,
                                                core::Reason* why) {
  g_state = State{};
  ForgetCpus();
  ForgetHypercallPage();
  ReadLeaves(found.base_leaf);
  core::Reason notes(report->notes, sizeof(report->notes));

  const bool hypercalls = SetUpHypercalls(&notes);
  // Only the boot CPU has its area yet. Every other CPU's is page-aligned physically too
  // (pvops_set_cpu_area checks): its argument pages are as usable as these.
  const bool slow_calls = hypercalls && CheckArgPages(core::ThisCpu()) == PVOPS_OK;
  if (hypercalls && !slow_calls) notes.Separate().Add("hypercall argument pages unusable");
  if (hypercalls) ops->hypercall.call = RawHypercall;

  const HvClock clock = EnableClock(&notes);
  const bool reference_clock = clock == HvClock::kTscPage;
  if (clock != HvClock::kNative) {
    ops->time.clock_ns = reference_clock ? ClockNs : StatedTscClockNs;
    ops->time.tsc_khz = TscKhz;
  }

  const bool vp_index = Granted(kPrivVpIndex);
  if (vp_index) Enable(kPathVpIndex);

  // CPUID grants the APIC MSRs; the TPR write every CPU's set-up makes finds a hypervisor that
  // grants them and refuses the writes, before any op relies on them.
  const bool apic_msrs = Hinted(kHintApicAccessMsrs) && Granted(kPrivApicMsrs);
  if (apic_msrs && !arch::wrmsr_safe(kMsrTpr, 0))
    notes.Separate().Add("HV_X64_MSR_TPR faults: the APIC by its own registers");
  else if (apic_msrs) {
    Enable(kPathApicMsrs | kPathVpAssistEoi);
    ops->irq.eoi = Eoi;
    ops->irq.send_ipi = SendIpiByIcrMsr;
    ops->kernel.read_tpr = ReadTprClass;
    ops->kernel.write_tpr = WriteTprClass;
  }
  if (hypercalls && vp_index && Hinted(kHintClusterIpi)) {
    Enable(kPathClusterIpi);
    if (slow_calls && Hinted(kHintExProcessorMasks)) Enable(kPathClusterIpiEx);
    ops->irq.send_ipi = SendIpi;
  }
  if (slow_calls && vp_index && Hinted(kHintRemoteTlbFlush)) {
    Enable(kPathFlushHypercall);
    if (Hinted(kHintExProcessorMasks)) Enable(kPathFlushEx);
    ops->mmu.flush_tlb_remote = FlushTlbRemote;
  }
  // The timer's expiry is a reference time: only meaningful when clock_ns reads that clock.
  if (reference_clock && Granted(kPrivSyntheticTimers) &&
      (g_state.features & kFeatDirectSyntheticTimers) != 0) {
    if (CheckStimerOn(core::ThisCpu()) == PVOPS_OK) {
      Enable(kPathStimerDirect);
      ops->irq.timer_oneshot = TimerOneshot;
    } else {
      notes.Separate().Add("STIMER0 refused (no SynIC?)");
    }
  }
  if (hypercalls && g_state.spin_wait_count != 0 &&
      g_state.spin_wait_count != kSpinWaitNeverNotify) {
    Enable(kPathLongSpinWait);
    ops->lock.wait = LockWait;
  }

  if ((g_state.enabled & ~(kPathGuestOsId | kPathVpIndex)) == 0) {
    if (Enabled(kPathGuestOsId)) (void)arch::wrmsr_safe(kMsrGuestOsId, 0);
    why->Add("no usable enlightenment (privileges ")
        .AddHex(g_state.privileges)
        .Add(", hints ")
        .AddHex(g_state.hints)
        .Add(")");
    if (!notes.empty()) why->Add(": ").Add(notes.c_str());
    return PVOPS_ERR_UNSUPPORTED;
  }
  ops->platform.cpu_init = CpuInit;
  report->version = g_state.version;
  report->features[0] = g_state.privileges;
  report->features[1] = g_state.hints;
  report->features[2] = g_state.max_vps;
  report->features[3] = g_state.enabled;
  return PVOPS_OK;
}

CpuPart* Part(uint32_t cpu) {
  core::CpuArea* area = core::AreaOf(cpu);
  return area != nullptr ? &area->hyperv : nullptr;
}
CpuPages* Pages(uint32_t cpu) {
  core::CpuArea* area = core::AreaOf(cpu);
  return area != nullptr ? &area->hyperv_pages : nullptr;
}
CpuPart& ThisPart() { return core::ThisArea().hyperv; }
CpuPages& ThisPages() { return core::ThisArea().hyperv_pages; }

void ForgetCpus() { *Part(0) = CpuPart{}; }

bool VpIndexOf(uint32_t cpu, uint32_t* vp_index) {
  const CpuPart* c = Part(cpu);
  if (c == nullptr || __atomic_load_n(&c->vp_index_valid, __ATOMIC_ACQUIRE) == 0) return false;
  *vp_index = c->vp_index;
  return true;
}

// Open source, OS type "undefined": the library runs inside kernels it does not know, so it
// claims no OS; the version field carries the library's ABI version.
uint64_t GuestOsId() {
  return EncodeOpenSourceGuestId(kGuestOsTypeUndefined, 0, PVOPS_ABI_VERSION, 0);
}

void DisablePathIfRefused(pvops_status status, uint32_t path) {
  if (status == PVOPS_ERR_DENIED || status == PVOPS_ERR_UNSUPPORTED) Disable(path);
}

}  // namespace pvops::hyperv
