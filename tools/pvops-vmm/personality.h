// What the guest sees at CPUID: KVM's supported table, edited per vCPU by a personality.
// `kvm` presents KVM's own leaves at 0x40000000; the Hyper-V ones live in hyperv_personality.*.
#pragma once

#include <asm/kvm_para.h>
#include <linux/kvm.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace pvops::vmm {

class Vm;
class Vcpu;

using CpuidTable = std::vector<kvm_cpuid_entry2>;

struct VcpuTopology {
  uint32_t apic_id;
  uint32_t vcpu_count;
};

// Bits of CPUID.1:ECX that KVM_GET_SUPPORTED_CPUID reports off and leaves to userspace: the
// in-kernel LAPIC emulates x2APIC and the TSC-deadline timer, and "running under a hypervisor"
// is what tells a guest to look at the 0x40000000 leaves at all.
inline constexpr uint32_t kCpuid1EcxX2Apic = 1u << 21;
inline constexpr uint32_t kCpuid1EcxTscDeadline = 1u << 24;
inline constexpr uint32_t kCpuid1EcxHypervisor = 1u << 31;

// The entry for (function, index), honouring KVM's "index matters" flag; nullptr if absent.
kvm_cpuid_entry2* FindLeaf(CpuidTable& table, uint32_t function, uint32_t index = 0);

// Per-vCPU APIC IDs (leaves 1, 0xb, 0x1f, 0x8000001e); the x2APIC, TSC-deadline and hypervisor
// bits.
void ApplyTopologyAndApicFeatures(CpuidTable& table, const VcpuTopology& topology);

// Clears bits of KVM's feature leaf (kvm_base + 1, EAX); throws VmmError when the leaf is
// absent but bits were asked to be withheld.
void WithholdKvmFeatures(CpuidTable& table, uint32_t clear_mask,
                         uint32_t kvm_base = KVM_CPUID_SIGNATURE);

class Personality {
 public:
  virtual ~Personality() = default;
  virtual std::string_view name() const = 0;
  // Once, before any vCPU exists (VM-wide capabilities, extra CPUID sources).
  virtual void ConfigureVm(Vm& vm) { (void)vm; }
  // The table one vCPU gets, from KVM_GET_SUPPORTED_CPUID's answer.
  virtual CpuidTable BuildTable(std::span<const kvm_cpuid_entry2> supported,
                                const VcpuTopology& topology) = 0;
  // After the vCPU's CPUID is set (per-vCPU capabilities).
  virtual void ConfigureVcpu(Vcpu& vcpu) { (void)vcpu; }
};

struct PersonalityOptions {
  uint32_t kvm_features_clear = 0;  // bits of KVM's feature leaf EAX withheld from the guest
  // Hyper-V personalities: vCPU n gets VP index n * stride (1: KVM's default, the vCPU index).
  // A stride of 64 or more puts other vCPUs beyond the first 64-VP bank, where hypercalls
  // must name them in the Ex forms' sparse sets.
  uint32_t hv_vp_index_stride = 1;
  // Hyper-V personalities: bits withheld from the privileges (leaf 0x40000003 EAX) and the
  // recommendations (0x40000004 EAX); ENFORCE_CPUID makes KVM refuse what they no longer grant.
  uint32_t hv_privileges_clear = 0;
  uint32_t hv_hints_clear = 0;
};

// "kvm", "hyperv" (hyperv_personality.h) or "hyperv-kvm"; anything else throws VmmError.
std::unique_ptr<Personality> MakePersonality(std::string_view name,
                                                  const PersonalityOptions& options);

}  // namespace pvops::vmm
