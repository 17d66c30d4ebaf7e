// SPDX-License-Identifier: MIT
// The KVM backend: detection, and an init that turns on each paravirtual path only when its
// feature bit is offered, leaving the native op in place otherwise.
#include "backends/kvm/kvm.h"

#include "core/backend.h"
#include "core/cpu_area.h"
#include "hw/cpu_instructions.h"
#include "hw/lapic.h"
#include "hw/tsc.h"

namespace pvops::kvm {

State g_state;
BootClockPage g_boot_clock;

namespace {

void NoIoDelay() {}

// One raw op per instruction, picked at init: a call reads no backend state.
template <arch::HypercallInsn kInsn>
[[nodiscard]] pvops_status RawHypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
                                        uint64_t a3, uint64_t a4, int64_t* result) {
  if (a4 != 0) return PVOPS_ERR_INVALID;  // KVM's ABI carries four arguments
  const int64_t ret = HypercallWith(kInsn, nr, a0, a1, a2, a3);
  if (result != nullptr) *result = ret;
  return PVOPS_OK;
}

// What each CPU registers on its own vCPU (the MSRs are per vCPU), each on its own under the
// per-CPU rule (core/backend.h): a refused kvmclock leaves the CPU on the boot CPU's tuple (one
// clock for all), a refused steal time or PV EOI on its native path (the area stays zero, as
// pvops_set_cpu_area left it: no steal, never preempted, the APIC's EOI).
struct PerCpuFeature {
  uint32_t feature_bit;
  EnableOnFn* enable;
  const char* note;
};
constexpr PerCpuFeature kPerCpuFeatures[] = {
    {KVM_FEATURE_CLOCKSOURCE2, EnableClockOn, " kvmclock: "},
    {KVM_FEATURE_STEAL_TIME, EnableStealTimeOn, " steal time: "},
    {KVM_FEATURE_PV_EOI, EnablePvEoiOn, " PV EOI: "},
};

[[nodiscard]] PVOPS_BOOT_CODE pvops_status CpuInit(uint32_t cpu) {
  // The areas do not depend on the LAPIC: a kernel that maps its APIC later still gets them,
  // and hears of the LAPIC failure afterwards.
  const pvops_status lapic = hw::LapicCpuInit(cpu);
  CpuPart* part = Part(cpu);
  if (part == nullptr) return PVOPS_ERR_NO_CPU_AREA;
  part->registered = 0;
  for (const PerCpuFeature& f : kPerCpuFeatures) {
    if (!Enabled(f.feature_bit)) continue;
    if (const pvops_status st = f.enable(cpu, *part); st != PVOPS_OK)
      core::NoteCpuRefused(cpu, f.note, st);
    else
      part->registered |= 1u << f.feature_bit;
  }
  return lapic;
}

void Enable(uint32_t feature_bit) { g_state.enabled |= 1u << feature_bit; }
bool Offered(uint32_t feature_bit) { return (g_state.features >> feature_bit) & 1u; }

}  // namespace

CpuPart* Part(uint32_t cpu) {
  core::CpuArea* area = core::AreaOf(cpu);
  return area != nullptr ? &area->kvm : nullptr;
}
CpuPart& ThisPart() { return core::ThisArea().kvm; }

vcpu_time_info& ThisClock() {
  // A CPU without an area has the boot CPU's part, whose flag is never set.
  CpuPart& part = ThisPart();
  return part.clock_registered != 0 ? part.clock : g_boot_clock.clock;
}

PVOPS_BOOT_CODE void Probe(const pvops_env&, const core::HvLeaves& leaves, pvops_candidate* out) {
  const core::HvInterface* hv = leaves.Find(KVM_SIGNATURE);
  if (hv == nullptr) return;
  // The features leaf must exist inside the block for anything past detection to be trusted.
  if (hv->max_leaf < hv->base + (KVM_CPUID_FEATURES - KVM_CPUID_SIGNATURE)) return;
  out->priority = core::PriorityForBase(hv->base);
  out->base_leaf = hv->base;
  out->max_leaf = hv->max_leaf;
  core::CopyString(out->signature, sizeof(out->signature), "KVMKVMKVM");
}

