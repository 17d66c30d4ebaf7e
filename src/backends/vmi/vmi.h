/* SPDX-License-Identifier: MIT */
// The VMI backend's shared state and ops. Two ways in: a checked VMI ROM (its calls replace the
// native instructions, rom/README.md), and VMware's backdoor (version, frequencies, the raw
// hypercall). A VMware hypervisor without a usable ROM gets the backdoor with native paging.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <pvops/pvops.h>

#include "backends/vmi/vmi_backend.h"
#include "backends/vmi/vmware_backdoor.h"

namespace pvops::vmi {

// pvops_info.features[2]: what init turned on.
enum Feature : uint32_t {
  kFeatureRom = 1u << 0,              // ops go through a checked VMI ROM
  kFeatureBackdoorPort = 1u << 1,     // the backdoor answers on port 0x5658
  kFeatureBackdoorVmcall = 1u << 2,   // ... through vmcall (CPUID 0x40000010 ECX)
  kFeatureBackdoorVmmcall = 1u << 3,  // ... through vmmcall
  kFeatureTscKhzFromHypervisor = 1u << 4,
  kFeatureApicHzFromHypervisor = 1u << 5,
  kFeatureRomApic = 1u << 6,     // EOI and IPIs through the ROM's APICWrite/APICRead
  kFeatureRomRefused = 1u << 7,  // a ROM was there but refused: backdoor only
};

// Where a frequency came from, best first.
enum class FrequencySource : uint32_t { kNone, kCpuidLeaf, kRom, kBackdoor };

struct State {
  BackdoorPath backdoor;      // kNone when nothing answered
  uint32_t backdoor_version;  // GETVERSION's EAX
  uint64_t tsc_khz;           // told by the hypervisor; 0: the native measurement is used
  uint64_t apic_hz;           // told by the hypervisor; 0: unknown
  FrequencySource tsc_source;
  FrequencySource apic_source;
  uint32_t features;  // Feature bits
};
extern State g_state;

// cpu and irq flag ops through the ROM (vmi_cpu.cc).
void Cpuid(uint32_t leaf, uint32_t subleaf, pvops_cpuid_regs* out);
uint64_t ReadMsr(uint32_t msr);
void WriteMsr(uint32_t msr, uint64_t value);
void IoDelay();
void NoIoDelay();
void SafeHalt();
uint64_t SaveFlags();
void RestoreFlags(uint64_t flags);
void IrqDisable();
void IrqEnable();
void Shutdown(uint32_t code);
// The raw hypercall is the backdoor: nr = command, a0 = EBX; result = EAX. One op per path,
// picked at init, so no call asks which; nullptr for kNone.
using HypercallOp = pvops_status (*)(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
                                     uint64_t a3, uint64_t a4, int64_t* result);
HypercallOp HypercallFor(BackdoorPath path);

// Paging through the ROM, with deferred updates in lazy mode (vmi_mmu.cc).
uint64_t ReadCr3();
void WriteCr3(uint64_t cr3);
void SetPte(pvops_pte* ptep, pvops_pte value);
void UpdatePte(pvops_pte* ptep, uint64_t va, pvops_pte value);
pvops_pte ReadPte(const pvops_pte* ptep);
void FlushTlbLocal();
void FlushTlbOne(uint64_t va);
[[nodiscard]] pvops_status FlushTlbMulti(const pvops_cpuset* cpus, uint64_t start, uint64_t end);
void LazyBegin();
void LazyFlush();
void LazyEnd();
// Empties the boot CPU's queue of deferred updates: init runs before other CPUs have their
// areas.
void ForgetLazyQueues();

// The local APIC through the ROM (vmi_apic.cc).
// Reads this CPU's APIC mode for the ROM's APIC calls; false when there is no usable APIC.
bool ResolveApicForRom();
void Eoi();
[[nodiscard]] pvops_status SendIpi(const pvops_cpuset* cpus, uint8_t vector);

// The clock: the TSC (read through the ROM when it offers RDTSC) at a known rate (vmi_time.cc).
void SetUpClock(uint64_t tsc_khz);
uint64_t ClockNs();
uint64_t TscKhz();

}  // namespace pvops::vmi
