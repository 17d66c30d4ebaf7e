/* SPDX-License-Identifier: MIT */
// Ready-made machine descriptions for the simulated CPU, so tests state only what matters to
// them: the CPUID of a plain x86-64 processor (with or without a hypervisor bit) and an env for
// pvops_init bound to the simulated machine.
#pragma once

#include <stdint.h>

#include <pvops/pvops.h>

#include "sim_cpu.h"

namespace pvops::sim {

struct CpuModel {
  uint32_t max_basic_leaf = 0xd;
  bool hypervisor_bit = false;  // CPUID.1:ECX[31]
  bool x2apic = false;          // CPUID.1:ECX[21]
  bool tsc_deadline = false;    // CPUID.1:ECX[24]
  // CPUID 0x15 (written only when max_basic_leaf >= 0x15): EAX, EBX, ECX.
  uint32_t tsc_ratio_denominator = 0;
  uint32_t tsc_ratio_numerator = 0;
  uint32_t crystal_hz = 0;
  // CPUID 0x16 EAX (written only when max_basic_leaf >= 0x16).
  uint32_t base_mhz = 0;
};

inline constexpr uint32_t kCpuid1EcxX2apic = 1u << 21;
inline constexpr uint32_t kCpuid1EcxTscDeadline = 1u << 24;
inline constexpr uint32_t kCpuid1EcxHypervisor = 1u << 31;
inline constexpr uint32_t kCpuid1EdxTsc = 1u << 4;
inline constexpr uint32_t kCpuid1EdxMsr = 1u << 5;
inline constexpr uint32_t kCpuid1EdxApic = 1u << 9;

// Writes leaves 0, 1 and (as the model says) 0x15 and 0x16.
void LoadCpuModel(SimCpu& cpu, const CpuModel& model);

// An env whose callbacks reach the current SimCpu: this_cpu is its current CPU, and
// phys_to_virt / virt_to_phys follow its MapPhys layout.
pvops_env MakeEnv(const char* cmdline = nullptr, uint32_t entry = PVOPS_ENTRY_NATIVE,
                  const void* boot_info = nullptr);

}  // namespace pvops::sim
