/* SPDX-License-Identifier: MIT */
// Hyper-V personalities: the guest sees KVM's own implementation of the Hyper-V interface
// (KVM_GET_SUPPORTED_HV_CPUID) at 0x40000000, either alone (`hyperv`) or with KVM's leaves moved
// up to 0x40000100 (`hyperv-kvm`, what QEMU's hv-* options give a Linux guest).
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <memory>
#include <span>

#include "personality.h"

namespace pvops::vmm {

// Where `hyperv-kvm` puts KVM's signature block, above the Hyper-V one (QEMU's choice too).
inline constexpr uint32_t kKvmBaseBesideHyperv = 0x40000100;

// TLFS leaves and bits the VMM edits (names as in Linux's hyperv-tlfs.h).
inline constexpr uint32_t kHvLeafVendorAndMax = 0x40000000;
inline constexpr uint32_t kHvLeafInterface = 0x40000001;
inline constexpr uint32_t kHvLeafFeatures = 0x40000003;
inline constexpr uint32_t kHvLeafEnlightenments = 0x40000004;
inline constexpr uint32_t kHvLeafNestedFeatures = 0x4000000a;  // the last leaf offered
inline constexpr uint32_t kHvInterfaceSignature = 0x31237648;  // "Hv#1"
// "Microsoft Hv" in leaf 0x40000000 EBX, ECX, EDX: the vendor real Hyper-V and QEMU's hv-* CPUs
// present. KVM's own table says "Linux KVM Hv", which Linux's Hyper-V platform check refuses.
inline constexpr uint32_t kHvVendorMicrosoftEbx = 0x7263694d;  // "Micr"
inline constexpr uint32_t kHvVendorMicrosoftEcx = 0x666f736f;  // "osof"
inline constexpr uint32_t kHvVendorMicrosoftEdx = 0x76482074;  // "t Hv"
inline constexpr uint32_t kHvMsrVpIndex = 0x40000002;          // HV_X64_MSR_VP_INDEX
// Leaf 3 EBX: partition privileges served by userspace (exits this VMM does not answer).
inline constexpr uint32_t kHvPostMessages = 1u << 4;
inline constexpr uint32_t kHvSignalEvents = 1u << 5;
inline constexpr uint32_t kHvDebugging = 1u << 11;
inline constexpr uint32_t kHvEnableExtendedHypercalls = 1u << 20;
// Leaf 3 EDX: the synthetic debugger, also a userspace service.
inline constexpr uint32_t kHvGuestDebuggingAvailable = 1u << 1;
inline constexpr uint32_t kHvDebugMsrsAvailable = 1u << 11;
// Leaf 3 EAX: HV_ACCESS_TSC_INVARIANT, the invariant-TSC control MSR.
inline constexpr uint32_t kHvAccessTscInvariant = 1u << 15;
// CPUID 0x80000007 EDX[8]: the TSC is invariant.
inline constexpr uint32_t kLeafAdvancedPowerManagement = 0x80000007;
inline constexpr uint32_t kApmEdxInvariantTsc = 1u << 8;

// Clears bits of the offered privileges (leaf 3 EAX) and hints (leaf 4 EAX).
void WithholdHypervBits(CpuidTable& hv_leaves, uint32_t privileges_clear, uint32_t hints_clear);

// Clears HV_ACCESS_TSC_INVARIANT from `table`'s leaf 3 unless `supported` (the host KVM's
// CPUID) has an invariant TSC. KVM offers the control whatever the host's TSC; Hyper-V grants it
// only on an invariant TSC, and a guest that holds it trusts its TSC across vCPUs (Linux sets
// X86_FEATURE_TSC_RELIABLE and prefers the TSC to the reference TSC page).
void GrantTscInvariantOnlyIfInvariant(CpuidTable& table,
                                      std::span<const kvm_cpuid_entry2> supported);

// KVM's Hyper-V table as this VMM offers it: KVM's values, except what would exit to
// userspace for a service the VMM does not provide (SynIC messages and events, extended
// hypercalls, the synthetic debugger and its leaves 0x40000080..), so the interface ends at
// 0x4000000a. Throws VmmError when KVM's answer lacks the Hv#1 leaves.
CpuidTable HypervLeavesForGuest(std::span<const kvm_cpuid_entry2> kvm_hv_leaves);

// KVM's signature and feature leaves (0x40000000/1 of KVM_GET_SUPPORTED_CPUID) rebased to
// `base`, their max-leaf value with them. Throws VmmError when KVM offers no signature block.
CpuidTable KvmLeavesAt(std::span<const kvm_cpuid_entry2> supported, uint32_t base);

enum class HypervFlavour {
  kHypervOnly,     // `hyperv`: no KVM signature anywhere
  kHypervWithKvm,  // `hyperv-kvm`: Hyper-V at 0x40000000, KVM at 0x40000100
};

// The personality; its ConfigureVm reads KVM_GET_SUPPORTED_HV_CPUID and checks the
// KVM_CAP_HYPERV_* capabilities, ConfigureVcpu turns on SynIC and CPUID enforcement.
std::unique_ptr<Personality> MakeHypervPersonality(HypervFlavour flavour,
                                                   const PersonalityOptions& options);

// For tests: the same personality over a given Hyper-V table (ConfigureVm is then not needed).
std::unique_ptr<Personality> MakeHypervPersonalityForTest(HypervFlavour flavour,
                                                          const PersonalityOptions& options,
                                                          CpuidTable kvm_hv_leaves);

}  // namespace pvops::vmm