[[nodiscard]] PVOPS_BOOT_CODE pvops_status Init(const pvops_env&, const pvops_candidate& found,
                                                pvops_ops* ops, core::BackendReport* report,
                                                core::Reason*) {
  g_state = State{};
  // Secondary CPUs get their areas after pvops_init: only the boot CPU's is there.
  CpuPart& boot_part = ThisPart();
  boot_part.steal_registered = 0;
  g_state.base_leaf = found.base_leaf;
  const pvops_cpuid_regs f =
      arch::cpuid(found.base_leaf + (KVM_CPUID_FEATURES - KVM_CPUID_SIGNATURE), 0);
  g_state.features = f.eax;
  g_state.hints = f.edx;
  // KVM would patch a wrong instruction in the guest's code, but a kernel's text may be
  // read-only: ask the vendor instead.
  g_state.insn = hw::HypercallInsnForVendor();

  ops->hypercall.call = g_state.insn == arch::HypercallInsn::kVmmcall
                            ? RawHypercall<arch::HypercallInsn::kVmmcall>
                            : RawHypercall<arch::HypercallInsn::kVmcall>;
  ops->platform.cpu_init = CpuInit;
  if (Offered(KVM_FEATURE_NOP_IO_DELAY)) {
    Enable(KVM_FEATURE_NOP_IO_DELAY);
    ops->cpu.io_delay = NoIoDelay;
  }
  // kvmclock is switched on here, on the boot CPU, because it can still be refused: a tuple
  // that does not validate keeps the native TSC clock.
  if (Offered(KVM_FEATURE_CLOCKSOURCE2)) {
    Enable(KVM_FEATURE_CLOCKSOURCE2);
    if (const pvops_status st = EnableClockOn(core::ThisCpu(), boot_part); st == PVOPS_OK) {
      ops->time.clock_ns = ClockNs;
      ops->time.tsc_khz = TscKhz;
      ops->time.wall_clock = WallClock;
    } else {
      g_state.enabled &= ~(1u << KVM_FEATURE_CLOCKSOURCE2);
      report->Note().Add("kvmclock refused (").Add(pvops_status_name(st)).Add("); TSC clock");
    }
  }
  const bool kvmclock_in_use = (g_state.enabled & (1u << KVM_FEATURE_CLOCKSOURCE2)) != 0;
  if (!kvmclock_in_use) hw::NoteClockCalibration(report);
  if (Offered(KVM_FEATURE_STEAL_TIME)) {
    Enable(KVM_FEATURE_STEAL_TIME);
    ops->time.steal_ns = StealNs;
    ops->lock.vcpu_is_preempted = VcpuIsPreempted;
    if (Offered(KVM_FEATURE_PV_TLB_FLUSH)) {
      Enable(KVM_FEATURE_PV_TLB_FLUSH);
      ops->mmu.flush_tlb_remote = FlushTlbRemote;
    }
  }
  if (Offered(KVM_FEATURE_PV_EOI)) {
    Enable(KVM_FEATURE_PV_EOI);
    ops->irq.eoi = Eoi;
  }
  if (Offered(KVM_FEATURE_PV_SEND_IPI)) {
    Enable(KVM_FEATURE_PV_SEND_IPI);
    ops->irq.send_ipi = SendIpi;
  }
  if (Offered(KVM_FEATURE_PV_UNHALT)) {
    Enable(KVM_FEATURE_PV_UNHALT);
    ops->lock.wait = LockWait;
    ops->lock.kick = LockKick;
  }
  report->features[0] = g_state.features;
  report->features[1] = g_state.hints;
  report->features[2] = g_state.enabled;
  report->features[3] = g_state.insn == arch::HypercallInsn::kVmmcall ? 1 : 0;
  return PVOPS_OK;
}

}  // namespace pvops::kvm
