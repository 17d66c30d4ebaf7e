/* SPDX-License-Identifier: MIT */
// Hostile behaviours (--hostile=a,b): a hypervisor that lies or breaks its own interface, so that
// an environment can show the guest ending on a fallback with its reason, never a fault, a hang
// or a wrong backend. CPUID edits change the table KVM answers from; the MSRs are taken from KVM
// with an MSR filter (KVM_X86_SET_MSR_FILTER), so their writes exit to this VMM, which answers
// them itself (envs/hostile/README.md).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "personality.h"

namespace pvops::vmm {

enum HostileBit : uint32_t {
  // KVM personality: the signature block.
  kHostileMaxBelowBase = 1u << 0,        // max leaf = base - 1
  kHostileMaxLeafHuge = 1u << 1,         // max leaf = 0x4fffffff
  kHostileNoFeaturesLeaf = 1u << 2,      // max leaf = base, no base + 1
  kHostileLeavesAllFf = 1u << 3,         // leaves 0x40000000..0x4000001f read 0xffffffff
  kHostileCpuidDiffersOnCpu1 = 1u << 4,  // vCPU 1's KVM features leaf lacks the per-CPU ones
  // KVM personality: kvmclock's MSR.
  kHostileKvmclockOdd = 1u << 5,            // the VMM writes the tuple with an odd version
  kHostileKvmclockRefusedOnCpu1 = 1u << 6,  // the write faults on vCPU 1, KVM's on the others
  // Hyper-V personality.
  kHostileHvNoHv1 = 1u << 7,              // "Microsoft Hv", but 0x40000001 is not Hv#1
  kHostileHvHypercallFaults = 1u << 8,    // HV_X64_MSR_HYPERCALL writes raise #GP
  kHostileHvHypercallIgnored = 1u << 9,   // ... are dropped: the MSR keeps reading 0
  kHostileHvTscPageSequence0 = 1u << 10,  // the VMM fills the TSC page with sequence 0
};
inline constexpr uint32_t kHostileKvmOnly =
    kHostileMaxBelowBase | kHostileMaxLeafHuge | kHostileNoFeaturesLeaf | kHostileLeavesAllFf |
    kHostileCpuidDiffersOnCpu1 | kHostileKvmclockOdd | kHostileKvmclockRefusedOnCpu1;
inline constexpr uint32_t kHostileHypervOnly = kHostileHvNoHv1 | kHostileHvHypercallFaults |
                                               kHostileHvHypercallIgnored |
                                               kHostileHvTscPageSequence0;

// "max-below-base,kvmclock-odd" -> bits; throws VmmError naming the known names.
uint32_t ParseHostile(std::string_view spec);
std::string HostileNameList();

// The KVM signature block at `base` in `table` as `hostile` says, for vCPU `vcpu_id`.
void ApplyHostileKvmLeaves(CpuidTable& table, uint32_t hostile, uint32_t vcpu_id,
                           uint32_t base = KVM_CPUID_SIGNATURE);
// The Hyper-V leaves (hv_leaves.h's table) as `hostile` says.
void ApplyHostileHvLeaves(CpuidTable& table, uint32_t hostile);

// The per-CPU features vCPU 1 is not shown under kHostileCpuidDiffersOnCpu1: kvmclock (both
// MSRs), steal time and PV EOI, the ones each CPU registers itself.
inline constexpr uint32_t kKvmPerCpuFeatures =
    (1u << KVM_FEATURE_CLOCKSOURCE) | (1u << KVM_FEATURE_CLOCKSOURCE2) |
    (1u << KVM_FEATURE_STEAL_TIME) | (1u << KVM_FEATURE_PV_EOI);

// The MSRs a hostile personality takes from KVM: ConfigureVm installs the filter, Write answers
// each filtered write on the writing vCPU's thread.
class HostileMsrs {
 public:
  explicit HostileMsrs(uint32_t hostile) : hostile_(hostile) {}
  void ConfigureVm(Vm& vm);
  void Attach(MachineHost& machine) { machine_ = &machine; }
  // True: the write faults (#GP in the guest); nullopt: not an MSR this object took.
  std::optional<bool> Write(Vcpu& vcpu, uint32_t index, uint64_t value);
  std::string StatFields() const;

 private:
  uint32_t hostile_;
  MachineHost* machine_ = nullptr;
  std::atomic<uint64_t> writes_answered_{0};
};

}  // namespace pvops::vmm
