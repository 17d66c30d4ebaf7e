// SPDX-License-Identifier: MIT
#include "personality.h"

#include <asm/kvm_para.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "hostile.h"
#include "hyperv_personality.h"
#include "kvm_handles.h"
#include "vmm_error.h"
#include "vmware_personality.h"
#include "xen_personality.h"

namespace pvops::vmm {
namespace {

constexpr uint32_t kLeafFeatures = 0x1;
constexpr uint32_t kLeafExtendedTopology = 0xb;
constexpr uint32_t kLeafV2ExtendedTopology = 0x1f;
constexpr uint32_t kLeafAmdExtendedApicId = 0x8000001e;

// The guest sees KVM's leaves exactly as KVM_GET_SUPPORTED_CPUID gives them, minus withheld bits.
class KvmPersonality final : public Personality {
 public:
  explicit KvmPersonality(const PersonalityOptions& options)
      : options_(options), hostile_msrs_(options.hostile) {
    if (options.hostile & kHostileHypervOnly)
      throw VmmError("--hostile=hv-* needs a Hyper-V personality");
    if (options.hv_vp_index_stride != 1 || options.hv_privileges_clear != 0 ||
        options.hv_hints_clear != 0) {
      throw VmmError("--hv-* options need a Hyper-V personality");
    }
    if (!options.option_rom.empty()) throw VmmError("--option-rom needs personality vmware");
  }

  std::string_view name() const override { return "kvm"; }

  CpuidTable BuildTable(std::span<const kvm_cpuid_entry2> supported,
                        const VcpuTopology& topology) override {
    CpuidTable table(supported.begin(), supported.end());
    ApplyTopologyAndApicFeatures(table, topology);
    WithholdKvmFeatures(table, options_.kvm_features_clear);
    ApplyHostileKvmLeaves(table, options_.hostile, topology.apic_id);
    return table;
  }

  void ConfigureVm(Vm& vm) override { hostile_msrs_.ConfigureVm(vm); }
  void Attach(MachineHost& machine) override { hostile_msrs_.Attach(machine); }
  std::optional<bool> HandleMsrWrite(Vcpu& vcpu, uint32_t index, uint64_t value) override {
    return hostile_msrs_.Write(vcpu, index, value);
  }
  std::string StatFields() const override { return hostile_msrs_.StatFields(); }

  void ConfigureVcpu(Vcpu& vcpu) override {
    // KVM then refuses the MSRs and hypercalls of features the CPUID does not grant, so a
    // withheld bit is really withheld rather than merely hidden.
    vcpu.EnableCapability(KVM_CAP_ENFORCE_PV_FEATURE_CPUID, 1);
  }

 private:
  PersonalityOptions options_;
  HostileMsrs hostile_msrs_;
};

}  // namespace

std::optional<PortRequest> Personality::HandleXenExit(Vcpu& vcpu) {
  throw VmmError(absl::StrFormat("vCPU %u: KVM_EXIT_XEN, but personality %s has no Xen interface",
                                 vcpu.id(), name()));
}

kvm_cpuid_entry2 CpuidLeaf(uint32_t function, uint32_t index, uint32_t eax, uint32_t ebx,
                           uint32_t ecx, uint32_t edx, bool index_matters) {
  kvm_cpuid_entry2 entry{};
  entry.function = function;
  entry.index = index;
  entry.flags = index_matters ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
  entry.eax = eax;
  entry.ebx = ebx;
  entry.ecx = ecx;
  entry.edx = edx;
  return entry;
}

kvm_cpuid_entry2* FindLeaf(CpuidTable& table, uint32_t function, uint32_t index) {
  for (auto& entry : table) {
    if (entry.function != function) continue;
    const bool index_matters = entry.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
    if (!index_matters || entry.index == index) return &entry;
  }
  return nullptr;
}

void ApplyTopologyAndApicFeatures(CpuidTable& table, const VcpuTopology& topology) {
  if (auto* features = FindLeaf(table, kLeafFeatures)) {
    features->ecx |= kCpuid1EcxX2Apic | kCpuid1EcxTscDeadline | kCpuid1EcxHypervisor;
    // EBX[31:24] initial APIC ID, EBX[23:16] logical processors per package.
    features->ebx = (features->ebx & 0x0000ffffu) | (topology.apic_id << 24) |
                    ((topology.vcpu_count & 0xffu) << 16);
  } else {
    throw VmmError("KVM's CPUID table has no leaf 1");
  }
  for (auto& entry : table) {
    if (entry.function == kLeafExtendedTopology || entry.function == kLeafV2ExtendedTopology) {
      entry.edx = topology.apic_id;  // x2APIC ID, in every sub-leaf
    } else if (entry.function == kLeafAmdExtendedApicId) {
      entry.eax = topology.apic_id;
    }
  }
}

void RemoveHypervisorLeaves(CpuidTable& table) {
  std::erase_if(table, [](const kvm_cpuid_entry2& entry) {
    return entry.function >= kHypervisorLeafFirst && entry.function <= kHypervisorLeafLast;
  });
}

void WithholdKvmFeatures(CpuidTable& table, uint32_t clear_mask, uint32_t kvm_base) {
  if (clear_mask == 0) return;
  const uint32_t features_leaf = kvm_base + (KVM_CPUID_FEATURES - KVM_CPUID_SIGNATURE);
  auto* features = FindLeaf(table, features_leaf);
  if (features == nullptr) {
    throw VmmError(absl::StrFormat("cannot withhold KVM features: no KVM leaf %#x", features_leaf));
  }
  features->eax &= ~clear_mask;
}

namespace {
constexpr std::string_view kPersonalityNames[] = {"kvm", "hyperv", "hyperv-kvm", "xen", "vmware"};
}  // namespace

bool IsPersonalityName(std::string_view name) {
  for (const std::string_view known : kPersonalityNames)
    if (name == known) return true;
  return false;
}

std::string PersonalityNameList() {
  std::string list;
  for (const std::string_view name : kPersonalityNames)
    absl::StrAppend(&list, list.empty() ? "" : ", ", std::string(name));
  return list;
}

std::unique_ptr<Personality> MakePersonality(std::string_view name,
                                             const PersonalityOptions& options) {
  if (name == "kvm") return std::make_unique<KvmPersonality>(options);
  if (name == "hyperv") return MakeHypervPersonality(HypervFlavour::kHypervOnly, options);
  if (name == "hyperv-kvm") return MakeHypervPersonality(HypervFlavour::kHypervWithKvm, options);
  if (name == "xen") return MakeXenPersonality(options);
  if (name == "vmware") return MakeVmwarePersonality(options);
  throw VmmError(
      absl::StrCat("unknown personality '", std::string(name), "' (", PersonalityNameList(), ")"));
}

}  // namespace pvops::vmm
