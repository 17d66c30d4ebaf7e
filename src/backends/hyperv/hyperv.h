/* SPDX-License-Identifier: MIT */
// The Hyper-V backend's shared state: what detection read from the CPUID leaves, which
// enlightened paths init turned on, and what each CPU registered.
#pragma once

#include <stdint.h>

#include <pvops/pvops.h>

#include "backends/hyperv/hv_tlfs.h"
#include "backends/hyperv/hyperv_backend.h"
#include "core/hv_leaves.h"
#include "core/reason.h"

namespace pvops::hyperv {

// The enlightened paths, one bit each; pvops_info.features[3] shows which are on.
enum Path : uint32_t {
  kPathGuestOsId = 1u << 0,
  kPathHypercallPage = 1u << 1,
  kPathTscPageClock = 1u << 2,     // clock from the reference TSC page
  kPathRefCounterClock = 1u << 3,  // HV_X64_MSR_TIME_REF_COUNT when the page says sequence 0
  kPathFrequencyMsrs = 1u << 4,    // tsc_khz from HV_X64_MSR_TSC_FREQUENCY
  kPathVpIndex = 1u << 5,
  kPathApicMsrs = 1u << 6,         // EOI, ICR, TPR by the synthetic MSRs
  kPathVpAssistEoi = 1u << 7,      // EOI skipped when the VP assist page says so
  kPathFlushHypercall = 1u << 8,   // HvCallFlushVirtualAddressSpace / List
  kPathFlushEx = 1u << 9,          // ... and their Ex forms for VP indexes >= 64
  kPathClusterIpi = 1u << 10,      // HvCallSendSyntheticClusterIpi
  kPathClusterIpiEx = 1u << 11,    // ... and its Ex form
  kPathStimerDirect = 1u << 12,    // one-shot timer on synthetic timer 0, direct mode
  kPathLongSpinWait = 1u << 13,    // HvCallNotifyLongSpinWait after the hinted spin count
  kPathStatedTscClock = 1u << 14,  // no TSC page: clock from the TSC at the stated frequency
};

// Read from CPUID at init; read-only afterwards.
struct State {
  uint32_t base_leaf;
  uint32_t privileges;       // leaf 3 EAX
  uint32_t privileges_high;  // leaf 3 EBX
  uint32_t features;         // leaf 3 EDX
  uint32_t hints;            // leaf 4 EAX
  uint32_t spin_wait_count;  // leaf 4 EBX
  uint32_t max_vps;          // leaf 5 EAX (0: not stated)
  uint32_t version;          // leaf 2 EBX: major << 16 | minor
  uint32_t enabled;          // Path bits
};
extern State g_state;

// Atomic: a path the hypervisor refuses at run time is switched off while other CPUs read.
inline bool Enabled(uint32_t path) {
  return (__atomic_load_n(&g_state.enabled, __ATOMIC_RELAXED) & path) != 0;
}
inline void Enable(uint32_t path) { __atomic_fetch_or(&g_state.enabled, path, __ATOMIC_RELAXED); }
inline void Disable(uint32_t path) {
  __atomic_fetch_and(&g_state.enabled, ~path, __ATOMIC_RELAXED);
}

// `cpu`'s part and pages of its area (hyperv_backend.h); nullptr when the CPU has none.
CpuPart* Part(uint32_t cpu);
CpuPages* Pages(uint32_t cpu);
// The running CPU's; a CPU without an area shares the boot CPU's.
CpuPart& ThisPart();
CpuPages& ThisPages();
// Init runs before other CPUs have their areas: forgets the boot CPU's registrations.
void ForgetCpus();

// The VP index of `cpu` when cpu_init read a usable one.
bool VpIndexOf(uint32_t cpu, uint32_t* vp_index);

// Detection (hyperv_probe.cc): the interface block whose base+1 says "Hv#1", or nullptr.
const core::HvInterface* FindHv1Interface(const core::HvLeaves& leaves);

// The ops init installs when their path is on (one file each).
[[nodiscard]] pvops_status SendIpi(const pvops_cpuset* cpus, uint8_t vector);  // hv_ipi.cc
[[nodiscard]] pvops_status FlushTlbRemote(pvops_cpuset* cpus, uint64_t start,
                                          uint64_t end);                        // hv_tlb.cc
[[nodiscard]] pvops_status TimerOneshot(uint64_t deadline_ns, uint8_t vector);  // hv_timer.cc
[[nodiscard]] pvops_status CheckStimerOn(uint32_t cpu);     // may this CPU use synthetic timer 0?
void LockWait(const volatile uint8_t* ptr, uint8_t value);  // hv_lock.cc

// A hypercall the hypervisor refuses as such (denied, unknown, unavailable) will not work
// next time either: its path is switched off and the caller takes the native one.
void DisablePathIfRefused(pvops_status status, uint32_t path);

// The guest OS ID this library registers (open-source encoding, OS type "undefined": the
// library does not know which kernel it is linked into).
uint64_t GuestOsId();

}  // namespace pvops::hyperv
